"""A Prefect server behind its basic auth (PREFECT_SERVER_API_AUTH_STRING): clients without
the string are refused, and Reelflow works with PREFECT_API_AUTH_STRING set."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import BIN, PROJECT_ROOT, kill_tree, wait_healthy
from tests.postgres import free_port

pytestmark = pytest.mark.e2e

AUTH = "operator:correct-horse-battery-staple"


def test_a_server_behind_basic_auth_refuses_strangers_and_serves_reelflow(
    tmp_path: Path,
) -> None:
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REELFLOW_"))}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect-home"),  # its SQLite database lives here
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        REELFLOW_DATA_DIR=str(tmp_path / "data"),
    )
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env={**env, "PREFECT_SERVER_API_AUTH_STRING": AUTH}, cwd=tmp_path, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        wait_healthy(api, timeout=120, server=server)
        assert httpx.post(f"{api}/flows/filter", json={}).status_code == 401
        wrong = httpx.post(f"{api}/flows/filter", json={}, auth=("operator", "wrong"))
        assert wrong.status_code == 401

        client = {**env, "PREFECT_API_URL": api}
        refused = _reelflow("setup", env=client)
        assert refused.returncode == 1
        assert refused.stderr.strip().splitlines()[-1].startswith("error: the Prefect API at ")
        assert "PREFECT_API_AUTH_STRING" in refused.stderr

        done = _reelflow("setup", env={**client, "PREFECT_API_AUTH_STRING": AUTH})
        assert done.returncode == 0, done.stderr
        assert "created automation reelflow-crash-zombie-flow-runs" in done.stdout
        assert AUTH not in done.stdout + done.stderr
    finally:
        kill_tree(server, signal.SIGTERM)
        log.close()


def _reelflow(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "reelflow"), *args], env=env, cwd=PROJECT_ROOT, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
