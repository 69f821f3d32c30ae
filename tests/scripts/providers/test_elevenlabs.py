"""generate_audio and generate_sfx --provider elevenlabs against the fake ElevenLabs API."""

from __future__ import annotations

import json
import subprocess
import wave
from array import array
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest

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
    path = f"/v1/text-to-speech/{elevenlabs.VOICES[0]}/with-timestamps"
    assert seen.path == path, "a non-id voice: the default"
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
    assert seen.path.endswith(f"{voice}/with-timestamps")
    assert seen.query == {"output_format": "mp3_44100_192"}
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


# --- word timings from the alignment ---------------------------------------------------------

SPOKEN = "Rivers carve deep canyons. Slowly, patiently! The sea waits."


def _voiced(mp3: Path, tmp_path: Path) -> list[tuple[float, float]]:
    """Bursts of sound in an MP3 (decoded by ffmpeg): 10 ms frames over 5% of the loudest,
    gaps under 40 ms bridged."""
    wav = tmp_path / "decoded.wav"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(mp3),
                    "-ac", "1", "-ar", "8000", str(wav)], check=True)  # fmt: skip
    with wave.open(str(wav), "rb") as w:
        samples = array("h", w.readframes(w.getnframes()))
    levels = [max(map(abs, samples[i : i + 80]), default=0) for i in range(0, len(samples), 80)]
    bursts: list[list[float]] = []
    for index, level in enumerate(levels):
        if level > 0.05 * max(levels):
            start = index / 100
            if bursts and start - bursts[-1][1] < 0.04:
                bursts[-1][1] = start + 0.01
            else:
                bursts.append([start, start + 0.01])
    return [(a, b) for a, b in bursts]


def test_narration_words_come_from_the_character_alignment_and_match_the_sound(
    fakes: Fakes, tmp_path: Path
) -> None:
    request = {"text": SPOKEN, "output": str(tmp_path / "n.mp3")}
    code, result, stderr = _run(fakes, "generate_audio", request)
    assert code == 0, (result, stderr)
    assert result["word_timing"] == "elevenlabs-alignment"
    timings = json.loads(Path(result["words"]).read_text(encoding="utf-8"))
    assert Path(result["words"]) == tmp_path / "n.words.json"
    words = timings["words"]
    assert [w["text"] for w in words] == SPOKEN.split()
    assert timings["duration"] == pytest.approx(result["duration"], abs=0.001)
    # The fake's audio sounds only while a word is spoken: every word is one burst of sound.
    bursts = _voiced(Path(result["output"]), tmp_path)
    assert len(bursts) == len(words), bursts
    for word, (begin, finish) in zip(words, bursts, strict=True):
        assert abs(word["start"] - begin) <= 0.15 and abs(word["end"] - finish) <= 0.15, (
            word, begin, finish)  # fmt: skip
    assert leftovers(tmp_path) == []


def test_an_answer_without_alignment_gets_estimated_word_times(
    fakes: Fakes, tmp_path: Path
) -> None:
    answer = {"audio_base64": _tone_base64(), "alignment": None, "normalized_alignment": None}
    fakes.elevenlabs.fail(200, body=answer, path="/v1/text-to-speech/")
    code, result, stderr = _run(
        fakes, "generate_audio", {"text": TEXT, "output": str(tmp_path / "n.mp3")}
    )
    assert code == 0, (result, stderr)
    assert result["word_timing"] == "estimated"
    words = json.loads(Path(result["words"]).read_text(encoding="utf-8"))["words"]
    assert [w["text"] for w in words] == TEXT.split() and words[-1]["end"] <= result["duration"]


def test_an_answer_without_audio_is_a_permanent_bad_response(fakes: Fakes, tmp_path: Path) -> None:
    fakes.elevenlabs.fail(200, body={"alignment": None}, path="/v1/text-to-speech/")
    code, result, _ = _run(
        fakes, "generate_audio", {"text": TEXT, "output": str(tmp_path / "n.mp3")}
    )
    assert (code, result["error"]["type"]) == (1, "bad_response")
    assert list(tmp_path.iterdir()) == []


def _tone_base64() -> str:
    import base64

    from tests.scripts.providers.service import media

    return base64.b64encode(media("mp3", 1.5)).decode("ascii")


# --- music --------------------------------------------------------------------------------


