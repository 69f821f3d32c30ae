"""The step task and the cached item task of the pipeline.

``make_item`` runs one item's script through ``run_script``. Its cache key
(``flows.core.steps.cache_key``) is content-based and its result is persisted in a storage
block under the data directory, so a hit works across runs, processes and workers. Before
taking a hit, ``run_step`` checks that the recorded file is still there with the same
content; if not, the item runs again and its record is replaced (``refresh_cache``).
Each item commits its record the moment it finishes, so a step that fails or is killed
half-way keeps every item it finished.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, cast

from prefect import get_run_logger, task
from prefect.artifacts import acreate_progress_artifact, aupdate_progress_artifact
from prefect.cache_policies import NO_CACHE, CacheKeyFnPolicy
from prefect.client.schemas.objects import State
from prefect.context import FlowRunContext, TaskRunContext
from prefect.filesystems import LocalFileSystem
from prefect.results import ResultStore
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff
from prefect.transactions import CommitMode, IsolationLevel, atransaction

from flows.core import step_runs
from flows.core.channel import ChannelConfig
from flows.core.errors import ConfigError, ScriptFailed, ScriptOutputError, StepError
from flows.core.registry import load_registry
from flows.core.settings import Settings, get_settings
from flows.core.steps import STATUS, Item, ItemResult, cache_key, file_digest
from flows.core.store import session_scope, write_later
from flows.locks import ItemLockManager
from flows.scripts import retry_if_transient, run_script
from flows.status import change_status, fail_step

__all__ = ["is_cached", "item_runner", "make_item", "result_storage", "run_step"]

MAX_RETRY_AFTER = 900.0
RESULT_FIELDS = {"output", "duration", "cost_usd", "provider", "model"}


def _item_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    item: Item = parameters["item"]
    return cache_key(item, load_registry(get_settings().scripts_dir).get(item.script))


# An item's transaction holds the lock named by its key until its record is committed: a
# second run (another process or machine) reaching the item meanwhile waits, then takes it
# from the cache. The lock manager is chosen by REELFLOW_LOCKS_URL (flows/locks.py).
ITEM_CACHE_POLICY = CacheKeyFnPolicy(cache_key_fn=_item_key).configure(
    isolation_level=IsolationLevel.SERIALIZABLE, lock_manager=ItemLockManager()
)


@task(
    name="make-item",
    task_run_name="{item.label}",
    cache_policy=ITEM_CACHE_POLICY,
    persist_result=True,
    retry_condition_fn=retry_if_transient,
)
async def make_item(item: Item, video_id: int, channel: str) -> ItemResult:
    """Make one item (a picture, a clip, a narration…) with its step's script."""
    storage = LocalFileSystem(basepath=str(get_settings().results_dir))
    made = await _intact_result(storage, item)
    if made is not None:  # made by another run while this one waited for the item's lock
        return made
    args = ["--provider", item.provider, *(["--model", item.model] if item.model else [])]
    env = await channel_env(channel, item.provider)
    try:
        result = await run_script(
            item.script, item.input, args, video_id=video_id, label=item.label, env=env,
            concurrency_limit=None if item.provider == "local" else f"provider-{item.provider}",
        )  # fmt: skip
    except ScriptFailed as exc:
        if exc.transient and exc.retry_after:  # the provider said how long to wait
            await asyncio.sleep(min(exc.retry_after, MAX_RETRY_AFTER))
        raise
    output = result.output if isinstance(result.output, dict) else {}
    path = Path(output.get("output") or item.input["output"])
    if not path.is_file():
        raise ScriptOutputError(item.script, f"reported {path}, which does not exist")
    return ItemResult(
        label=item.label,
        output=str(path),
        sha256=file_digest(path),
        duration=output.get("duration"),
        cost_usd=float(output.get("cost_usd") or 0.0),
        provider=str(output.get("provider") or item.provider),
        model=output.get("model") or item.model,
        execution_id=result.execution_id,
        extra={k: v for k, v in output.items() if k not in RESULT_FIELDS},
    )


async def channel_env(channel: str, provider: str) -> dict[str, str]:
    """Provider credentials for the script's environment (from the channel's blocks)."""
    from flows.channels import provider_environment

    return await provider_environment(channel, provider)


async def result_storage(settings: Settings) -> LocalFileSystem:
    """The saved storage block for cached item results, under the data directory."""
    basepath = str(settings.results_dir)
    name = "reelflow-results-" + hashlib.sha256(basepath.encode()).hexdigest()[:16]
    try:
        found: Any = await LocalFileSystem.aload(name)
    except ValueError:
        found = None
    if isinstance(found, LocalFileSystem) and found.basepath == basepath:
        return found
    block = LocalFileSystem(basepath=basepath)
    await block.asave(name, overwrite=True)
    return block


