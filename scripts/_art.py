"""Procedural pictures for the local asset provider.

The prompt's keywords choose a palette and the scenery (sun or moon, mountains, water, trees,
buildings, rain, clouds) or, for a foreground, the subject's shape; a seeded ``random.Random``
places everything, so the same request always gives the same picture.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter, ImageOps

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Palette:
    name: str
    sky: tuple[RGB, RGB]  # top of the sky, horizon
    land: tuple[RGB, RGB, RGB]  # far, middle, near
    light: RGB  # sun or moon
    accent: RGB  # the subject


PALETTES = {
    "dark": Palette(
        "dark",
        ((6, 8, 28), (44, 42, 86)),
        ((34, 34, 62), (22, 24, 44), (10, 12, 24)),
        (236, 234, 212),
        (190, 196, 226),
    ),
    "warm": Palette(
        "warm",
        ((72, 40, 112), (255, 152, 64)),
        ((152, 72, 62), (102, 46, 52), (56, 26, 36)),
        (255, 232, 124),
        (246, 118, 40),
    ),
    "icy": Palette(
        "icy",
        ((112, 164, 218), (236, 242, 250)),
        ((204, 214, 232), (158, 174, 200), (108, 124, 150)),
        (255, 255, 240),
        (72, 112, 170),
    ),
    "blue": Palette(
        "blue",
        ((34, 86, 168), (170, 212, 240)),
        ((44, 112, 152), (26, 82, 132), (12, 50, 96)),
        (255, 250, 222),
        (236, 240, 255),
    ),
    "green": Palette(
        "green",
        ((88, 150, 212), (204, 232, 220)),
        ((84, 142, 82), (50, 110, 56), (24, 70, 36)),
        (255, 246, 200),
        (138, 88, 48),
    ),
    "sand": Palette(
        "sand",
        ((78, 140, 210), (246, 216, 162)),
        ((226, 186, 122), (200, 150, 90), (160, 110, 60)),
        (255, 242, 182),
        (118, 68, 40),
    ),
    "urban": Palette(
        "urban",
        ((28, 30, 60), (122, 92, 132)),
        ((72, 72, 92), (46, 46, 62), (26, 26, 36)),
        (255, 222, 150),
        (255, 200, 80),
    ),
}
# Checked in this order: the first palette with a keyword in the prompt wins.
PALETTE_WORDS = (
    ("dark", "night space star storm dark midnight galaxy moon thunder"),
    ("warm", "sunset sunrise dawn dusk fire golden autumn lava flame ember"),
    ("icy", "snow ice winter glacier frost frozen arctic"),
    ("blue", "ocean sea rain water river lake wave pond underwater shore waterfall delta"),
    ("green", "forest meadow grass jungle moss green valley field summer tree leaf"),
    ("sand", "desert sand sandy dune beach canyon"),
    ("urban", "city skyline street village town"),
)
FEATURE_WORDS = {
    "mountains": "mountain peak snow cliff glacier rock hill alp",
    "water": "ocean sea water river lake wave pond shore waterfall delta stream bay",
    "trees": "forest tree wood jungle reed",
    "buildings": "city skyline village town building bridge mill castle",
    "rain": "rain storm",
    "clouds": "cloud storm sky mist fog rain",
    "stars": "night space star galaxy",
}


def words(text: str) -> set[str]:
    """Lower-case words with a plural or -y/-ing ending stripped (``waves`` → ``wave``)."""
    found = set()
    for word in re.findall(r"[a-z]+", text.lower()):
        found.add(word)
        for ending in ("ies", "es", "s", "y", "ing"):
            if word.endswith(ending) and len(word) - len(ending) >= 3:
                found.add(word[: -len(ending)] + ("y" if ending == "ies" else ""))
    return found


def has(found: set[str], vocabulary: str) -> bool:
    return not found.isdisjoint(vocabulary.split())


def stable_seed(*parts: str) -> int:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return round(r * 255), round(g * 255), round(b * 255)


def palette_for(prompt: str) -> Palette:
    """The first keyword palette that matches, else one derived from the prompt's hash."""
    found = words(prompt)
    for name, vocabulary in PALETTE_WORDS:
        if has(found, vocabulary):
            return PALETTES[name]
    hue = stable_seed(prompt.strip().lower()) % 360 / 360
    return Palette(
        "hash",
        (_hsv(hue, 0.55, 0.5), _hsv(hue + 0.06, 0.25, 0.95)),
        (_hsv(hue + 0.5, 0.45, 0.6), _hsv(hue + 0.5, 0.5, 0.42), _hsv(hue + 0.5, 0.55, 0.25)),
        _hsv(hue + 0.1, 0.2, 1.0),
        _hsv(hue + 0.45, 0.7, 0.85),
    )


