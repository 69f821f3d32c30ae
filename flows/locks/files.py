"""Lock files held with flock(2), under the data directory: one machine, or shared storage
whose locks work across machines. The kernel drops a dead holder's lock at once."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path

from prefect.locking.protocol import LockManager

from flows.core.errors import ConfigError
from flows.locks.polling import Polling

__all__ = ["FileLockManager"]

_SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,200}")


# Locks this process holds, by lock file: (holder, open descriptor). Process-wide, so that
# two holders in one process exclude each other even where flock(2) is emulated with POSIX
# record locks (NFS), which do not conflict within a process.
_HELD: dict[Path, tuple[str, int]] = {}
_HELD_GUARD = threading.Lock()


class FileLockManager(Polling, LockManager):
    """Lock files held with flock(2): a lock ends when released or when its holder dies."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.expanduser().resolve()

    def path(self, key: str) -> Path:
        """The lock file of ``key`` (it records who holds it, for a person to read)."""
        name = key if _SAFE_NAME.fullmatch(key) else hashlib.sha256(key.encode()).hexdigest()
        return self.directory / f"{name}.lock"

    def _try_acquire(self, key: str, holder: str) -> bool:
        path = self.path(key)
        with _HELD_GUARD:
            if (held := _HELD.get(path)) is not None:
                return held[0] == holder
            self.directory.mkdir(parents=True, exist_ok=True)
            while True:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
                try:
                    locked = _flock(fd, fcntl.LOCK_EX, path)
                    current = locked and _is_file_at(fd, path)
                except BaseException:
                    os.close(fd)
                    raise
                if current:
                    break
                os.close(fd)
                if not locked:
                    return False
                # Its holder released and removed it between our open and our lock: again.
            os.ftruncate(fd, 0)
            os.write(fd, _about(holder))
            _HELD[path] = (holder, fd)
            return True

    def release_lock(self, key: str, holder: str) -> None:
        path = self.path(key)
        with _HELD_GUARD:
            held = _HELD.get(path)
            if held is None or held[0] != holder:
                return
            del _HELD[path]
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # while still locked: a waiter that opened it will retry
            os.close(held[1])

    def is_locked(self, key: str) -> bool:
        path = self.path(key)
        with _HELD_GUARD:
            if path in _HELD:
                return True
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                return False
            try:
                return not _flock(fd, fcntl.LOCK_SH, path)
            finally:
                os.close(fd)  # drops our shared lock, if we got it

    def is_lock_holder(self, key: str, holder: str) -> bool:
        with _HELD_GUARD:
            held = _HELD.get(self.path(key))
        return held is not None and held[0] == holder


def _flock(fd: int, operation: int, path: Path) -> bool:
    """Lock without waiting: True if locked, False if someone else holds it."""
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
            raise ConfigError(
                f"{path.parent} does not support file locks ({exc.strerror}): "
                "set REELFLOW_LOCKS_URL=redis://host:port/db"
            ) from exc
        raise
    return True


def _is_file_at(fd: int, path: Path) -> bool:
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _about(holder: str) -> bytes:
    since = datetime.now(UTC).isoformat(timespec="seconds")
    about = {"holder": holder, "host": socket.gethostname(), "pid": os.getpid(), "since": since}
    return json.dumps(about).encode() + b"\n"
