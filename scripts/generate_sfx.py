"""generate_sfx: a scene's sound effect.

Input (stdin JSON):
    prompt    str     what it sounds like, e.g. "rain and thunder" (required)
    duration  float   seconds, > 0 and <= 600
    prompt_influence  float   0..1, how closely ElevenLabs follows the prompt (default 0.3)
    output    str     path of the .wav (local) or .mp3 (elevenlabs) to write

Output (stdout JSON line):
    {"output", "duration", "provider", "model", "cost_usd", "layers", "sample_rate",
     "channels"}

Providers: local (ffmpeg lavfi synthesis, model "ffmpeg-lavfi"): each keyword in the prompt
(wind, rain, waves, water, bubbles, crowd, traffic, engine, thunder, impact, fire, birds,
crickets, footsteps, bells, knocking; see _sound.py) adds a layer of noise or tones shaped
by filters; "gentle"/"distant" make it quieter, "loud"/"roar" louder; no keyword gives a
quiet room tone. Stereo 16-bit WAV at 44.1 kHz, exactly the asked length, faded in and out.
elevenlabs (ElevenLabs sound generation, model "eleven_text_to_sound_v2" by default, key in
$REELFLOW_ELEVENLABS_API_KEY): MP3 of the asked length within 0.5..22 s; longer scenes get
a 22 s seamless loop repeated to their length. Its result adds "requested_seconds" (what is
billed) and "request_id" (see _elevenlabs.py).
"""

from __future__ import annotations

import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _contract as c


def run_local(spec: dict[str, Any], temp: Path, model: str | None) -> dict[str, Any]:
    """Synthesise the layers with ffmpeg into ``temp``."""
    import _media
    import _sound

    c.check_model(model, "ffmpeg-lavfi")
    layers, graph, samples = _sound.plan(spec["prompt"], spec["duration"])
    _media.ffmpeg(
        "-filter_complex",
        graph,
        "-map",
        "[out]",
        "-c:a",
        "pcm_s16le",
        "-ar",
        str(_sound.SAMPLE_RATE),
        "-ac",
        "2",
        str(temp),
    )
    return {"model": "ffmpeg-lavfi", "cost_usd": 0.0, "layers": layers, "samples": samples}


def run_elevenlabs(spec: dict[str, Any], temp: Path, model: str | None) -> dict[str, Any]:
    """Generate the sound with ElevenLabs into ``temp`` (MP3)."""
    import _elevenlabs

    return _elevenlabs.sound(spec["prompt"], spec["duration"], spec["influence"], model, temp)


PROVIDERS = {"local": run_local, "elevenlabs": run_elevenlabs}
SUFFIX = {"local": ".wav", "elevenlabs": ".mp3"}
EXTRA = ("requested_seconds", "request_id")


def run(request: c.Request, provider: str, model: str | None) -> c.Result:
    """Validate the request, synthesise into a temp file, check it, rename it onto ``output``."""
    implementation = c.pick_provider(PROVIDERS, provider)
    spec: dict[str, Any] = {
        "prompt": c.get_str(request, "prompt"),
        "duration": c.get_number(request, "duration", minimum=0.0, maximum=600.0),
        "influence": c.get_number(request, "prompt_influence", 0.3, minimum=0.0, maximum=1.0),
    }
    if spec["duration"] < 0.05:
        raise c.BadInput("field 'duration' must be at least 0.05 s", type="invalid_field")
    output = c.output_path(request, (SUFFIX[provider],))
    with c.atomic_output(output) as temp:
        produced = implementation(spec, temp, model)
        duration, rate, channels = _check_sound(temp, produced.get("samples"), spec["duration"])
    c.log(f"{'+'.join(produced.get('layers', []))}, {duration:.2f} s → {output}")
    return {
        "output": str(output),
        "duration": duration,
        "provider": provider,
        "model": produced.get("model", model),
        "cost_usd": float(produced.get("cost_usd", 0.0)),
        "layers": produced.get("layers", []),
        "sample_rate": rate,
        "channels": channels,
        **{key: produced[key] for key in EXTRA if key in produced},
    }


def _check_sound(path: Path, samples: int | None, asked: float) -> tuple[float, int, int]:
    """(seconds, rate, channels): a local WAV is exactly as planned; a provider's MP3 is
    readable audio."""
    if path.suffix == ".wav":
        with wave.open(str(path), "rb") as check:
            frames, rate, channels = check.getnframes(), check.getframerate(), check.getnchannels()
            width = check.getsampwidth()
        wanted = samples if samples is not None else round(asked * rate)
        if frames != wanted or channels != 2 or width != 2:
            raise c.Failure(
                f"sfx check failed: {frames} frames x {channels} channels, wanted "
                f"{wanted} x 2 at 16 bits",
                type="invalid_output",
            )
        return frames / rate, rate, channels
    from _media import probe

    info = probe(path)
    if info.audio_codec is None or info.duration <= 0:
        raise c.Failure("sfx check failed: no audio in the provider's file", type="invalid_output")
    return info.audio_duration or info.duration, info.sample_rate, info.channels


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, read the request on stdin, print the one JSON result line."""
    return c.serve(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
