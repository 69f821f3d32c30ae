"""One child process driven by event-loop callbacks: its pipes and a pidfd, no threads.

asyncio's subprocess API watches every child from a thread of its own (on Python 3.11) and
runs several tasks per process; under Prefect, whose workers are threads too, each hand-off
costs. Here the loop itself watches the two output pipes and a pidfd (Linux 5.3+; elsewhere
one executor thread waits), so a run costs two futures and a few callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

__all__ = ["Child"]

CHUNK = 64 * 1024


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
