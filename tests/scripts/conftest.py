"""Helpers for the media-script tests: run a script as a real subprocess, make small media.

Everything runs at tiny sizes (320x180, 12 fps, clips of a second or two) so the whole
scripts suite stays fast.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import subprocess
import sys
import wave
from array import array
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
W, H, FPS = 320, 180, 12

Result = tuple[int, dict[str, Any], str]
Runner = Callable[..., Result]


def run_script(
    name: str,
    request: dict[str, Any] | str | None = None,
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> Result:
    """Run ``scripts/<name>.py`` with ``request`` as JSON on stdin.

    Returns (exit code, the last stdout line parsed as JSON, stderr). A str request is sent
    as is (to test bad JSON); None sends nothing.
    """
    stdin = request if isinstance(request, str) else "" if request is None else json.dumps(request)
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / f"{name}.py"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, "REELFLOW_SCRIPT": name, **(env or {})},
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"stdout must be exactly one JSON line, got {done.stdout!r}"
    return done.returncode, json.loads(lines[-1]), done.stderr


def load_script(name: str) -> ModuleType:
    """Import ``scripts/<name>.py`` in this process, its folder on sys.path as when it runs."""
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    return importlib.import_module(name)


def ok(name: str, request: dict[str, Any], *args: str, **kwargs: Any) -> dict[str, Any]:
    """Run a script that must succeed; return its result."""
    code, result, stderr = run_script(name, request, *args, **kwargs)
    assert code == 0, f"{name} exited {code}: {result} {stderr[-2000:]}"
    return result


def leftovers(folder: Path) -> list[str]:
    """Temporary files a script left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name)


def wav_samples(path: Path) -> tuple[array, int, int]:
    """(16-bit samples, sample rate, channels) of a WAV file."""
    with wave.open(str(path), "rb") as w:
        assert w.getsampwidth() == 2
        samples = array("h", w.readframes(w.getnframes()))
        return samples, w.getframerate(), w.getnchannels()


def rms(samples: Any) -> float:
    return math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))


@pytest.fixture
def run() -> Runner:
    return run_script


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A few small real inputs made by the scripts themselves, shared by the session:
    a composite, three clips (1.5 s, 1 s, 2 s), two narrations and two sound effects."""
    folder = tmp_path_factory.mktemp("media")
    made: dict[str, Path] = {}
    ok(
        "generate_asset",
        {
            "prompt": "a calm sunrise over the sea",
            "title": "Dawn",
            "kind": "background",
            "width": W,
            "height": H,
            "output": str(folder / "bg.png"),
        },
    )
    made["composite"] = Path(
        ok(
            "create_composite",
            {
                "background": str(folder / "bg.png"),
                "foreground": None,
                "width": W,
                "height": H,
                "output": str(folder / "composite.png"),
            },
        )["output"]
    )
    for index, (motion, seconds) in enumerate(
        (("zoom in", 1.5), ("pan left", 1.0), ("static", 2.0))
    ):
        made[f"clip{index}"] = Path(
            ok(
                "generate_video",
                {
                    "image": str(made["composite"]),
                    "motion": motion,
                    "duration": seconds,
                    "width": W,
                    "height": H,
                    "fps": FPS,
                    "output": str(folder / f"clip{index}.mp4"),
                },
            )["output"]
        )
    for index, text in enumerate(("The day begins.", "Deep in the forest, birds sing.")):
        made[f"narration{index}"] = Path(
            ok("generate_audio", {"text": text, "output": str(folder / f"narration{index}.wav")})[
                "output"
            ]
        )
    for index, prompt in enumerate(("rain and thunder", "birds")):
        made[f"sfx{index}"] = Path(
            ok(
                "generate_sfx",
                {"prompt": prompt, "duration": 2.0, "output": str(folder / f"sfx{index}.wav")},
            )["output"]
        )
    return made
