"""Offline speech with eSpeak NG: the library bundled by ``espeakng_loader`` through ctypes,
or, when it cannot be loaded, a system ``espeak-ng``/``espeak`` binary.

Both give 16-bit mono PCM at eSpeak's own rate (22050 Hz). The library also reports where
each word starts: its synthesis callback receives, beside each chunk of samples, a list of
``espeak_EVENT`` (speak_lib.h) ending with type 0; a WORD event (type 1) carries the word's
1-based character position in the text (``text_position``, in characters with
espeakCHARS_UTF8) and its sample index in the output (``sample``; ``audio_position`` is the
same in ms). ``Speech.marks`` holds them as (0-based character index, seconds); the binary
gives none (``marks`` is None).
"""

from __future__ import annotations

import ctypes
import shutil
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _contract import BadInput, Failure, log, run_tool

AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_RATE = 1  # espeak_PARAMETER: words per minute
ESPEAK_CHARS_UTF8 = 1
EE_OK = 0
POS_CHARACTER = 1
EVENT_LIST_TERMINATED, EVENT_WORD = 0, 1


class _Event(ctypes.Structure):
    """espeak_EVENT from speak_lib.h (the ``id`` union is 8 bytes: int, char* or char[8])."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class Speech:
    """16-bit mono little-endian PCM, its rate, and the words' (character, seconds) marks."""

    pcm: bytes
    sample_rate: int
    marks: list[tuple[int, float]] | None


def synthesize(text: str, voice: str, rate: int | None) -> Speech:
    """Speak ``text``: the PCM, its sample rate and (library only) where each word starts."""
    try:
        library = _load_library()
    except (ImportError, OSError, AttributeError) as exc:
        log(f"eSpeak NG library unavailable ({exc}); trying an espeak-ng binary")
        return _with_binary(text, voice, rate)
    return _with_library(library, text, voice, rate)


def _load_library() -> tuple[ctypes.CDLL, str]:
    import espeakng_loader

    library = ctypes.CDLL(str(espeakng_loader.get_library_path()))
    library.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    library.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    library.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    library.espeak_SetSynthCallback.argtypes = [_CALLBACK]
    library.espeak_SetSynthCallback.restype = None
    library.espeak_Synth.argtypes = [
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    return library, str(espeakng_loader.get_data_path())


def _with_library(
    loaded: tuple[ctypes.CDLL, str], text: str, voice: str, rate: int | None
) -> Speech:
    library, data_path = loaded
    sample_rate = library.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), 0)
    if sample_rate <= 0:
        raise Failure(
            f"espeak_Initialize failed ({sample_rate}) with data in {data_path}", type="tts_failed"
        )
    chunks: list[bytes] = []
    marks: list[tuple[int, float]] = []

    def collect(samples: Any, count: int, events: Any) -> int:
        if samples and count > 0:
            chunks.append(ctypes.string_at(samples, count * 2))
        index = 0
        while events and events[index].type != EVENT_LIST_TERMINATED:
            event = events[index]
            if event.type == EVENT_WORD:
                marks.append((event.text_position - 1, event.sample / sample_rate))
            index += 1
        return 0  # 0 = go on

    callback = _CALLBACK(collect)  # keep a reference while synthesising
    library.espeak_SetSynthCallback(callback)
    if library.espeak_SetVoiceByName(voice.encode()) != EE_OK:
        raise BadInput(f"field 'voice': eSpeak NG has no voice {voice!r}", type="invalid_field")
    if rate is not None:
        library.espeak_SetParameter(ESPEAK_RATE, rate, 0)
    encoded = text.encode("utf-8")
    status = library.espeak_Synth(
        encoded, len(encoded) + 1, 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8, None, None
    )
    library.espeak_Synchronize()
    library.espeak_Terminate()
    if status != EE_OK:
        raise Failure(f"espeak_Synth failed ({status})", type="tts_failed")
    return Speech(b"".join(chunks), int(sample_rate), marks)


def _with_binary(text: str, voice: str, rate: int | None) -> Speech:
    binary = shutil.which("espeak-ng") or shutil.which("espeak")
    if binary is None:
        raise Failure(
            "no eSpeak NG: install espeakng-loader or an espeak-ng binary", type="tool_missing"
        )
    with tempfile.TemporaryDirectory(prefix="reelflow-tts-") as folder:
        text_file, wav_file = Path(folder) / "text.txt", Path(folder) / "speech.wav"
        text_file.write_text(text, encoding="utf-8")
        argv = [binary, "-v", voice, "-b", "1", "-f", str(text_file), "-w", str(wav_file)]
        if rate is not None:
            argv[1:1] = ["-s", str(rate)]
        try:
            run_tool(argv, what=Path(binary).name)
        except Failure as exc:
            if "voice" in str(exc).lower():
                raise BadInput(f"field 'voice': {exc}", type="invalid_field") from None
            raise
        with wave.open(str(wav_file), "rb") as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                raise Failure("espeak wrote an unexpected WAV format", type="tts_failed")
            return Speech(w.readframes(w.getnframes()), w.getframerate(), None)
