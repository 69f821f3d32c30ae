"""The assembly's parts: its request read and its inputs probed, the captions timed, and the
ffmpeg filter graph for the picture of one format (clips fitted, optionally crossfaded, the
titles and captions drawn over the moving picture by libass)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _captions import Cue, Placed, phrases, read_words
from _contract import BadInput
from _layout import Frame, caption_fits, even, place_scene


@dataclass
class Inputs:
    """ffmpeg's ``-i`` arguments; ``add`` returns the input's index for the graph."""

    args: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, path: Path, *options: str) -> int:
        self.args += [*options, "-i", str(path)]
        self.count += 1
        return self.count - 1


def timed_captions(
    scenes: list[dict[str, Any]], frame: Frame, size: dict[str, float]
) -> tuple[list[list[Cue]], int]:
    """Per scene, its phrases timed to its words; and how many scenes had real timings."""
    fits = caption_fits(frame, size)
    per_scene, timed, start = [], 0, 0.0
    for i, scene in enumerate(scenes):
        info = scene["narration_info"]
        spoken = min(info.duration, scene["duration"]) if info is not None else scene["duration"]
        try:
            words, real = read_words(scene["words"], scene["text"], spoken)
        except ValueError as exc:
            raise BadInput(f"field 'scenes[{i}].words': {exc}", type="invalid_input_file") from None
        timed += int(real)
        cues = phrases(words, offset=start, limit=start + scene["duration"], fits=fits)
        per_scene.append(cues if scene["text"] else [])
        start += scene["duration"]
    return per_scene, timed


def placements(
    scenes: list[dict[str, Any]],
    cues: list[list[Cue]],
    frame: Frame,
    style: dict[str, Any],
    size: dict[str, float],
    *,
    burn: bool,
) -> list[Placed]:
    """Every title, and every caption when burning, placed for ``frame``."""
    placed, start = [], 0.0
    for scene, scene_cues in zip(scenes, cues, strict=True):
        placed += place_scene(frame, scene, start, scene_cues if burn else [], style, size)
        start += scene["duration"]
    return placed


def video_graph(
    scenes: list[dict[str, Any]],
    clips: list[int],
    frame: Frame,
    *,
    fps: int,
    crossfade: float,
    overlay: str | None,
) -> str:
    """Each clip fitted to the format and held or trimmed to its scene's length (plus the
    crossfade, which the next scene's start overlaps), joined, the ASS ``overlay`` drawn on
    top; ends in ``[vout]``."""
    chains = []
    source_w, source_h = frame.source
    for i, (scene, index) in enumerate(zip(scenes, clips, strict=True)):
        extra = crossfade if i + 1 < len(scenes) else 0.0
        seconds = f"{scene['duration'] + extra:.3f}"
        fitted = (
            f"[{index}:v]scale={source_w}:{source_h}:force_original_aspect_ratio=increase,"
            f"crop={source_w}:{source_h},setsar=1,fps={fps},"
            f"tpad=stop_mode=clone:stop_duration={seconds},trim=duration={seconds},"
            "setpts=PTS-STARTPTS"
        )
        chains.append(fitted + (f"[v{i}]" if frame.band is None else f"[f{i}]"))
        if frame.band is not None:
            chains.append(_vertical(i, frame, scene.get("layout")))
    if crossfade and len(chains) > 1:
        last, start = "v0", 0.0
        for i in range(1, len(scenes)):
            start += scenes[i - 1]["duration"]
            chains.append(
                f"[{last}][v{i}]xfade=transition=fade:duration={crossfade:.3f}:"
                f"offset={start:.3f}[x{i}]"
            )
            last = f"x{i}"
        chains.append(f"[{last}]null[joined]")
    else:
        joined = "".join(f"[v{i}]" for i in range(len(scenes)))
        chains.append(f"{joined}concat=n={len(scenes)}:v=1:a=0[joined]")
    chains.append(f"[joined]{overlay + ',' if overlay else ''}format=yuv420p[vout]")
    return ";".join(chains)


def _vertical(i: int, frame: Frame, layout: dict[str, Any] | None) -> str:
    """The 9:16 reflow of clip ``i``: a blurred fill and the clip cropped around its
    foreground into the picture band."""
    assert frame.band is not None
    _, band_y, band_w, band_h = frame.band
    side = {"left": 0.0, "right": 1.0}.get((layout or {}).get("position", "center"), 0.5)
    small_w, small_h = even(frame.width / 10), even(frame.height / 10)
    return (
        f"[f{i}]split=2[fa{i}][fb{i}];"
        f"[fa{i}]scale={small_w}:{small_h}:force_original_aspect_ratio=increase:flags=fast_bilinear,"
        f"crop={small_w}:{small_h},boxblur=2:1,eq=brightness=-0.12,"
        f"scale={frame.width}:{frame.height}:flags=bilinear[bg{i}];"
        f"[fb{i}]scale={band_w}:{band_h}:force_original_aspect_ratio=increase:flags=bicubic,"
        f"crop={band_w}:{band_h}:(iw-ow)*{side}:(ih-oh)/2[band{i}];"
        f"[bg{i}][band{i}]overlay=0:{band_y},setsar=1[v{i}]"
    )


def copyable(scene: dict[str, Any], width: int, height: int, fps: int) -> bool:
    """Can this clip be stream-copied: H.264 yuv420p at the frame size, rate and length?"""
    info = scene["clip_info"]
    return bool(
        info.video_codec == "h264"
        and (info.width, info.height) == (width, height)
        and info.pix_fmt == "yuv420p"
        and abs(info.fps - fps) < 0.01
        and abs(info.duration - scene["duration"]) <= 1.01 / fps
    )


def concat_listing(clips: list[Path]) -> str:
    """A concat-demuxer listing (single quotes escaped the demuxer's way)."""
    return "".join("file '{}'\n".format(str(clip).replace("'", "'\\''")) for clip in clips)
