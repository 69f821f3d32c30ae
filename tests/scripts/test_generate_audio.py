"""generate_audio: real speech from eSpeak NG as a mono 16-bit WAV."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scripts.conftest import leftovers, ok, rms, run_script, wav_samples

SENTENCE = "High in the mountains, melting snow becomes a tiny spring."


def test_speech_is_an_audible_mono_16_bit_wav(tmp_path: Path) -> None:
    result = ok(
        "generate_audio", {"text": SENTENCE, "voice": "en", "output": str(tmp_path / "n.wav")}
    )
    samples, rate, channels = wav_samples(Path(result["output"]))
    assert (channels, rate, result["sample_rate"]) == (1, 22050, 22050)
    assert result["duration"] == pytest.approx(len(samples) / rate)
    assert 2.0 < result["duration"] < 8.0
    assert rms(samples) > 500, "speech, not silence"
    assert (result["model"], result["characters"], result["cost_usd"]) == (
        "espeak-ng",
        len(SENTENCE),
        0.0,
    )
    assert leftovers(tmp_path) == []


def test_rate_and_length_of_text_change_the_duration(tmp_path: Path) -> None:
    def seconds(text: str, **extra: object) -> float:
        out = tmp_path / f"{len(text)}-{extra.get('rate')}.wav"
        return float(ok("generate_audio", {"text": text, "output": str(out), **extra})["duration"])

    assert seconds(SENTENCE + " " + SENTENCE) > 1.5 * seconds(SENTENCE)
    assert seconds(SENTENCE, rate=300) < 0.8 * seconds(SENTENCE, rate=120)


def test_other_voices_are_accepted(tmp_path: Path) -> None:
    result = ok(
        "generate_audio",
        {"text": "Hello there.", "voice": "en-us", "output": str(tmp_path / "us.wav")},
    )
    assert result["voice"] == "en-us" and result["duration"] > 0.3


def test_blank_text_unknown_voice_and_bad_rate_are_bad_input(tmp_path: Path) -> None:
    out = str(tmp_path / "n.wav")
    cases = [
        ({"text": "", "output": out}, "'text'"),
        ({"text": "   \n ", "output": out}, "'text'"),
        ({"output": out}, "'text'"),
        ({"text": "hi", "voice": "xx-nowhere", "output": out}, "'voice'"),
        ({"text": "hi", "rate": 5, "output": out}, "'rate'"),
        ({"text": "hi", "output": str(tmp_path / "n.mp3")}, "'output'"),
    ]
    for request, field in cases:
        code, result, _ = run_script("generate_audio", request)
        assert code == 2, request
        assert field in result["error"]["message"]
    assert list(tmp_path.iterdir()) == []
