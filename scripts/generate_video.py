"""generate_video: a clip with camera motion made from a scene's still picture.

Input (stdin JSON):
    image     str     path of the still (any size; scaled to cover the frame) (required)
    motion    str     camera move prompt: "zoom in", "zoom out", "pan left", "pan right",
                      "pan up", "pan down", "static"; "slow"/"fast" change the amount;
                      anything else is a slow zoom in (default "slow zoom in")
    duration  float   seconds, > 0 and <= 600
    width     int     even, 16..7680
    height    int     even, 16..4320
    fps       int     1..120
    output    str     path of the .mp4 to write

Output (stdout JSON line):
    {"output", "duration", "provider", "model", "cost_usd", "frames", "fps", "width",
     "height", "motion"}

Providers: local (ffmpeg zoompan, model "ffmpeg-zoompan"): H.264 (libx264 veryfast,
yuv420p), no audio, exactly round(duration * fps) frames, eased motion. The clip is probed
with PyAV before it is renamed onto ``output``.
kling (Kling image-to-video, model "kling-v2-5-turbo" in std mode by default, or
"MODEL:pro"; keys in $REELFLOW_KLING_ACCESS_KEY and $REELFLOW_KLING_SECRET_KEY): the
motion is the prompt; Kling makes 5 s or 10 s clips at its own size and rate, and the
shortest that covers the scene is asked for (the assembly fits and trims it). Its result
reports the clip as made ("duration", "frames", "fps", "width", "height") and adds "mode",
"clip_seconds", "task_id" and "kling_units" (see _kling.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _contract as c
import _media as m
import _motion


def run_local(spec: dict[str, Any], temp: Path, model: str | None) -> dict[str, Any]:
    """Render the move with ffmpeg's zoompan into ``temp``."""
    c.check_model(model, "ffmpeg-zoompan")
    move, amount = _motion.parse_motion(spec["motion"])
    graph = _motion.zoompan_filter(
        move, amount, spec["frames"], spec["width"], spec["height"], spec["fps"]
    )
    args = ["-i", str(spec["image"]), "-vf", graph, "-frames:v", str(spec["frames"]), "-an"]
    m.ffmpeg(*args, *m.H264, "-r", str(spec["fps"]), str(temp))
    return {"model": "ffmpeg-zoompan", "cost_usd": 0.0, "motion": move}


def run_kling(spec: dict[str, Any], temp: Path, model: str | None) -> dict[str, Any]:
    """Make the clip with Kling into ``temp``."""
    import _kling

    return _kling.clip(spec, temp, model)


PROVIDERS = {"local": run_local, "kling": run_kling}
EXTRA = ("mode", "clip_seconds", "task_id", "kling_units")


def run(request: c.Request, provider: str, model: str | None) -> c.Result:
    """Validate the request, render into a temp file, probe it, rename it onto ``output``."""
    implementation = c.pick_provider(PROVIDERS, provider)
    width, height = m.frame_size(request)
    spec: dict[str, Any] = {
        "image": c.input_file(request.get("image"), "image"),
        "motion": c.get_str(request, "motion", "slow zoom in"),
        "duration": c.get_number(request, "duration", minimum=0.0, maximum=600.0),
        "fps": c.get_number(request, "fps", integer=True, minimum=1, maximum=120),
        "width": width,
        "height": height,
    }
    spec["frames"] = round(spec["duration"] * spec["fps"])
    if spec["frames"] < 1:
        raise c.BadInput("field 'duration' must last at least one frame", type="invalid_field")
    _check_image(spec["image"])
    output = c.output_path(request, (".mp4",))
    with c.atomic_output(output) as temp:
        produced = implementation(spec, temp, model)
        info = m.probe(temp)
        _check_clip(info, spec, exact=provider == "local")
    c.log(f"{produced.get('motion')} {spec['frames']} frames → {output}")
    exact = provider == "local"
    return {
        "output": str(output),
        "duration": spec["frames"] / spec["fps"] if exact else info.duration,
        "provider": provider,
        "model": produced.get("model", model),
        "cost_usd": float(produced.get("cost_usd", 0.0)),
        "frames": info.frames,
        "fps": spec["fps"] if exact else round(info.fps, 3),
        "width": width if exact else info.width,
        "height": height if exact else info.height,
        "motion": produced.get("motion"),
        **{key: produced[key] for key in EXTRA if key in produced},
    }


def _check_clip(info: m.MediaInfo, spec: dict[str, Any], *, exact: bool) -> None:
    """Local clips match the request exactly; a provider's clip must be readable video."""
    width, height = spec["width"], spec["height"]
    if exact:
        ok = info.video_codec == "h264" and info.frames == spec["frames"]
        ok = ok and (info.width, info.height) == (width, height)
    else:
        ok = info.video_codec is not None and info.duration > 0 and info.width > 0
    if not ok:
        raise c.Failure(
            f"clip check failed: {info.video_codec} {info.width}x{info.height},"
            f" {info.frames} frames (wanted h264 {width}x{height}, "
            f"{spec['frames']} frames)",
            type="invalid_output",
        )


def _check_image(path: Path) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise c.BadInput(
            f"field 'image': not a readable picture: {exc}", type="invalid_input_file"
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, read the request on stdin, print the one JSON result line."""
    return c.serve(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
