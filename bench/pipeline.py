"""Benchmark of produce_video against the same scripts in a plain sequential loop.

    .venv/bin/python bench/pipeline.py [--only tiny|demo] [--finish]

For the tiny plan and the documentary demo, measured in this run:
  flow wall       start of the run to the review gate (the pipeline's own duration)
  scripts (crit.) time during which at least one script was running (execution log)
  orchestration   flow wall - scripts on the critical path
  cached re-run   the same plan again: every item comes back from the cache
  plain loop      the same scripts, same inputs, one after another with subprocess.run
Targets: demo < 90 s on 2 cores; orchestration < 10% of the demo's wall; the flow no slower
than the plain loop; a fully cached re-run of the demo < 10 s.

The finish (issue 14), for the demo, measured in the same run:
  baseline        the demo without captions and music (titles, loudness still on), cold
  all on          the demo as shipped (burned captions, music bed, -14 LUFS), cold; goal
                  <= 60 s on 2 cores, its fully cached re-run <= 10 s
  each addition   assemble_video alone on the demo's cached inputs, one feature added at a
                  time: picture stream-copied (nothing drawn) -> + titles (re-encode) -> +
                  burned captions -> + music (ducked) -> + crossfade; the vertical cut and
                  the loudness passes (measure, gain and limiter, measure) on their own
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


def variant(plan_path: Path, root: Path, name: str, **changes: Any) -> Path:
    """A copy of the plan with some top-level fields changed (None removes one)."""
    import yaml

    data = yaml.safe_load(plan_path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


async def finish(plan_path: Path, root: Path) -> list[list[str]]:
    """The demo without and with its finish, cold and cached, in channels of their own."""
    base = variant(plan_path, root, "demo-baseline", captions="none", music=None)
    cpu = _cpu()
    _, baseline = await run_flow(base, "bench-finish-baseline")
    cpu_base, cpu = _cpu() - cpu, _cpu()
    _, full = await run_flow(plan_path, "bench-finish-all")
    cpu_full, cpu = _cpu() - cpu, _cpu()
    started = time.perf_counter()
    await run_flow(plan_path, "bench-finish-all")
    cached, cpu_cached = time.perf_counter() - started, _cpu() - cpu
    rows = [
        ["demo baseline (no captions, no music)", f"{baseline:.2f}", "1.00",
         f"CPU {cpu_base:.1f} s (1.00)"],
        ["demo, all on", f"{full:.2f}", f"{full / baseline:.2f}",
         f"CPU {cpu_full:.1f} s ({cpu_full / cpu_base:.2f}); "
         f"<= 60 s {'PASS' if full <= 60 else 'MISS'}"],
        ["demo, all on, fully cached re-run", f"{cached:.2f}", f"{cached / baseline:.2f}",
         f"CPU {cpu_cached:.1f} s; <= 10 s {'PASS' if cached <= 10 else 'MISS'}"],
    ]  # fmt: skip
    return rows + await asyncio.to_thread(addition_costs, plan_path, root)


def addition_costs(plan_path: Path, root: Path) -> list[list[str]]:
    """assemble_video on the cached demo inputs (channel bench-finish-all), feature by feature."""
    from flows.core.manifest import load_manifest
    from flows.core.settings import get_settings
    from flows.core.steps import VideoPaths, plan_items

    plan = load_manifest(plan_path)
    paths = VideoPaths.for_video(get_settings().output_dir, "bench-finish-all", plan.project_id)
    request = plan_items(plan, "assembly", paths, {})[0].input
    untitled = [{**scene, "title": ""} for scene in request["scenes"]]
    steps = [
        ("picture copied, nothing drawn", {"scenes": untitled, "captions": "srt", "music": None}),
        ("+ scene titles (re-encode)", {"captions": "srt", "music": None}),
        ("+ burned captions", {"music": None}),
        ("+ music bed, ducked", {}),
        ("+ crossfade 0.5 s", {"crossfade": 0.5}),
    ]
    rows, previous, first = [], (0.0, 0.0), 0.0
    for label, change in steps:
        wall, cpu = _assemble({**request, "thumbnail": None, **change}, root / "finish.mp4")
        first = first or wall
        cost = (
            f"+{wall - previous[0]:.2f} s, CPU +{cpu - previous[1]:.1f} s" if first != wall else ""
        )
        rows.append([f"assembly: {label}", f"{wall:.2f}", f"{wall / first:.2f}",
                     f"CPU {cpu:.1f} s {cost}"])  # fmt: skip
        previous = (wall, cpu)
    wall, cpu = _assemble({**request, "thumbnail": None, "format": "vertical"}, root / "v.mp4")
    rows.append(["assembly: the vertical cut (all on)", f"{wall:.2f}", f"{wall / first:.2f}",
                 f"CPU {cpu:.1f} s, a second item"])  # fmt: skip
    wall, cpu = _assemble({**request, "captions": "srt", "scenes": untitled, "music": None,
                           "thumbnail": str(root / "t.jpg")}, root / "t.mp4")  # fmt: skip
    rows.append(["assembly: copied + thumbnail", f"{wall:.2f}", f"{wall / first:.2f}",
                 f"CPU {cpu:.1f} s"])  # fmt: skip
    rows.append(["loudness: measure, gain + limiter, measure", f"{_loudness(root):.2f}", "", ""])
    return rows


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the scripts), so that a
    busy machine's figures can still be compared: wall clocks there say little."""
    used = os.times()
    return used.user + used.system + used.children_user + used.children_system


def _assemble(request: dict[str, Any], output: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one assemble_video run."""
    started, cpu = time.perf_counter(), _cpu()
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "assemble_video.py")],
        input=json.dumps({**request, "output": str(output)}).encode(),
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - started, _cpu() - cpu


def _loudness(root: Path) -> float:
    """The loudness passes alone, on the demo's final mix decoded to a WAV 6 dB down (so the
    gain and the limiter have work to do)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import _media
    import _mix

    mix = root / "mix.wav"
    _media.ffmpeg("-i", str(root / "finish.mp4"), "-vn", "-af", "volume=-6dB", str(mix))
    started = time.perf_counter()
    _mix.normalise(mix, root / "norm.wav", target=-14.0)
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
    parser.add_argument("--finish", action="store_true", help="only the finish (issue 14)")
    args = parser.parse_args()
    root = h.isolate("pipeline")
    os.environ["REELFLOW_SCRIPTS_DIR"] = str(ROOT / "scripts")
    names = [args.only] if args.only else ["tiny", "demo"]
    rows, finished = [], []
    with h.prefect_server(root):
        for name in [] if args.finish else names:
            rows.append(asyncio.run(measure(name, PLANS[name], root)))
        if args.finish or args.only in (None, "demo"):
            finished = asyncio.run(finish(PLANS["demo"], root))
    if finished:
        print()
        print(h.table("the finish on the demo (seconds; ratios against the first row of each "
                      "part)", ["what", "wall", "ratio", "note"], finished))  # fmt: skip
    if not rows:
        return
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
