"""generate_audio and generate_sfx --provider elevenlabs against the fake ElevenLabs API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows.core.media import probe
from tests.scripts.conftest import leftovers, run_script
from tests.scripts.providers import elevenlabs
from tests.scripts.providers.fakes import Fakes

pytest_plugins = ["tests.scripts.providers.fixtures"]

TEXT = "The day begins by the sea."


def _run(fakes: Fakes, script: str, request: dict[str, Any], *args: str, **env: str
         ) -> tuple[int, Any, str]:  # fmt: skip
    return run_script(script, request, "--provider", "elevenlabs", *args,
                      env={**fakes.env(), **env})  # fmt: skip


def test_narration_is_an_mp3_priced_by_the_characters_elevenlabs_billed(
    fakes: Fakes, tmp_path: Path
) -> None:
    request = {"text": f"  {TEXT}\n", "voice": "en", "output": str(tmp_path / "n.mp3")}
    code, result, stderr = _run(fakes, "generate_audio", request)
    assert code == 0, (result, stderr)
    [seen] = fakes.elevenlabs.seen("POST")
    assert seen.path == f"/v1/text-to-speech/{elevenlabs.VOICES[0]}", "a non-id voice: the default"
    assert seen.query == {"output_format": "mp3_44100_128"}
    assert seen.headers["xi-api-key"] == elevenlabs.KEY
    assert seen.body == {"text": TEXT, "model_id": "eleven_multilingual_v2"}
    info = probe(Path(result["output"]))
    assert info.audio_codec in ("mp3", "mp3float") and result["duration"] > 1.0
    assert (result["characters"], result["characters_billed"]) == (len(TEXT), len(TEXT))
    assert result["cost_usd"] == round(len(TEXT) * 0.10 / 1000, 6)
    assert (result["model"], result["voice"]) == ("eleven_multilingual_v2", elevenlabs.VOICES[0])
    assert result["request_id"] and leftovers(tmp_path) == []


def test_a_voice_id_a_cheaper_model_and_an_output_format_are_used_as_given(
    fakes: Fakes, tmp_path: Path
) -> None:
    voice = elevenlabs.VOICES[1]
    request = {"text": TEXT, "voice": voice, "output_format": "mp3_44100_192",
               "output": str(tmp_path / "n.mp3")}  # fmt: skip
    code, result, stderr = _run(fakes, "generate_audio", request, "--model", "eleven_flash_v2_5")
    assert code == 0, (result, stderr)
    [seen] = fakes.elevenlabs.seen("POST")
    assert seen.path.endswith(voice) and seen.query == {"output_format": "mp3_44100_192"}
    assert result["cost_usd"] == round(len(TEXT) * 0.05 / 1000, 6)


def test_elevenlabs_narration_must_be_written_as_mp3(fakes: Fakes, tmp_path: Path) -> None:
    request = {"text": TEXT, "output": str(tmp_path / "n.wav")}
    code, result, _ = _run(fakes, "generate_audio", request)
    assert (code, result["error"]["type"]) == (2, "invalid_field")
    assert fakes.elevenlabs.seen() == []


def test_a_sound_effect_is_asked_for_its_duration_and_prompt_influence(
    fakes: Fakes, tmp_path: Path
) -> None:
    request = {"prompt": "rain and thunder", "duration": 2.0, "prompt_influence": 0.6,
               "output": str(tmp_path / "s.mp3")}  # fmt: skip
    code, result, stderr = _run(fakes, "generate_sfx", request)
    assert code == 0, (result, stderr)
    [seen] = fakes.elevenlabs.seen("POST")
    assert (seen.path, seen.query) == ("/v1/sound-generation", {"output_format": "mp3_44100_128"})
    assert seen.body == {
        "text": "rain and thunder", "duration_seconds": 2.0, "prompt_influence": 0.6,
        "model_id": "eleven_text_to_sound_v2",
    }  # fmt: skip
    assert abs(result["duration"] - 2.0) < 0.1 and result["channels"] >= 1
    assert (result["requested_seconds"], result["cost_usd"]) == (2.0, 0.005)


def test_a_sound_longer_than_the_api_makes_is_a_looped_22_seconds(
    fakes: Fakes, tmp_path: Path
) -> None:
    request = {"prompt": "wind", "duration": 30.0, "output": str(tmp_path / "s.mp3")}
    code, result, stderr = _run(fakes, "generate_sfx", request)
    assert code == 0, (result, stderr)
    body = fakes.elevenlabs.seen("POST")[0].body
    assert (body["duration_seconds"], body["loop"]) == (22.0, True)
    assert abs(result["duration"] - 30.0) < 0.2
    assert result["cost_usd"] == 0.055 and leftovers(tmp_path) == []


def test_a_short_sound_is_asked_for_the_api_minimum(fakes: Fakes, tmp_path: Path) -> None:
    request = {"prompt": "a knock", "duration": 0.2, "output": str(tmp_path / "s.mp3")}
    code, result, stderr = _run(fakes, "generate_sfx", request)
    assert code == 0, (result, stderr)
    assert fakes.elevenlabs.seen("POST")[0].body["duration_seconds"] == 0.5


def test_bad_input_is_refused_before_any_request(fakes: Fakes, tmp_path: Path) -> None:
    out = str(tmp_path / "s.mp3")
    code, result, _ = _run(
        fakes,
        "generate_sfx",
        {"prompt": "wind", "duration": 1.0, "prompt_influence": 1.5, "output": out},
    )
    assert (code, result["error"]["type"]) == (2, "invalid_field")
    assert "prompt_influence" in result["error"]["message"]
    code, result, _ = _run(fakes, "generate_audio", {"text": TEXT, "output": out},
                           "--model", "eleven_unpriced_v9")  # fmt: skip
    assert (code, result["error"]["type"]) == (2, "unknown_model")
    assert fakes.elevenlabs.seen() == []


def test_a_rejected_key_is_permanent_with_elevenlabs_message_and_never_printed(
    fakes: Fakes, tmp_path: Path
) -> None:
    wrong = "sk_WRONG-elevenlabs-canary-0000"
    request = {"text": TEXT, "output": str(tmp_path / "n.mp3")}
    code, result, stderr = _run(fakes, "generate_audio", request,
                                REELFLOW_ELEVENLABS_API_KEY=wrong)  # fmt: skip
    assert (code, result["error"]["type"]) == (1, "unauthorized")
    assert "invalid_api_key: Invalid API key" in result["error"]["message"]
    assert wrong not in str(result) + stderr and elevenlabs.KEY not in str(result) + stderr


def test_an_unknown_voice_is_permanent_with_elevenlabs_message(
    fakes: Fakes, tmp_path: Path
) -> None:
    request = {"text": TEXT, "voice": "AAAAAAAAAAAAAAAAAAAA", "output": str(tmp_path / "n.mp3")}
    code, result, _ = _run(fakes, "generate_audio", request)
    assert (code, result["error"]["type"]) == (1, "not_found")
    assert "voice_not_found" in result["error"]["message"]
    assert not (tmp_path / "n.mp3").exists()
