"""ElevenLabs speech (generate_audio) and sound effects (generate_sfx), provider ``elevenlabs``.

API (elevenlabs.io/docs/api-reference/text-to-speech/convert and .../sound-generation):

    POST {base}/v1/text-to-speech/{voice_id}?output_format=mp3_44100_128
         header xi-api-key: KEY   {"text", "model_id"}
         → audio/mpeg bytes; headers x-character-count (characters billed), request-id
    POST {base}/v1/sound-generation?output_format=mp3_44100_128
         header xi-api-key: KEY   {"text", "duration_seconds" (0.5..22), "prompt_influence"
                                   (0..1, default 0.3), "model_id", "loop"}
         → audio/mpeg bytes
    GET  {base}/v1/user  (what ``reelflow providers check`` calls: free)

Errors come as {"detail": {"status", "message"}} (401 ``invalid_api_key``, 429
``too_many_concurrent_requests`` / ``system_busy``) or FastAPI's 422 {"detail": [{"loc",
"msg"}]}.

A plan's voice is an ElevenLabs voice id (20 letters and digits); anything else (such as the
local provider's "en") means the default premade voice. Sounds longer than the 22 s the API
makes are asked for as a seamless loop of 22 s and looped with ffmpeg to the scene's length.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import _http
import _prices
from _contract import Failure, temp_path_for

SPEECH_MODEL, SOUND_MODEL = "eleven_multilingual_v2", "eleven_text_to_sound_v2"
DEFAULT_VOICE = "JBFqnCBsd6RMkjVDRZzb"  # "George", a premade voice every account has
DEFAULT_BASE_URL = "https://api.elevenlabs.io"
KEY_ENV, BASE_ENV = "REELFLOW_ELEVENLABS_API_KEY", "REELFLOW_ELEVENLABS_BASE_URL"
OUTPUT_FORMAT = "mp3_44100_128"
SOUND_MIN, SOUND_MAX = 0.5, 22.0
VOICE_ID = re.compile(r"^[A-Za-z0-9]{20}$")


def voice_id(voice: str) -> str:
    """The ElevenLabs voice for a plan's voice: itself when it is an id, else the default."""
    return voice if VOICE_ID.match(voice) else DEFAULT_VOICE


def sound_seconds(duration: float) -> float:
    """How long a sound we ask for: the scene's length within what the API makes."""
    return round(min(max(duration, SOUND_MIN), SOUND_MAX), 2)


def _session(read_timeout: float = 110.0) -> _http.Session:
    key = _http.secret(KEY_ENV)
    base = _http.base_url(BASE_ENV, DEFAULT_BASE_URL)
    headers = {"xi-api-key": key, "Accept": "audio/mpeg"}
    return _http.Session("elevenlabs", base, headers=headers, secrets=[key],
                         read_timeout=read_timeout)  # fmt: skip


def speech(
    text: str, voice: str, model: str | None, temp: Path, output_format: str = OUTPUT_FORMAT
) -> dict[str, Any]:
    """Speak ``text`` into ``temp`` (MP3); returns the cost and ElevenLabs' usage figures."""
    model = model or SPEECH_MODEL
    _prices.price("elevenlabs", "speech", model)  # priced before anything is spent
    voice = voice_id(voice)
    with _session() as session:
        response = session.request(
            "POST", f"/v1/text-to-speech/{voice}", params={"output_format": output_format},
            json={"text": text, "model_id": model},
        )  # fmt: skip
        _write_audio(session, response, temp)
    billed = response.headers.get("x-character-count") or response.headers.get("character-cost")
    characters = int(billed) if billed and billed.isdigit() else len(text)
    return {
        "model": model, "cost_usd": _prices.speech(model, characters), "voice": voice,
        "characters_billed": characters, "request_id": response.headers.get("request-id"),
    }  # fmt: skip


def sound(
    prompt: str, duration: float, influence: float, model: str | None, temp: Path
) -> dict[str, Any]:
    """A sound effect of ``duration`` seconds into ``temp`` (MP3)."""
    model = model or SOUND_MODEL
    seconds = sound_seconds(duration)
    cost = _prices.sound(model, seconds)  # priced before anything is spent
    body: dict[str, Any] = {
        "text": prompt, "duration_seconds": seconds, "prompt_influence": influence,
        "model_id": model,
    }  # fmt: skip
    if duration > SOUND_MAX:
        body["loop"] = True
    raw = temp_path_for(temp) if duration > SOUND_MAX else temp
    try:
        with _session() as session:
            response = session.request(
                "POST", "/v1/sound-generation", params={"output_format": OUTPUT_FORMAT}, json=body
            )
            _write_audio(session, response, raw)
        if raw != temp:
            _loop(raw, temp, duration)
    finally:
        if raw != temp:
            with contextlib.suppress(FileNotFoundError):
                raw.unlink()
    return {"model": model, "cost_usd": cost, "requested_seconds": seconds,
            "request_id": response.headers.get("request-id")}  # fmt: skip


def _write_audio(session: _http.Session, response: Any, path: Path) -> None:
    kind = response.headers.get("content-type", "")
    if not kind.startswith("audio/") or not response.content:
        raise Failure(session.scrub(f"elevenlabs: expected audio, got {kind or 'nothing'}"),
                      type="invalid_output")  # fmt: skip
    path.write_bytes(response.content)


def _loop(source: Path, target: Path, duration: float) -> None:
    """Repeat ``source`` (made as a seamless loop) to ``duration`` seconds, as MP3."""
    import _media

    _media.ffmpeg("-stream_loop", "-1", "-i", str(source), "-t", f"{duration:.3f}",
                  "-c:a", "libmp3lame", "-b:a", "128k", str(target))  # fmt: skip
