"""Item locks: an item is made once, across processes and machines, however many runs reach it.

``make_item``'s cache transactions are SERIALIZABLE: before an item runs, its transaction
takes the lock named by the item's cache key and holds it until its record is committed. A
second run reaching the item meanwhile waits for the lock, then finds the record and takes
the item from the cache.

Prefect's own lock managers fall short for this (read and run on Prefect 3.8.8 and
prefect-redis 0.3.0): transactions never pass a hold timeout, so the lock of a holder killed
with SIGKILL never expires and the next run waits forever; ``FileSystemLockManager`` creates
its lock file empty and fills it afterwards (another process reading it then fails), and
``RedisLockManager``'s async acquire keeps an asyncio lock that the synchronous release never
awaits (the lock outlives its task). Hence:

* ``FileLockManager`` (``REELFLOW_LOCKS_URL`` unset): a file per key under
  ``<data dir>/locks``, held with flock(2). The kernel drops a dead holder's lock at once,
  SIGKILL included, so nothing has to expire. One machine, or shared storage whose locks
  work across machines (NFSv4).
* ``RedisLeaseLockManager`` (``redis://host:port/db``): prefect-redis's lock manager whose locks
  are leases of ``LEASE_SECONDS``, renewed every third of that by a thread of the living
  holder; a dead holder's lock expires within one lease. Several machines.

``ItemLockManager``, the one make_item's cache policy holds, has no state: it pickles to Dask
workers and uses whichever of the two the settings of the process it runs in name.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from prefect.locking.protocol import LockManager

from flows.core.errors import ConfigError
from flows.core.settings import Settings, get_settings
from flows.locks.files import FileLockManager
from flows.locks.leases import LEASE_SECONDS, RedisLeaseLockManager

__all__ = [
    "LEASE_SECONDS",
    "FileLockManager",
    "ItemLockManager",
    "RedisLeaseLockManager",
    "lock_manager",
    "redis_connection",
]

_MANAGERS: dict[tuple[str, Path], LockManager] = {}
_MANAGERS_GUARD = threading.Lock()


def lock_manager(settings: Settings | None = None) -> LockManager:
    """The lock manager ``REELFLOW_LOCKS_URL`` names: one per configuration and process, so
    that the lock a transaction takes is the one it releases."""
    settings = settings or get_settings()
    config = (settings.locks_url or "", settings.data_dir)
    with _MANAGERS_GUARD:
        if config not in _MANAGERS:
            url, data_dir = config
            _MANAGERS[config] = (
                RedisLeaseLockManager(**redis_connection(url))
                if url
                else FileLockManager(data_dir / "locks")
            )
        return _MANAGERS[config]


def redis_connection(url: str) -> dict[str, Any]:
    """RedisLockManager's connection arguments from ``redis[s]://[user:password@]host[:port][/db]``."""
    parts = urlsplit(url)
    try:
        port = parts.port or 6379
    except ValueError:  # not a number, or out of range
        port = -1
    db = parts.path.removeprefix("/") or "0"
    if (
        parts.scheme not in ("redis", "rediss")
        or not parts.hostname
        or port < 0
        or not db.isdigit()
        or parts.query
        or parts.fragment
    ):
        shown = url.replace(f":{parts.password}@", ":***@") if parts.password else url
        raise ConfigError(
            f"REELFLOW_LOCKS_URL={shown!r} is not a Redis URL: use "
            "redis://[user:password@]host[:port][/db] (or leave it unset for lock files)"
        )
    return {
        "host": parts.hostname,
        "port": port,
        "db": int(db),
        "username": parts.username or None,
        "password": parts.password,
        "ssl": parts.scheme == "rediss",
    }


class ItemLockManager(LockManager):
    """The lock manager of item transactions: the one this process's settings name."""

    def acquire_lock(
        self,
        key: str,
        holder: str,
        acquire_timeout: float | None = None,
        hold_timeout: float | None = None,
    ) -> bool:
        return lock_manager().acquire_lock(key, holder, acquire_timeout, hold_timeout)

    async def aacquire_lock(
        self,
        key: str,
        holder: str,
        acquire_timeout: float | None = None,
        hold_timeout: float | None = None,
    ) -> bool:
        return await lock_manager().aacquire_lock(key, holder, acquire_timeout, hold_timeout)

    def release_lock(self, key: str, holder: str) -> None:
        lock_manager().release_lock(key, holder)

    def is_locked(self, key: str) -> bool:
        return lock_manager().is_locked(key)

    def is_lock_holder(self, key: str, holder: str) -> bool:
        return lock_manager().is_lock_holder(key, holder)

    def wait_for_lock(self, key: str, timeout: float | None = None) -> bool:
        return lock_manager().wait_for_lock(key, timeout)

    async def await_for_lock(self, key: str, timeout: float | None = None) -> bool:
        return await lock_manager().await_for_lock(key, timeout)
