"""Soak: kill `reelflow run` at random points, then `reelflow recover`; nothing is left stuck.

    .venv/bin/python bench/soak_kills.py [--runs 10] [--seed 7]

Each round produces a fresh copy of the tiny plan (nothing cached), sends SIGTERM or SIGKILL
(alternating) to the run at a random moment of its expected duration, then runs
`reelflow recover --here --approve` and reads the video back. It prints, per round, the status
the kill left, the status after recovery, items that finished twice (must be 0), and the
round's wall time as a ratio of one uninterrupted run measured first, in this same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as h  # noqa: E402

REELFLOW = str(Path(sys.executable).with_name("reelflow"))
TINY = ROOT / "examples" / "tiny.yaml"


def plan(root: Path, n: int) -> Path:
    path = root / f"round-{n}.yaml"
    path.write_text(TINY.read_text().replace("project_id: tiny", f"project_id: soak-{n}"))
    return path


def reelflow(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REELFLOW, *args], capture_output=True, text=True, timeout=timeout, env=dict(os.environ),
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


async def video_state(project: str) -> tuple[int, str, int]:
    """The video of ``project``: id, status, items completed twice (0, "none", 0 if none)."""
    from sqlalchemy import select

    from flows.core.models import ScriptExecution, Video
    from flows.core.store import dispose_engines, session_scope

    try:
        async with session_scope() as session:
            query = select(Video).where(Video.project_id == project)
            video = (await session.scalars(query)).one_or_none()
            if video is None:  # killed before the run opened it: nothing to leave stuck
                return 0, "none", 0
            rows = await session.scalars(
                select(ScriptExecution).where(
                    ScriptExecution.video_id == video.id, ScriptExecution.status == "completed"
                )
            )
            twice = sum(1 for n in Counter(r.label for r in rows).values() if n > 1)
            return video.id, video.status, twice
    finally:
        await dispose_engines()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()
    rng = random.Random(options.seed)
    root = h.isolate("kills")
    os.environ["REELFLOW_RETRY_DELAY_SECONDS"] = "0.1"
    with h.prefect_server(root):
        started = time.perf_counter()
        done = reelflow("run", str(plan(root, 0)), "--approve")
        baseline = time.perf_counter() - started
        assert done.returncode == 0, done.stderr[-2000:]
        print(f"baseline: one uninterrupted run of the tiny plan, {baseline:.1f} s\n")
        print(f"{'round':>5} {'signal':8} {'at s':>6} {'after kill':18} {'after recover':14}"
              f" {'twice':>5} {'wall/baseline':>13}")  # fmt: skip
        failures = 0
        for n in range(1, options.runs + 1):
            sig = signal.SIGTERM if n % 2 else signal.SIGKILL
            at = rng.uniform(2.0, baseline * 0.95)
            begun = time.perf_counter()
            child = subprocess.Popen(
                [REELFLOW, "run", str(plan(root, n)), "--approve"], env=dict(os.environ),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(at)
            child.send_signal(sig)
            child.wait(timeout=120)
            _, killed, _ = asyncio.run(video_state(f"soak-{n}"))
            recovered = reelflow("recover", "--here", "--approve")
            _, final, twice = asyncio.run(video_state(f"soak-{n}"))
            wall = time.perf_counter() - begun
            ok = final in ("approved", "none") and twice == 0 and recovered.returncode == 0
            failures += not ok
            print(f"{n:>5} {sig.name:8} {at:>6.1f} {killed:18} {final:14} {twice:>5}"
                  f" {wall / baseline:>12.2f}x" + ("" if ok else "  FAIL"))  # fmt: skip
        print(f"\n{options.runs - failures}/{options.runs} rounds ended approved with no item "
              "made twice" + (" (PASS)" if not failures else " (FAIL)"))  # fmt: skip
        return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
