"""ffmpeg and probing helpers for the media scripts.

ffmpeg is ``$REELFLOW_FFMPEG`` when set, else the binary bundled with ``imageio_ffmpeg``;
there is no ffprobe, so files are probed with PyAV.
"""

from __future__ import annotations

import os
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from _contract import BadInput, Failure, Request, get_number, run_tool

# The one H.264 encoding used for clips and re-encoded assemblies: clips made with it can be
# joined by stream copy.
H264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]


def ffmpeg_exe() -> str:
    """The ffmpeg to run: ``$REELFLOW_FFMPEG`` or imageio_ffmpeg's bundled binary."""
    configured = os.environ.get("REELFLOW_FFMPEG")
    if configured:
        return configured
    try:
        import imageio_ffmpeg
    except ImportError:
        raise Failure(
            "no ffmpeg: set REELFLOW_FFMPEG or install imageio-ffmpeg", type="tool_missing"
        ) from None
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as exc:
        raise Failure(f"no ffmpeg: {exc}", type="tool_missing") from None


def ffmpeg(*args: str) -> str:
    """Run ffmpeg quietly (errors only, never prompting, overwriting the temp output)."""
    return run_tool(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *args], what="ffmpeg"
    )


def ffmpeg_log(*args: str) -> str:
    """Run ffmpeg at log level info and return its stderr (filters such as loudnorm and
    ebur128 print their measurements there)."""
    return run_tool(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-nostats", "-loglevel", "info", *args],
        what="ffmpeg",
    )


@dataclass(frozen=True)
class MediaInfo:
    """What PyAV says about a file. Durations in seconds."""

    duration: float
    video_codec: str | None = None
    audio_codec: str | None = None
    width: int = 0
    height: int = 0
    frames: int = 0
    fps: float = 0.0
    sample_rate: int = 0
    channels: int = 0
    pix_fmt: str | None = None
    video_duration: float = 0.0  # what the streams hold: a cut-short stream shows here,
    audio_duration: float = 0.0  # while ``duration`` is the longest of them


def probe(path: Path) -> MediaInfo:
    """Open ``path`` with PyAV; raise Failure(type=unreadable_media) if it cannot be read."""
    import av

    try:
        with av.open(str(path)) as container:
            video = container.streams.video[0] if container.streams.video else None
            audio = container.streams.audio[0] if container.streams.audio else None
            durations = [_seconds(video), _seconds(audio)]
            if container.duration is not None:
                durations.append(container.duration / 1_000_000)
            rate = video.average_rate if video is not None else None
            return MediaInfo(
                duration=max(durations, default=0.0),
                video_codec=video.codec_context.name if video is not None else None,
                audio_codec=audio.codec_context.name if audio is not None else None,
                width=video.codec_context.width if video is not None else 0,
                height=video.codec_context.height if video is not None else 0,
                frames=video.frames if video is not None else 0,
                fps=float(rate) if isinstance(rate, Fraction | int) else 0.0,
                sample_rate=audio.codec_context.sample_rate if audio is not None else 0,
                channels=audio.codec_context.channels if audio is not None else 0,
                pix_fmt=video.codec_context.pix_fmt if video is not None else None,
                video_duration=_seconds(video),
                audio_duration=_seconds(audio),
            )
    except (av.FFmpegError, OSError, IndexError, ValueError) as exc:
        raise Failure(f"cannot read {path.name}: {exc}", type="unreadable_media") from None


def _seconds(stream: Any) -> float:
    if stream is None or stream.duration is None or stream.time_base is None:
        return 0.0
    return float(stream.duration * stream.time_base)


def probe_input(path: Path, field: str, *, video: bool = False, audio: bool = False) -> MediaInfo:
    """Probe an input file; an unreadable one, or one without the needed stream, is BadInput."""
    try:
        info = probe(path)
    except Failure as exc:
        raise BadInput(f"field {field!r}: {exc}", type="invalid_input_file") from None
    if (video and info.video_codec is None) or (audio and info.audio_codec is None):
        kind = "video" if video else "audio"
        raise BadInput(
            f"field {field!r}: {path.name} has no {kind} stream", type="invalid_input_file"
        )
    if video and info.pix_fmt is None:  # the demuxer could not decode a single frame
        raise BadInput(
            f"field {field!r}: {path.name} has no decodable video", type="invalid_input_file"
        )
    return info


def wav_duration(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def frame_size(request: Request) -> tuple[int, int]:
    """``width`` and ``height``: even integers, 16..7680 x 16..4320 (H.264 with yuv420p)."""
    width = get_number(request, "width", integer=True, minimum=16, maximum=7680)
    height = get_number(request, "height", integer=True, minimum=16, maximum=4320)
    for name, value in (("width", width), ("height", height)):
        if value % 2:
            raise BadInput(
                f"field {name!r} must be even for H.264, got {value}", type="invalid_field"
            )
    return int(width), int(height)
