"""Gemini image generation for generate_asset (provider ``gemini``).

API (ai.google.dev/api/generate-content, ai.google.dev/gemini-api/docs/image-generation):

    POST {base}/v1beta/models/{model}:generateContent      header x-goog-api-key: KEY
    {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}],
     "generationConfig": {"responseModalities": ["IMAGE"], "seed": N,
                          "imageConfig": {"aspectRatio": "16:9"}}}
    → {"candidates": [{"content": {"parts": [{"inlineData": {"mimeType": "image/png",
        "data": BASE64}}]}, "finishReason": "STOP"}],
       "usageMetadata": {"promptTokenCount", "candidatesTokenCount", "totalTokenCount"}}

(REST answers in camelCase; ``inline_data``/``mime_type`` are accepted too.) Errors come as
``{"error": {"code", "message", "status", "details"}}`` (Google's API error model); a bad key
is not a 401 but a 400 ``INVALID_ARGUMENT`` "API key not valid. Please pass a valid API key."
with an ErrorInfo detail of reason ``API_KEY_INVALID``, which we class ``unauthorized`` like
the other providers' 401s; quota is a 429 ``RESOURCE_EXHAUSTED`` with a RetryInfo
``retryDelay``.

The model draws at one of its aspect ratios (the nearest to the frame's); the picture is then
scaled to cover the frame (backgrounds) or to fit inside it (foregrounds).

Foregrounds need a transparent subject, which the model cannot paint. We ask for the subject
alone on a flat magenta (#FF00FF) backdrop - a colour rare in natural subjects, unlike green
(trees) or white (lighthouses) - and key it out: the backdrop colour is measured on the
picture's border (the model rarely hits #FF00FF exactly), every pixel's distance to it becomes
its alpha with a soft ramp for anti-aliased edges, and a picture that comes back with a
border that is not mostly one flat colour is refused rather than pasted as an opaque block.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import _http
import _prices
import httpx
from _contract import Failure
from PIL import Image, ImageChops, ImageOps

DEFAULT_MODEL = "gemini-2.5-flash-image"
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
KEY_ENV, BASE_ENV = "REELFLOW_GEMINI_API_KEY", "REELFLOW_GEMINI_BASE_URL"
ASPECTS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
BACKDROP = "#FF00FF"
KEY_LOW, KEY_HIGH = 60, 140  # colour distance: at or under LOW transparent, over HIGH opaque
MIN_FLAT_BORDER = 0.6  # share of the border that must be backdrop (the subject may touch it)
READ_TIMEOUT = 55.0  # under the registry's 60 s


def aspect_ratio(width: int, height: int) -> str:
    """The supported aspect ratio nearest to width:height (compared on a log scale)."""
    wanted = math.log(width / height)
    return min(ASPECTS, key=lambda a: abs(math.log(int(a.split(":")[0]) / int(a.split(":")[1]))
                                          - wanted))  # fmt: skip


def prompt_for(spec: dict[str, Any]) -> str:
    """What we ask the model for: no lettering, and for foregrounds a keyable backdrop."""
    if spec["kind"] == "foreground":
        return (
            f"{spec['prompt']}. One subject, whole and centred with a margin around it, on a "
            f"perfectly flat, uniform solid magenta ({BACKDROP}) background: no shadow, no "
            "floor, no gradient, no other objects, no text."
        )
    title = f" for a documentary scene titled {spec['title']!r}" if spec["title"] else ""
    return f"{spec['prompt']}. A wide cinematic background picture{title}; no text or lettering."


def picture(spec: dict[str, Any], model: str) -> tuple[Image.Image, dict[str, Any]]:
    """Generate the picture at the frame size; returns it with the cost and usage figures."""
    _prices.price("gemini", model)  # priced before anything is spent
    key = _http.secret(KEY_ENV)
    body = {
        "contents": [{"role": "user", "parts": [{"text": prompt_for(spec)}]}],
        "generationConfig": {
            "responseModalities": ["IMAGE"],
            "seed": spec["seed"] % 2**31,
            "imageConfig": {"aspectRatio": aspect_ratio(spec["width"], spec["height"])},
        },
    }
    base = _http.base_url(BASE_ENV, DEFAULT_BASE_URL)
    headers = {"x-goog-api-key": key}
    with _http.Session("gemini", base, headers=headers, secrets=[key], read_timeout=READ_TIMEOUT,
                       refused_key=refused_key) as session:  # fmt: skip
        answer = session.json(
            session.request("POST", f"/v1beta/models/{model}:generateContent", json=body)
        )
    image = _decode(_image_part(answer))
    size = (spec["width"], spec["height"])
    if spec["kind"] == "foreground":
        image = _fit_inside(key_out(image.convert("RGB")), size)
    else:
        image = ImageOps.fit(image.convert("RGB"), size, Image.Resampling.LANCZOS)
    usage = answer.get("usageMetadata") or {}
    return image, {
        "model": model,
        "cost_usd": _prices.gemini_image(model, usage),
        "usage": {
            "prompt_tokens": usage.get("promptTokenCount"),
            "output_tokens": usage.get("candidatesTokenCount"),
            "total_tokens": usage.get("totalTokenCount"),
        },
    }


def refused_key(response: httpx.Response) -> bool:
    """Google's answer to a key that is not valid: ErrorInfo reason API_KEY_INVALID (or an
    INVALID_ARGUMENT saying so, from proxies that drop the details)."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return False
    if not isinstance(error, dict):
        return False
    details: Any = error.get("details")
    if not isinstance(details, list):
        details = []
    reasons = {d.get("reason") for d in details if isinstance(d, dict)}
    if "API_KEY_INVALID" in reasons:
        return True
    message = str(error.get("message") or "")
    return error.get("status") == "INVALID_ARGUMENT" and "API key not valid" in message


