"""A failing ``reelflow run``: one line per failure on the console, no traceback unless -v;
the Prefect API still gets every traceback."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

from tests.conftest import Configure
from tests.factories import TINY, scripts_with_faults

REELFLOW = str(Path(sys.executable).with_name("reelflow"))

pytestmark = pytest.mark.usefixtures("prefect_api")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REELFLOW, "run", str(TINY), "--approve", *args],
        capture_output=True, text=True, timeout=240, env=os.environ.copy(),
    )  # fmt: skip


async def _api_logs(flow_run_id: str) -> list[str]:
    async with get_client() as client:
        logs = await client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(flow_run_id)]))
        )
    return [log.message for log in logs]


def test_a_failing_item_is_one_line_without_tracebacks_and_v_shows_them(
    configure: Configure, tmp_path: Path
) -> None:
    faults = {"generate_asset": [{"match": "dawn", "times": 99, "exit": 75, "message": "busy"}]}
    configure(scripts_dir=scripts_with_faults(tmp_path, faults), retry_delay_seconds="0.05")

    quiet = _run()
    assert quiet.returncode == 1, quiet.stderr
    assert "Traceback" not in quiet.stderr and "raise " not in quiet.stderr, quiet.stderr
    lines = quiet.stderr.splitlines()
    assert lines[-1] == (
        "error: scene 'dawn' (#1), image: generate_asset: exited with code 75: injected: busy"
    )
    assert len(lines) <= 8, quiet.stderr  # was 325 lines
    assert any(
        "Task run 'assets/dawn/background' - failed: generate_asset: exited with code 75" in line
        for line in lines
    ), quiet.stderr
    assert not [line for line in lines if "Finished in state" in line or "Retry" in line]

    status = subprocess.run(
        [REELFLOW, "status", "1", "--json"], capture_output=True, text=True, check=True
    )
    flow_run_id = json.loads(status.stdout)["flow_run_id"]
    api = asyncio.run(_api_logs(flow_run_id))
    assert any("Traceback (most recent call last)" in message for message in api)

    verbose = _run("-v")  # the same video again (its retry is scheduled): it fails the same way
    assert verbose.returncode == 1
    assert "Traceback (most recent call last)" in verbose.stderr
