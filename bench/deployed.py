"""Benchmark of deployed runs through a real Prefect server and process worker.

    .venv/bin/python bench/deployed.py [--runs 3]

For the tiny plan, `reelflow submit` → a process worker → suspended at review →
`reelflow review approve` → completed, measured in this run (median of --runs):
  trigger → first script start    submit to the first script's start in the execution log
  trigger → waiting for review    submit to the run suspended at the gate
  approval → completion           `review approve` to the run's COMPLETED state
It needs PostgreSQL (REELFLOW_TEST_POSTGRES_URL, default the local server).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as h  # noqa: E402

from tests.e2e.stack import BIN, POOL, Stack, deployed_stack, kill_tree, submit  # noqa: E402

TINY = ROOT / "examples" / "tiny.yaml"


def first_script_start(stack: Stack, video_id: int) -> datetime:
    rows = stack.query(
        "SELECT min(started_at) AS first FROM script_executions WHERE video_id = $1", video_id
    )
    first: datetime = rows[0]["first"]
    return first if first.tzinfo else first.replace(tzinfo=UTC)


def one_run(stack: Stack, index: int) -> tuple[float, float, float]:
    plan = Path(tempfile.mkdtemp()) / "plan.yaml"
    plan.write_text(TINY.read_text().replace("project_id: tiny", f"project_id: bench-{index}"))
    triggered = datetime.now(UTC)
    started = time.monotonic()
    flow_run_id = submit(stack, str(plan), "--channel", "bench")
    stack.wait_for_state(flow_run_id, {"Suspended"}, timeout=300)
    to_review = time.monotonic() - started
    states = stack.states()
    video_id = next(s["video_id"] for s in states if s["flow_run_id"] == flow_run_id)
    to_first_script = (first_script_start(stack, video_id) - triggered).total_seconds()
    approved = time.monotonic()
    done = stack.cli("review", "approve", str(video_id))
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    stack.wait_for_state(flow_run_id, {"COMPLETED"}, timeout=300)
    return to_first_script, to_review, time.monotonic() - approved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="reelflow-bench-deployed-"))
    with deployed_stack(root, deploy=("--name", "produce-video")) as stack:
        worker = stack.start(str(BIN / "prefect"), "worker", "start", "--pool", POOL, log="worker")
        try:
            samples = [one_run(stack, i) for i in range(args.runs)]
        finally:
            kill_tree(worker)
    names = ["trigger → first script start", "trigger → waiting for review", "approval → done"]
    rows = []
    for i, name in enumerate(names):
        values = [s[i] for s in samples]
        rows.append([name, f"{statistics.median(values):.2f}", f"{min(values):.2f}",
                     f"{max(values):.2f}"])  # fmt: skip
    print()
    print(h.table(f"Deployed tiny plan, {args.runs} runs (seconds)",
                  ["interval", "median", "min", "max"], rows))  # fmt: skip


if __name__ == "__main__":
    main()
