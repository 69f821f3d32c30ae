"""Benchmark of deployed runs through a real Prefect server and process worker.

    .venv/bin/python bench/deployed.py [--runs 3] [--worker-query-seconds 10]

For the tiny plan, `reelflow submit` → a process worker → suspended at review → a message to
the reviewers → `reelflow review approve` → completed, measured in this run (median of --runs):
  trigger → first script start     submit to the first script's start in the execution log
  trigger → waiting for review     submit to the run suspended at the gate
  suspended → notification         the Suspended state's timestamp to the reviewers' message
                                   arriving at a local webhook (`reelflow setup --notify`)
  approval → completion            `review approve` to the run's COMPLETED state
The worker asks for work every --worker-query-seconds (Prefect's default is 10 s): the
trigger and approval intervals include up to that wait. It needs PostgreSQL
(REELFLOW_TEST_POSTGRES_URL, default the local server).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as h  # noqa: E402

from tests.e2e.stack import BIN, POOL, Stack, deployed_stack, kill_tree, submit  # noqa: E402

TINY = ROOT / "examples" / "tiny.yaml"
BLOCK = "bench-reviewers"


class Receiver(ThreadingHTTPServer):
    """A local webhook: what arrived, and when."""

    arrivals: list[tuple[datetime, dict[str, Any]]]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.arrivals.append((datetime.now(UTC), json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def notify_reviewers(stack: Stack, receiver: Receiver) -> None:
    """A custom webhook block pointing at ``receiver``, and `reelflow setup --notify` with it."""
    make_block = (
        "from prefect.blocks.notifications import CustomWebhookNotificationBlock as B\n"
        f"B(name='bench', url='http://127.0.0.1:{receiver.server_port}/hook',"
        " json_data={'subject': '{{subject}}', 'body': '{{body}}'})"
        f".save({BLOCK!r}, overwrite=True)\n"
    )
    subprocess.run([str(BIN / "python"), "-c", make_block], env=stack.env, check=True)
    done = stack.cli("setup", "--notify", f"custom-webhook/{BLOCK}", "--remind-after-hours", "0")
    if done.returncode != 0:
        raise RuntimeError(done.stderr)


def first_script_start(stack: Stack, video_id: int) -> datetime:
    rows = stack.query(
        "SELECT min(started_at) AS first FROM script_executions WHERE video_id = $1", video_id
    )
    first: datetime = rows[0]["first"]
    return first if first.tzinfo else first.replace(tzinfo=UTC)


def notified(receiver: Receiver, flow_run_id: str, timeout: float = 120) -> datetime:
    """When the message naming this run's review page arrived."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for arrived, message in list(receiver.arrivals):
            if flow_run_id in str(message.get("body")):
                return arrived
        time.sleep(0.05)
    raise RuntimeError(f"no message for flow run {flow_run_id} after {timeout:g} s")


def one_run(stack: Stack, receiver: Receiver, index: int) -> tuple[float, float, float, float]:
    plan = Path(tempfile.mkdtemp()) / "plan.yaml"
    plan.write_text(TINY.read_text().replace("project_id: tiny", f"project_id: bench-{index}"))
    triggered = datetime.now(UTC)
    started = time.monotonic()
    flow_run_id = submit(stack, str(plan), "--channel", "bench")
    run = stack.wait_for_state(flow_run_id, {"Suspended"}, timeout=300)
    to_review = time.monotonic() - started
    suspended = datetime.fromisoformat(run["state"]["timestamp"])
    to_message = (notified(receiver, flow_run_id) - suspended).total_seconds()
    states = stack.states()
    video_id = next(s["video_id"] for s in states if s["flow_run_id"] == flow_run_id)
    to_first_script = (first_script_start(stack, video_id) - triggered).total_seconds()
    approved = time.monotonic()
    done = stack.cli("review", "approve", str(video_id))
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    stack.wait_for_state(flow_run_id, {"COMPLETED"}, timeout=300)
    return to_first_script, to_review, to_message, time.monotonic() - approved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--worker-query-seconds", type=float, default=None, help="default: Prefect's (10 s)"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="reelflow-bench-deployed-"))
    receiver = Receiver(("127.0.0.1", 0), _Handler)
    receiver.arrivals = []
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    with deployed_stack(
        root, deploy=("--name", "produce-video"), worker_query_seconds=args.worker_query_seconds
    ) as stack:
        notify_reviewers(stack, receiver)
        worker = stack.start(str(BIN / "prefect"), "worker", "start", "--pool", POOL, log="worker")
        try:
            samples = [one_run(stack, receiver, i) for i in range(args.runs)]
        finally:
            kill_tree(worker)
    receiver.shutdown()
    names = [
        "trigger → first script start",
        "trigger → waiting for review",
        "suspended → notification",
        "approval → done",
    ]
    rows = []
    for i, name in enumerate(names):
        values = [s[i] for s in samples]
        rows.append([name, f"{statistics.median(values):.2f}", f"{min(values):.2f}",
                     f"{max(values):.2f}"])  # fmt: skip
    poll = f"worker poll {args.worker_query_seconds or 10:g} s"
    print()
    print(h.table(f"Deployed tiny plan, {args.runs} runs, {poll} (seconds)",
                  ["interval", "median", "min", "max"], rows))  # fmt: skip


if __name__ == "__main__":
    main()
