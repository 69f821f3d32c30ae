"""Item locks: two processes reaching the same items at once make each item exactly once.

Each test starts real processes (tests/fixtures/drive_items.py) that run one step through
``run_step`` against the same data directory, database and Prefect API, and reads the
execution log. Redis comes from ``REELFLOW_TEST_REDIS_URL`` (default the local server); when
it cannot be reached the Redis tests skip with the reason, except under ``CI=true``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from prefect import flow, get_client
from prefect.client.schemas.filters import (
    TaskRunFilter,
    TaskRunFilterName,
    TaskRunFilterState,
    TaskRunFilterStateType,
)
from prefect.client.schemas.objects import StateType

from flows.core import executions, store
from flows.core.channel import ChannelConfig
from flows.core.errors import ConfigError, StepError
from flows.core.models import ScriptExecution
from flows.core.registry import load_registry
from flows.core.settings import Settings
from flows.core.steps import Item, cache_key
from flows.core.store import session_scope
from flows.locks import FileLockManager, lock_manager, redis_connection
from tests.conftest import FIXTURES, PROJECT_ROOT, Configure

pytestmark = pytest.mark.usefixtures("prefect_api")

DRIVER = FIXTURES / "drive_items.py"
REDIS_URL = os.environ.get("REELFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
WAIT = 120.0  # seconds a process may take before the test gives up on it (it hung)

SLOW_SCRIPT = '''"""Notes its pid, sleeps (first_sleep on an output's first run), writes content."""
import json, os, pathlib, sys, time
request = json.loads(sys.stdin.read())
runs = pathlib.Path(request["output"] + ".runs")
first = not runs.exists()
with runs.open("a") as marker:
    marker.write(f"{os.getpid()}\\n")
time.sleep(request["first_sleep"] if first else request["sleep"])
pathlib.Path(request["output"]).write_text(request["content"])
print(json.dumps({"output": request["output"], "duration": 1.0}))
'''
REGISTRY = """[scripts.slow]
runtime = "python"
path = "slow.py"
timeout = 120
description = "Sleeps, then writes its content to its output."
"""


@pytest.fixture
def lock_scripts(tmp_path: Path) -> Path:
    scripts = tmp_path / "lock-scripts"
    scripts.mkdir()
    (scripts / "slow.py").write_text(SLOW_SCRIPT)
    (scripts / "registry.toml").write_text(REGISTRY)
    return scripts


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis is required in CI: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    return REDIS_URL


def make_items(
    shared: Path, count: int, *, first_sleep: float, sleep: float, name: str = "k"
) -> list[Item]:
    return [
        Item(
            step="assets", key=f"{name}{n}", script="slow", provider="local", model=None,
            input={"output": str(shared / f"item-{n}.txt"), "content": f"item {n}",
                   "first_sleep": first_sleep, "sleep": sleep},
        )
        for n in range(count)
    ]  # fmt: skip


class Driver:
    """One drive_items.py process; it starts the step once ``go`` is called."""

    def __init__(self, tmp_path: Path, tag: str, items: list[Item], lease: float = 0) -> None:
        self.ready, self.go_file = tmp_path / f"{tag}.ready", tmp_path / f"{tag}.go"
        request = {
            "tag": tag, "ready": str(self.ready), "go": str(self.go_file), "lease": lease,
            "items": [{**vars(i), "upstream": list(i.upstream)} for i in items],
        }  # fmt: skip
        self.log = tmp_path / f"{tag}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(DRIVER), json.dumps(request)],
                stdout=subprocess.PIPE, stderr=log, cwd=PROJECT_ROOT, env=dict(os.environ),
                start_new_session=True,
            )  # fmt: skip

    def wait_ready(self) -> None:
        deadline = time.monotonic() + WAIT
        while not self.ready.exists():
            assert self.process.poll() is None, f"driver exited early:\n{self.tail()}"
            assert time.monotonic() < deadline, f"driver never got ready:\n{self.tail()}"
            time.sleep(0.05)

    def go(self) -> None:
        self.go_file.touch()

    def outcome(self) -> dict[str, Any]:
        try:
            out, _ = self.process.communicate(timeout=WAIT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the run is still blocked after {WAIT:g} s:\n{self.tail()}")
        assert self.process.returncode == 0, self.tail()
        result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
        return result

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@pytest.fixture
def drivers() -> Iterator[list[Driver]]:
    started: list[Driver] = []
    yield started
    for driver in started:
        driver.kill()


def start_together(drivers: list[Driver], *new: Driver) -> None:
    drivers.extend(new)
    for driver in new:
        driver.wait_ready()
    for driver in new:
        driver.go()


async def execution_rows(items: list[Item]) -> list[ScriptExecution]:
    labels = {item.label for item in items}
    async with session_scope() as session:
        rows = await executions.list_executions(session=session, script="slow", limit=1000)
    return [row for row in rows if row.label in labels]


def utc(moment: datetime | str) -> datetime:
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def lock_key(settings: Settings, item: Item) -> str:
    return cache_key(item, load_registry(settings.scripts_dir).get(item.script))


async def run_both_at_once(
    tmp_path: Path, drivers: list[Driver], items: list[Item], lease: float = 0
) -> tuple[dict[str, Any], dict[str, Any], list[ScriptExecution]]:
    start_together(
        drivers, Driver(tmp_path, "a", items, lease), Driver(tmp_path, "b", items, lease)
    )
    first, second = (driver.outcome() for driver in drivers)
    return first, second, await execution_rows(items)


def assert_made_once_and_shared(
    first: dict[str, Any], second: dict[str, Any], rows: list[ScriptExecution], items: list[Item]
) -> None:
    assert Counter(row.label for row in rows) == {item.label: 1 for item in items}
    assert {row.status for row in rows} == {"completed"}
    assert first["results"] == second["results"], "both runs got the same results"
    assert {r["execution_id"] for r in first["results"]} == {row.id for row in rows}
    assert {row.flow_run_id for row in rows} <= {first["flow_run_id"], second["flow_run_id"]}
    # The runs overlapped: each had started the step before the first item was finished.
    first_done = min(utc(row.completed_at) for row in rows if row.completed_at)
    assert utc(first["started"]) < first_done and utc(second["started"]) < first_done


# --- (a) lock files, SQLite and PostgreSQL -------------------------------------------------


async def test_two_processes_make_each_item_once_with_lock_files(
    database_url: str, configure: Configure, lock_scripts: Path, tmp_path: Path,
    drivers: list[Driver],
) -> None:  # fmt: skip
    settings = configure(scripts_dir=lock_scripts)
    await store.upgrade(database_url)
    items = make_items(tmp_path / "shared", 3, first_sleep=1.5, sleep=1.5)
    (tmp_path / "shared").mkdir()

    first, second, rows = await run_both_at_once(tmp_path, drivers, items)

    assert_made_once_and_shared(first, second, rows, items)
    assert sorted(r["sha256"] for r in first["results"]) == sorted(
        r["sha256"] for r in second["results"]
    )
    assert not list((settings.data_dir / "locks").glob("*.lock")), "every lock was released"


# --- (b) Redis --------------------------------------------------------------------------


async def test_two_processes_make_each_item_once_with_redis_locks(
    redis_url: str, configure: Configure, lock_scripts: Path, tmp_path: Path,
    drivers: list[Driver],
) -> None:  # fmt: skip
    settings = configure(scripts_dir=lock_scripts, locks_url=redis_url)
    await store.upgrade(settings.database_url)
    items = make_items(tmp_path / "shared", 3, first_sleep=1.5, sleep=1.5)
    (tmp_path / "shared").mkdir()

    # A lease shorter than an item: only renewal by the living holder keeps the lock.
    first, second, rows = await run_both_at_once(tmp_path, drivers, items, lease=0.6)

    assert_made_once_and_shared(first, second, rows, items)
    client = redis.Redis.from_url(redis_url)
    assert not [i for i in items if client.exists(f"lock:{lock_key(settings, i)}")], (
        "every lock was released"
    )
    assert not list((settings.data_dir / "locks").glob("*.lock")), "no lock files were used"


# --- (c) a holder killed with SIGKILL ---------------------------------------------------


@pytest.mark.parametrize("backend", ["files", "redis"])
async def test_a_holder_killed_mid_item_does_not_block_the_next_run(
    backend: str, configure: Configure, lock_scripts: Path, tmp_path: Path,
    drivers: list[Driver], request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    url = request.getfixturevalue("redis_url") if backend == "redis" else ""
    settings = configure(scripts_dir=lock_scripts, locks_url=url)
    await store.upgrade(settings.database_url)
    shared = tmp_path / "shared"
    shared.mkdir()
    # The first run of the item would take a minute; any later run is quick.
    [item] = make_items(shared, 1, first_sleep=60, sleep=0.2, name=f"kill-{backend}-")
    holder, waiter = (
        Driver(tmp_path, "holder", [item], 1.0),
        Driver(tmp_path, "waiter", [item], 1.0),
    )
    drivers.extend([holder, waiter])
    holder.wait_ready()
    waiter.wait_ready()
    holder.go()
    runs = Path(item.input["output"] + ".runs")
    wait_for(runs.exists, holder, "the holder never started its script")
    key = lock_key(settings, item)
    client = redis.Redis.from_url(url) if url else None
    if client is not None:  # held, and as a lease that runs out unless renewed
        assert client.exists(f"lock:{key}") and client.pttl(f"lock:{key}") > 0
    else:
        assert FileLockManager(settings.data_dir / "locks").is_locked(key)
    waiter.go()
    await wait_until_running(item.label, 2, waiter)  # it waits on the holder's lock...
    holder.kill()  # ...and the holder dies without releasing it

    outcome = waiter.outcome()

    assert holder.process.returncode == -signal.SIGKILL
    rows = await execution_rows([item])
    made = [row for row in rows if row.status == "completed"]
    assert [row.id for row in made] == [outcome["results"][0]["execution_id"]]
    assert made[0].flow_run_id == outcome["flow_run_id"], "the waiter made it itself"
    assert len(runs.read_text().split()) == 2, "the killed run, then the waiter's"
    assert Path(item.input["output"]).read_text() == "item 0"
    if client is not None:
        assert not client.exists(f"lock:{key}")


async def wait_until_running(label: str, count: int, driver: Driver) -> None:
    """Until ``count`` task runs named ``label`` are Running (a task waits for its item's
    lock in that state: the transaction begins after the run has started)."""
    running = TaskRunFilter(
        name=TaskRunFilterName(any_=[label]),
        state=TaskRunFilterState(type=TaskRunFilterStateType(any_=[StateType.RUNNING])),
    )
    deadline = time.monotonic() + WAIT
    async with get_client() as client:
        while len(await client.read_task_runs(task_run_filter=running)) < count:
            assert driver.process.poll() is None, f"driver exited:\n{driver.tail()}"
            assert time.monotonic() < deadline, f"{label} never ran twice:\n{driver.tail()}"
            await asyncio.sleep(0.1)


def wait_for(condition: Any, driver: Driver, message: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert driver.process.poll() is None, f"driver exited:\n{driver.tail()}"
        assert time.monotonic() < deadline, f"{message}:\n{driver.tail()}"
        time.sleep(0.05)


# --- choosing the lock manager ----------------------------------------------------------


def test_without_a_url_locks_are_files_under_the_data_directory(tmp_path: Path) -> None:
    manager = lock_manager(Settings(data_dir=tmp_path))
    assert isinstance(manager, FileLockManager)
    assert manager.directory == tmp_path / "locks"


def test_a_redis_url_gives_its_connection() -> None:
    assert redis_connection("rediss://worker:pw@cache.local:6380/2") == {
        "host": "cache.local", "port": 6380, "db": 2, "username": "worker", "password": "pw",
        "ssl": True,
    }  # fmt: skip
    assert redis_connection("redis://127.0.0.1")["port"] == 6379


@pytest.mark.parametrize(
    "url",
    ["http://cache:6379/0", "redis://", "redis://cache:port/0", "redis://cache:6379/zero",
     "redis://cache:6379/0?lease=3", "redis://user:hunter2@cache:6379/x"],
)  # fmt: skip
def test_a_bad_locks_url_is_one_clear_config_error(url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        lock_manager(Settings(data_dir=tmp_path, locks_url=url))
    message = str(caught.value)
    assert message.startswith("REELFLOW_LOCKS_URL=") and "\n" not in message
    assert "redis://[user:password@]host[:port][/db]" in message
    assert "hunter2" not in message


async def test_a_bad_locks_url_fails_the_step_before_any_script_runs(
    configure: Configure, lock_scripts: Path, tmp_path: Path
) -> None:
    from flows.steps import run_step
    from tests.factories import open_video

    settings = configure(scripts_dir=lock_scripts, locks_url="redis://cache:6379/zero")
    items = make_items(tmp_path, 1, first_sleep=0, sleep=0)
    video_id = await open_video(channel="locks")

    @flow
    async def one_step() -> None:
        await run_step("assets", video_id, items, ChannelConfig("locks", settings.output_dir))

    with pytest.raises(StepError, match=r"REELFLOW_LOCKS_URL='redis://cache:6379/zero' is not"):
        await one_step()
    assert await execution_rows(items) == []


def test_a_file_lock_excludes_other_holders_until_released(tmp_path: Path) -> None:
    manager = FileLockManager(tmp_path / "locks")
    assert manager.acquire_lock("k", "one")
    assert manager.acquire_lock("k", "one"), "its holder may take it again"
    assert not manager.acquire_lock("k", "two", acquire_timeout=0.2)
    assert manager.is_locked("k") and manager.is_lock_holder("k", "one")
    assert not manager.is_lock_holder("k", "two")
    manager.release_lock("k", "two")  # not its lock: nothing happens
    assert manager.is_locked("k")
    manager.release_lock("k", "one")
    manager.release_lock("k", "one")  # Prefect releases committed children twice
    assert not manager.is_locked("k") and not manager.path("k").exists()
    assert manager.acquire_lock("k", "two", acquire_timeout=0)
    manager.release_lock("k", "two")
