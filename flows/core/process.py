"""One child process driven by event-loop callbacks: its pipes and a pidfd, no threads.

asyncio's subprocess API watches every child from a thread of its own (on Python 3.11) and
runs several tasks per process; under Prefect, whose workers are threads too, each hand-off
costs. Here the loop itself watches the two output pipes and a pidfd (Linux 5.3+; elsewhere
one executor thread waits), so a run costs two futures and a few callbacks.

Stopping a script stops what it started (``signal_tree``, Linux): its process group, and
every process found in ``/proc`` that descends from it: by parent while the chain of parents
is unbroken, by its session or group, and by the ``REELFLOW_EXECUTION_ID=…`` marker every
descendant inherits in its environment (which finds a double-forked ``setsid`` daemon that
init adopted). Processes are remembered with their start time, so a reused pid is never
signalled. Only a process that both leaves the tree and clears the marker from its
environment can escape. (A child subreaper, ``PR_SET_CHILD_SUBREAPER``, was considered: it
is process-wide, so in a Prefect worker every orphan of every child - the API server, pip,
the reaper - would become ours to reap, and reaping with ``waitpid(-1)`` steals exit statuses
from asyncio's and subprocess's waiters; a per-run supervisor process holding it costs about
14 ms a run, ten times a ``/bin/true`` run. Neither is used.)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

__all__ = ["Child", "process_tree"]

CHUNK = 64 * 1024
PROC = Path("/proc")
Stat = tuple[int, int, int, int]  # ppid, process group, session, start time (clock ticks)


class Child:
    """A started process in a session (and process group) of its own.

    ``exited`` resolves to the exit code (negative: killed by that signal); ``closed``
    resolves when both output pipes have reached EOF.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path | None,
        payload: bytes | None,
        on_stdout: Callable[[bytes], None],
        on_stderr: Callable[[bytes], None],
        marker: str | None = None,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._process = subprocess.Popen(  # noqa: S603 - an argument list from the registry
            command,
            stdin=subprocess.DEVNULL if payload is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
        )
        self.pid = self._process.pid
        self._marker = marker.encode() if marker else None
        stat = _stat(self.pid)
        self._start = stat[3] if stat else 0
        self._known: set[tuple[int, int]] = set()  # (pid, start time) signalled so far
        self.exited: asyncio.Future[int] = self._loop.create_future()
        self.closed: asyncio.Future[None] = self._loop.create_future()
        self._open: set[int] = set()
        self._sinks: dict[int, Callable[[bytes], None]] = {}
        for pipe, sink in ((self._process.stdout, on_stdout), (self._process.stderr, on_stderr)):
            assert pipe is not None
            fd = pipe.fileno()
            os.set_blocking(fd, False)
            self._sinks[fd] = sink
            self._open.add(fd)
            self._loop.add_reader(fd, self._readable, fd)
        self._watch_exit()
        self._payload = memoryview(payload or b"")
        if payload is not None:
            assert self._process.stdin is not None
            os.set_blocking(self._process.stdin.fileno(), False)
            self._write_stdin()

    def signal_group(self, sig: signal.Signals) -> None:
        """Signal every process of the group (the script and anything it started)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def signal_tree(self, sig: signal.Signals) -> None:
        """Signal the group and every descendant found (see the module's docstring)."""
        self.signal_group(sig)
        self._known |= process_tree(self.pid, self._start, self._marker)
        for pid, start in self._known:
            stat = _stat(pid)
            if stat is not None and stat[3] == start:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)

    def release(self) -> None:
        """Stop watching and close what is still open (after exit, or on giving up)."""
        for fd in list(self._open):
            self._close_pipe(fd)
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._loop.remove_writer(self._process.stdin.fileno())
            self._process.stdin.close()
        if not self.closed.done():
            self.closed.set_result(None)

    # --- callbacks ----------------------------------------------------------------------

    def _readable(self, fd: int) -> None:
        try:
            chunk = os.read(fd, CHUNK)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if chunk:
            self._sinks[fd](chunk)
        else:
            self._close_pipe(fd)

    def _close_pipe(self, fd: int) -> None:
        self._loop.remove_reader(fd)
        self._open.discard(fd)
        for pipe in (self._process.stdout, self._process.stderr):
            if pipe is not None and not pipe.closed and pipe.fileno() == fd:
                pipe.close()
        if not self._open and not self.closed.done():
            self.closed.set_result(None)

    def _write_stdin(self) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            written = os.write(stdin.fileno(), self._payload)
        except BlockingIOError:
            written = 0
        except (BrokenPipeError, ConnectionResetError):
            written = len(self._payload)  # it stopped reading: nothing more to give it
        self._payload = self._payload[written:]
        if self._payload:
            self._loop.add_writer(stdin.fileno(), self._more_stdin)
        else:
            stdin.close()

    def _more_stdin(self) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        self._loop.remove_writer(stdin.fileno())
        self._write_stdin()

    def _watch_exit(self) -> None:
        try:
            pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):  # no pidfd here: one thread waits instead
            waited = self._loop.run_in_executor(None, os.waitpid, self.pid, 0)
            waited.add_done_callback(lambda f: self._reaped(f.result()[1]))
            return

        def on_exit() -> None:
            self._loop.remove_reader(pidfd)
            os.close(pidfd)
            _, status = os.waitpid(self.pid, 0)
            self._reaped(status)

        self._loop.add_reader(pidfd, on_exit)

    def _reaped(self, status: int) -> None:
        self._process.returncode = os.waitstatus_to_exitcode(status)
        if not self.exited.done():
            self.exited.set_result(self._process.returncode)


def process_tree(leader: int, start: int, marker: bytes | None) -> set[tuple[int, int]]:
    """(pid, start time) of the processes started by ``leader`` (a session and group leader
    that started at ``start``): its group, its session, the processes whose environment holds
    ``marker``, and everything descending from those. Empty without ``/proc``."""
    try:
        names = [entry.name for entry in os.scandir(PROC) if entry.name.isdigit()]
    except OSError:
        return set()
    stats = {pid: stat for pid in map(int, names) if (stat := _stat(pid)) is not None}
    me, uid = os.getpid(), os.getuid()
    roots = {
        pid
        for pid, (_, group, session, started) in stats.items()
        if (pid == leader and started == start) or (started >= start and leader in (group, session))
    }
    if marker is not None:
        roots |= {
            pid
            for pid, stat in stats.items()
            if pid not in roots and stat[3] >= start and _has_marker(pid, uid, marker)
        }
    children: dict[int, list[int]] = {}
    for pid, stat in stats.items():
        children.setdefault(stat[0], []).append(pid)
    found, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid in found or pid == me:
            continue
        found.add(pid)
        todo.extend(children.get(pid, ()))
    return {(pid, stats[pid][3]) for pid in found}


def _stat(pid: int) -> Stat | None:
    try:
        data = (PROC / str(pid) / "stat").read_bytes()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()  # the name in (…) may hold anything
    try:
        return int(fields[1]), int(fields[2]), int(fields[3]), int(fields[19])
    except (IndexError, ValueError):
        return None


def _has_marker(pid: int, uid: int, marker: bytes) -> bool:
    try:
        if (PROC / str(pid)).stat().st_uid != uid:
            return False  # not ours to signal anyway
        return marker in (PROC / str(pid) / "environ").read_bytes().split(b"\0")
    except OSError:
        return False
