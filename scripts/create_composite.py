"""create_composite: a scene's layers laid out at the video's frame size.

Input (stdin JSON):
    background  str          path of the background picture (required)
    foreground  str|null     path of an RGBA foreground picture, or null for none
    layout      object       {"position": "center"|"left"|"right"|"top"|"bottom" (default
                             center), "scale": 0 < s <= 1, the foreground's height as a
                             fraction of the frame's (default 0.6)}; optional
    width       int          frame width, 16..7680
    height      int          frame height, 16..4320
    output      str          path of the .png to write

Output (stdout JSON line):
    {"output", "duration": null, "provider", "model", "cost_usd", "width", "height"}

Providers: local (Pillow, model "pillow"). The background is scaled to cover the frame and
centre-cropped; the foreground is cropped to its visible pixels, scaled to ``scale`` of the
frame height (and at most the frame width) and alpha-composited: centred, or against the
named edge with a 4% margin (left/right centred vertically, top/bottom centred across).
The result is RGB, exactly width x height.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _contract as c

POSITIONS = ("center", "left", "right", "top", "bottom")


def run_local(spec: dict[str, Any], temp: Path, model: str | None) -> dict[str, Any]:
    """Lay the layers out with Pillow into ``temp``."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    c.check_model(model, "pillow")
    size = (spec["width"], spec["height"])
    layers = {}
    for field in ("background", "foreground"):
        if spec[field] is not None:
            try:
                with Image.open(spec[field]) as image:
                    layers[field] = image.convert("RGBA")
            except (UnidentifiedImageError, OSError) as exc:
                raise c.BadInput(
                    f"field {field!r}: not a readable picture: {exc}", type="invalid_input_file"
                ) from None
    frame = ImageOps.fit(layers["background"], size, Image.Resampling.LANCZOS)
    subject = layers.get("foreground")
    bbox = subject.getchannel("A").getbbox() if subject is not None else None
    if subject is not None and bbox is not None:
        subject = subject.crop(bbox)
        target_h = max(1, round(spec["height"] * spec["scale"]))
        ratio = min(target_h / subject.height, spec["width"] / subject.width)
        subject = subject.resize(
            (max(1, round(subject.width * ratio)), max(1, round(subject.height * ratio))),
            Image.Resampling.LANCZOS,
        )
        frame.alpha_composite(subject, _place(spec, subject.size))
    frame.convert("RGB").save(temp, format="PNG", compress_level=1)
    return {"model": "pillow", "cost_usd": 0.0}


def _place(spec: dict[str, Any], subject: tuple[int, int]) -> tuple[int, int]:
    """Top-left corner of the foreground for the layout's position."""
    (w, h), (sw, sh), position = (spec["width"], spec["height"]), subject, spec["position"]
    margin_x, margin_y = round(w * 0.04), round(h * 0.04)
    x, y = (w - sw) // 2, (h - sh) // 2
    if position == "left":
        x = margin_x
    elif position == "right":
        x = w - sw - margin_x
    elif position == "top":
        y = margin_y
    elif position == "bottom":
        y = h - sh - margin_y
    return max(0, min(x, w - sw)), max(0, min(y, h - sh))


PROVIDERS = {"local": run_local}


def run(request: c.Request, provider: str, model: str | None) -> c.Result:
    """Validate the request, compose into a temp file, check it, rename it onto ``output``."""
    implementation = c.pick_provider(PROVIDERS, provider)
    layout = request.get("layout") or {}
    if not isinstance(layout, dict):
        raise c.BadInput("field 'layout' must be an object", type="invalid_field")
    layout = {f"layout.{key}": value for key, value in layout.items()}  # errors name layout.x
    foreground = request.get("foreground")
    spec: dict[str, Any] = {
        "background": c.input_file(request.get("background"), "background"),
        "foreground": None if foreground is None else c.input_file(foreground, "foreground"),
        "position": c.get_choice(layout, "layout.position", POSITIONS, "center"),
        "scale": c.get_number(layout, "layout.scale", 0.6, minimum=0.0, maximum=1.0),
        "width": c.get_number(request, "width", integer=True, minimum=16, maximum=7680),
        "height": c.get_number(request, "height", integer=True, minimum=16, maximum=4320),
    }
    if spec["scale"] <= 0:
        raise c.BadInput("field 'layout.scale' must be above 0", type="invalid_field")
    output = c.output_path(request, (".png",))
    with c.atomic_output(output) as temp:
        produced = implementation(spec, temp, model)
        _check_picture(temp, spec["width"], spec["height"])
    c.log(f"composite {spec['width']}x{spec['height']} ({spec['position']}) → {output}")
    return {
        "output": str(output),
        "duration": None,
        "provider": provider,
        "model": produced.get("model", model),
        "cost_usd": float(produced.get("cost_usd", 0.0)),
        "width": spec["width"],
        "height": spec["height"],
    }


def _check_picture(path: Path, width: int, height: int) -> None:
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        if image.size != (width, height) or image.mode != "RGB":
            raise c.Failure(
                f"provider made a {image.mode} {image.width}x{image.height} "
                f"picture, wanted RGB {width}x{height}",
                type="invalid_output",
            )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, read the request on stdin, print the one JSON result line."""
    return c.serve(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
