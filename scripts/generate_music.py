"""generate_music: an instrumental music bed for the whole video.

Input (stdin JSON):
    prompt    str         what the music is for, e.g. "a calm river documentary" (required)
    mood      str|null    calm, happy, hopeful, sad, dramatic, mysterious, or words that
                          suggest one ("peaceful", "epic", "night"...); null: from the prompt
    duration  float       seconds, 1..600 (required): the bed's length
    seed      int|null    0..2147483647; null: a hash of prompt, mood and duration
    output    str         path of the .wav (local) or .mp3 (elevenlabs) to write

Output (stdout JSON line):
    {"output", "duration", "provider", "model", "cost_usd", "sample_rate", "channels",
     "mood", "seed", ...}; local adds "key", "tempo_bpm", "bars"; elevenlabs adds
    "requested_ms", "request_id", "song_id"

Providers: local (model "reelflow-synth", see _music.py): a chord progression in a key and
tempo chosen by the mood, soft pads, bass and an arpeggio, low-passed and reverberated by
ffmpeg; stereo 16-bit WAV at 48 kHz of exactly round(duration * 48000) frames, faded in and
out, about -18 LUFS. The same request gives the same bytes.
elevenlabs (ElevenLabs music, model "music_v1", key in $REELFLOW_ELEVENLABS_API_KEY):
``POST /v1/music`` with the prompt (and the mood) as an instrumental of ``duration``
(3 s at least: shorter beds are cut), MP3.
"""

from __future__ import annotations

import contextlib
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _contract as c

MIN_SECONDS, MAX_SECONDS = 1.0, 600.0
MAX_SEED = 2_147_483_647


def run_local(spec: dict[str, Any], temp: Path, model: str | None) -> dict[str, Any]:
    """Compose and render the bed into ``temp`` (WAV)."""
    import _media
    import _music

    c.check_model(model, "reelflow-synth")
    piece = _music.compose(spec["prompt"], spec["mood"], spec["duration"], spec["seed"])
    layers = _music.render(piece)
    paths = {name: c.temp_path_for(temp.with_name(f"{temp.stem}-{name}.raw"))
             for name in layers}  # fmt: skip
    try:
        _music.write_layers(layers, paths)
        graph = _music.finish_graph(piece, spec["duration"])
        rate = str(_music.OUT_RATE)
        _media.ffmpeg(*_music.ffmpeg_inputs(paths), "-filter_complex", graph, "-map", "[out]",
                      "-c:a", "pcm_s16le", "-ar", rate, "-ac", "2", str(temp))  # fmt: skip
    finally:
        for path in paths.values():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return {"model": "reelflow-synth", "cost_usd": 0.0, "mood": piece.mood.name,
            "key": piece.key_name, "tempo_bpm": piece.tempo, "bars": len(piece.bars),
            "frames": round(spec["duration"] * _music.OUT_RATE)}  # fmt: skip


def run_elevenlabs(spec: dict[str, Any], temp: Path, model: str | None) -> dict[str, Any]:
    """Compose the bed with ElevenLabs into ``temp`` (MP3)."""
    import _elevenlabs

    return _elevenlabs.music(spec["prompt"], spec["mood"], spec["duration"], model, temp)


PROVIDERS = {"local": run_local, "elevenlabs": run_elevenlabs}
SUFFIX = {"local": ".wav", "elevenlabs": ".mp3"}
EXTRA = ("key", "tempo_bpm", "bars", "requested_ms", "request_id", "song_id")


def run(request: c.Request, provider: str, model: str | None) -> c.Result:
    """Validate the request, make the bed in a temp file, check it, rename it onto ``output``."""
    import _music

    implementation = c.pick_provider(PROVIDERS, provider)
    prompt = " ".join(c.get_str(request, "prompt").split())
    mood = request.get("mood")
    if mood is not None:
        mood = " ".join(c.get_str(request, "mood").split())
    duration = c.get_number(request, "duration", minimum=MIN_SECONDS, maximum=MAX_SECONDS)
    seed = c.get_number(request, "seed", None, integer=True, minimum=0, maximum=MAX_SEED)
    if seed is None:
        seed = _music.default_seed(prompt, mood, duration)
    spec = {"prompt": prompt, "mood": mood, "duration": duration, "seed": seed}
    output = c.output_path(request, (SUFFIX[provider],))
    with c.atomic_output(output) as temp:
        produced = implementation(spec, temp, model)
        seconds, rate, channels = _check_music(temp, produced.get("frames"))
    c.log(f"{produced.get('mood', mood)} {produced.get('key', '')}, {seconds:.2f} s → {output}")
    return {
        "output": str(output),
        "duration": seconds,
        "provider": provider,
        "model": produced.get("model", model),
        "cost_usd": float(produced.get("cost_usd", 0.0)),
        "sample_rate": rate,
        "channels": channels,
        "mood": produced.get("mood") or _music.find_mood(prompt, mood).name,
        "seed": seed,
        **{key: produced[key] for key in EXTRA if key in produced},
    }


def _check_music(path: Path, frames: int | None) -> tuple[float, int, int]:
    """(seconds, rate, channels): a local WAV is exactly as planned, stereo 16-bit at 48 kHz;
    a provider's MP3 is readable audio."""
    if path.suffix == ".wav":
        with wave.open(str(path), "rb") as check:
            got = (check.getnframes(), check.getframerate(), check.getnchannels(),
                   check.getsampwidth())  # fmt: skip
        if got != (frames, 48_000, 2, 2):
            raise c.Failure(f"music check failed: {got[0]} frames x {got[2]} channels at "
                            f"{got[1]} Hz, {8 * got[3]} bits; wanted {frames} x 2 at 48000 Hz, "
                            "16 bits", type="invalid_output")  # fmt: skip
        return got[0] / got[1], got[1], got[2]
    from _media import probe

    info = probe(path)
    if info.audio_codec is None or info.duration <= 0:
        raise c.Failure(
            "music check failed: no audio in the provider's file", type="invalid_output"
        )
    return info.audio_duration or info.duration, info.sample_rate, info.channels


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, read the request on stdin, print the one JSON result line."""
    return c.serve(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