def test_a_music_bed_is_an_instrumental_asked_for_its_length_and_priced_per_second(
    fakes: Fakes, tmp_path: Path
) -> None:
    request = {"prompt": "a river at dawn", "mood": "calm", "duration": 4.0, "seed": 9,
               "output": str(tmp_path / "bed.mp3")}  # fmt: skip
    code, result, stderr = _run(fakes, "generate_music", request)
    assert code == 0, (result, stderr)
    [seen] = fakes.elevenlabs.seen("POST")
    assert (seen.path, seen.query) == ("/v1/music", {"output_format": "mp3_44100_128"})
    assert seen.body == {
        "prompt": "a river at dawn, calm mood, instrumental background music for narration, "
        "no vocals",
        "music_length_ms": 4000, "model_id": "music_v1", "force_instrumental": True,
    }, "no seed: the API refuses one with a prompt"  # fmt: skip
    assert seen.headers["xi-api-key"] == elevenlabs.KEY
    info = probe(Path(result["output"]))
    assert info.audio_codec in ("mp3", "mp3float") and abs(result["duration"] - 4.0) < 0.1
    assert (result["model"], result["requested_ms"], result["cost_usd"]) == ("music_v1", 4000, 0.02)
    assert result["song_id"] and result["request_id"] and leftovers(tmp_path) == []


def test_a_bed_shorter_than_the_api_minimum_is_asked_for_3_seconds_and_cut(
    fakes: Fakes, tmp_path: Path
) -> None:
    request = {"prompt": "a knock", "duration": 1.5, "output": str(tmp_path / "bed.mp3")}
    code, result, stderr = _run(fakes, "generate_music", request)
    assert code == 0, (result, stderr)
    assert fakes.elevenlabs.seen("POST")[0].body["music_length_ms"] == 3000
    assert abs(result["duration"] - 1.5) < 0.1 and result["cost_usd"] == 0.015
    assert leftovers(tmp_path) == []


def test_music_rate_limits_are_transient_and_refusals_permanent(
    fakes: Fakes, tmp_path: Path
) -> None:
    request = {"prompt": "storm", "duration": 3.0, "output": str(tmp_path / "bed.mp3")}
    fakes.elevenlabs.fail(429, retry_after="7", path="/v1/music")
    code, result, _ = _run(fakes, "generate_music", request)
    assert (code, result["error"]["type"], result["error"]["retry_after"]) == (
        75,
        "rate_limited",
        7.0,
    )
    fakes.elevenlabs.fail(422, path="/v1/music", body={"detail": [
        {"loc": ["body", "prompt"], "msg": "bad_prompt", "type": "value_error"}]})  # fmt: skip
    code, result, _ = _run(fakes, "generate_music", request)
    assert (code, result["error"]["type"]) == (1, "rejected")
    assert "body.prompt: bad_prompt" in result["error"]["message"]
    assert list(tmp_path.iterdir()) == []


def test_music_bad_input_is_refused_before_any_request(fakes: Fakes, tmp_path: Path) -> None:
    out = str(tmp_path / "bed.mp3")
    code, result, _ = _run(fakes, "generate_music", {"prompt": "x", "duration": 3.0, "output": out},
                           "--model", "music_v9")  # fmt: skip
    assert (code, result["error"]["type"]) == (2, "unknown_model")
    long = {"prompt": "y" * 4100, "duration": 3.0, "output": out}
    code, result, _ = _run(fakes, "generate_music", long)
    assert (code, result["error"]["type"]) == (2, "invalid_field") and "'prompt'" in result[
        "error"
    ]["message"]
    wav = {"prompt": "x", "duration": 3.0, "output": str(tmp_path / "bed.wav")}
    code, result, _ = _run(fakes, "generate_music", wav)
    assert (code, result["error"]["type"]) == (2, "invalid_field")
    assert fakes.elevenlabs.seen() == [] and list(tmp_path.iterdir()) == []


def test_the_music_stand_in_refuses_what_the_api_refuses(fakes: Fakes) -> None:
    import httpx

    url, headers = f"{fakes.elevenlabs.url}/v1/music", {"xi-api-key": elevenlabs.KEY}
    plan = {"positive_global_styles": [], "negative_global_styles": [], "sections": []}
    refused = [
        {"prompt": "x", "seed": 3},  # seed: "cannot be used in conjunction with prompt"
        {"prompt": "x", "composition_plan": plan},  # one or the other
        {},
        {"prompt": "x", "music_length_ms": 2999},
        {"prompt": "x", "music_length_ms": 600_001},
        {"prompt": "x", "model_id": "music_v9"},
        {"prompt": "x" * 4101},
    ]
    for body in refused:
        answer = httpx.post(url, json=body, headers=headers, timeout=10)
        assert answer.status_code == 422 and answer.json()["detail"][0]["loc"][0] == "body", body
    answer = httpx.post(url, json={"prompt": "x"}, headers={"xi-api-key": "wrong"}, timeout=10)
    assert answer.status_code == 401
