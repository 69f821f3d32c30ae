"""A local stand-in for the Gemini API's image generation (v1beta generateContent).

Like the service (ai.google.dev/api/generate-content): the key goes in ``x-goog-api-key``
(a wrong one is a 400 ``API_KEY_INVALID``), errors are ``{"error": {"code", "message",
"status", "details"}}``, a 429 carries a RetryInfo ``retryDelay``, an unknown model is a 404,
an answer is ``candidates[].content.parts[]`` with a text part and an ``inlineData`` PNG at
the asked aspect ratio (an eighth of the real size, to stay quick), plus ``usageMetadata``.
A prompt asking for a magenta backdrop gets a subject on one (``plain_backdrop`` off: on a
busy picture instead).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.scripts.providers.service import FakeService, Handler, Seen

KEY = "AIzaSyFAKE-gemini-canary-3c1f9e77"
MODELS = ("gemini-2.5-flash-image", "gemini-3-pro-image-preview")
SIZES = {  # the real output sizes, divided by 8
    "1:1": (128, 128), "2:3": (104, 156), "3:2": (156, 104), "3:4": (108, 148),
    "4:3": (148, 108), "4:5": (112, 138), "5:4": (138, 112), "9:16": (96, 172),
    "16:9": (168, 96), "21:9": (198, 84),
}  # fmt: skip
STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}  # fmt: skip
OUTPUT_TOKENS = 1290


@dataclass
class FakeGemini(FakeService):
    name: str = "gemini"
    key: str = KEY
    plain_backdrop: bool = True

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("POST", "/v1beta/models/{model}:generateContent", self._generate),
            ("GET", "/v1beta/models/{model}", self._model),
        ]

    def authorised(self, request: Request) -> Response | None:
        """A wrong key is a 400 INVALID_ARGUMENT, not a 401, as Google answers it: the API
        error model (cloud.google.com/apis/design/errors: ``google.rpc.Status`` with an
        ``ErrorInfo`` detail) with reason ``API_KEY_INVALID``; the message is the one Google's
        Gemini troubleshooting pages quote ("Error 400: API key not valid. Please pass a valid
        API key.", firebase.google.com/docs/ai-logic/error-codes); the body as the real service
        sends it (e.g. in github.com/continuedev/continue/issues/11759)."""
        if request.headers.get("x-goog-api-key") == self.key:
            return None
        message = "API key not valid. Please pass a valid API key."
        body = self.error(400, message)
        body["error"]["details"] = [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
             "domain": "googleapis.com",
             "metadata": {"service": "generativelanguage.googleapis.com"}},
            {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
             "message": message},
        ]  # fmt: skip
        return JSONResponse(body, status_code=400)

    def error(self, status: int, message: str) -> dict[str, Any]:
        error: dict[str, Any] = {"code": status, "message": message,
                                 "status": STATUS.get(status, "UNKNOWN")}  # fmt: skip
        if status == 429:
            error["details"] = [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}
            ]
        return {"error": error}

    def _model(self, request: Request, seen: Seen) -> Any:
        model = request.path_params["model"]
        if model not in MODELS:
            return self._refuse(404, f"models/{model} is not found for API version v1beta")
        return {"name": f"models/{model}", "displayName": model, "version": "001"}

    def _generate(self, request: Request, seen: Seen) -> Any:
        model = request.path_params["model"]
        if model not in MODELS:
            return self._refuse(404, f"models/{model} is not found for API version v1beta")
        body = seen.body if isinstance(seen.body, dict) else {}
        try:
            prompt = body["contents"][0]["parts"][0]["text"]
            config = body["generationConfig"]
            ratio = config.get("imageConfig", {}).get("aspectRatio", "1:1")
        except (KeyError, IndexError, TypeError):
            return self._refuse(400, "Invalid JSON payload: contents[0].parts[0].text missing")
        if "IMAGE" not in [m.upper() for m in config.get("responseModalities", [])]:
            return self._refuse(400, "responseModalities must include IMAGE for this model")
        if ratio not in SIZES:
            return self._refuse(400, f"Unsupported aspect ratio: {ratio}")
        png = picture(SIZES[ratio], keyable="magenta" in prompt and self.plain_backdrop)
        words = len(prompt.split())
        return {
            "candidates": [{
                "content": {"role": "model", "parts": [
                    {"text": "Here is the picture."},
                    {"inlineData": {"mimeType": "image/png",
                                    "data": base64.b64encode(png).decode()}},
                ]},
                "finishReason": "STOP", "index": 0,
            }],
            "usageMetadata": {"promptTokenCount": words, "candidatesTokenCount": OUTPUT_TOKENS,
                              "totalTokenCount": words + OUTPUT_TOKENS},
            "modelVersion": model,
        }  # fmt: skip

    def _refuse(self, status: int, message: str) -> Response:
        return JSONResponse(self.error(status, message), status_code=status)


def picture(size: tuple[int, int], *, keyable: bool) -> bytes:
    """A PNG: an orange disc on flat magenta (slightly off #FF00FF, as models do), else a
    busy picture with no backdrop."""
    width, height = size
    if keyable:
        image = Image.new("RGB", size, (250, 6, 247))
        draw = ImageDraw.Draw(image)
        draw.ellipse((width * 0.3, height * 0.2, width * 0.7, height * 0.8), fill=(230, 140, 30))
    else:  # bands of unrelated colours, like a photograph's edges
        image = Image.new("RGB", size)
        draw = ImageDraw.Draw(image)
        colours = [(200, 40, 40), (30, 160, 60), (40, 60, 200), (240, 220, 40), (20, 20, 20)]
        for i in range(0, width + height, 12):
            draw.line((i, 0, i - height, height), fill=colours[(i // 12) % 5], width=12)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
