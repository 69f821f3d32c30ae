"""generate_audio: real speech from eSpeak NG as a mono 16-bit WAV."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.scripts.conftest import leftovers, load_script, ok, rms, run_script, wav_samples

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


# --- word timings ---------------------------------------------------------------------------

FRAME = 0.01  # seconds per RMS frame
TOLERANCE = 0.15  # the bound: word timings within 150 ms of the speech
SENTENCES = ("Mountains rise above the valley.", "Extraordinarily deep canyons open below.",
             "A tiny river runs.", "Then the sea.")  # fmt: skip


def voiced_bursts(path: Path, pause: float) -> list[tuple[float, float]]:
    """(start, end) seconds of each burst of sound in a mono WAV, measured on its own RMS
    envelope: 10 ms frames over 2% of the loudest frame, gaps under ``pause`` bridged."""
    samples, rate, _ = wav_samples(path)
    size = round(rate * FRAME)
    levels = [rms(samples[i : i + size]) for i in range(0, len(samples), size)]
    floor = 0.02 * max(levels)
    bursts: list[list[float]] = []
    for index, level in enumerate(levels):
        if level <= floor:
            continue
        start, end = index * FRAME, (index + 1) * FRAME
        if bursts and start - bursts[-1][1] < pause:
            bursts[-1][1] = end
        else:
            bursts.append([start, end])
    return [(a, b) for a, b in bursts]


def _words_of(result: dict[str, object]) -> dict[str, object]:
    path = Path(str(result["words"]))
    assert path == Path(str(result["output"])).with_suffix(".words.json")
    return json.loads(path.read_text(encoding="utf-8"))


# eSpeak pauses about 300 ms between sentences at its default rate (175 words a minute) and
# 70-110 ms at 300; the gaps inside a sentence (stops, word joins) stay under 40 ms.
@pytest.mark.parametrize(("rate", "pause"), [(None, 0.2), (300, 0.05)])
def test_word_starts_follow_the_voiced_audio_within_150_ms(
    tmp_path: Path, rate: int | None, pause: float
) -> None:
    text = " ".join(SENTENCES)
    request = {"text": text, "output": str(tmp_path / "n.wav"), "rate": rate}
    result = ok("generate_audio", {k: v for k, v in request.items() if v is not None})
    timings = _words_of(result)
    words = timings["words"]
    assert result["word_timing"] == "espeak-events"
    assert " ".join(w["text"] for w in words) == text, "every token, as written"
    assert timings["duration"] == pytest.approx(result["duration"], abs=0.001)
    bursts = voiced_bursts(Path(result["output"]), pause)
    assert len(bursts) == len(SENTENCES), f"one burst of speech per sentence: {bursts}"
    at = 0
    for sentence, (begin, finish) in zip(SENTENCES, bursts, strict=True):
        these = words[at : at + len(sentence.split())]
        at += len(these)
        assert abs(these[0]["start"] - begin) <= TOLERANCE, (sentence, these[0], begin)
        assert abs(these[-1]["end"] - finish) <= TOLERANCE, (sentence, these[-1], finish)
        for word in these:
            assert begin - TOLERANCE <= word["start"] <= finish + TOLERANCE, (word, begin, finish)
            assert word["start"] < word["end"] <= finish + TOLERANCE
    starts = [w["start"] for w in words]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    long_word = next(w for w in words if w["text"] == "Extraordinarily")
    short_word = next(w for w in words if w["text"] == "deep")
    assert long_word["end"] - long_word["start"] > 2 * (short_word["end"] - short_word["start"])
    assert leftovers(tmp_path) == []


def test_numbers_dashes_and_accents_keep_their_tokens_in_order(tmp_path: Path) -> None:
    text = "In 1995 — the café's naïve owner left."
    result = ok("generate_audio", {"text": f" {text}\n", "output": str(tmp_path / "n.wav")})
    words = _words_of(result)["words"]
    assert [w["text"] for w in words] == text.split()
    dash = words[2]
    assert dash["start"] == dash["end"] == words[1]["end"], "a dash has no sound of its own"
    year = words[1]
    assert year["end"] - year["start"] > 0.6, "eSpeak says 'nineteen ninety five'"
    starts = [w["start"] for w in words]
    assert starts == sorted(starts)
    assert words[-1]["end"] <= result["duration"]


def test_a_failed_request_leaves_no_word_timings(tmp_path: Path) -> None:
    code, _, _ = run_script(
        "generate_audio", {"text": "hi", "voice": "xx-nowhere", "output": str(tmp_path / "n.wav")}
    )
    assert code == 2 and list(tmp_path.iterdir()) == []


def test_alignments_that_do_not_fit_the_text_are_refused_and_estimates_stay_in_the_sound() -> None:
    words = load_script("_words")
    text = "Two words."
    chars = list(text)
    starts = [0.1 * i for i in range(len(chars))]
    ends = [s + 0.1 for s in starts]
    fitted = words.from_characters(text, chars, starts, ends, 2.0)
    assert [(w["text"], w["start"], w["end"]) for w in fitted] == [
        ("Two", 0.0, 0.3), ("words.", 0.4, 1.0)]  # fmt: skip
    assert words.from_characters("Three words here.", chars, starts, ends, 2.0) is None
    assert words.from_characters(text, chars, starts[:-1], ends, 2.0) is None
    voiced = [False] * 50 + [True] * 100 + [False] * 50  # sound from 0.5 s to 1.5 s
    estimate = words.estimated("a bb cccc", 2.0, voiced)
    assert estimate[0]["start"] == 0.5 and estimate[-1]["end"] == 1.5
    lengths = [w["end"] - w["start"] for w in estimate]
    assert lengths[0] < lengths[1] < lengths[2], "shared out by the tokens' lengths"
