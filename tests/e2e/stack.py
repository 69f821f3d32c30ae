"""A real deployment stack for end-to-end tests and benchmarks: ``prefect server start`` on
PostgreSQL, the work pool, ``prefect deploy --all``, process workers, the ``reelflow`` CLI.

Everything started is tracked and stopped by pid (with its descendants)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.postgres import admin, fetch, free_port, recreate, run_async, url_of

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
POOL = "reelflow-process"


class Unavailable(RuntimeError):
    """PostgreSQL, which the stack needs, cannot be reached."""


@dataclass
class Stack:
    root: Path
    env: dict[str, str]
    api: str
    database: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def cli(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "reelflow"), *args], env=env or self.env, cwd=PROJECT_ROOT,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    def start(
        self, *command: str, env: dict[str, str] | None = None, log: str
    ) -> subprocess.Popen[bytes]:
        output = (self.root / f"{log}.log").open("wb")
        process = subprocess.Popen(
            command, env=env or self.env, cwd=PROJECT_ROOT, stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.processes.append(process)
        return process

    def states(self) -> list[dict[str, Any]]:
        done = self.cli("status", "--json")
        assert done.returncode == 0, f"reelflow status --json failed:\n{done.stderr}"
        return list(json.loads(done.stdout))

    def flow_run(self, flow_run_id: str) -> dict[str, Any]:
        response = httpx.get(f"{self.api}/flow_runs/{flow_run_id}", timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def wait_for_state(self, flow_run_id: str, wanted: set[str], timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = self.flow_run(flow_run_id)
            state = run["state"] or {}
            if state.get("name") in wanted or state.get("type") in wanted:
                return run
            assert state.get("type") not in {"FAILED", "CRASHED", "CANCELLED"}, state
            assert time.monotonic() < deadline, f"flow run still {state.get('name')}"
            time.sleep(0.5)

    def query(self, sql: str, *args: Any) -> list[Any]:
        """Rows from Reelflow's database (the one the workers write)."""
        return run_async(fetch(self.database, sql, *args))

    def executions(self, video_id: int) -> list[tuple[str, str]]:
        """The video's item runs (a publish run has no item label)."""
        rows = self.query(
            "SELECT label, status FROM script_executions WHERE video_id = $1"
            " AND label IS NOT NULL", video_id,
        )  # fmt: skip
        return [(row["label"], row["status"]) for row in rows]


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                found.append(child)
                todo.append(child)
    return found


def kill_tree(process: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGKILL) -> None:
    for pid in [*descendants(process.pid), process.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    process.wait(timeout=30)


def wait_healthy(api: str, timeout: float, server: subprocess.Popen[bytes] | None = None) -> None:
    """Until the server's /health answers (it needs no auth string); fail early if
    ``server`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server is None or server.poll() is None, "prefect server start exited"
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError("prefect server did not become healthy")


def pause_scheduled(api: str, paused: bool = True) -> dict[str, str]:
    """Pause (or resume) the scheduled deployments (intake, recover, prune…); their names
    by id. The tests start every run they look at themselves, and a recover pass starting
    videos of its own would race them."""
    with httpx.Client(base_url=api, timeout=30) as client:
        found = client.post("/deployments/filter", json={"limit": 200})
        found.raise_for_status()
        scheduled = {d["id"]: d["name"] for d in found.json() if d.get("schedules")}
        for deployment_id in scheduled:
            client.patch(f"/deployments/{deployment_id}", json={"paused": paused})
    return scheduled


def run_tool(stack: Stack, tool: str, *args: str) -> str:
    """One of the venv's commands (``prefect``, ``reelflow``) with the stack's environment,
    from the project root; its stdout, after checking it succeeded."""
    done = subprocess.run(
        [str(BIN / tool), *args], env=stack.env, cwd=PROJECT_ROOT, capture_output=True,
        text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, f"{tool} {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@contextlib.contextmanager
def deployed_stack(
    root: Path, deploy: tuple[str, ...] = ("--all",), worker_query_seconds: float | None = None
) -> Iterator[Stack]:
    """Start the server, create the pool and databases, deploy; stop it all afterwards.

    ``worker_query_seconds``: how often the workers started on the stack ask for scheduled
    runs (PREFECT_WORKER_QUERY_SECONDS); a submitted or resumed run waits up to that long
    for a worker to take it."""
    names = {"prefect": f"reelflow_e2e_prefect_{os.getpid()}", "app": f"reelflow_e2e_{os.getpid()}"}
    try:
        run_async(admin(*[s for n in names.values() for s in recreate(n)]))
    except (OSError, asyncpg.PostgresError) as exc:
        raise Unavailable(str(exc)) from exc
    url = {n: url_of(d) for n, d in names.items()}
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REELFLOW_"))}
    env.update(
        PWD=str(PROJECT_ROOT),
        PREFECT_HOME=str(root / "prefect-home"),
        PREFECT_API_URL=api,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_DATABASE_CONNECTION_URL=url["prefect"],
        PREFECT_LOCAL_STORAGE_PATH=str(root / "prefect-storage"),
        REELFLOW_DATABASE_URL=url["app"],
        REELFLOW_DATA_DIR=str(root / "data"),
        REELFLOW_OUTPUT_DIR=str(root / "output"),
        REELFLOW_RETRY_DELAY_SECONDS="0.1",
    )
    if worker_query_seconds is not None:  # else Prefect's default (10 s), as users have it
        env["PREFECT_WORKER_QUERY_SECONDS"] = f"{worker_query_seconds:g}"
    stack = Stack(root, env, api, url["app"])
    try:
        stack.start(
            str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port),
            log="server",
        )  # fmt: skip
        wait_healthy(api, timeout=120)
        run_tool(stack, "prefect", "work-pool", "create", POOL, "--type", "process")
        run_tool(stack, "reelflow", "db", "upgrade")
        run_tool(stack, "prefect", "--no-prompt", "deploy", *deploy)
        pause_scheduled(api)
        yield stack
    finally:
        for process in reversed(stack.processes):
            if process.poll() is None:
                kill_tree(process, signal.SIGTERM)
        run_async(admin(*[f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names.values()]))


def submit(stack: Stack, *args: str) -> str:
    """``reelflow submit … --json``; the first flow run id."""
    done = stack.cli("submit", *args, "--json")
    if done.returncode != 0:
        raise RuntimeError(f"reelflow submit failed:\n{done.stderr}")
    return str(json.loads(done.stdout)[0]["flow_run_id"])


def start_media_server(stack: Stack, timeout: float = 30) -> str:
    """``reelflow media serve`` over the stack's output folder, on a free port; its URL
    (for ``REELFLOW_MEDIA_SERVE_URL``) once its /health answers."""
    port = free_port()
    server = stack.start(
        str(BIN / "reelflow"), "media", "serve", "--port", str(port), log=f"media-{port}"
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "reelflow media serve exited"
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return url
        time.sleep(0.3)
    raise TimeoutError("reelflow media serve did not answer")
