"""Pillow text helpers: a font that needs no system fonts, wrapping and outlined text."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PIL import ImageDraw, ImageFont

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
Color = tuple[int, ...]

_FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",  # Debian, Ubuntu
    "/usr/share/fonts/dejavu",  # Fedora, Arch
    "/usr/share/fonts/TTF",
    "/Library/Fonts",
)


@cache
def load_font(size: int, bold: bool = True) -> Font:
    """DejaVu Sans when installed, else Pillow's embedded scalable font (Pillow >= 10.1)."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in _FONT_DIRS:
        path = Path(folder) / name
        if path.is_file():
            try:
                return ImageFont.truetype(str(path), size)
            except OSError:
                continue
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: a fixed bitmap font
        return ImageFont.load_default()


def wrap(draw: ImageDraw.ImageDraw, text: str, font: Font, max_width: float) -> list[str]:
    """Greedy word wrap so each line fits ``max_width`` pixels (long words stay whole)."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(candidate, font=font) <= max_width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def text_block_size(
    draw: ImageDraw.ImageDraw, lines: list[str], font: Font, spacing: int
) -> tuple[int, int]:
    box = draw.multiline_textbbox((0, 0), "\n".join(lines), font=font, spacing=spacing)
    return int(box[2] - box[0]), int(box[3] - box[1])


def draw_outlined(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    font: Font,
    *,
    fill: Color = (255, 255, 255),
    outline: Color = (0, 0, 0),
    width: int = 2,
    spacing: int = 4,
    align: str = "left",
) -> None:
    """Text with a dark outline, readable on any picture."""
    draw.multiline_text(
        xy,
        text,
        font=font,
        fill=fill,
        spacing=spacing,
        align=align,
        stroke_width=width,
        stroke_fill=outline,
    )
