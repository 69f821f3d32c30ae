"""Redis locks that are leases, renewed by a thread of the living holder: several machines.
A dead holder's lock expires within one lease."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from prefect_redis.locking import RedisLockManager
from redis.exceptions import LockError, RedisError
from redis.lock import Lock

from flows.locks.polling import Polling

__all__ = ["LEASE_SECONDS", "RedisLeaseLockManager"]

LEASE_SECONDS = 30.0
logger = logging.getLogger(__name__)


class RedisLeaseLockManager(Polling, RedisLockManager):
    """prefect-redis's lock manager with leases that a thread of the living holder renews.

    Only the synchronous client is used (each call is one short command), so the manager
    works from any thread and event loop, Dask workers' included.
    """

    def __init__(self, *, lease_seconds: float | None = None, **connection: Any) -> None:
        super().__init__(**connection)
        self.lease_seconds = lease_seconds or LEASE_SECONDS
        self._guard = threading.Lock()
        self._renewer: threading.Thread | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "lease_seconds": self.lease_seconds}

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._guard = threading.Lock()
        self._renewer = None

    def _try_acquire(self, key: str, holder: str) -> bool:
        name = self._lock_name_for_key(key)
        with self._guard:
            if name in self._locks:
                return bool(self.is_lock_holder(key, holder))
        lock = Lock(self.client, name, timeout=self.lease_seconds, thread_local=False)
        try:
            if not lock.acquire(blocking=False, token=holder):
                return False
        except RedisError as exc:  # a transient failure: the item's retries apply
            raise ConnectionError(f"item locks on Redis {self.host}:{self.port}: {exc}") from exc
        with self._guard:
            self._locks[name] = lock
            if self._renewer is None:
                self._renewer = threading.Thread(
                    target=self._renew, name="reelflow-lock-leases", daemon=True
                )
                self._renewer.start()
        return True

    def release_lock(self, key: str, holder: str) -> None:
        name = self._lock_name_for_key(key)
        with self._guard:
            lock = self._locks.get(name)
            if lock is None or not self.is_lock_holder(key, holder):
                return
            del self._locks[name]
        try:
            lock.release()
        except LockError:
            logger.warning("the lock on %s expired before its holder released it", key)
        except RedisError as exc:
            logger.warning("could not release the lock on %s (it expires by itself): %s", key, exc)

    def _renew(self) -> None:
        """Extend every lock held here each third of a lease; stop when none is held."""
        while True:
            time.sleep(self.lease_seconds / 3)
            with self._guard:
                held = list(self._locks.items())
                if not held:
                    self._renewer = None
                    return
            for name, lock in held:
                try:
                    lock.extend(self.lease_seconds, replace_ttl=True)
                except LockError:
                    logger.warning("lost the lock %s: its lease ran out before renewal", name)
                    with self._guard:
                        if self._locks.get(name) is lock:
                            del self._locks[name]
                except RedisError as exc:
                    logger.warning("could not renew the lock %s: %s", name, exc)