def _image_part(answer: dict[str, Any]) -> str:
    candidates = answer.get("candidates") or []
    for candidate in candidates:
        for part in (candidate.get("content") or {}).get("parts") or []:
            inline = part.get("inlineData") or part.get("inline_data") or {}
            mime = inline.get("mimeType") or inline.get("mime_type") or ""
            if inline.get("data") and mime.startswith("image/"):
                return str(inline["data"])
    blocked = (answer.get("promptFeedback") or {}).get("blockReason")
    reasons = [c.get("finishReason") for c in candidates if c.get("finishReason")]
    why = blocked or ", ".join(reasons) or "no candidates"
    raise Failure(f"gemini: the answer holds no image ({why})", type="no_image")


def _decode(data: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(base64.b64decode(data, validate=False)))
        image.load()
    except (OSError, ValueError) as exc:
        raise Failure(f"gemini: the image cannot be read: {exc}", type="invalid_output") from None
    return image


def key_out(image: Image.Image) -> Image.Image:
    """The picture with its flat backdrop made transparent (RGBA)."""
    backdrop, flat = _backdrop(image)
    if flat < MIN_FLAT_BORDER:
        raise Failure(
            f"gemini: the foreground came back without a plain backdrop to remove "
            f"({flat:.0%} of its border is one colour)",
            type="invalid_output",
        )
    keyed = image.convert("RGBA")
    keyed.putalpha(_distance(image, backdrop).point(_alpha))
    return keyed


def _alpha(distance: int) -> int:
    """Colour distance to the backdrop → opacity: a soft ramp between KEY_LOW and KEY_HIGH."""
    if distance <= KEY_LOW:
        return 0
    return min(255, (distance - KEY_LOW) * 255 // (KEY_HIGH - KEY_LOW))


def _distance(image: Image.Image, colour: tuple[int, int, int]) -> Image.Image:
    """Per pixel, the largest channel difference to ``colour`` (an "L" image)."""
    red, green, blue = ImageChops.difference(image, Image.new("RGB", image.size, colour)).split()
    return ImageChops.lighter(ImageChops.lighter(red, green), blue)


def _backdrop(image: Image.Image) -> tuple[tuple[int, int, int], float]:
    """The median colour of the picture's outermost pixels, and the share of them near it."""
    width, height = image.size
    strips = [(0, 0, width, 1), (0, height - 1, width, height), (0, 0, 1, height),
              (width - 1, 0, width, height)]  # fmt: skip
    raw = b"".join(image.crop(box).tobytes() for box in strips)
    channels = [sorted(raw[i::3]) for i in range(3)]
    middle = len(channels[0]) // 2
    colour = (channels[0][middle], channels[1][middle], channels[2][middle])
    near = sum(
        max(abs(raw[i] - colour[0]), abs(raw[i + 1] - colour[1]), abs(raw[i + 2] - colour[2]))
        <= KEY_LOW
        for i in range(0, len(raw), 3)
    )
    return colour, near / (len(raw) // 3)


def _fit_inside(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale ``image`` to fit inside ``size`` and centre it on transparency."""
    fitted = ImageOps.contain(image, size, Image.Resampling.LANCZOS)
    canvas = Image.new("RGBA", size, (0, 0, 0, 0))
    canvas.paste(fitted, ((size[0] - fitted.width) // 2, (size[1] - fitted.height) // 2))
    return canvas
