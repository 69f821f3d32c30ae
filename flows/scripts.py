"""The one Prefect task that runs a script, and a flow to try a script from the UI.

``run_script`` wraps ``flows.core.runner.execute_script``: the script's output streams into
the task's run log in batched records, the run is recorded in the execution log with the
flow-run and task-run ids, a Prefect global concurrency limit caps parallel runs across
workers when one is named (a limit that does not exist is skipped), and Prefect retries
only transient failures (exit 75, timeouts) when the caller gives it retries.

``run_registered_script`` runs any registered script with any input, so it is opt-in twice:
its deployment lives in ``deployments/operator.yaml`` (not deployed by ``deploy --all``), and
it refuses to run unless the worker's environment sets ``REELFLOW_ALLOW_SCRIPT_RUNS=true``.
Its timeout never exceeds the registry's, and who asked is recorded with the run.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from prefect import flow, get_run_logger, task
from prefect._internal.schemas.fields import CreatedBy  # FlowRun.created_by's type
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.concurrency.asyncio import concurrency
from prefect.context import FlowRunContext, TaskRunContext
from prefect.logging.handlers import APILogHandler
from prefect.logging.loggers import PrefectLogAdapter
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_KEY

from flows.bootstrap import ensure_limit
from flows.core.errors import ConfigError, is_transient
from flows.core.registry import load_registry
from flows.core.runner import RunContext, ScriptResult, check_timeout, execute_script
from flows.core.settings import get_settings

__all__ = [
    "SCRIPT_LOGGER",
    "capped_timeout",
    "describe_requester",
    "retry_if_transient",
    "run_registered_script",
    "run_script",
]

SCRIPT_LOGGER = "reelflow.scripts"
FLUSH_AFTER_BYTES = 1024 * 1024
REQUESTED_BY_LENGTH = 200  # script_executions.requested_by


def retry_if_transient(task: Any, task_run: TaskRun, state: State[Any]) -> bool:
    """``retry_condition_fn``: retry only failures a retry can fix."""
    error = state.data
    return isinstance(error, BaseException) and is_transient(error)


@task(
    name="run-script",
    task_run_name="{name}",
    cache_policy=NO_CACHE,
    persist_result=False,
    retry_condition_fn=retry_if_transient,
)
async def run_script(
    name: str,
    input: Any = None,
    args: list[str] | None = None,
    *,
    timeout: float | None = None,
    video_id: int | None = None,
    label: str | None = None,
    env: dict[str, str] | None = None,
    concurrency_limit: str | None = None,
    requested_by: str | None = None,
) -> ScriptResult:
    """Run the registered script ``name`` with ``input`` as JSON on stdin.

    Args:
        name: The script's name in the registry.
        input: Any JSON value, written to the script's stdin.
        args: Extra command-line arguments (an argument list, never a shell string).
        timeout: Seconds before the process group is killed; default the registry's.
        video_id: The video this run works for, recorded in the execution log.
        label: What this run makes (e.g. ``assets/scene-2/background``), recorded.
        env: Extra environment variables, e.g. provider keys taken from blocks.
        concurrency_limit: A Prefect global concurrency limit to hold while running;
            default the one the registry names, if any.
        requested_by: Who asked for this run, recorded in the execution log.
    """
    output = _output_logger()
    run = TaskRunContext.get()
    task_run = run.task_run if run else None
    context = RunContext(
        video_id=video_id,
        label=label,
        flow_run_id=str(task_run.flow_run_id) if task_run and task_run.flow_run_id else None,
        task_run_id=str(task_run.id) if task_run else None,
        requested_by=requested_by,
    )

    logged = 0

    def log(stream: str, text: str) -> None:
        nonlocal logged
        logged += len(text)
        output.info("%s %s:\n%s", name, stream, text)

    limit = concurrency_limit or _registry_limit(name)
    try:
        async with _holding(limit):
            return await execute_script(
                name,
                input=input,
                args=args or [],
                env=env,
                timeout=timeout,
                log=log,
                context=context,
                secrets=_prefect_credentials(),
            )
    finally:
        if logged > FLUSH_AFTER_BYTES:  # a chatty run: have all of it in the UI now
            await APILogHandler.aflush()


def _prefect_credentials() -> list[str]:
    """Prefect's API key and auth string (from the environment or a profile): masked."""
    values = [PREFECT_API_KEY.value(), PREFECT_API_AUTH_STRING.value()]
    return [v.get_secret_value() if hasattr(v, "get_secret_value") else str(v) for v in values if v]


