"""A local stand-in for ElevenLabs' text to speech and sound generation.

Like the service (elevenlabs.io/docs/api-reference): the key goes in ``xi-api-key`` (a
wrong one is a 401 ``{"detail": {"status": "invalid_api_key", "message"}}``); requests are
validated (output_format, model_id, text, duration_seconds 0.5..22, prompt_influence 0..1;
FastAPI-style 422 ``{"detail": [{"loc", "msg", "type"}]}``); an unknown voice is a 404
``voice_not_found``; answers are real MP3 bytes (audio/mpeg) with ``x-character-count`` and
``request-id`` headers. ``GET /v1/user`` answers the subscription.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.scripts.providers.service import FakeService, Handler, Seen, media

KEY = "sk_FAKE-elevenlabs-canary-5d20aa"
VOICES = ("JBFqnCBsd6RMkjVDRZzb", "21m00Tcm4TlvDq8ikWAM")
SPEECH_MODELS = ("eleven_multilingual_v2", "eleven_v3", "eleven_flash_v2_5", "eleven_turbo_v2_5")
SOUND_MODELS = ("eleven_text_to_sound_v2",)
FORMATS = ("mp3_22050_32", "mp3_44100_64", "mp3_44100_128", "mp3_44100_192", "pcm_16000")
SECONDS_PER_CHARACTER = 0.05


@dataclass
class FakeElevenLabs(FakeService):
    name: str = "elevenlabs"
    key: str = KEY

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("POST", "/v1/text-to-speech/{voice}", self._speech),
            ("POST", "/v1/sound-generation", self._sound),
            ("GET", "/v1/user", self._user),
        ]

    def authorised(self, request: Request) -> Response | None:
        if request.headers.get("xi-api-key") == self.key:
            return None
        return JSONResponse(
            {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}},
            status_code=401,
        )

    def error(self, status: int, message: str) -> dict[str, Any]:
        kind = {429: "too_many_concurrent_requests", 503: "system_busy"}.get(status, "error")
        return {"detail": {"status": kind, "message": message}}

    def _user(self, request: Request, seen: Seen) -> Any:
        return {"subscription": {"tier": "creator", "character_count": 1200,
                                 "character_limit": 100_000}, "is_new_user": False}  # fmt: skip

    async def _speech(self, request: Request, seen: Seen) -> Response:
        voice = request.path_params["voice"]
        body = seen.body if isinstance(seen.body, dict) else {}
        problem = _check(body, seen.query, "model_id", SPEECH_MODELS)
        if problem is not None:
            return problem
        if voice not in VOICES:
            return JSONResponse({"detail": {"status": "voice_not_found", "message":
                                 f"A voice with the voice_id {voice} was not found."}},
                                status_code=404)  # fmt: skip
        text = body["text"]
        seconds = round(0.3 + len(text) * SECONDS_PER_CHARACTER, 1)
        audio = await asyncio.to_thread(media, "mp3", seconds)
        return Response(audio, media_type="audio/mpeg", headers={
            "x-character-count": str(len(text)), "request-id": uuid.uuid4().hex,
        })  # fmt: skip

    async def _sound(self, request: Request, seen: Seen) -> Response:
        body = seen.body if isinstance(seen.body, dict) else {}
        problem = _check(body, seen.query, "model_id", SOUND_MODELS)
        if problem is not None:
            return problem
        seconds = body.get("duration_seconds")
        if not isinstance(seconds, int | float) or not 0.5 <= seconds <= 22:
            return _unprocessable("duration_seconds", "Input should be between 0.5 and 22")
        influence = body.get("prompt_influence", 0.3)
        if not isinstance(influence, int | float) or not 0 <= influence <= 1:
            return _unprocessable("prompt_influence", "Input should be between 0 and 1")
        audio = await asyncio.to_thread(media, "mp3", float(seconds))
        return Response(audio, media_type="audio/mpeg", headers={"request-id": uuid.uuid4().hex})


def _check(body: dict[str, Any], query: dict[str, str], field: str, models: tuple[str, ...]
           ) -> Response | None:  # fmt: skip
    if query.get("output_format", "mp3_44100_128") not in FORMATS:
        return _unprocessable("output_format", "Input should be a supported output format")
    if not isinstance(body.get("text"), str) or not body["text"].strip():
        return _unprocessable("text", "Field required")
    if body.get(field, models[0]) not in models:
        return JSONResponse({"detail": {"status": "model_not_found", "message":
                             f"A model with model ID {body.get(field)} does not exist"}},
                            status_code=400)  # fmt: skip
    return None


def _unprocessable(field: str, message: str) -> Response:
    detail = [{"loc": ["body", field], "msg": message, "type": "value_error"}]
    return JSONResponse({"detail": detail}, status_code=422)
