"""Subtitles for the assembly: the cues, the .srt text, and captions rendered as PNGs.

Burned captions are Pillow-rendered transparent PNGs overlaid by ffmpeg between a cue's
start and end, so nothing depends on libass or fontconfig finding a font.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw


@dataclass(frozen=True)
class Cue:
    start: float  # seconds
    end: float
    text: str


def timestamp(seconds: float) -> str:
    """SRT time: ``HH:MM:SS,mmm``."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def srt(cues: list[Cue]) -> str:
    """The SubRip text: numbered blocks separated by blank lines."""
    blocks = [
        f"{number}\n{timestamp(cue.start)} --> {timestamp(cue.end)}\n{cue.text}\n"
        for number, cue in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)


def render(cue: Cue, width: int, height: int, path: Path) -> tuple[int, int]:
    """Draw the cue's text, wrapped, on a translucent box; save it; return its top-left
    position in a ``width`` x ``height`` frame (centred near the bottom)."""
    from _imaging import draw_outlined, load_font, text_block_size, wrap

    font = load_font(max(10, height // 20))
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    spacing = max(2, height // 120)
    lines = wrap(probe, cue.text, font, width * 0.84)
    text_w, text_h = text_block_size(probe, lines, font, spacing)
    pad = max(4, height // 60)
    box_w, box_h = min(width, text_w + 2 * pad), min(height, text_h + 2 * pad)
    image = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, box_w - 1, box_h - 1), radius=pad, fill=(0, 0, 0, 150))
    left = draw.multiline_textbbox((0, 0), "\n".join(lines), font=font, spacing=spacing)
    draw_outlined(
        draw,
        (pad - left[0], pad - left[1]),
        "\n".join(lines),
        font,
        width=max(1, height // 360),
        spacing=spacing,
        align="center",
    )
    image.save(path, format="PNG", compress_level=1)
    return (width - box_w) // 2, max(0, height - box_h - round(height * 0.06))
