"""generate_music (local): a real, deterministic instrumental bed as a 48 kHz stereo WAV.

The music is checked by ear's proxies: the pitch classes sounding (Goertzel filters over the
file decoded to 8 kHz mono by ffmpeg) belong to the key the script reports, several sound at
once (chords, not a tone), the harmony changes over time, and the bed fades in and out.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
import wave
from array import array
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest

from tests.scripts.conftest import SCRIPTS, leftovers, ok, rms, run_script, wav_samples

NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MODES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10),
         "dorian": (0, 2, 3, 5, 7, 9, 10)}  # fmt: skip


def _music(tmp_path: Path, name: str = "bed.wav", **request: Any) -> dict[str, Any]:
    body = {"prompt": "a calm river documentary", "duration": 20.0, **request}
    return ok("generate_music", {**body, "output": str(tmp_path / name)})


def _mono_8k(path: Path, tmp_path: Path) -> array[int]:
    out = tmp_path / f"{path.stem}-8k.wav"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(path),
                    "-ac", "1", "-ar", "8000", str(out)], check=True)  # fmt: skip
    with wave.open(str(out), "rb") as w:
        return array("h", w.readframes(w.getnframes()))


def _power(samples: array[int], hz: float, rate: int = 8000) -> float:
    """Goertzel: the energy of ``samples`` at ``hz``."""
    coefficient = 2 * math.cos(2 * math.pi * hz / rate)
    before = earlier = 0.0
    for sample in samples:
        before, earlier = sample + coefficient * before - earlier, before
    return before * before + earlier * earlier - coefficient * before * earlier


def chroma(samples: array[int]) -> list[float]:
    """Energy per pitch class (C..B), summed over three octaves from C3 (MIDI 48..83)."""
    energy = [0.0] * 12
    for note in range(48, 84):
        energy[note % 12] += _power(samples, 440.0 * 2 ** ((note - 69) / 12))
    return energy


def _scale(key: str) -> set[int]:
    tonic, mode = key.split()
    return {(NAMES.index(tonic) + step) % 12 for step in MODES[mode]}


def test_a_bed_is_a_48k_stereo_wav_of_exactly_the_asked_length_faded_in_and_out(
    tmp_path: Path,
) -> None:
    result = _music(tmp_path, duration=6.5, seed=11)
    samples, rate, channels = wav_samples(Path(result["output"]))
    assert (rate, channels, len(samples)) == (48_000, 2, round(6.5 * 48_000) * 2)
    assert result["duration"] == 6.5 and result["sample_rate"] == 48_000
    assert (result["provider"], result["model"], result["cost_usd"]) == (
        "local", "reelflow-synth", 0.0)  # fmt: skip
    assert result["seed"] == 11 and result["mood"] == "calm"
    middle = rms(samples[len(samples) // 2 - 9600 : len(samples) // 2 + 9600])
    assert middle > 1000, "music, not silence"
    assert rms(samples[:960]) < middle / 20 and rms(samples[-960:]) < middle / 20, "faded"
    assert max(map(abs, samples)) < 30_000, "headroom, no clipping"
    left, right = samples[0::2], samples[1::2]
    assert left != right, "stereo: the arpeggio and the reverb differ left and right"
    assert leftovers(tmp_path) == []


def test_the_notes_sounding_are_chords_in_the_reported_key_and_the_harmony_moves(
    tmp_path: Path,
) -> None:
    result = _music(tmp_path, seed=5)
    samples = _mono_8k(Path(result["output"]), tmp_path)
    scale = _scale(result["key"])
    tops = []
    for second in (4, 8, 12, 16):  # one second of music at each point
        energy = chroma(samples[second * 8000 : (second + 1) * 8000])
        strongest = sorted(range(12), key=energy.__getitem__, reverse=True)
        top = energy[strongest[0]]
        audible = [NAMES[p] for p in strongest if energy[p] > 0.05 * top]  # within 13 dB
        assert len(audible) >= 3, f"a chord, not a tone, at {second} s: {audible}"
        # Within 7 dB of the strongest, only notes of the key (weaker ones may be overtones:
        # the third harmonic of D is an A, outside C minor).
        strong = {p for p in strongest if energy[p] > 0.2 * top} | set(strongest[:3])
        assert strong <= scale, (second, sorted(NAMES[p] for p in strong), result["key"])
        tops.append(frozenset(strongest[:3]))
    assert len(set(tops)) >= 2, "the chords change"


def test_the_same_request_gives_the_same_bytes_and_another_seed_other_music(
    tmp_path: Path,
) -> None:
    first = _music(tmp_path, "a.wav", duration=4.0, seed=3)
    again = _music(tmp_path, "b.wav", duration=4.0, seed=3)
    other = _music(tmp_path, "c.wav", duration=4.0, seed=4)
    unseeded = _music(tmp_path, "d.wav", duration=4.0)
    unseeded_again = _music(tmp_path, "e.wav", duration=4.0)
    read = lambda result: Path(result["output"]).read_bytes()  # noqa: E731
    assert read(first) == read(again)
    assert read(first) != read(other)
    assert unseeded["seed"] == unseeded_again["seed"] and read(unseeded) == read(unseeded_again)


@pytest.mark.parametrize(
    ("prompt", "mood", "expected", "mode"),
    [
        ("an epic storm at sea", None, "dramatic", "minor"),
        ("a walk in town", "peaceful", "calm", "major"),
        ("a walk in town", "upbeat and fun", "happy", "major"),
        ("lost letters", "sad", "sad", "minor"),
        ("caves", "mysterious", "mysterious", "dorian"),
        ("a walk in town", "zzz", "calm", "major"),
    ],
)
def test_the_mood_picks_the_mode(
    tmp_path: Path, prompt: str, mood: str | None, expected: str, mode: str
) -> None:
    result = _music(tmp_path, prompt=prompt, mood=mood, duration=2.0, seed=1)
    assert result["mood"] == expected and result["key"].endswith(mode)
    assert 55 <= result["tempo_bpm"] <= 120


def test_bad_requests_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    out = str(tmp_path / "bed.wav")
    base = {"prompt": "calm", "duration": 5.0, "output": out}
    cases = [
        ({**base, "prompt": " "}, "'prompt'"),
        ({k: v for k, v in base.items() if k != "duration"}, "'duration'"),
        ({**base, "duration": 0.5}, "'duration'"),
        ({**base, "duration": 601}, "'duration'"),
        ({**base, "duration": True}, "'duration'"),
        ({**base, "seed": -1}, "'seed'"),
        ({**base, "seed": 1.5}, "'seed'"),
        ({**base, "mood": 3}, "'mood'"),
        ({**base, "output": str(tmp_path / "bed.mp3")}, "'output'"),
    ]
    for request, field in cases:
        code, result, _ = run_script("generate_music", request)
        assert code == 2, request
        assert field in result["error"]["message"], (request, result)
    code, result, _ = run_script("generate_music", base, "--model", "nope")
    assert (code, result["error"]["type"]) == (2, "unknown_model")
    assert list(tmp_path.iterdir()) == []


def test_sigterm_while_rendering_leaves_nothing_behind(tmp_path: Path) -> None:
    request = {"prompt": "a long walk", "duration": 600.0, "output": str(tmp_path / "bed.wav")}
    process = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "generate_music.py")], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdin is not None
    process.stdin.write(json.dumps(request))
    process.stdin.close()
    deadline = time.monotonic() + 20
    while not any(tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.02)  # until it has started writing (the layers or the WAV)
    process.send_signal(signal.SIGTERM)
    assert process.stdout is not None
    out = process.stdout.read()
    process.wait(timeout=30)
    assert process.stderr is not None
    process.stderr.close()
    process.stdout.close()
    assert process.returncode == 143, out
    assert json.loads(out.splitlines()[-1])["error"]["type"] == "terminated"
    assert list(tmp_path.iterdir()) == []