def _output_logger() -> logging.LoggerAdapter[logging.Logger]:
    """The run's logger for script output: to the Prefect API, and plain lines on stderr.

    Prefect's console handler renders every record through rich, which costs seconds for a
    few megabytes of output; script output skips it and is printed as it came.
    """
    run_logger = get_run_logger()
    extra = dict(getattr(run_logger, "extra", None) or {})
    return PrefectLogAdapter(script_logger(), extra=extra)


def script_logger() -> logging.Logger:
    """The ``reelflow.scripts`` logger, set up once: the Prefect API plus plain stderr."""
    logger = logging.getLogger(SCRIPT_LOGGER)
    if not logger.handlers:
        logger.propagate = False
        logger.setLevel(logging.INFO)
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter("%(asctime)s | %(message)s", "%H:%M:%S"))
        logger.addHandler(APILogHandler())
        logger.addHandler(console)
    return logger


def _registry_limit(name: str) -> str | None:
    spec = load_registry(get_settings().scripts_dir).scripts.get(name)
    return spec.concurrency_limit if spec else None


@asynccontextmanager
async def _holding(limit: str | None) -> AsyncIterator[None]:
    if limit is None:
        yield
        return
    await ensure_limit(limit)  # a provider's limit, made on first use like `reelflow setup`
    async with concurrency(limit, occupy=1, strict=False):
        yield


@flow(name="run-registered-script", log_prints=True)
async def run_registered_script(
    name: str,
    input: dict[str, Any] | None = None,
    args: list[str] | None = None,
    timeout: float | None = None,
    requested_by: str = "",
) -> dict[str, Any]:
    """Try one registered script with sample input and see its result.

    Runs only on a worker whose environment sets ``REELFLOW_ALLOW_SCRIPT_RUNS=true``.

    Args:
        name: The script's name in scripts/registry.toml.
        input: Sample input, passed to the script as JSON on stdin.
        args: Extra command-line arguments.
        timeout: Seconds before the script is stopped; at most (and by default) the
            registry's.
        requested_by: Who is asking (recorded with the run, next to the flow run's creator
            when Prefect knows it).
    """
    if not get_settings().allow_script_runs:
        raise ConfigError(
            "run-registered-script is not allowed on this worker: "
            "set REELFLOW_ALLOW_SCRIPT_RUNS=true in its environment to allow it"
        )
    logger = get_run_logger()
    limit = load_registry(get_settings().scripts_dir).get(name).timeout
    allowed = capped_timeout(name, timeout, limit)
    if timeout is not None and allowed < timeout:
        logger.warning("%s: timeout %gs lowered to the registry's %gs", name, timeout, allowed)
    context = FlowRunContext.get()
    creator = context.flow_run.created_by if context and context.flow_run else None
    requester = describe_requester(requested_by, creator)
    logger.info("%s requested by %s", name, requester or "(unknown)")
    result = await run_script(name, input, args, timeout=allowed, requested_by=requester)
    summary = {
        "execution_id": result.execution_id,
        "exit_code": result.exit_code,
        "duration_ms": round(result.duration_ms, 1),
        "requested_by": requester,
        "output": result.recorded_output,
    }
    await acreate_markdown_artifact(
        key="script-" + re.sub(r"[^a-z0-9-]+", "-", name.lower()),
        markdown=(
            f"## `{name}` ran in {result.duration_ms:.0f} ms\n\n"
            f"Requested by: {requester or '(unknown)'}\n\n"
            f"```json\n{json.dumps(result.recorded_output, indent=2)}\n```\n\n"
            f"**stderr (tail)**\n\n```\n{result.stderr[-2000:]}\n```"
        ),
        description=f"Result of a trial run of {name}",
    )
    return summary


def capped_timeout(name: str, requested: float | None, limit: float) -> float:
    """The timeout a trial run gets: ``requested`` lowered to the registry's ``limit``.

    Raises ScriptError for a timeout that is not a positive, finite number of seconds.
    """
    checked = check_timeout(name, requested)
    return limit if checked is None else min(checked, limit)


def describe_requester(requested_by: str, creator: CreatedBy | None) -> str | None:
    """``"alice; created by user alice@example.com"``: who asked, then Prefect's creator.

    None when neither is known (a Prefect server without auth records no creator).
    """
    parts = [" ".join(requested_by.split())]
    if creator is not None and creator.display_value:
        parts.append(f"created by {(creator.type or 'creator').lower()} {creator.display_value}")
    return "; ".join(part for part in parts if part)[:REQUESTED_BY_LENGTH] or None
