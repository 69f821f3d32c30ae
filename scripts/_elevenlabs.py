"""ElevenLabs speech (generate_audio), sound effects (generate_sfx) and music
(generate_music), provider ``elevenlabs``.

API (elevenlabs.io/docs/api-reference/text-to-speech/convert-with-timestamps,
.../sound-generation and .../music/compose):

    POST {base}/v1/text-to-speech/{voice_id}/with-timestamps?output_format=mp3_44100_128
         header xi-api-key: KEY   {"text", "model_id"}
         → JSON {"audio_base64", "alignment", "normalized_alignment"}, each alignment
           {"characters": [str], "character_start_times_seconds": [float],
            "character_end_times_seconds": [float]} or null (the SDK's
           AudioWithTimestampsResponse); headers x-character-count, request-id
    POST {base}/v1/sound-generation?output_format=mp3_44100_128
         header xi-api-key: KEY   {"text", "duration_seconds" (0.5..22), "prompt_influence"
                                   (0..1, default 0.3), "model_id", "loop"}
         → audio/mpeg bytes
    POST {base}/v1/music?output_format=mp3_44100_128
         header xi-api-key: KEY   {"prompt" (at most 4100 characters), "music_length_ms"
                                   (3000..600000), "model_id": "music_v1",
                                   "force_instrumental": true}
         → audio/mpeg bytes; headers song-id, request-id. ``seed`` "cannot be used in
           conjunction with prompt", so none is sent.
    GET  {base}/v1/user  (what ``reelflow providers check`` calls: free)

Errors come as {"detail": {"status", "message"}} (401 ``invalid_api_key``, 429
``too_many_concurrent_requests`` / ``system_busy``) or FastAPI's 422 {"detail": [{"loc",
"msg"}]}.

A plan's voice is an ElevenLabs voice id (20 letters and digits); anything else (such as the
local provider's "en") means the default premade voice. Sounds longer than the 22 s the API
makes are asked for as a seamless loop of 22 s and looped with ffmpeg to the scene's length.
Music shorter than the API's 3 s is asked for 3 s and cut.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from pathlib import Path
from typing import Any

import _http
import _prices
from _contract import BadInput, Failure, temp_path_for

SPEECH_MODEL, SOUND_MODEL, MUSIC_MODEL = (
    "eleven_multilingual_v2",
    "eleven_text_to_sound_v2",
    ("music_v1"),
)
MUSIC_MIN_MS, MUSIC_MAX_MS, MUSIC_PROMPT_MAX = 3000, 600_000, 4100
MUSIC_READ_TIMEOUT = 170.0  # composing takes a while; under the registry's 180 s
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
    """Speak ``text`` into ``temp`` (MP3); returns the cost, ElevenLabs' usage figures and
    the per-character ``alignment`` (characters, starts, ends) or None."""
    model = model or SPEECH_MODEL
    _prices.price("elevenlabs", "speech", model)  # priced before anything is spent
    voice = voice_id(voice)
    with _session() as session:
        response = session.request(
            "POST", f"/v1/text-to-speech/{voice}/with-timestamps",
            params={"output_format": output_format}, json={"text": text, "model_id": model},
            headers={"Accept": "application/json"},
        )  # fmt: skip
        answer = session.json(response)
        temp.write_bytes(_decoded_audio(session, answer))
        alignment = _alignment(answer)
    billed = response.headers.get("x-character-count") or response.headers.get("character-cost")
    characters = int(billed) if billed and billed.isdigit() else len(text)
    return {
        "model": model, "cost_usd": _prices.speech(model, characters), "voice": voice,
        "characters_billed": characters, "request_id": response.headers.get("request-id"),
        "alignment": alignment,
    }  # fmt: skip


def _decoded_audio(session: _http.Session, answer: Any) -> bytes:
    """The audio of a with-timestamps answer; anything else is a permanent bad_response."""
    encoded = answer.get("audio_base64") if isinstance(answer, dict) else None
    try:
        audio = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else b""
    except (binascii.Error, ValueError):
        audio = b""
    if not audio:
        raise Failure(session.scrub("elevenlabs: the answer has no audio_base64 audio"),
                      type="bad_response")  # fmt: skip
    return audio


def _alignment(answer: dict[str, Any]) -> tuple[list[str], list[float], list[float]] | None:
    """The characters and their start and end seconds: ``alignment`` (of the text as sent),
    else ``normalized_alignment``; None when neither is usable."""
    for key in ("alignment", "normalized_alignment"):
        value = answer.get(key)
        if not isinstance(value, dict):
            continue
        chars = value.get("characters")
        starts = value.get("character_start_times_seconds")
        ends = value.get("character_end_times_seconds")
        if (isinstance(chars, list) and isinstance(starts, list) and isinstance(ends, list)
                and len(chars) == len(starts) == len(ends) and chars
                and all(isinstance(x, str) for x in chars)
                and all(isinstance(x, int | float) for x in (*starts, *ends))):  # fmt: skip
            return [str(x) for x in chars], [float(x) for x in starts], [float(x) for x in ends]
    return None


def music_ms(duration: float) -> int:
    """How much music we ask for: the bed's length within what the API makes."""
    return min(max(round(duration * 1000), MUSIC_MIN_MS), MUSIC_MAX_MS)


def music_prompt(prompt: str, mood: str | None) -> str:
    """The prompt sent: the plan's, with its mood and what the bed is for."""
    words = [prompt.strip().rstrip(".")]
    if mood:
        words.append(f"{mood} mood")
    words.append("instrumental background music for narration, no vocals")
    return ", ".join(words)


def music(
    prompt: str, mood: str | None, duration: float, model: str | None, temp: Path
) -> dict[str, Any]:
    """A music bed of ``duration`` seconds into ``temp`` (MP3)."""
    model = model or MUSIC_MODEL
    milliseconds = music_ms(duration)
    rate = float(_prices.price("elevenlabs", "music", model))  # priced before anything is spent
    text = music_prompt(prompt, mood)
    if len(text) > MUSIC_PROMPT_MAX:
        raise BadInput(f"field 'prompt' is too long for ElevenLabs music ({len(text)} of at "
                       f"most {MUSIC_PROMPT_MAX} characters with the mood)",
                       type="invalid_field")  # fmt: skip
    body = {"prompt": text, "music_length_ms": milliseconds, "model_id": model,
            "force_instrumental": True}  # fmt: skip
    cut = duration * 1000 < milliseconds
    raw = temp_path_for(temp) if cut else temp
    try:
        with _session(MUSIC_READ_TIMEOUT) as session:
            response = session.request(
                "POST", "/v1/music", params={"output_format": OUTPUT_FORMAT}, json=body
            )
            _write_audio(session, response, raw)
        if cut:
            _cut(raw, temp, duration)
    finally:
        if cut:
            with contextlib.suppress(FileNotFoundError):
                raw.unlink()
    return {"model": model, "cost_usd": round(rate * milliseconds / 1000, 6),
            "requested_ms": milliseconds, "request_id": response.headers.get("request-id"),
            "song_id": response.headers.get("song-id")}  # fmt: skip


def _cut(source: Path, target: Path, duration: float) -> None:
    """The first ``duration`` seconds of ``source``, as MP3."""
    import _media

    _media.ffmpeg("-i", str(source), "-t", f"{duration:.3f}", "-c:a", "libmp3lame",
                  "-b:a", "128k", str(target))  # fmt: skip


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
