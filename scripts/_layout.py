"""Where the picture, the scene titles and the captions go, per output format.

Landscape: the clip fills the frame. Titles and captions share the frame's safe area (5%
margins) and keep off the side where the scene's foreground sits: a bottom foreground puts
the caption under the title at the top, a top one puts the title over the caption at the
bottom, otherwise the title is at the top and the caption at the caption style's edge. Of
the arrangements, the first (in the style's order) that misses the foreground's estimated
box (its layout, grown by a typical camera zoom) wins, else the one that overlaps it least.

Vertical (9:16): the landscape clip, scaled to half the frame's height, is cropped to the
frame's width around the foreground (left, right or centre) into a band at 20% from the top,
over a blurred fill of the same clip; the title sits above the band and the captions below
it, where no foreground can be.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from _captions import Cue, Placed, balanced, line_fits

SAFE = 0.05  # title-safe margin, of each dimension
ZOOM = 1.2  # how much a camera move may grow the foreground about the centre


def even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def vertical_size(width: int, height: int) -> tuple[int, int]:
    """The 9:16 frame for a landscape ``width`` x ``height``: 1.5 x its height wide (1080x1920
    for 1280x720), at most 1080x1920 (as flows/core/manifest_media.py's)."""
    tall = min(1920, round(width * 1.5 / 2) * 2)
    return max(16, round(tall * 9 / 16 / 2) * 2), max(16, tall)


@dataclass(frozen=True)
class Frame:
    kind: str  # "landscape" or "vertical"
    width: int
    height: int
    source: tuple[int, int]  # the clips' size
    band: tuple[int, int, int, int] | None = None  # vertical: x, y, w, h of the picture

    @property
    def short(self) -> int:
        return min(self.width, self.height)


def frame_for(kind: str, width: int, height: int, source: tuple[int, int]) -> Frame:
    if kind == "landscape":
        return Frame(kind, width, height, source)
    band_h = even(height * 0.5)
    return Frame(kind, width, height, source, (0, even(height * 0.2), width, band_h))


def sizes(frame: Frame, style: dict[str, Any]) -> dict[str, float]:
    """ASS font sizes and outlines in the frame's pixels (style sizes are for 1080 lines)."""
    scale = frame.short / 1080
    caption = max(8.0, style["size"] * scale)
    title = max(10.0, caption * 1.45)
    return {
        "caption": caption,
        "outline": style["outline"] * scale,
        "title": title,
        "title_outline": max(1.0, title / 20),
    }


def caption_fits(frame: Frame, size: dict[str, float]) -> Any:
    return line_fits(size["caption"], frame.width * (1 - 2 * SAFE))


def foreground_box(layout: dict[str, Any] | None) -> tuple[float, float] | None:
    """The vertical extent (fractions of the height) a foreground may cover, or None."""
    if not layout:
        return None
    scale, position = float(layout.get("scale", 0.6)), layout.get("position", "center")
    top = {"top": 0.04, "bottom": 0.96 - scale}.get(position, 0.5 - scale / 2)
    return (0.5 + (top - 0.5) * ZOOM, 0.5 + (top + scale - 0.5) * ZOOM)


def place_scene(
    frame: Frame,
    scene: dict[str, Any],
    start: float,
    cues: list[Cue],
    style: dict[str, Any],
    size: dict[str, float],
) -> list[Placed]:
    """The scene's title (for the whole scene) and its captions, placed for ``frame``."""
    title_lines = balanced(scene["title"].split(), line_fits(size["title"], frame.width * 0.9))
    title_h = len(title_lines) * size["title"] * 1.05 if scene["title"] else 0.0
    caption_h = 2 * size["caption"] * 1.05
    gap = size["caption"] * 0.4
    x = frame.width // 2
    if frame.band is not None:  # vertical: above and below the picture band
        _, band_y, _, band_h = frame.band
        title_at, title_an = band_y - gap, 2
        caption_at, caption_an = band_y + band_h + gap, 8
    else:
        title_at, title_an, caption_at, caption_an = _arrangement(
            frame, scene.get("layout"), style["position"], title_h, caption_h, gap
        )
    end = start + scene["duration"]
    placed = [
        Placed(start, end, "\n".join(title_lines), x, round(title_at), title_an, "Title")
    ] if scene["title"] else []  # fmt: skip
    for cue in cues:
        placed.append(
            Placed(cue.start, cue.end, cue.text, x, round(caption_at), caption_an, "Caption")
        )
    return placed


def _arrangement(
    frame: Frame,
    layout: dict[str, Any] | None,
    position: str,
    title_h: float,
    caption_h: float,
    gap: float,
) -> tuple[float, int, float, int]:
    """(title y, title anchor, caption y, caption anchor) for a landscape frame."""
    h = frame.height
    top, bottom = h * SAFE, h * (1 - SAFE)
    options = {
        "split": (top, 8, bottom, 2, [(top, top + title_h), (bottom - caption_h, bottom)]),
        "top": (top, 8, top + title_h + gap, 8, [(top, top + title_h + gap + caption_h)]),
        "bottom": (
            bottom - caption_h - gap, 2, bottom, 2, [(bottom - caption_h - gap - title_h, bottom)]
        ),
    }  # fmt: skip
    order = ["split", "top", "bottom"] if position == "bottom" else ["top", "split", "bottom"]
    box = foreground_box(layout)

    def overlap(name: str) -> float:
        if box is None:
            return 0.0
        low, high = box[0] * h, box[1] * h
        return sum(max(0.0, min(b, high) - max(a, low)) for a, b in options[name][4])

    best = min(order, key=lambda name: (overlap(name) > 0, overlap(name), order.index(name)))
    title_at, title_an, caption_at, caption_an, _ = options[best]
    return title_at, title_an, caption_at, caption_an


def caption_box(frame: Frame, placed: Placed, size: dict[str, float]) -> tuple[int, int, int, int]:
    """The pixel box (left, top, right, bottom) two caption lines may cover at ``placed``."""
    height = round(2 * size["caption"] * 1.05 + 2 * size["outline"])
    top = placed.y if placed.anchor == 8 else placed.y - height
    left = round(frame.width * SAFE)
    return left, max(0, top), frame.width - left, min(frame.height, top + height)
