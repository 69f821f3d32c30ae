"""Probing media with PyAV (the ffmpeg from imageio-ffmpeg has no ffprobe)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont

__all__ = ["MediaInfo", "contact_sheet", "probe", "problems_with_final"]


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


def problems_with_final(path: Path, expected_duration: float, tolerance: float = 0.5) -> list[str]:
    """Why the finished video cannot be accepted (empty when it is fine)."""
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
    return problems


def contact_sheet(
    clips: list[tuple[str, Path]], output: Path, *, thumb_width: int = 320, columns: int = 4
) -> Path:
    """One frame from the middle of each clip, labelled, in a grid PNG (written atomically)."""
    frames = [(label, _middle_frame(path)) for label, path in clips]
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


def _middle_frame(path: Path) -> Image.Image | None:
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