def _shade(color: tuple[int, ...], factor: float) -> RGB:
    r, g, b = (max(0, min(255, round(c * factor))) for c in color[:3])
    return r, g, b


def _ridge(
    rnd: random.Random, w: int, h: int, base: float, amp: float, jagged: bool
) -> list[tuple[float, float]]:
    """A closed polygon: a wavy (or jagged) ridge line at height ``base`` down to the bottom."""
    waves = [(rnd.uniform(1, 4), rnd.uniform(0, 6.3), rnd.uniform(0.3, 1)) for _ in range(3)]
    step = max(4, w // (24 if jagged else 80))
    points = []
    for x in range(0, w + step, step):
        y = sum(a * math.sin(f * math.tau * x / w + p) for f, p, a in waves) / 2
        if jagged:
            y = y * 1.6 + rnd.uniform(-0.35, 0.35)
        points.append((x, base - amp * y))
    return [*points, (w, h), (0, h)]


def background(prompt: str, title: str, width: int, height: int, seed: int) -> Image.Image:
    """An RGB landscape for ``prompt`` with ``title`` written in the top-left corner."""
    from _imaging import draw_outlined, load_font, wrap

    rnd, pal, found = random.Random(seed), palette_for(prompt), words(prompt)
    image = ImageOps.colorize(
        Image.linear_gradient("L").resize((width, height)), pal.sky[0], pal.sky[1]
    )
    draw = ImageDraw.Draw(image)
    horizon = height * rnd.uniform(0.52, 0.64)
    if has(found, FEATURE_WORDS["stars"]) or pal.name == "dark":
        for _ in range(width * height // 4000):
            x, y, s = rnd.uniform(0, width), rnd.uniform(0, horizon), rnd.choice((1, 1, 2))
            draw.ellipse((x, y, x + s, y + s), fill=(255, 255, 235))
    r = height * rnd.uniform(0.06, 0.1)
    cx, cy = width * rnd.uniform(0.15, 0.85), horizon * rnd.uniform(0.3, 0.75)
    draw.ellipse(
        (cx - r * 1.6, cy - r * 1.6, cx + r * 1.6, cy + r * 1.6),
        fill=_shade(pal.light, 0.85 if pal.name == "dark" else 0.97),
    )
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=pal.light)
    if has(found, FEATURE_WORDS["clouds"]):
        for _ in range(rnd.randint(4, 8)):
            x, y = rnd.uniform(-0.1, 1) * width, rnd.uniform(0.05, 0.45) * horizon
            cw, ch = width * rnd.uniform(0.12, 0.3), height * rnd.uniform(0.04, 0.08)
            draw.ellipse((x, y, x + cw, y + ch), fill=_shade(pal.sky[1], 1.1))
    jagged = has(found, FEATURE_WORDS["mountains"])
    draw.polygon(
        _ridge(rnd, width, height, horizon - height * 0.12, height * 0.12, jagged), fill=pal.land[0]
    )
    draw.polygon(_ridge(rnd, width, height, horizon, height * 0.06, False), fill=pal.land[1])
    if has(found, FEATURE_WORDS["buildings"]):
        x = rnd.uniform(0, width * 0.3)
        while x < width * rnd.uniform(0.6, 1.0):
            bw, bh = width * rnd.uniform(0.03, 0.07), height * rnd.uniform(0.06, 0.22)
            draw.rectangle((x, horizon - bh, x + bw, horizon + 4), fill=_shade(pal.land[2], 1.3))
            for _ in range(int(bh // 12)):
                wx, wy = rnd.uniform(x + 2, x + bw - 5), rnd.uniform(horizon - bh + 3, horizon - 4)
                draw.rectangle((wx, wy, wx + 3, wy + 4), fill=pal.light)
            x += bw + rnd.uniform(0, width * 0.02)
    if has(found, FEATURE_WORDS["water"]):
        top = horizon + height * 0.04
        water = ImageOps.colorize(
            Image.linear_gradient("L").resize((width, height - int(top))),
            _shade(pal.land[0], 1.15),
            _shade(pal.land[2], 0.9),
        )
        image.paste(water, (0, int(top)))
        for _ in range(40):
            y, x, lw = rnd.uniform(top, height), rnd.uniform(0, width), rnd.uniform(10, width / 6)
            draw.line((x, y, x + lw, y), fill=_shade(pal.light, 0.9), width=1)
    near = _ridge(rnd, width, height, height * rnd.uniform(0.86, 0.94), height * 0.05, False)
    draw.polygon(near, fill=pal.land[2])
    if has(found, FEATURE_WORDS["trees"]):
        for _ in range(rnd.randint(6, 14)):
            x, th = rnd.uniform(0, width), height * rnd.uniform(0.1, 0.22)
            base = height * rnd.uniform(0.9, 1.0)
            draw.polygon(
                ((x, base - th), (x - th / 4, base), (x + th / 4, base)),
                fill=_shade(pal.land[2], rnd.uniform(0.5, 0.8)),
            )
    if has(found, FEATURE_WORDS["rain"]):
        for _ in range(width * height // 3000):
            x, y = rnd.uniform(0, width), rnd.uniform(0, height)
            draw.line((x, y, x - 4, y + 14), fill=(190, 200, 215), width=1)
    if title.strip():
        font = load_font(max(12, height // 14))
        text = "\n".join(wrap(draw, title, font, width * 0.6)[:2])  # centred: survives pans
        box = draw.multiline_textbbox((0, 0), text, font=font, align="center")
        draw_outlined(
            draw,
            ((width - box[2]) / 2, height * 0.1),
            text,
            font,
            width=max(1, height // 240),
            align="center",
        )
    return image


def foreground(prompt: str, width: int, height: int, seed: int) -> Image.Image:
    """An RGBA subject for ``prompt`` on a transparent canvas of the frame's size."""
    rnd, pal, found = random.Random(seed), palette_for(prompt), words(prompt)
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    bw, bh = min(width * 0.6, height * 0.8), height * 0.8
    x0, y0 = (width - bw) / 2, (height - bh) / 2

    def at(u: float, v: float) -> tuple[float, float]:
        return x0 + u * bw, y0 + v * bh

    def box(u0: float, v0: float, u1: float, v1: float) -> tuple[float, float, float, float]:
        return (*at(u0, v0), *at(u1, v1))

    shape = next((name for name, vocab in SUBJECT_WORDS if has(found, vocab)), "default")
    color = _shade(SUBJECT_COLORS.get(shape, pal.accent), rnd.uniform(0.85, 1.1))
    dark, light = _shade(color, 0.55), _shade(color, 1.35)
    SUBJECTS[shape](draw, at, box, rnd, color, dark, light)
    if shape == "mist":
        image = image.filter(ImageFilter.GaussianBlur(radius=max(2, height // 40)))
    return image


At = Callable[[float, float], tuple[float, float]]  # unit square → pixels
Box = Callable[[float, float, float, float], tuple[float, float, float, float]]
Subject = Callable[..., None]
SUBJECT_COLORS: dict[str, RGB] = {
    "fish": (150, 160, 120),
    "bird": (120, 130, 150),
    "animal": (128, 86, 52),
}
SUBJECT_WORDS = (
    ("mist", "mist fog cloud smoke steam haze"),
    ("fish", "fish trout salmon carp shark whale"),
    ("bird", "bird heron eagle gull crane owl duck swan"),
    ("tree", "tree oak pine palm bush"),
    ("tower", "lighthouse tower castle house church mill building"),
    ("bridge", "bridge arch gate"),
    ("animal", "beaver fox deer bear dog cat rabbit wolf otter animal cow horse"),
    ("water", "spring water drop fountain pool puddle"),
)


def _mist(draw: ImageDraw.ImageDraw, at: At, box: Box, rnd: random.Random, *c: RGB) -> None:
    for _ in range(18):
        u, v, s = rnd.uniform(0, 0.7), rnd.uniform(0.2, 0.8), rnd.uniform(0.15, 0.3)
        alpha = rnd.randint(60, 140)
        draw.ellipse(box(u, v, u + s * 1.5, v + s * 0.6), fill=(240, 244, 250, alpha))


def _fish(draw: ImageDraw.ImageDraw, at: At, box: Box, rnd: random.Random, *c: RGB) -> None:
    color, dark = c[:2]
    draw.polygon((at(0.72, 0.5), at(1.0, 0.3), at(1.0, 0.7)), fill=dark)
    draw.ellipse(box(0.0, 0.3, 0.8, 0.7), fill=color, outline=dark, width=3)
    for _ in range(8):
        u, v = rnd.uniform(0.2, 0.65), rnd.uniform(0.38, 0.6)
        draw.ellipse(box(u, v, u + 0.03, v + 0.03), fill=dark)
    draw.ellipse(box(0.1, 0.42, 0.15, 0.47), fill=(20, 20, 20))


def _bird(draw: ImageDraw.ImageDraw, at: At, box: Box, rnd: random.Random, *c: RGB) -> None:
    color, dark, light = c
    draw.line((at(0.45, 0.6), at(0.42, 1.0)), fill=dark, width=4)
    draw.line((at(0.55, 0.6), at(0.58, 1.0)), fill=dark, width=4)
    draw.ellipse(box(0.25, 0.35, 0.8, 0.65), fill=color, outline=dark, width=3)
    draw.line((at(0.35, 0.45), at(0.3, 0.1)), fill=color, width=10)
    draw.ellipse(box(0.22, 0.02, 0.38, 0.14), fill=color)
    draw.polygon((at(0.22, 0.06), at(0.05, 0.09), at(0.22, 0.11)), fill=(240, 180, 40))
    draw.polygon((at(0.4, 0.42), at(0.95, 0.3), at(0.75, 0.55)), fill=light, outline=dark)


def _tree(draw: ImageDraw.ImageDraw, at: At, box: Box, rnd: random.Random, *c: RGB) -> None:
    draw.rectangle(box(0.44, 0.5, 0.56, 1.0), fill=(92, 60, 36))
    for _ in range(7):
        u, v, s = rnd.uniform(0.05, 0.55), rnd.uniform(0.0, 0.35), rnd.uniform(0.3, 0.45)
        leaves = _shade((54, 128, 60), rnd.uniform(0.7, 1.2))
        draw.ellipse(box(u, v, u + s, v + s * 0.9), fill=leaves)


def _tower(draw: ImageDraw.ImageDraw, at: At, box: Box, rnd: random.Random, *c: RGB) -> None:
    color, dark = c[:2]
    draw.polygon((at(0.3, 1.0), at(0.38, 0.25), at(0.62, 0.25), at(0.7, 1.0)), fill=(236, 236, 230))
    for v in (0.4, 0.65, 0.88):
        draw.polygon(
            (
                at(0.37 - v * 0.07, v),
                at(0.63 + v * 0.07, v),
                at(0.64 + v * 0.07, v + 0.08),
                at(0.36 - v * 0.07, v + 0.08),
            ),
            fill=color,
        )
    draw.rectangle(box(0.4, 0.12, 0.6, 0.25), fill=(255, 236, 150), outline=dark, width=3)
    draw.polygon((at(0.34, 0.12), at(0.5, 0.0), at(0.66, 0.12)), fill=dark)


def _bridge(draw: ImageDraw.ImageDraw, at: At, box: Box, rnd: random.Random, *c: RGB) -> None:
    stone = (150, 140, 128)
    draw.rectangle(box(0.0, 0.35, 1.0, 1.0), fill=stone, outline=_shade(stone, 0.6), width=3)
    draw.ellipse(box(0.18, 0.6, 0.82, 1.4), fill=(0, 0, 0, 0))
    draw.rectangle(box(0.0, 0.28, 1.0, 0.35), fill=_shade(stone, 0.8))


def _animal(draw: ImageDraw.ImageDraw, at: At, box: Box, rnd: random.Random, *c: RGB) -> None:
    color, dark = c[:2]
    draw.ellipse(box(0.7, 0.55, 1.0, 0.75), fill=dark)
    for u in (0.3, 0.65):
        draw.rectangle(box(u, 0.75, u + 0.07, 0.98), fill=dark)
    draw.ellipse(box(0.15, 0.4, 0.85, 0.85), fill=color, outline=dark, width=3)
    draw.ellipse(box(0.0, 0.25, 0.35, 0.6), fill=color, outline=dark, width=3)
    draw.ellipse(box(0.05, 0.2, 0.13, 0.3), fill=dark)
    draw.ellipse(box(0.09, 0.36, 0.14, 0.41), fill=(15, 15, 15))


def _water(draw: ImageDraw.ImageDraw, at: At, box: Box, rnd: random.Random, *c: RGB) -> None:
    draw.ellipse(box(0.0, 0.7, 1.0, 1.0), fill=(90, 160, 220, 220), outline=(40, 100, 170), width=3)
    for u, v, s in ((0.45, 0.2, 0.12), (0.3, 0.45, 0.07), (0.62, 0.5, 0.06)):
        draw.polygon(
            (at(u + s / 2, v - s), at(u, v + s / 2), at(u + s, v + s / 2)), fill=(150, 200, 245)
        )
        draw.ellipse(box(u, v, u + s, v + s), fill=(150, 200, 245))


def _default(draw: ImageDraw.ImageDraw, at: At, box: Box, rnd: random.Random, *c: RGB) -> None:
    color, dark, light = c
    for _ in range(rnd.randint(5, 9)):
        u, v, s = rnd.uniform(0.05, 0.6), rnd.uniform(0.1, 0.6), rnd.uniform(0.25, 0.4)
        tint = rnd.choice((color, light, _shade(color, 0.8)))
        draw.ellipse(box(u, v, u + s, v + s), fill=tint, outline=dark, width=3)


SUBJECTS: dict[str, Subject] = {
    "mist": _mist,
    "fish": _fish,
    "bird": _bird,
    "tree": _tree,
    "tower": _tower,
    "bridge": _bridge,
    "animal": _animal,
    "water": _water,
    "default": _default,
}
