"""Stops a command's temporary Prefect server once the command is gone, however it ended.

Without PREFECT_API_URL, Prefect starts a temporary API server (uvicorn, ~245 MB) as a child
of the command and stops it at exit; a command killed by SIGKILL or SIGTERM never gets
there, and the server would run on. ``guard_temporary_server`` starts this file as a tiny
watchdog process (stdlib only, ``python -I -S``) holding the read end of a pipe whose write
end only the command holds, and puts a token in the command's environment, which the
server inherits. When the pipe reaches end-of-file (the command exited or was killed), the
watchdog stops every Prefect server process carrying the token: SIGTERM, then SIGKILL after
a grace period. Nothing polls while the command runs; it needs Linux's /proc to find the
servers (elsewhere it does nothing).

Run as a script: ``python -I -S server_watchdog.py TOKEN``, stdin being the pipe.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

__all__ = ["OWNER_VARIABLE", "SERVER_MARK", "guard_temporary_server", "main"]

OWNER_VARIABLE = "REELFLOW_TEMPORARY_SERVER_OWNER"
SERVER_MARK = b"prefect.server.api.server:create_app"  # in the temporary server's command line
GRACE_SECONDS = 3.0

_guard: subprocess.Popen[bytes] | None = None


def guard_temporary_server() -> None:
    """Start the watchdog once per process (a no-op without /proc)."""
    global _guard
    if _guard is not None or not Path("/proc/self/environ").exists():
        return
    token = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
    os.environ[OWNER_VARIABLE] = token
    _guard = subprocess.Popen(  # noqa: S603 - our own interpreter and file
        [sys.executable, "-I", "-S", __file__, token],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C in the terminal is the command's, not the watchdog's
        close_fds=True,
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while sys.stdin.buffer.read(4096):  # blocks until the command is gone
        pass
    stop_servers(args[0].encode())
    return 0


def stop_servers(token: bytes, *, grace: float = GRACE_SECONDS) -> list[int]:
    """SIGTERM every temporary Prefect server whose environment holds ``token``, SIGKILL
    those still alive after ``grace`` seconds; the pids found."""
    pids = [pid for pid in _processes() if _is_server(pid, token)]
    _signal(pids, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    _signal([pid for pid in pids if _alive(pid)], signal.SIGKILL)
    return pids


def _processes() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _is_server(pid: int, token: bytes) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if SERVER_MARK not in cmdline.split(b"\0"):
            return False
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:  # gone meanwhile, or not ours to read
        return False
    return OWNER_VARIABLE.encode() + b"=" + token in environ


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its new parent to reap it counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _signal(pids: list[int], signum: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


if __name__ == "__main__":
    raise SystemExit(main())
