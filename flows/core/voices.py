"""Which narration voices a plan may name, known offline.

A plan's voice goes to ``generate_audio`` with the channel's narration provider, which the plan
does not know (scripts/generate_audio.py, scripts/_elevenlabs.py):

* local (eSpeak NG): a voice eSpeak NG has, optionally with a variant (``en+f3``);
* elevenlabs: a voice id (20 letters and digits); any other value means its default voice.

So a plan's voice must be one of the two. The eSpeak NG voices are read from the data that
``espeakng_loader`` ships (the library the local provider loads), so there is one source of
truth: ``espeak_SetVoiceByName`` accepts a voice file's name (``en-US``), its path under
``lang/`` (``gmw/en-US``) or its ``name`` line (``English (America)``), ignoring case, and
nothing else (a ``language`` line such as ``en-gb`` alone is refused). Pinned against the
library by tests/core/test_voices.py. Without that data (no espeakng_loader: the local provider
then uses a system binary) only the shape of a name is checked.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flows.core.manifest_limits import MAX_VOICE

__all__ = ["ELEVENLABS_VOICE_ID", "EspeakVoices", "check_voice", "espeak_voices"]

ELEVENLABS_VOICE_ID = re.compile(r"^[A-Za-z0-9]{20}$")  # same rule as scripts/_elevenlabs.py

_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 (),./_+-]*$")


@dataclass(frozen=True)
class EspeakVoices:
    """eSpeak NG's voices: ``files`` (file names, what the error lists), every accepted
    spelling in ``accepted`` and the variants (``voices/!v``), all lower-cased."""

    files: tuple[str, ...]
    accepted: frozenset[str]
    variants: frozenset[str]


def espeak_voices(data_path: Path | None = None) -> EspeakVoices | None:
    """The voices in eSpeak NG's data (default: espeakng_loader's); None without the data."""
    if data_path is None:
        try:
            import espeakng_loader
        except ImportError:
            return None
        data_path = Path(espeakng_loader.get_data_path())
    return _read_voices(Path(data_path))


@lru_cache(maxsize=4)
def _read_voices(data_path: Path) -> EspeakVoices | None:
    lang = data_path / "lang"
    if not lang.is_dir():
        return None
    files: set[str] = set()
    accepted: set[str] = set()
    for path in lang.rglob("*"):
        if not path.is_file():
            continue
        files.add(path.name)
        accepted.update((path.name.lower(), path.relative_to(lang).as_posix().lower()))
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("name "):
                accepted.add(line[5:].strip().lower())
                break
    variants_dir = data_path / "voices" / "!v"
    variants = {p.name.lower() for p in variants_dir.iterdir()} if variants_dir.is_dir() else set()
    return EspeakVoices(
        tuple(sorted(files, key=str.lower)), frozenset(accepted), frozenset(variants)
    )


def check_voice(value: str) -> str:
    """``value`` if a narration provider can speak with it; else a ValueError saying what can."""
    if ELEVENLABS_VOICE_ID.fullmatch(value):
        return value
    if len(value) > MAX_VOICE or not _SHAPE.fullmatch(value):
        raise ValueError(f"{_show(value)} is not a voice name; {_allowed(espeak_voices(), value)}")
    voices = espeak_voices()
    if voices is None:
        return value
    base, _, variant = value.partition("+")
    if base.lower() in voices.accepted and (not variant or variant.lower() in voices.variants):
        return value
    if variant and base.lower() in voices.accepted:
        raise ValueError(
            f"eSpeak NG has no variant {_show(variant)}; variants: "
            + ", ".join(sorted(voices.variants))
        )
    raise ValueError(f"unknown voice {_show(value)}; {_allowed(voices, base)}")


def _allowed(voices: EspeakVoices | None, near: str) -> str:
    eleven = "or an ElevenLabs voice id (20 letters and digits)"
    if voices is None:
        return f"use an eSpeak NG voice such as en or en-us, {eleven}"
    close = difflib.get_close_matches(near, voices.files, n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return (
        f"{hint}use an eSpeak NG voice, optionally +variant (e.g. en+f3): "
        f"{', '.join(voices.files)}; {eleven}"
    )


def _show(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")
