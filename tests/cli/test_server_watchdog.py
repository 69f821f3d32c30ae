"""A command killed with SIGKILL does not leave its temporary Prefect server running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.cli.server_watchdog import SERVER_MARK
from tests.conftest import Configure
from tests.factories import TINY

REELFLOW = str(Path(sys.executable).with_name("reelflow"))

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")


def _servers(prefect_home: Path) -> list[int]:
    """Temporary Prefect servers started with this PREFECT_HOME, still running."""
    mark = f"PREFECT_HOME={prefect_home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit() or SERVER_MARK not in (entry / "cmdline").read_bytes():
                continue
            if mark in (entry / "environ").read_bytes().split(b"\0") and _running(entry):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _running(entry: Path) -> bool:
    return (entry / "stat").read_text().rpartition(")")[2].split()[0] not in ("Z", "X")


def _wait(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_killed_run_takes_its_temporary_server_with_it(
    configure: Configure, tmp_path: Path
) -> None:
    configure()
    home = tmp_path / "prefect-home"
    env = {**os.environ, "PREFECT_HOME": str(home)}
    env.pop("PREFECT_API_URL", None)  # the session's server, if another test started it
    cli = subprocess.Popen(
        [REELFLOW, "run", str(TINY), "--approve"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert _wait(lambda: _servers(home), 120), "the temporary server never started"
        cli.send_signal(signal.SIGKILL)
        cli.wait(10)
        assert _wait(lambda: not _servers(home), 10), f"still running: {_servers(home)}"
    finally:
        cli.kill()
        for pid in _servers(home):
            os.kill(pid, signal.SIGKILL)
