"""Acquiring and waiting for a lock by polling a non-blocking attempt, sync or async."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

__all__ = ["POLL_SECONDS", "Polling"]

POLL_SECONDS = 0.1


class Polling:
    """Acquiring and waiting by polling a non-blocking ``_try_acquire``, sync or async.

    ``hold_timeout`` is accepted for the protocol and ignored: a lock lasts while its holder
    lives (and releases it); see the module docstring. A release of a lock the holder does
    not hold is a no-op: Prefect releases a committed child transaction's lock a second time
    when its parent commits.
    """

    def _try_acquire(self, key: str, holder: str) -> bool:
        raise NotImplementedError

    if TYPE_CHECKING:  # each manager's own (defined here, it would shadow RedisLockManager's)

        def is_locked(self, key: str) -> bool: ...

    def acquire_lock(
        self,
        key: str,
        holder: str,
        acquire_timeout: float | None = None,
        hold_timeout: float | None = None,
    ) -> bool:
        deadline = None if acquire_timeout is None else time.monotonic() + acquire_timeout
        while not self._try_acquire(key, holder):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(POLL_SECONDS)
        return True

    async def aacquire_lock(
        self,
        key: str,
        holder: str,
        acquire_timeout: float | None = None,
        hold_timeout: float | None = None,
    ) -> bool:
        deadline = None if acquire_timeout is None else time.monotonic() + acquire_timeout
        while not self._try_acquire(key, holder):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            await asyncio.sleep(POLL_SECONDS)
        return True

    def wait_for_lock(self, key: str, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.is_locked(key):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(POLL_SECONDS)
        return True

    async def await_for_lock(self, key: str, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.is_locked(key):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            await asyncio.sleep(POLL_SECONDS)
        return True
