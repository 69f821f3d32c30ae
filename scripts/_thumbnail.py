"""The video's thumbnail: 1280x720 JPEG under 2 MB, the title set over the strongest frame.

Candidate frames are the middle frame of each scene's clip (before titles and captions are
drawn). Each is scored by sharpness times contrast: the mean response
of an edge filter on its luminance (blurry or flat frames score low) times the luminance's
standard deviation (RMS contrast). The best one is fitted to 1280x720, darkened towards the
bottom, and the title set there in the bundled font with an outline.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps, ImageStat

SIZE = (1280, 720)
MAX_BYTES = 2_000_000


def frames(clip: Path, fractions: tuple[float, ...] = (0.5,)) -> list[Image.Image]:
    """Frames of ``clip`` at the given fractions of its length (one decoding pass, no seeks:
    a clip is often one keyframe and what follows it)."""
    import av

    found: list[Image.Image] = []
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        length = (container.duration or 0) / 1_000_000
        wanted = [length * fraction for fraction in fractions]
        for frame in container.decode(stream):
            if frame.time is None or frame.time >= wanted[len(found)] - 0.02:
                found.append(frame.to_image())
                if len(found) == len(wanted):
                    break
    return found


def score(image: Image.Image) -> float:
    """Sharpness (mean edge response) x contrast (luminance standard deviation)."""
    grey = ImageOps.grayscale(image.resize((320, round(320 * image.height / image.width))))
    edges = ImageStat.Stat(grey.filter(ImageFilter.FIND_EDGES)).mean[0]
    return float(edges * ImageStat.Stat(grey).stddev[0])


def strongest(clips: list[Path]) -> tuple[Image.Image, int, float]:
    """(frame, index of its clip, score) of the best-scoring candidate."""
    best: tuple[Image.Image, int, float] | None = None
    for index, clip in enumerate(clips):
        for image in frames(clip):
            value = score(image)
            if best is None or value > best[2]:
                best = (image, index, value)
    if best is None:
        raise ValueError("no frame could be read for the thumbnail")
    return best


def render(image: Image.Image, title: str, font_file: Path, output: Path) -> int:
    """Write the thumbnail JPEG; returns its size in bytes."""
    picture = ImageOps.fit(image.convert("RGB"), SIZE, Image.Resampling.LANCZOS)
    shade = Image.linear_gradient("L").resize(SIZE).point(lambda v: max(0, v - 90) * 2)
    picture.paste((0, 0, 0), (0, 0), shade.point(lambda v: min(200, v)))
    draw = ImageDraw.Draw(picture)
    size = 120
    while True:
        font = ImageFont.truetype(str(font_file), size)
        lines = _wrap(draw, title, font, SIZE[0] * 0.88)
        if len(lines) <= 2 or size <= 48:
            break
        size -= 12
    text = "\n".join(lines[:3])
    box = draw.multiline_textbbox((0, 0), text, font=font, spacing=size // 8)
    x, y = SIZE[0] * 0.06, SIZE[1] * 0.92 - (box[3] - box[1]) - box[1]
    draw.multiline_text(
        (x, y), text, font=font, fill=(255, 255, 255), spacing=size // 8,
        stroke_width=max(3, size // 16), stroke_fill=(0, 0, 0),
    )  # fmt: skip
    for quality in (90, 80, 70, 55):
        picture.save(output, "JPEG", quality=quality, optimize=True)
        if output.stat().st_size < MAX_BYTES:
            break
    return output.stat().st_size


def _wrap(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: float
) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines
