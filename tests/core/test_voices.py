"""Plan voices (flows/core/voices.py): what they accept is what eSpeak NG itself accepts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flows.core.voices import ELEVENLABS_VOICE_ID, check_voice, espeak_voices
from tests.scripts.conftest import load_script

# Asks the library the local provider loads (as scripts/_speech.py does) about each name.
ASK_ESPEAK = """
import ctypes, json, sys, espeakng_loader
lib = ctypes.CDLL(str(espeakng_loader.get_library_path()))
lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
assert lib.espeak_Initialize(2, 0, str(espeakng_loader.get_data_path()).encode(), 0) > 0
names = json.load(sys.stdin)
print(json.dumps({n: lib.espeak_SetVoiceByName(n.encode()) == 0 for n in names}))
"""
REFUSED = ["enn", "en-gb", "fr-fr", "english", "zh", "xx-nowhere", "en us", "en_us"]


def espeak_accepts(names: list[str]) -> dict[str, bool]:
    result = subprocess.run(
        [sys.executable, "-c", ASK_ESPEAK],
        input=json.dumps(names),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer: dict[str, bool] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def accepted(name: str) -> bool:
    try:
        return check_voice(name) == name
    except ValueError:
        return False


def test_every_voice_the_check_accepts_espeak_accepts_and_the_refused_ones_it_refuses() -> None:
    voices = espeak_voices()
    assert voices is not None and "en" in voices.files and len(voices.files) > 100
    names = [*voices.files, "EN-us", "gmw/en-US", "English (America)", "en+f3", "fr+m2"]
    names += [f"{name}+klatt" for name in voices.files[:5]]
    assert all(accepted(name) for name in names)
    assert not any(accepted(name) for name in REFUSED)
    truth = espeak_accepts(names + REFUSED)
    assert [n for n in names if not truth[n]] == []
    assert [n for n in REFUSED if truth[n]] == []


def test_elevenlabs_voice_ids_are_accepted_by_the_shape_the_script_uses() -> None:
    assert ELEVENLABS_VOICE_ID.pattern == load_script("_elevenlabs").VOICE_ID.pattern
    assert accepted("JBFqnCBsd6RMkjVDRZzb") and not accepted("JBFqnCBsd6RMkjVDRZz!")


def test_voices_come_from_the_data_folder_and_without_it_only_the_shape_is_checked(
    tmp_path: Path,
) -> None:
    (tmp_path / "lang" / "xyz").mkdir(parents=True)
    (tmp_path / "lang" / "xyz" / "qq").write_text("name Quux Speech\nlanguage qq\n")
    voices = espeak_voices(tmp_path)
    assert voices is not None and voices.files == ("qq",)
    assert voices.accepted == {"qq", "xyz/qq", "quux speech"} and voices.variants == set()
    assert espeak_voices(tmp_path / "missing") is None


def test_a_voice_that_is_not_a_name_at_all_is_refused() -> None:
    for value in ["", " en", "en\n", "a" * 101, "en;rm -rf"]:
        with pytest.raises(ValueError, match="is not a voice name"):
            check_voice(value)
