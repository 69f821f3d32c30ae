"""generate_video --provider kling against the fake Kling API."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from flows.core.media import probe
from tests.scripts.conftest import FPS, H, W, leftovers, load_script, run_script
from tests.scripts.providers import kling
from tests.scripts.providers.fakes import Fakes

pytest_plugins = ["tests.scripts.providers.fixtures"]

TASKS = "/v1/videos/image2video"


@pytest.fixture
def still(tmp_path: Path) -> Path:
    path = tmp_path / "still.png"
    Image.new("RGB", (W, H), (90, 120, 200)).save(path)
    return path


def _request(tmp_path: Path, still: Path, duration: float = 1.5) -> dict[str, Any]:
    return {"image": str(still), "motion": "slow zoom in", "duration": duration, "width": W,
            "height": H, "fps": FPS, "output": str(tmp_path / "clip.mp4")}  # fmt: skip


def _run(fakes: Fakes, request: dict[str, Any], *args: str, **env: str) -> tuple[int, Any, str]:
    return run_script("generate_video", request, "--provider", "kling", *args,
                      env={**fakes.env(), **env})  # fmt: skip


def _claims(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, claims, _ = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(header), decode(claims)


def test_a_clip_comes_from_a_created_task_polled_until_done_then_downloaded(
    fakes: Fakes, tmp_path: Path, still: Path
) -> None:
    code, result, stderr = _run(fakes, _request(tmp_path, still))
    assert code == 0, (result, stderr)
    [task] = fakes.kling.created()
    [created] = fakes.kling.seen("POST", TASKS)
    body = created.body
    assert (body["model_name"], body["mode"], body["duration"]) == ("kling-v2-5-turbo", "std", "5")
    assert body["external_task_id"].startswith("reelflow-") and "slow zoom in" in body["prompt"]
    with Image.open(io.BytesIO(base64.b64decode(body["image"]))) as sent:
        assert min(sent.size) >= 300 and sent.size[0] / sent.size[1] == pytest.approx(W / H, 0.01)
    lookups = fakes.kling.seen("GET", f"{TASKS}/{body['external_task_id']}")
    assert [s.status for s in lookups] == [404], "it looked for an earlier task first"
    polls = fakes.kling.seen("GET", f"{TASKS}/{task['task_id']}")
    assert len(polls) == 2 and all(s.status == 200 for s in polls)
    [download] = fakes.kling.seen("GET", "/media/")
    assert "authorization" not in download.headers, "the JWT stays with Kling's API"
    header, claims = _claims(created.headers["authorization"].removeprefix("Bearer "))
    assert header == {"alg": "HS256", "typ": "JWT"} and claims["iss"] == kling.ACCESS_KEY
    assert claims["exp"] - claims["nbf"] == 1805
    info = probe(Path(result["output"]))
    assert info.video_codec == "h264" and abs(info.duration - 5.0) < 0.1
    assert (result["duration"], result["width"], result["height"]) == (info.duration, 160, 90)
    assert (result["model"], result["mode"]) == ("kling-v2-5-turbo", "std")
    assert result["clip_seconds"] == 5
    assert (result["cost_usd"], result["kling_units"]) == (0.21, "1.5")
    assert result["task_id"] == task["task_id"] and leftovers(tmp_path) == []


def test_a_scene_over_five_seconds_asks_for_ten_and_the_mode_sets_the_price(
    fakes: Fakes, tmp_path: Path, still: Path
) -> None:
    request = _request(tmp_path, still, duration=6.5)
    code, result, stderr = _run(fakes, request, "--model", "kling-v2-1:pro")
    assert code == 0, (result, stderr)
    body = fakes.kling.seen("POST", TASKS)[0].body
    assert (body["model_name"], body["mode"], body["duration"]) == ("kling-v2-1", "pro", "10")
    assert (result["cost_usd"], result["clip_seconds"]) == (0.98, 10)


def test_the_clip_length_is_the_shortest_kling_makes_that_covers_the_scene() -> None:
    clip_seconds = load_script("_kling").clip_seconds
    assert [clip_seconds(d) for d in (0.5, 5.0, 5.01, 10.0, 42.0)] == [5, 5, 10, 10, 10]


def test_a_retry_after_the_bounded_wait_resumes_the_same_task_and_pays_once(
    fakes: Fakes, tmp_path: Path, still: Path
) -> None:
    fakes.kling.polls = 10_000
    code, result, _ = _run(fakes, _request(tmp_path, still), REELFLOW_KLING_MAX_WAIT_SECONDS="0.3")
    assert (code, result["error"]["type"]) == (75, "timeout")
    assert "a retry resumes it" in result["error"]["message"]
    assert not (tmp_path / "clip.mp4").exists() and leftovers(tmp_path) == []
    fakes.kling.polls = 0
    code, result, stderr = _run(fakes, _request(tmp_path, still))
    assert code == 0, (result, stderr)
    assert len(fakes.kling.created()) == 1 and len(fakes.kling.seen("POST")) == 1
    assert result["task_id"] == fakes.kling.created()[0]["task_id"]


def test_a_failed_task_is_permanent_with_klings_reason(
    fakes: Fakes, tmp_path: Path, still: Path
) -> None:
    fakes.kling.fail_tasks = "Failure to pass the risk control system"
    code, result, _ = _run(fakes, _request(tmp_path, still))
    assert (code, result["error"]["type"]) == (1, "task_failed")
    assert "risk control" in result["error"]["message"]


def test_a_wrong_secret_key_fails_the_signature_check_permanently(
    fakes: Fakes, tmp_path: Path, still: Path
) -> None:
    wrong = "SKWRONG-kling-canary-secret-0000"
    code, result, stderr = _run(fakes, _request(tmp_path, still), REELFLOW_KLING_SECRET_KEY=wrong)
    assert (code, result["error"]["type"]) == (1, "unauthorized")
    assert "code 1002" in result["error"]["message"]
    assert fakes.kling.created() == []
    for secret in (wrong, kling.ACCESS_KEY, *fakes.kling.tokens):
        assert secret not in str(result) + stderr


def test_an_account_without_credit_is_permanent_but_a_rate_limit_is_transient(
    fakes: Fakes, tmp_path: Path, still: Path
) -> None:
    broke = {"code": 1102, "message": "resource pack exhausted", "request_id": "r"}
    fakes.kling.fail(429, path=TASKS, method="POST", body=broke)
    code, result, _ = _run(fakes, _request(tmp_path, still))
    assert (code, result["error"]["type"]) == (1, "rejected")
    assert "resource pack exhausted" in result["error"]["message"]
    fakes.kling.fail(429, path=TASKS, method="POST", retry_after="3")
    code, result, _ = _run(fakes, _request(tmp_path, still))
    assert (code, result["error"]["type"], result["error"]["retry_after"]) == (
        75, "rate_limited", 3.0,
    )  # fmt: skip
    assert fakes.kling.created() == []


def test_an_unknown_mode_or_unpriced_model_is_refused_before_any_request(
    fakes: Fakes, tmp_path: Path, still: Path
) -> None:
    for model in ("kling-v2-1:ultra", "kling-v9"):
        code, result, _ = _run(fakes, _request(tmp_path, still), "--model", model)
        assert (code, result["error"]["type"]) == (2, "unknown_model"), model
    assert fakes.kling.seen() == []
