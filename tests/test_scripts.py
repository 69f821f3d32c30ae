"""The run_script task and the run-registered-script flow, on a real Prefect API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import shutil
import time
from pathlib import Path

import pytest
import yaml
from prefect import flow
from prefect._internal.schemas.fields import CreatedBy
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.context import get_run_context

from flows.cli.main import app
from flows.core import executions, store
from flows.core.errors import ConfigError, ScriptError, ScriptFailed, ScriptTimeout
from flows.core.settings import Settings
from flows.scripts import capped_timeout, describe_requester, run_registered_script, run_script
from tests.conftest import PROJECT_ROOT, TEST_SCRIPTS, Configure

pytestmark = pytest.mark.usefixtures("prefect_api")


async def _logs(flow_run_id, expect: str, timeout: float = 20) -> list[str]:
    deadline = time.monotonic() + timeout
    async with get_client() as client:
        while True:
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])),
                limit=200,
                offset=0,
            )
            messages = [log.message for log in logs]
            if any(expect in m for m in messages) or time.monotonic() > deadline:
                return messages
            await asyncio.sleep(0.5)


async def test_output_streams_into_the_run_log_in_batched_records(settings: Settings) -> None:
    @flow
    async def lines() -> str:
        await run_script("lines", {"count": 5000})
        return str(get_run_context().flow_run.id)

    flow_run_id = await lines()
    messages = await _logs(flow_run_id, "line 4999 ")
    script_records = [m for m in messages if m.startswith("lines stdout")]
    assert any("line 4999 " in m for m in script_records)
    assert len(script_records) <= 10


async def test_runs_are_recorded_with_their_flow_and_task_run_ids(settings: Settings) -> None:
    @flow
    async def one() -> tuple[str, str]:
        result = await run_script("echo", {"x": 1}, label="probe")
        return result.execution_id, str(get_run_context().flow_run.id)

    execution_id, flow_run_id = await one()
    async with store.session_scope() as session:
        row = await executions.get_execution(session=session, id=execution_id)
    assert row.flow_run_id == flow_run_id
    assert row.task_run_id is not None and row.label == "probe"


async def test_transient_failures_are_retried_and_permanent_ones_are_not(
    settings: Settings, tmp_path: Path
) -> None:
    retrying = run_script.with_options(retries=3, retry_delay_seconds=0)

    @flow
    async def flaky_then_failing() -> dict:
        ok = await retrying("flaky", {"state_file": str(tmp_path / "state"), "succeed_after": 2})
        with contextlib.suppress(ScriptFailed):
            await retrying("fail", {"code": 2})
        return ok.output

    assert await flaky_then_failing() == {"failures_before_success": 2}
    async with store.session_scope() as session:
        assert await executions.count_executions(session=session, script="flaky") == 3
        assert await executions.count_executions(session=session, script="fail") == 1


async def test_a_global_concurrency_limit_caps_parallel_runs(settings: Settings) -> None:
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    async with get_client() as client:
        await client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name="test-one-at-a-time", limit=1)
        )

    @flow
    async def three(limit: str) -> float:
        started = time.perf_counter()
        await asyncio.gather(
            *(run_script("sleep", args=["0.5"], concurrency_limit=limit) for _ in range(3))
        )
        return time.perf_counter() - started

    assert await three("test-one-at-a-time") >= 1.5
    assert await three("no-such-limit") < 1.4, "a missing limit does not block a local run"


async def test_run_registered_script_returns_the_result_and_an_artifact(
    configure: Configure,
) -> None:
    configure(allow_script_runs="true")
    summary = await run_registered_script("echo", {"hello": "ui"}, ["arg"])
    assert summary["output"]["input"] == {"hello": "ui"}
    assert summary["exit_code"] == 0
    async with get_client() as client:  # the session's server holds every test's artifacts
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["script-echo"]))
        )
    assert any("hello" in str(a.data or "") for a in artifacts)


async def test_run_registered_script_refuses_unless_the_worker_opts_in(
    settings: Settings,
) -> None:
    assert settings.allow_script_runs is False
    with pytest.raises(ConfigError, match="set REELFLOW_ALLOW_SCRIPT_RUNS=true"):
        await run_registered_script("echo", {"x": 1})
    async with store.session_scope() as session:
        assert await executions.count_executions(session=session, script="echo") == 0


async def test_run_registered_script_records_who_asked_and_show_prints_it(
    configure: Configure,
) -> None:
    from typer.testing import CliRunner

    configure(allow_script_runs="true")
    summary = await run_registered_script("echo", {"x": 1}, requested_by="  alice\n ops ")
    assert summary["requested_by"] == "alice ops"
    async with store.session_scope() as session:  # also commits the queued records
        row = await executions.get_execution(session=session, id=summary["execution_id"])
    assert row.requested_by == "alice ops"
    shown = await asyncio.to_thread(
        CliRunner().invoke, app, ["script", "show", summary["execution_id"]]
    )
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["requested_by"] == "alice ops"


def test_the_requester_names_the_person_and_prefects_creator() -> None:
    user = CreatedBy(type="USER", display_value="alice@example.com")
    assert describe_requester("alice", user) == "alice; created by user alice@example.com"
    assert describe_requester("", user) == "created by user alice@example.com"
    assert describe_requester(" ", None) is None
    assert len(describe_requester("x" * 500, None) or "") == 200  # the column's length


async def test_a_requested_timeout_above_the_registrys_is_lowered_to_it(
    configure: Configure, tmp_path: Path
) -> None:
    scripts = tmp_path / "scripts"
    shutil.copytree(TEST_SCRIPTS, scripts)
    registry = scripts / "registry.toml"
    registry.write_text(
        registry.read_text().replace(
            'path = "sleep.sh"\ntimeout = 30', 'path = "sleep.sh"\ntimeout = 1'
        )
    )
    configure(scripts_dir=scripts, allow_script_runs="true", kill_grace_seconds="0.5")
    started = time.monotonic()
    with pytest.raises(ScriptTimeout) as caught:
        await run_registered_script("sleep", args=["30"], timeout=600)
    assert caught.value.timeout == 1 and time.monotonic() - started < 15


@pytest.mark.parametrize("timeout", [0.0, -5.0, math.nan])
def test_a_timeout_that_is_not_positive_is_refused(timeout: float) -> None:
    with pytest.raises(ScriptError, match="echo: timeout must be a positive number of seconds"):
        capped_timeout("echo", timeout, 30)
    assert capped_timeout("echo", 10, 30) == 10 and capped_timeout("echo", None, 30) == 30


async def test_the_flow_refuses_a_nan_timeout_before_running(configure: Configure) -> None:
    configure(allow_script_runs="true")
    with pytest.raises(ScriptError, match="got nan"):
        await run_registered_script("echo", timeout=math.nan)


def test_run_registered_script_is_deployed_only_from_the_operator_file() -> None:
    root = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text())
    operator = yaml.safe_load((PROJECT_ROOT / "deployments" / "operator.yaml").read_text())
    assert "run-registered-script" not in {d["name"] for d in root["deployments"]}
    assert [d["name"] for d in operator["deployments"]] == ["run-registered-script"]
    assert operator["pull"] == root["pull"]
    assert operator["definitions"]["work_pool"] == root["definitions"]["work_pool"]
    for deployment in operator["deployments"]:  # the worker opts in, not the deployment
        assert "REELFLOW_ALLOW_SCRIPT_RUNS" not in deployment["work_pool"]["job_variables"]["env"]
