"""Virtualenvs for python scripts, keyed by the SHA-256 of their requirements file.

``<data dir>/venvs/<sha256>/`` is built once, in place, under an exclusive file lock (so
two runs racing for it build it once), and marked ready only when pip has succeeded. A
changed requirements file has a new hash and gets a new environment. A failed build is
removed and reported with pip's output.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import shutil
import sys
from pathlib import Path

from flows.core.errors import ScriptEnvError

__all__ = ["ensure_venv", "requirements_digest"]

READY = ".reelflow-ready"
PIP_OUTPUT_TAIL = 4000


def requirements_digest(requirements: Path) -> str:
    return hashlib.sha256(requirements.read_bytes()).hexdigest()


async def ensure_venv(script: str, requirements: Path, venvs_dir: Path) -> Path:
    """The interpreter of the environment for ``requirements``, built if needed."""
    digest = requirements_digest(requirements)
    venv = venvs_dir / digest
    python = venv / "bin" / "python"
    if (venv / READY).exists():
        return python
    venvs_dir.mkdir(parents=True, exist_ok=True)
    with (venvs_dir / f"{digest}.lock").open("w") as lock:
        await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
        try:
            if not (venv / READY).exists():
                await _build(script, requirements, venv)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return python


async def _build(script: str, requirements: Path, venv: Path) -> None:
    if venv.exists():  # a build that died half-way
        shutil.rmtree(venv)
    try:
        await _run(script, [sys.executable, "-m", "venv", str(venv)])
        await _run(
            script,
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "-r",
                str(requirements),
            ],
        )
    except BaseException:
        shutil.rmtree(venv, ignore_errors=True)
        raise
    (venv / READY).write_text(str(requirements))


async def _run(script: str, command: list[str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        text = output.decode("utf-8", errors="replace")[-PIP_OUTPUT_TAIL:]
        raise ScriptEnvError(script, detail=f"$ {' '.join(command)}\n{text}")
