"""A local stand-in for ElevenLabs' text to speech, sound generation and music.

Like the service (elevenlabs.io/docs/api-reference): the key goes in ``xi-api-key`` (a
wrong one is a 401 ``{"detail": {"status": "invalid_api_key", "message"}}``); requests are
validated (output_format, model_id, text, duration_seconds 0.5..22, prompt_influence 0..1;
FastAPI-style 422 ``{"detail": [{"loc", "msg", "type"}]}``); an unknown voice is a 404
``voice_not_found``; answers are real MP3 bytes (audio/mpeg) with ``x-character-count`` and
``request-id`` headers. ``GET /v1/user`` answers the subscription.

``/with-timestamps`` answers JSON (the SDK's AudioWithTimestampsResponse: ``audio_base64``,
``alignment`` and ``normalized_alignment``, each ``{characters,
character_start_times_seconds, character_end_times_seconds}``). Its audio matches its
alignment: a tone while each word is spoken, silence between words and longer after
punctuation, so a client's word timings can be checked against the sound itself.

``POST /v1/music`` (docs: api-reference/music/compose) takes ``prompt`` or
``composition_plan`` (not both), ``music_length_ms`` 3000..600000 (prompt only),
``model_id`` music_v1/music_v2/music_v2_5, ``force_instrumental`` (prompt only), ``seed``
(not with a prompt), and answers MP3 bytes of the asked length with a ``song-id`` header.
"""

from __future__ import annotations

import asyncio
import base64
import subprocess
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import imageio_ffmpeg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.scripts.providers.service import FakeService, Handler, Seen, media

KEY = "sk_FAKE-elevenlabs-canary-5d20aa"
VOICES = ("JBFqnCBsd6RMkjVDRZzb", "21m00Tcm4TlvDq8ikWAM")
SPEECH_MODELS = ("eleven_multilingual_v2", "eleven_v3", "eleven_flash_v2_5", "eleven_turbo_v2_5")
SOUND_MODELS = ("eleven_text_to_sound_v2",)
MUSIC_MODELS = ("music_v1", "music_v2", "music_v2_5")  # the compose page's model_id enum
MUSIC_PROMPT_MAX = 4100  # compose: prompt "<=4100 characters"
MUSIC_MS = (3000, 600_000)  # compose: music_length_ms "3000-600000"
CHARACTER_SECONDS, LEAD_SECONDS, WORD_GAP, PUNCTUATION_GAP = 0.06, 0.15, 0.08, 0.45
FORMATS = ("mp3_22050_32", "mp3_44100_64", "mp3_44100_128", "mp3_44100_192", "pcm_16000")
SECONDS_PER_CHARACTER = 0.05


