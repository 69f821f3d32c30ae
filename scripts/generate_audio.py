"""generate_audio: a scene's narration as speech.

Input (stdin JSON):
    text    str        what to say, not blank (required)
    voice   str        eSpeak NG voice: "en", "en-us", "en-gb-x-rp", "fr", ... (default "en")
    rate    int|null   words per minute, 80..450 (default: the voice's own, about 175)
    output_format str  elevenlabs only: an MP3 format, codec_rate_bitrate, e.g.
                       "mp3_44100_192" (default "mp3_44100_128")
    output  str        path of the .wav (local) or .mp3 (elevenlabs) to write

Output (stdout JSON line):
    {"output", "duration", "provider", "model", "cost_usd", "sample_rate", "characters",
     "voice", "words", "word_timing"}

Beside the audio, ``<stem>.words.json`` (path in "words"): {"words": [{"text", "start",
"end"}, ...], "duration"}, seconds, one entry per whitespace-separated token of the text as
spoken (punctuation attached); "word_timing" says where the times come from:
"espeak-events", "elevenlabs-alignment" or "estimated" (see _words.py).

Providers: local (eSpeak NG, model "espeak-ng"): the library bundled by espeakng_loader
through ctypes (word starts from its WORD events), else a system espeak-ng binary (word
times estimated). Mono 16-bit WAV at 22050 Hz.
elevenlabs (ElevenLabs text to speech with timestamps, model "eleven_multilingual_v2" by
default, key in $REELFLOW_ELEVENLABS_API_KEY): MP3 in ``output_format``; ``voice`` is an
ElevenLabs voice id, anything else means the default voice; ``rate`` is ignored; word times
from the answer's character alignment. Its result adds
"characters_billed" (ElevenLabs' own count) and "request_id" (see _elevenlabs.py).
"""

from __future__ import annotations

import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _contract as c
import _words


def run_local(spec: dict[str, Any], temp: Path, model: str | None) -> dict[str, Any]:
    """Speak the text with eSpeak NG into ``temp``."""
    from _speech import synthesize

    c.check_model(model, "espeak-ng")
    speech = synthesize(spec["text"], spec["voice"], spec["rate"])
    with wave.open(str(temp), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(speech.sample_rate)
        out.writeframes(speech.pcm)
    voiced = _words.voiced_frames(speech.pcm, speech.sample_rate)
    return {"model": "espeak-ng", "cost_usd": 0.0, "marks": speech.marks, "voiced": voiced}


def run_elevenlabs(spec: dict[str, Any], temp: Path, model: str | None) -> dict[str, Any]:
    """Speak the text with ElevenLabs into ``temp`` (MP3)."""
    import _elevenlabs

    return _elevenlabs.speech(spec["text"], spec["voice"], model, temp, spec["format"])


PROVIDERS = {"local": run_local, "elevenlabs": run_elevenlabs}
SUFFIX = {"local": ".wav", "elevenlabs": ".mp3"}
MP3_FORMATS = ("mp3_44100_128", "mp3_22050_32", "mp3_44100_32", "mp3_44100_64", "mp3_44100_96",
               "mp3_44100_192")  # fmt: skip


def run(request: c.Request, provider: str, model: str | None) -> c.Result:
    """Validate the request, synthesise into a temp file, check it, rename it onto ``output``."""
    implementation = c.pick_provider(PROVIDERS, provider)
    text = " ".join(c.get_str(request, "text").replace("\x00", " ").split())
    if not text:
        raise c.BadInput("field 'text' must be a non-empty string", type="invalid_field")
    spec: dict[str, Any] = {
        "text": text,
        "voice": c.get_str(request, "voice", "en").strip(),
        "rate": c.get_number(request, "rate", None, integer=True, minimum=80, maximum=450),
        "format": c.get_choice(request, "output_format", MP3_FORMATS, MP3_FORMATS[0]),
    }
    output = c.output_path(request, (SUFFIX[provider],))
    with c.atomic_output(output) as temp:
        produced = implementation(spec, temp, model)
        duration, sample_rate = _check_speech(temp)
        words, timing = _timings(text, produced, duration)
        words_file = _words.write(_words.words_path(output), words, duration)
    c.log(f"{len(text)} characters, {duration:.2f} s of speech ({timing} word times) → {output}")
    return {
        "output": str(output),
        "duration": duration,
        "provider": provider,
        "model": produced.get("model", model),
        "cost_usd": float(produced.get("cost_usd", 0.0)),
        "sample_rate": sample_rate,
        "characters": len(text),
        "voice": produced.get("voice", spec["voice"]),
        "words": str(words_file),
        "word_timing": timing,
        **{k: produced[k] for k in ("characters_billed", "request_id") if k in produced},
    }


def _timings(text: str, produced: dict[str, Any], duration: float) -> tuple[list[Any], str]:
    """The words' timings and where they come from: eSpeak's word events, ElevenLabs'
    character alignment, or (neither available) an estimate."""
    if produced.get("marks"):
        words = _words.from_marks(text, produced["marks"], duration, produced["voiced"])
        return words, "espeak-events"
    alignment = produced.get("alignment")
    if alignment is not None:
        characters, starts, ends = alignment
        aligned = _words.from_characters(text, characters, starts, ends, duration)
        if aligned is not None:
            return aligned, "elevenlabs-alignment"
        c.log("the alignment does not match the text's words; estimating word times")
    return _words.estimated(text, duration, produced.get("voiced")), "estimated"


def _check_speech(path: Path) -> tuple[float, int]:
    """(seconds, sample rate) of the speech; empty or unreadable speech fails."""
    if path.suffix == ".wav":
        with wave.open(str(path), "rb") as check:
            duration, sample_rate = check.getnframes() / check.getframerate(), check.getframerate()
    else:
        from _media import probe

        info = probe(path)
        duration = (info.audio_duration or info.duration) if info.audio_codec else 0.0
        sample_rate = info.sample_rate
    if duration <= 0:
        raise c.Failure("the speech came out empty", type="invalid_output")
    return duration, sample_rate


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, read the request on stdin, print the one JSON result line."""
    return c.serve(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
