"""Probing media with PyAV (the ffmpeg from imageio-ffmpeg has no ffprobe).

The finished videos (one MP4 per format of the plan) are checked here before the assembly
counts: video and audio streams, duration, frame size, and loudness measured with ffmpeg's
``ebur128`` filter run through PyAV (integrated within 0.5 LU of the plan's target, true
peak at most -1 dBTP).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
from PIL import Image, ImageDraw, ImageFont

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from flows.core.manifest import Manifest
    from flows.core.steps import VideoPaths

__all__ = [
    "Loudness",
    "MediaInfo",
    "check_outputs",
    "contact_sheet",
    "finish_markdown",
    "loudness_lines",
    "measure_loudness",
    "middle_frame",
    "probe",
    "problems_with_final",
    "record_loudness",
]

LOUDNESS_TOLERANCE = 0.5  # LU around the plan's target
TRUE_PEAK_MAX = -1.0  # dBTP


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    video_codec: str | None
    audio_codec: str | None
    width: int | None
    height: int | None


def probe(path: Path) -> MediaInfo:
    """Streams and duration of a media file; raises OSError if it cannot be read."""
    try:
        with av.open(str(path)) as container:
            video = next(iter(container.streams.video), None)
            audio = next(iter(container.streams.audio), None)
            duration = (container.duration or 0) / av.time_base
            return MediaInfo(
                duration=float(duration),
                video_codec=video.codec_context.name if video else None,
                audio_codec=audio.codec_context.name if audio else None,
                width=video.codec_context.width if video else None,
                height=video.codec_context.height if video else None,
            )
    except av.error.FFmpegError as exc:
        raise OSError(f"{path}: not readable media: {exc}") from exc


def problems_with_final(
    path: Path,
    expected_duration: float,
    tolerance: float = 0.5,
    *,
    size: tuple[int, int] | None = None,
    loudness_lufs: float | None = None,
    measured: dict[str, Loudness] | None = None,
) -> list[str]:
    """Why a finished video cannot be accepted (empty when it is fine). With ``size``, its
    frame must be that; with ``loudness_lufs``, its loudness is measured (into ``measured``
    under the file's name) and must meet the target."""
    if not path.is_file():
        return [f"{path} does not exist"]
    try:
        info = probe(path)
    except OSError as exc:
        return [str(exc)]
    problems = []
    if info.video_codec is None:
        problems.append("no video stream")
    if info.audio_codec is None:
        problems.append("no audio stream")
    if abs(info.duration - expected_duration) > tolerance:
        problems.append(
            f"duration {info.duration:.2f} s is not within {tolerance} s of the plan's "
            f"{expected_duration:.2f} s"
        )
    if size is not None and (info.width, info.height) != size:
        problems.append(f"frame {info.width}x{info.height}, not {size[0]}x{size[1]}")
    if loudness_lufs is not None and info.audio_codec is not None:
        try:
            loudness = measure_loudness(path)
        except OSError as exc:
            return [*problems, str(exc)]
        if measured is not None:
            measured[path.name] = loudness
        problems += loudness.problems(loudness_lufs)
    return problems


@dataclass(frozen=True)
class Loudness:
    """EBU R128 figures of a file's audio."""

    integrated: float  # LUFS
    true_peak: float  # dBTP
    lra: float  # LU

    def problems(self, target: float) -> list[str]:
        found = []
        if abs(self.integrated - target) > LOUDNESS_TOLERANCE:
            found.append(
                f"loudness {self.integrated:.1f} LUFS is not within {LOUDNESS_TOLERANCE} LU "
                f"of the target {target:g}"
            )
        if self.true_peak > TRUE_PEAK_MAX:
            found.append(f"true peak {self.true_peak:.1f} dBTP is above {TRUE_PEAK_MAX:g}")
        return found


def measure_loudness(path: Path) -> Loudness:
    """Integrated loudness, true peak and loudness range of ``path``'s first audio stream,
    by ffmpeg's ebur128 filter (through PyAV); raises OSError if it cannot be read."""
    from av.filter import Graph

    last: dict[str, str] = {}
    peak = 0.0
    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            graph = Graph()
            source, sink = graph.add_abuffer(template=stream), graph.add("abuffersink")
            meter = graph.add("ebur128", "peak=true:metadata=1")
            source.link_to(meter)
            meter.link_to(sink)
            graph.configure()
            for frame in [*container.decode(stream), None]:
                graph.push(frame)
                while True:
                    try:
                        out = graph.pull()
                    except (av.BlockingIOError, av.EOFError):
                        break
                    last = dict(out.metadata) or last
                    peak = max(peak, float(last.get("lavfi.r128.true_peak", 0.0)))
    except (av.error.FFmpegError, IndexError, ValueError) as exc:
        raise OSError(f"{path}: cannot measure loudness: {exc}") from exc
    if "lavfi.r128.I" not in last:
        raise OSError(f"{path}: ebur128 measured nothing")
    return Loudness(
        integrated=round(float(last["lavfi.r128.I"]), 2),
        true_peak=round(20 * math.log10(peak), 2) if peak > 0 else -99.0,
        lra=round(float(last.get("lavfi.r128.LRA", 0.0)), 2),
    )


def check_outputs(plan: Manifest, paths: VideoPaths) -> tuple[list[str], dict[str, Loudness]]:
    """Every format's MP4 checked (streams, duration, size, loudness): the problems, each
    naming its file, and the loudness measured per format."""
    from flows.core.manifest_media import vertical_size

    problems: list[str] = []
    measured: dict[str, Loudness] = {}
    for fmt in plan.formats:
        path = paths.output(plan.project_id, fmt)
        size = (
            (plan.width, plan.height)
            if fmt == "landscape"
            else vertical_size(plan.width, plan.height)
        )
        found: dict[str, Loudness] = {}
        problems += [
            f"{path.name}: {problem}"
            for problem in problems_with_final(
                path, plan.duration, size=size, loudness_lufs=plan.loudness_target, measured=found
            )
        ]
        if found:
            measured[fmt] = next(iter(found.values()))
    return problems, measured


async def record_loudness(
    *, session: AsyncSession, video_id: int, target: float, measured: dict[str, Loudness]
) -> None:
    """Keep the figures on the video (``step_completion["loudness"]``, a JSON column that
    ``reelflow status`` reads), per format."""
    from flows.core.videos import get_video

    video = await get_video(session=session, video_id=video_id)
    video.step_completion = {
        **video.step_completion,
        "loudness": {fmt: {**asdict(value), "target": target} for fmt, value in measured.items()},
    }


def loudness_lines(step_completion: dict[str, Any]) -> list[str]:
    """One line per format, for ``reelflow status`` and the review artifacts:
    ``landscape: -14.0 LUFS (target -14), true peak -1.6 dBTP, LRA 4.2 LU``."""
    figures = step_completion.get("loudness") or {}
    return [
        f"{fmt}: {v['integrated']:.1f} LUFS (target {v['target']:g}), "
        f"true peak {v['true_peak']:.1f} dBTP, LRA {v['lra']:.1f} LU"
        for fmt, v in figures.items()
        if isinstance(v, dict) and {"integrated", "true_peak", "lra", "target"} <= set(v)
    ]


def finish_markdown(plan: Manifest, paths: VideoPaths, step_completion: dict[str, Any]) -> str:
    """For the review artifacts: every format's file, the thumbnail, captions and music, and
    the loudness the flow measured (markdown)."""
    lines = [f"## {plan.title}: formats, loudness, thumbnail", ""]
    for fmt in plan.formats:
        lines.append(f"- {fmt}: `{paths.output(plan.project_id, fmt)}`")
    thumbnail = paths.thumbnail(plan.project_id)
    if thumbnail.is_file():
        lines.append(f"- thumbnail: `{thumbnail}` ({thumbnail.stat().st_size // 1024} KB)")
    music = "none" if plan.music is None else plan.music.file or f"made: {plan.music.prompt!r}"
    lines += [f"- captions: {plan.captions}; music: {music}; crossfade: {plan.crossfade:g} s", ""]
    lines += [f"- loudness {line}" for line in loudness_lines(step_completion)]
    return "\n".join(lines)


def contact_sheet(
    clips: list[tuple[str, Path]], output: Path, *, thumb_width: int = 320, columns: int = 4
) -> Path:
    """One frame from the middle of each clip, labelled, in a grid PNG (written atomically)."""
    frames = [(label, middle_frame(path)) for label, path in clips]
    ratio = next((f.height / f.width for _, f in frames if f is not None), 9 / 16)
    size = (thumb_width, max(2, round(thumb_width * ratio)))
    label_h = 22
    rows = max(1, -(-len(frames) // columns))
    sheet = Image.new("RGB", (columns * size[0], rows * (size[1] + label_h)), "#111111")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=14)
    for i, (label, frame) in enumerate(frames):
        x, y = (i % columns) * size[0], (i // columns) * (size[1] + label_h)
        if frame is not None:
            sheet.paste(frame.resize(size), (x, y))
        draw.text((x + 6, y + size[1] + 3), label, fill="#eeeeee", font=font)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.stem}.{os.getpid()}.tmp.png")
    sheet.save(temporary, "PNG", optimize=True)
    temporary.replace(output)
    return output


def middle_frame(path: Path) -> Image.Image | None:
    """The frame in the middle of a clip; None when it cannot be read."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            middle = (container.duration or 0) // 2
            container.seek(middle)
            for frame in container.decode(stream):
                image: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]
                return image
    except (av.error.FFmpegError, IndexError, OSError):
        return None
    return None