@dataclass
class FakeElevenLabs(FakeService):
    name: str = "elevenlabs"
    key: str = KEY

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("POST", "/v1/text-to-speech/{voice}", self._speech),
            ("POST", "/v1/text-to-speech/{voice}/with-timestamps", self._speech_timed),
            ("POST", "/v1/music", self._music),
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

    async def _speech_timed(self, request: Request, seen: Seen) -> Response:
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
        alignment, words, seconds = timed(text)
        audio = await asyncio.to_thread(spoken_mp3, tuple(words), seconds)
        answer = {"audio_base64": base64.b64encode(audio).decode("ascii"),
                  "alignment": alignment, "normalized_alignment": alignment}  # fmt: skip
        return JSONResponse(answer, headers={
            "x-character-count": str(len(text)), "request-id": uuid.uuid4().hex,
        })  # fmt: skip

    async def _music(self, request: Request, seen: Seen) -> Response:
        body = seen.body if isinstance(seen.body, dict) else {}
        problem = _check_music(body, seen.query)
        if problem is not None:
            return problem
        seconds = body.get("music_length_ms", 30_000) / 1000
        audio = await asyncio.to_thread(media, "mp3", float(seconds))
        return Response(audio, media_type="audio/mpeg", headers={
            "song-id": uuid.uuid4().hex[:20], "request-id": uuid.uuid4().hex,
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


def _check_music(body: dict[str, Any], query: dict[str, str]) -> Response | None:
    """The compose endpoint's rules (api-reference/music/compose)."""
    if query.get("output_format", "mp3_44100_128") not in (*FORMATS, "auto"):
        return _unprocessable("output_format", "Input should be a supported output format")
    prompt, plan = body.get("prompt"), body.get("composition_plan")
    if (prompt is None) == (plan is None):  # "Cannot be used in conjunction with ..."
        return _unprocessable("prompt", "Exactly one of prompt and composition_plan is required")
    if prompt is not None and (not isinstance(prompt, str) or not prompt.strip()):
        return _unprocessable("prompt", "Input should be a valid string")
    if isinstance(prompt, str) and len(prompt) > MUSIC_PROMPT_MAX:
        return _unprocessable("prompt", f"String should have at most {MUSIC_PROMPT_MAX} characters")
    length = body.get("music_length_ms")
    if length is not None and (isinstance(length, bool) or not isinstance(length, int)
                               or not MUSIC_MS[0] <= length <= MUSIC_MS[1]):  # fmt: skip
        return _unprocessable("music_length_ms", "Input should be between 3000 and 600000")
    if body.get("model_id", "music_v1") not in MUSIC_MODELS:
        return _unprocessable("model_id", "Input should be 'music_v1', 'music_v2' or 'music_v2_5'")
    if prompt is not None and body.get("seed") is not None:  # seed: "Cannot be used ... prompt"
        return _unprocessable("seed", "seed cannot be used in conjunction with prompt")
    if not isinstance(body.get("force_instrumental", False), bool):
        return _unprocessable("force_instrumental", "Input should be a valid boolean")
    return None


def timed(text: str) -> tuple[dict[str, Any], list[tuple[float, float]], float]:
    """A plausible alignment of ``text``: characters at a steady pace after a short lead-in,
    a gap after each word and a longer one after , . ! ? ; :. Returns the alignment, the words'
    (start, end) and the length of the audio."""
    chars, starts, ends, words = [], [], [], []
    at, word_start = LEAD_SECONDS, None
    for index, char in enumerate(text):
        chars.append(char)
        if char.isspace():
            starts.append(at)
            ends.append(at)
            continue
        word_start = at if word_start is None else word_start
        starts.append(at)
        at += CHARACTER_SECONDS
        ends.append(at)
        if index + 1 == len(text) or text[index + 1].isspace():
            words.append((word_start, at))
            word_start = None
            at += PUNCTUATION_GAP if char in ",.!?;:" else WORD_GAP
    alignment = {"characters": chars,
                 "character_start_times_seconds": [round(x, 3) for x in starts],
                 "character_end_times_seconds": [round(x, 3) for x in ends]}  # fmt: skip
    return alignment, words, round(at + 0.2, 3)


_SPOKEN = Path(tempfile.mkdtemp(prefix="reelflow-fake-speech-"))
_spoken: dict[tuple[tuple[tuple[float, float], ...], float], bytes] = {}
_spoken_lock = threading.Lock()


def spoken_mp3(words: tuple[tuple[float, float], ...], seconds: float) -> bytes:
    """Real MP3: a 220 Hz tone with harmonics during each word, silence elsewhere."""
    key = (words, seconds)
    with _spoken_lock:
        if key not in _spoken:
            gate = "+".join(f"between(t,{a:.3f},{b:.3f})" for a, b in words) or "0"
            expression = f"0.4*(sin(2*PI*220*t)+0.5*sin(2*PI*440*t))*({gate})"
            path = _SPOKEN / f"speech-{len(_spoken)}.mp3"
            subprocess.run(
                [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                 "-f", "lavfi", "-i", f"aevalsrc='{expression}':s=44100:d={seconds:.3f}",
                 "-c:a", "libmp3lame", "-b:a", "64k", str(path)],
                check=True,
            )  # fmt: skip
            _spoken[key] = path.read_bytes()
        return _spoken[key]


def _unprocessable(field: str, message: str) -> Response:
    detail = [{"loc": ["body", field], "msg": message, "type": "value_error"}]
    return JSONResponse({"detail": detail}, status_code=422)
