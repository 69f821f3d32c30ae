"""generate_asset --provider gemini against the fake Gemini API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from tests.scripts.conftest import H, W, leftovers, run_script
from tests.scripts.providers import gemini
from tests.scripts.providers.fakes import Fakes

pytest_plugins = ["tests.scripts.providers.fixtures"]

GENERATE = "/v1beta/models/gemini-2.5-flash-image:generateContent"


def _request(tmp_path: Path, kind: str = "background", **extra: Any) -> dict[str, Any]:
    return {"prompt": "a calm sunrise over the sea", "title": "Dawn", "kind": kind,
            "width": W, "height": H, "output": str(tmp_path / f"{kind}.png"), **extra}  # fmt: skip


def _run(fakes: Fakes, request: dict[str, Any], *args: str, **env: str) -> tuple[int, Any, str]:
    return run_script("generate_asset", request, "--provider", "gemini", *args,
                      env={**fakes.env(), **env})  # fmt: skip


def test_a_background_is_drawn_at_the_nearest_ratio_and_fitted_to_the_frame(
    fakes: Fakes, tmp_path: Path
) -> None:
    code, result, stderr = _run(fakes, _request(tmp_path))
    assert code == 0, (result, stderr)
    with Image.open(result["output"]) as image:
        assert (image.mode, image.size) == ("RGB", (W, H))
    [seen] = fakes.gemini.seen("POST")
    assert seen.path == GENERATE and seen.query == {}, "the key never goes in the URL"
    assert seen.headers["x-goog-api-key"] == gemini.KEY
    config = seen.body["generationConfig"]
    assert config["responseModalities"] == ["IMAGE"]
    assert config["imageConfig"] == {"aspectRatio": "16:9"}
    assert isinstance(config["seed"], int)
    text = seen.body["contents"][0]["parts"][0]["text"]
    assert "a calm sunrise over the sea" in text and "no text" in text
    assert (result["provider"], result["model"], result["kind"]) == (
        "gemini", "gemini-2.5-flash-image", "background",
    )  # fmt: skip
    words = len(text.split())
    assert result["usage"] == {"prompt_tokens": words, "output_tokens": 1290,
                               "total_tokens": words + 1290}  # fmt: skip
    assert result["cost_usd"] == round((words * 0.30 + 1290 * 30.0) / 1_000_000, 6)
    assert leftovers(tmp_path) == []


def test_a_foreground_is_keyed_off_its_magenta_backdrop_onto_transparency(
    fakes: Fakes, tmp_path: Path
) -> None:
    code, result, stderr = _run(fakes, _request(tmp_path, "foreground", prompt="a lighthouse"))
    assert code == 0, (result, stderr)
    assert "magenta" in fakes.gemini.seen("POST")[0].body["contents"][0]["parts"][0]["text"]
    with Image.open(result["output"]) as image:
        assert (image.mode, image.size) == ("RGBA", (W, H))
        alpha = image.getchannel("A")
        assert alpha.getpixel((2, 2)) == 0 and alpha.getpixel((W // 2, H // 2)) == 255
        red, green, blue, _ = image.getpixel((W // 2, H // 2))
        assert (red, green, blue) == (230, 140, 30), "the subject keeps its colour"
        left, top, right, bottom = alpha.getbbox()
        assert 0 < left < right < W and 0 <= top < bottom <= H


def test_a_foreground_without_a_plain_backdrop_is_refused(fakes: Fakes, tmp_path: Path) -> None:
    fakes.gemini.plain_backdrop = False
    code, result, _ = _run(fakes, _request(tmp_path, "foreground"))
    assert (code, result["error"]["type"]) == (1, "invalid_output")
    assert "backdrop" in result["error"]["message"]
    assert list(tmp_path.iterdir()) == []


def test_the_model_is_configurable_and_priced_from_the_table(fakes: Fakes, tmp_path: Path) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text('[gemini."gemini-3-pro-image-preview"]\nper_image = 0.5\n')
    code, result, stderr = _run(
        fakes, _request(tmp_path), "--model", "gemini-3-pro-image-preview",
        REELFLOW_PRICES=str(prices),
    )  # fmt: skip
    assert code == 0, (result, stderr)
    assert fakes.gemini.seen("POST")[0].path.endswith("/gemini-3-pro-image-preview:generateContent")
    assert (result["model"], result["cost_usd"]) == ("gemini-3-pro-image-preview", 0.5)


def test_an_unpriced_model_is_refused_before_any_request(fakes: Fakes, tmp_path: Path) -> None:
    code, result, _ = _run(fakes, _request(tmp_path), "--model", "gemini-9-ultra-image")
    assert (code, result["error"]["type"]) == (2, "unknown_model")
    assert "gemini-9-ultra-image" in result["error"]["message"]
    assert fakes.gemini.seen() == []


def test_a_missing_key_fails_naming_the_variable(fakes: Fakes, tmp_path: Path) -> None:
    code, result, _ = _run(fakes, _request(tmp_path), REELFLOW_GEMINI_API_KEY="")
    assert (code, result["error"]["type"]) == (1, "missing_credentials")
    assert "REELFLOW_GEMINI_API_KEY" in result["error"]["message"]
    assert fakes.gemini.seen() == []


def test_a_rejected_key_is_permanent_with_googles_message_and_never_printed(
    fakes: Fakes, tmp_path: Path
) -> None:
    wrong = "AIzaSyWRONG-gemini-canary-0000"
    code, result, stderr = _run(fakes, _request(tmp_path), REELFLOW_GEMINI_API_KEY=wrong)
    assert (code, result["error"]["type"]) == (1, "unauthorized"), "Google's 400 API_KEY_INVALID"
    assert "400 INVALID_ARGUMENT: API key not valid" in result["error"]["message"]
    assert result["error"]["retry_after"] is None
    assert wrong not in str(result) + stderr and gemini.KEY not in str(result) + stderr


def test_an_invalid_key_without_details_is_unauthorized_and_other_400s_are_rejected(
    fakes: Fakes, tmp_path: Path
) -> None:
    said = {"code": 400, "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT"}  # fmt: skip
    fakes.gemini.fail(400, body={"error": said})  # a proxy that drops the details
    code, result, _ = _run(fakes, _request(tmp_path))
    assert (code, result["error"]["type"]) == (1, "unauthorized")
    fakes.gemini.fail(400)  # an INVALID_ARGUMENT about the request, not the key
    code, result, _ = _run(fakes, _request(tmp_path))
    assert (code, result["error"]["type"]) == (1, "rejected")


def test_quota_exhaustion_is_transient_with_googles_retry_delay(
    fakes: Fakes, tmp_path: Path
) -> None:
    fakes.gemini.fail(429)
    code, result, _ = _run(fakes, _request(tmp_path))
    assert (code, result["error"]["type"], result["error"]["retry_after"]) == (
        75, "rate_limited", 2.0,
    )  # fmt: skip
    assert "RESOURCE_EXHAUSTED" in result["error"]["message"]
    assert list(tmp_path.iterdir()) == []


def test_an_answer_without_an_image_is_a_permanent_failure(fakes: Fakes, tmp_path: Path) -> None:
    blocked = {"candidates": [{"finishReason": "PROHIBITED_CONTENT", "content": {"parts": []}}]}
    fakes.gemini.fail(200, body=blocked)
    code, result, _ = _run(fakes, _request(tmp_path))
    assert (code, result["error"]["type"]) == (1, "no_image")
    assert "PROHIBITED_CONTENT" in result["error"]["message"]
