"""No script outlives the process that started it.

Every script runs in its own process group. Three things end a group early:

* a timeout or a cancelled task: the runner sends SIGTERM, waits a grace period, SIGKILLs;
* SIGTERM to this process (how Prefect cancels a deployed run): a chained signal handler
  does the same to every live group, then hands the signal on to the previous handler;
* this process dying any other way, SIGKILL included: a small reaper process, started once
  per process in a session of its own, holds the read end of a pipe on which we announce
  each group. When we die the kernel closes our end, the reaper reads EOF, and it kills
  every group still announced (grandchildren too, unlike PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import IO, Any

__all__ = ["LiveGroups", "live_groups"]

_REAPER = r"""
import os, signal, sys, time
groups = set()
for line in sys.stdin:
    op, pgid = line[0], int(line[1:])
    (groups.add if op == "+" else groups.discard)(pgid)
def alive(g):
    try:
        os.killpg(g, 0)
        return True
    except OSError:
        return False
for g in groups:
    try:
        os.killpg(g, signal.SIGTERM)
    except OSError:
        pass
deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline and any(alive(g) for g in groups):
    time.sleep(0.05)
for g in groups:
    try:
        os.killpg(g, signal.SIGKILL)
    except OSError:
        pass
"""


class LiveGroups:
    """The process groups this process has running, known to the reaper and the handler."""

    def __init__(self) -> None:
        self._groups: set[int] = set()
        self._lock = threading.Lock()
        self._reaper: subprocess.Popen[bytes] | None = None
        self._reaper_pid_owner = 0
        self._grace = 5.0
        self.terminating = False

    def add(self, pgid: int, grace: float) -> None:
        self._grace = grace
        self._install_handler()
        with self._lock:
            self._groups.add(pgid)
            self._announce(f"+{pgid}\n")

    def discard(self, pgid: int) -> None:
        with self._lock:
            self._groups.discard(pgid)
            self._announce(f"-{pgid}\n")

    def _announce(self, line: str) -> None:
        for _ in range(2):
            stdin = self._reaper_stdin()
            try:
                stdin.write(line.encode())
                return
            except (BrokenPipeError, OSError):
                self._reaper = None  # it died; start another and announce everything again

    def _reaper_stdin(self) -> IO[bytes]:
        if self._reaper is None or self._reaper_pid_owner != os.getpid():
            self._reaper = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
                [sys.executable, "-I", "-S", "-c", _REAPER, str(self._grace)],
                stdin=subprocess.PIPE,
                bufsize=0,
                start_new_session=True,
            )
            self._reaper_pid_owner = os.getpid()
            assert self._reaper.stdin is not None
            for pgid in self._groups:
                self._reaper.stdin.write(f"+{pgid}\n".encode())
        assert self._reaper.stdin is not None
        return self._reaper.stdin

    def _install_handler(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        current = signal.getsignal(signal.SIGTERM)
        if getattr(current, "__reelflow__", False):
            return
        signal.signal(signal.SIGTERM, _chained(self, current))

    def terminate_all(self) -> None:
        """SIGTERM every live group, wait up to the grace period, SIGKILL what is left."""
        self.terminating = True
        with self._lock:
            groups = list(self._groups)
        _signal_groups(groups, signal.SIGTERM)
        deadline = time.monotonic() + self._grace
        while time.monotonic() < deadline and any(_leader_running(g) for g in groups):
            time.sleep(0.02)
        _signal_groups(groups, signal.SIGKILL)


def _chained(groups: LiveGroups, previous: Any) -> Any:
    def handler(signum: int, frame: FrameType | None) -> None:
        groups.terminate_all()
        if callable(previous):
            previous(signum, frame)
        elif previous in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    handler.__reelflow__ = True  # type: ignore[attr-defined]
    return handler


def _signal_groups(groups: list[int], sig: signal.Signals) -> None:
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)


def _leader_running(pgid: int) -> bool:
    """Whether the group's leader is still running (a zombie has finished)."""
    try:
        stat = Path(f"/proc/{pgid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


live_groups = LiveGroups()