@task(name="run-step", task_run_name="{step}", cache_policy=NO_CACHE, persist_result=False)
async def run_step(
    step: str, video_id: int, items: list[Item], channel: ChannelConfig
) -> list[ItemResult]:
    """Run every item of one step, up to the step's concurrency, and record its progress."""
    logger = get_run_logger()
    settings = get_settings()
    await change_status(video_id, STATUS[step])
    run = TaskRunContext.get()
    flow_run_id = str(run.task_run.flow_run_id) if run and run.task_run.flow_run_id else None
    async with session_scope() as session:
        step_run_id = await step_runs.begin_step(
            session=session,
            video_id=video_id,
            step=step,
            items_total=len(items),
            flow_run_id=flow_run_id,
        )
    progress = _Progress(step, video_id, step_run_id, len(items))
    await progress.start()
    storage = await result_storage(settings)
    item_task = make_item.with_options(
        result_storage=storage,
        retries=channel.retries(step),
        retry_delay_seconds=exponential_backoff(backoff_factor=settings.retry_delay_seconds),
        retry_jitter_factor=settings.retry_jitter_factor,
    )
    limit = asyncio.Semaphore(channel.concurrency(step))

    remote = _runs_remotely()

    async def one(item: Item) -> ItemResult:
        async with limit:
            refresh = not await _cached_result_intact(storage, item)
            call = item_task.with_options(refresh_cache=refresh)
            if remote:  # on the flow's distributed task runner (Dask): submit and wait
                future = call.submit(item, video_id, channel.name)
                await asyncio.to_thread(future.wait)
                state = future.state
            else:  # here, on the flow's event loop
                state = await cast(
                    Awaitable[State[ItemResult]],
                    call(item, video_id, channel.name, return_state=True),
                )
            result: ItemResult = await state.aresult()
            await progress.done(result, cached=state.name == "Cached")
            return result

    # Items commit their cache records as each one finishes (EAGER), not with the step's
    # transaction: a failed or killed step keeps every item it finished.
    async with atransaction(commit_mode=CommitMode.EAGER):
        outcomes = await asyncio.gather(*(one(item) for item in items), return_exceptions=True)
    for outcome in outcomes:  # the process is told to stop (SIGTERM, cancel): not the item's
        if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
            raise outcome  # fault; the flow's crash hooks mark the video crashed, not an error
    failed = [(i, o) for i, o in zip(items, outcomes, strict=True) if isinstance(o, BaseException)]
    if failed:
        item, error = failed[0]
        message = f"{item.describe()}: {_short(error)}"
        await progress.finish("failed", error=message)
        status = await fail_step(video_id, step, error, message, channel.retry)
        logger.error("%s (%d of %d items failed)", message, len(failed), len(items))
        raise StepError(message, step=step, status=status) from error
    await progress.finish("completed")
    return [o for o in outcomes if isinstance(o, ItemResult)]


def item_runner() -> TaskRunner[Any]:
    """The task runner for produce_video: Dask when REELFLOW_DASK_ADDRESS names a cluster."""
    address = get_settings().dask_address
    if not address:
        return ThreadPoolTaskRunner()
    try:
        from prefect_dask.task_runners import DaskTaskRunner
    except ImportError as exc:
        raise ConfigError(
            "REELFLOW_DASK_ADDRESS is set but prefect-dask is not installed: "
            "pip install -e '.[dask]'"
        ) from exc
    runner: TaskRunner[Any] = DaskTaskRunner(address=address)
    return runner


def _runs_remotely() -> bool:
    context = FlowRunContext.get()
    runner = context.task_runner if context else None
    return runner is not None and not isinstance(runner, ThreadPoolTaskRunner)


async def is_cached(item: Item, *, storage: LocalFileSystem | None = None) -> bool:
    """Whether ``item`` has an intact cached result: a run would take it and spend nothing."""
    settings = get_settings()
    storage = storage or await result_storage(settings)
    key = cache_key(item, load_registry(settings.scripts_dir).get(item.script))
    if not await ResultStore(result_storage=storage).aexists(key):
        return False
    return await _cached_result_intact(storage, item)


async def _cached_result_intact(storage: LocalFileSystem, item: Item) -> bool:
    """False when a cache record exists but its file is gone or changed (so: recompute)."""
    key = cache_key(item, load_registry(get_settings().scripts_dir).get(item.script))
    if not await ResultStore(result_storage=storage).aexists(key):
        return True
    return await _intact_result(storage, item) is not None


async def _intact_result(storage: LocalFileSystem, item: Item) -> ItemResult | None:
    """The item's cached result if its record is there and its file intact, else None."""
    key = cache_key(item, load_registry(get_settings().scripts_dir).get(item.script))
    store = ResultStore(result_storage=storage)
    try:
        if not await store.aexists(key):
            return None
        record = await store.aread(key)
    except Exception:  # an unreadable (or half-written) record is as good as none
        return None
    result = record.result
    return result if isinstance(result, ItemResult) and result.is_intact() else None


def _short(error: BaseException, limit: int = 300) -> str:
    text = str(error).strip().splitlines()
    line = text[0] if text else type(error).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"


class _Progress:
    """A step's progress: its step run row, its video's completion, a Prefect artifact."""

    def __init__(self, step: str, video_id: int, step_run_id: int, total: int) -> None:
        self.step, self.video_id, self.step_run_id, self.total = step, video_id, step_run_id, total
        self.done_count = self.cached = 0
        self.cost = 0.0
        self.started = time.monotonic()
        self.artifact_id: Any = None

    async def start(self) -> None:
        self.artifact_id = await acreate_progress_artifact(
            progress=0.0,
            key=f"video-{self.video_id}-{self.step}",
            description=f"Video {self.video_id}: {self.step}, {self.total} items",
        )

    async def done(self, result: ItemResult, *, cached: bool) -> None:
        self.done_count += 1
        self.cached += int(cached)
        self.cost += 0.0 if cached else result.cost_usd
        done, cached_n, cost = self.done_count, self.cached, self.cost
        await write_later(
            lambda session: step_runs.step_progress(
                session=session,
                step_run_id=self.step_run_id,
                items_done=done,
                items_cached=cached_n,
                cost_usd=cost,
            )
        )
        await aupdate_progress_artifact(self.artifact_id, 100.0 * done / max(self.total, 1))

    async def finish(self, status: str, error: str | None = None) -> None:
        async with session_scope() as session:
            await step_runs.finish_step(
                session=session,
                step_run_id=self.step_run_id,
                status=status,
                items_done=self.done_count,
                items_cached=self.cached,
                cost_usd=self.cost,
                error=error,
            )
