"""Benchmark of produce_video against the same scripts in a plain sequential loop.

    .venv/bin/python bench/pipeline.py [--only tiny|demo]

For the tiny plan and the documentary demo, measured in this run:
  flow wall       start of the run to the review gate (the pipeline's own duration)
  scripts (crit.) time during which at least one script was running (execution log)
  orchestration   flow wall - scripts on the critical path
  cached re-run   the same plan again: every item comes back from the cache
  plain loop      the same scripts, same inputs, one after another with subprocess.run
Targets: demo < 90 s on 2 cores; orchestration < 10% of the demo's wall; the flow no slower
than the plain loop; a fully cached re-run of the demo < 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as h

ROOT = Path(__file__).resolve().parents[1]
PLANS = {"tiny": ROOT / "examples" / "tiny.yaml", "demo": ROOT / "examples" / "documentary.yaml"}


async def run_flow(plan_path: Path, channel: str) -> tuple[int, float]:
    """Produce the plan, approving at the gate; (video id, seconds to the gate)."""
    from flows.core import videos
    from flows.core.manifest import load_manifest
    from flows.core.store import session_scope
    from flows.pipeline import produce_video
    from flows.review import ReviewDecision, answer_when_paused

    async with session_scope() as session:
        video = await videos.open_video(
            session=session, channel=channel, manifest=load_manifest(plan_path)
        )
        video_id = video.id
    approve = ReviewDecision(decision="approve", reviewer="bench")

    async def decide(_: Any) -> ReviewDecision:
        return approve

    reviewer = asyncio.create_task(answer_when_paused(video_id, decide, poll=0.1))
    await produce_video(video_id=video_id)
    reviewer.cancel()
    async with session_scope() as session:
        finished = await videos.get_video(session=session, video_id=video_id)
    return video_id, float(finished.duration_s or 0)


async def script_span(video_id: int) -> tuple[float, float]:
    """(union of script run intervals, sum of script run times) for a video, in seconds."""
    from flows.core import executions
    from flows.core.store import session_scope

    async with session_scope() as session:
        rows = await executions.list_executions(session=session, video_id=video_id, limit=100_000)
    spans = sorted((r.started_at, r.completed_at) for r in rows if r.completed_at)
    union, total, end = 0.0, 0.0, None
    for start, stop in spans:
        total += (stop - start).total_seconds()
        if end is None or start > end:
            union += (stop - start).total_seconds()
            end = stop
        elif stop > end:
            union += (stop - end).total_seconds()
            end = stop
    return union, total


def plain_loop(plan_path: Path, output_root: Path) -> float:
    """The same items, run one by one with subprocess.run (no Prefect, no database)."""
    from flows.core.manifest import load_manifest
    from flows.core.steps import STEPS, VideoPaths, plan_items

    plan = load_manifest(plan_path)
    paths = VideoPaths.for_video(output_root, "plain", plan.project_id)
    started = time.perf_counter()
    for step in STEPS:
        for item in plan_items(plan, step, paths, {}):
            subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "scripts" / f"{item.script}.py"),
                    "--provider",
                    "local",
                ],
                input=json.dumps(item.input).encode(),
                capture_output=True,
                check=True,
            )
    return time.perf_counter() - started


async def measure(name: str, plan_path: Path, root: Path) -> list[str]:
    video_id, wall = await run_flow(plan_path, f"bench-{name}")
    union, total = await script_span(video_id)
    cached_started = time.perf_counter()
    await run_flow(plan_path, f"bench-{name}")
    cached = time.perf_counter() - cached_started
    loop = await asyncio.to_thread(plain_loop, plan_path, root / "plain-output")
    overhead = wall - union
    notes = [f"{loop / wall:.2f}x the plain loop's speed ({'PASS' if wall <= loop else 'MISS'})"]
    if name == "demo":
        notes.append(f"demo < 90 s {'PASS' if wall < 90 else 'MISS'}")
        notes.append(f"overhead < 10% {'PASS' if overhead < 0.1 * wall else 'MISS'}")
        notes.append(f"cached < 10 s {'PASS' if cached < 10 else 'MISS'}")
    return [
        name,
        f"{wall:.2f}",
        f"{union:.2f}",
        f"{total:.2f}",
        f"{overhead:.2f} ({100 * overhead / wall:.1f}%)",
        f"{cached:.2f}",
        f"{loop:.2f}",
        "; ".join(notes),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=sorted(PLANS))
    args = parser.parse_args()
    root = h.isolate("pipeline")
    os.environ["REELFLOW_SCRIPTS_DIR"] = str(ROOT / "scripts")
    names = [args.only] if args.only else ["tiny", "demo"]
    rows = []
    with h.prefect_server(root):
        for name in names:
            rows.append(asyncio.run(measure(name, PLANS[name], root)))
    print()
    print(
        h.table(
            "produce_video vs the same scripts in a plain loop (seconds)",
            ["plan", "flow wall", "scripts crit.", "scripts sum", "orchestration",
             "cached re-run", "plain loop", "targets"],
            rows,
        )
    )  # fmt: skip


if __name__ == "__main__":
    main()
