"""Every provider maps what goes wrong onto the contract the same way (scripts/_http.py).

429, 5xx, timeouts and network errors exit 75 with Retry-After passed back; 400, 401, 403,
404 and 422 exit 1 with the provider's own message; no key is ever printed, even when the
service echoes it back.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path
from time import time
from typing import Any

import pytest
from PIL import Image

from tests.scripts.conftest import FPS, H, W, run_script
from tests.scripts.providers.fakes import Fakes
from tests.scripts.providers.service import FakeService

pytest_plugins = ["tests.scripts.providers.fixtures"]


def _asset(tmp: Path) -> dict[str, Any]:
    return {"prompt": "a forest", "width": W, "height": H, "output": str(tmp / "a.png")}


def _clip(tmp: Path) -> dict[str, Any]:
    still = tmp / "still.png"
    Image.new("RGB", (W, H), (10, 90, 40)).save(still)
    return {"image": str(still), "duration": 1.0, "width": W, "height": H, "fps": FPS,
            "output": str(tmp / "c.mp4")}  # fmt: skip


def _speech(tmp: Path) -> dict[str, Any]:
    return {"text": "Birds sing.", "output": str(tmp / "n.mp3")}


# provider → (script, request, the path of its paid request, the fake, its base URL variable)
PROVIDERS: dict[str, tuple[str, Callable[[Path], dict[str, Any]], str, str, str]] = {
    "gemini": ("generate_asset", _asset, "/v1beta/models/", "gemini",
               "REELFLOW_GEMINI_BASE_URL"),
    "kling": ("generate_video", _clip, "/v1/videos/image2video", "kling",
              "REELFLOW_KLING_BASE_URL"),
    "elevenlabs": ("generate_audio", _speech, "/v1/text-to-speech/", "elevenlabs",
                   "REELFLOW_ELEVENLABS_BASE_URL"),
}  # fmt: skip


def _run(fakes: Fakes, provider: str, tmp: Path, **env: str) -> tuple[int, dict[str, Any], str]:
    script, request, *_ = PROVIDERS[provider]
    return run_script(script, request(tmp), "--provider", provider, env={**fakes.env(), **env})


def _fake(fakes: Fakes, provider: str) -> FakeService:
    fake: FakeService = getattr(fakes, PROVIDERS[provider][3])
    return fake


def _fail(fakes: Fakes, provider: str, status: int, **kwargs: Any) -> None:
    _fake(fakes, provider).fail(status, path=PROVIDERS[provider][2], method="POST", **kwargs)


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_rate_limits_server_errors_and_timeouts_are_transient_with_retry_after(
    fakes: Fakes, provider: str, tmp_path: Path
) -> None:
    _fail(fakes, provider, 429, retry_after="7")
    code, result, _ = _run(fakes, provider, tmp_path)
    assert (code, result["error"]["type"], result["error"]["retry_after"]) == (
        75, "rate_limited", 7.0,
    )  # fmt: skip
    for status in (500, 503):
        _fail(fakes, provider, status)
        code, result, _ = _run(fakes, provider, tmp_path)
        assert (code, result["error"]["type"]) == (75, "upstream_error"), status
        assert f"{provider}: {status}" in result["error"]["message"]
    _fail(fakes, provider, 200, delay=1.0)
    code, result, _ = _run(fakes, provider, tmp_path, REELFLOW_HTTP_READ_TIMEOUT="0.3")
    assert (code, result["error"]["type"]) == (75, "timeout")
    assert list(tmp_path.glob("*.tmp-*")) == []
    _fake(fakes, provider).settle()  # the slow answer still arrives (Kling: a task is made)


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_refusals_are_permanent_with_the_providers_message(
    fakes: Fakes, provider: str, tmp_path: Path
) -> None:
    for status, kind in ((400, "rejected"), (403, "forbidden"), (404, "not_found"),
                         (422, "rejected")):  # fmt: skip
        _fail(fakes, provider, status)
        code, result, _ = _run(fakes, provider, tmp_path)
        assert (code, result["error"]["type"]) == (1, kind), status
        assert "Injected." in result["error"]["message"]
        assert result["error"]["retry_after"] is None


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_an_unreachable_service_is_a_transient_network_error(
    fakes: Fakes, provider: str, tmp_path: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    code, result, _ = _run(fakes, provider, tmp_path, **{PROVIDERS[provider][4]: closed})
    assert (code, result["error"]["type"]) == (75, "network_error")


def test_a_retry_after_date_becomes_seconds(fakes: Fakes, tmp_path: Path) -> None:
    _fail(fakes, "elevenlabs", 503, retry_after=formatdate(time() + 30, usegmt=True))
    code, result, _ = _run(fakes, "elevenlabs", tmp_path)
    assert code == 75 and 25 <= result["error"]["retry_after"] <= 31


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_a_key_echoed_back_by_the_service_is_masked(
    fakes: Fakes, provider: str, tmp_path: Path
) -> None:
    secrets = [v for k, v in fakes.env().items() if "KEY" in k]
    echo = {"error": {"code": 400, "message": f"bad credentials {' '.join(secrets)}"},
            "detail": {"message": f"bad credentials {' '.join(secrets)}"},
            "code": 1201, "message": f"bad credentials {' '.join(secrets)}"}  # fmt: skip
    _fail(fakes, provider, 400, body=echo)
    code, result, stderr = _run(fakes, provider, tmp_path)
    assert code == 1 and "bad credentials ***" in result["error"]["message"]
    for secret in secrets:
        assert secret not in str(result) + stderr
