"""generate_asset: one picture for a scene, a background or a foreground layer.

Input (stdin JSON):
    prompt   str        what to picture (required)
    title    str        the scene's title, written on backgrounds (default "")
    kind     str        "background" (RGB, title drawn) or "foreground" (RGBA, transparent
                        around a subject) (default "background")
    width    int        pixels, 16..7680
    height   int        pixels, 16..4320
    seed     int|null   composition seed; null → a hash of prompt, title and kind
    output   str        path of the .png to write

Output (stdout JSON line):
    {"output", "duration": null, "provider", "model", "cost_usd", "width", "height",
     "kind", "seed"}

Providers: local (Pillow, model "pillow"): the prompt's keywords choose the palette and the
scenery; the same input always gives the same bytes. gemini (Gemini API image generation,
model "gemini-2.5-flash-image" by default, key in $REELFLOW_GEMINI_API_KEY): drawn at the
nearest supported aspect ratio and scaled to the frame; foregrounds are asked for on a flat
magenta backdrop that is keyed out to transparency (see _gemini.py). Its result adds
"usage" (token counts) and costs what prices.toml says.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _contract as c

KINDS = ("background", "foreground")


def run_local(spec: dict[str, Any], temp: Path, model: str | None) -> dict[str, Any]:
    """Draw the picture with Pillow into ``temp``."""
    import _art

    c.check_model(model, "pillow")
    if spec["kind"] == "background":
        image = _art.background(
            spec["prompt"], spec["title"], spec["width"], spec["height"], spec["seed"]
        )
    else:
        image = _art.foreground(spec["prompt"], spec["width"], spec["height"], spec["seed"])
    image.save(temp, format="PNG", compress_level=6)
    return {"model": "pillow", "cost_usd": 0.0}


def run_gemini(spec: dict[str, Any], temp: Path, model: str | None) -> dict[str, Any]:
    """Generate the picture with Gemini into ``temp``."""
    import _gemini

    image, produced = _gemini.picture(spec, model or _gemini.DEFAULT_MODEL)
    image.save(temp, format="PNG", compress_level=6)
    return produced


PROVIDERS = {"local": run_local, "gemini": run_gemini}


def run(request: c.Request, provider: str, model: str | None) -> c.Result:
    """Validate the request, draw into a temp file, check it, rename it onto ``output``."""
    from _art import stable_seed

    implementation = c.pick_provider(PROVIDERS, provider)
    spec: dict[str, Any] = {
        "prompt": c.get_str(request, "prompt"),
        "title": c.get_str(request, "title", "", empty=True) or "",
        "kind": c.get_choice(request, "kind", KINDS, "background"),
        "width": c.get_number(request, "width", integer=True, minimum=16, maximum=7680),
        "height": c.get_number(request, "height", integer=True, minimum=16, maximum=4320),
        "seed": c.get_number(request, "seed", None, integer=True),
    }
    if spec["seed"] is None:
        spec["seed"] = stable_seed(spec["prompt"], spec["title"], spec["kind"])
    output = c.output_path(request, (".png",))
    with c.atomic_output(output) as temp:
        produced = implementation(spec, temp, model)
        _check_picture(temp, spec)
    c.log(f"{spec['kind']} {spec['width']}x{spec['height']} → {output}")
    return {
        "output": str(output),
        "duration": None,
        "provider": provider,
        "model": produced.get("model", model),
        "cost_usd": float(produced.get("cost_usd", 0.0)),
        "width": spec["width"],
        "height": spec["height"],
        "kind": spec["kind"],
        "seed": spec["seed"],
        **({"usage": produced["usage"]} if "usage" in produced else {}),
    }


def _check_picture(path: Path, spec: dict[str, Any]) -> None:
    from PIL import Image

    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        size, mode = image.size, image.mode
    want_mode = "RGB" if spec["kind"] == "background" else "RGBA"
    if size != (spec["width"], spec["height"]) or mode != want_mode:
        raise c.Failure(
            f"provider made a {mode} {size[0]}x{size[1]} picture, wanted "
            f"{want_mode} {spec['width']}x{spec['height']}",
            type="invalid_output",
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, read the request on stdin, print the one JSON result line."""
    return c.serve(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
