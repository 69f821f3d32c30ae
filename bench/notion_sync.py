"""Benchmark of the Notion status sync: what a board costs the pipeline, and the request rate.

    .venv/bin/python bench/notion_sync.py [--rounds 3] [--requests 30]

Measured in this run, on a Prefect server of its own (PostgreSQL when reachable):
  1. the tiny pipeline (a new project each run, so nothing is cached) on a channel without a
     board, with a fake Notion answering at once, and with one answering in 500 ms per
     request; rounds interleave the three. Per board: the pipeline's wall time (start of the
     run to the review gate, the median of the rounds) and its growth over no board, the
     whole call (with the review answered and the run's bounded final wait for the board),
     requests, 429s, the peak number of requests in any one-second window, and the card's
     final status.
  2. the rate limit asked as fast as it grants: Prefect's rate_limit alone with the limit at
     3 slots and at 1 slot (both decaying 3 per second), and Reelflow's caller (1 slot, and
     it does not ask before a slot can have decayed) writing a card on a fake Notion: the
     rate reached and the most requests in any one-second window.
Targets: growth < 2% with either board; peak <= 3 requests in any second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import _harness as h
import yaml
from pipeline import run_flow

from tests.notion.fake import FakeNotion, Seen

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "examples" / "tiny.yaml"


async def prepare(boards: dict[str, FakeNotion | None]) -> None:
    """Blocks and limits as `reelflow setup` makes them, and one channel per board."""
    from blocks import Channel, NotionBoard
    from flows.cli.setup import ensure_limits, register_blocks

    await register_blocks()
    await ensure_limits(reset=True)
    for channel, fake in boards.items():
        if fake is not None:
            await NotionBoard(
                token=fake.token, database_id=fake.database_id, base_url=fake.url
            ).asave(channel, overwrite=True)
            await Channel(notion_board=channel).asave(channel, overwrite=True)


def plan(root: Path, name: str) -> Path:
    data = yaml.safe_load(TINY.read_text())
    data["project_id"] = name
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


async def one_run(root: Path, channel: str, index: int) -> tuple[float, float, int]:
    """(pipeline wall, whole call, video id) for a fresh tiny plan on ``channel``."""
    started = time.perf_counter()
    video_id, wall = await run_flow(plan(root, f"{channel}-{index}"), channel)
    return wall, time.perf_counter() - started, video_id


async def final_status(video_id: int) -> tuple[str, bool]:
    from flows.core import videos
    from flows.core.store import session_scope

    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=video_id)
    return video.status, video.notion_synced_seq == video.status_seq


def pipeline_rows(root: Path, rounds: int) -> list[list[str]]:
    fast, slow = FakeNotion().start(), FakeNotion(latency=0.5).start()
    boards: dict[str, FakeNotion | None] = {"bench-none": None, "bench-0ms": fast,
                                            "bench-500ms": slow}  # fmt: skip
    asyncio.run(prepare(boards))
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in boards}
    landed: dict[str, list[bool]] = {name: [] for name in boards}
    names = list(boards)
    try:
        for name in names:  # warm-up: imports, engines, first block loads
            asyncio.run(one_run(root, name, -1))
        for index in range(rounds):
            for name in names[index % 3 :] + names[: index % 3]:  # rotate the order
                wall, call, video_id = asyncio.run(one_run(root, name, index))
                samples[name].append((wall, call))
                landed[name].append(asyncio.run(final_status(video_id))[1])
                print(f"  round {index + 1} {name}: pipeline {wall:.2f} s, call {call:.2f} s")
    finally:
        fast.stop()
        slow.stop()
    base = statistics.median(w for w, _ in samples["bench-none"])
    rows = []
    for name, fake in boards.items():
        wall = statistics.median(w for w, _ in samples[name])
        call = statistics.median(c for _, c in samples[name])
        growth = 100 * (wall - base) / base
        rows.append([
            name.removeprefix("bench-").replace("none", "no board"), f"{wall:.2f}",
            "-" if fake is None else f"{growth:+.1f}% ({'PASS' if growth < 2 else 'MISS'})",
            f"{call:.2f}", "-" if fake is None else f"{len(fake.requests) / (rounds + 1):.1f}",
            "-" if fake is None else str(len(fake.seen(status=429))),
            "-" if fake is None else _peak(fake.peak(1.0)),
            "-" if fake is None else f"{sum(landed[name])}/{len(landed[name])}",
        ])  # fmt: skip
    return rows


def _peak(peak: int) -> str:
    return f"{peak} ({'PASS' if peak <= 3 else 'MISS'})"


async def set_limit(slots: int) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate

    from flows.bootstrap import NOTION_LIMIT, NOTION_RATE

    async with get_client() as client:
        await client.update_global_concurrency_limit(
            NOTION_LIMIT,
            GlobalConcurrencyLimitUpdate(limit=slots, slot_decay_per_second=NOTION_RATE),
        )
    await asyncio.sleep(1.5)  # let taken slots decay


async def grants(requests: int, slots: int) -> list[float]:
    """When Prefect's rate_limit alone grants ``requests`` slots, asked as fast as it grants."""
    from prefect.concurrency.asyncio import rate_limit

    from flows.bootstrap import NOTION_LIMIT

    await set_limit(slots)
    times = []
    for _ in range(requests):
        await rate_limit(NOTION_LIMIT, strict=True)
        times.append(time.monotonic())
    return times


async def updates(requests: int) -> list[float]:
    """When ``requests`` card updates reach a fake Notion through Reelflow's caller."""
    from pydantic import SecretStr

    from flows.notion.boards import board_caller
    from flows.notion.schema import BoardConfig

    await set_limit(1)
    fake = FakeNotion(rate=1000).start()  # counts, never refuses: we measure our own pace
    page = fake.add_card("bench")
    board = BoardConfig(token=SecretStr(fake.token), database_id=fake.database_id,
                        base_url=fake.url)  # fmt: skip
    call = board_caller(board)
    properties: dict[str, Any] = {"Status": {"status": {"name": "Assembling"}}}
    try:
        for _ in range(requests):
            await call(lambda c: c.pages.update(page, properties=properties))
    finally:
        await call.aclose()
        fake.stop()
    return [s.at for s in fake.seen("PATCH")]


def peak(times: list[float]) -> int:
    fake = FakeNotion()
    fake.requests = [Seen(at, 0, "", "", None) for at in times]
    return fake.peak(1.0)


def rate_rows(requests: int) -> list[list[str]]:
    runs = [
        ("rate_limit alone, 3 slots decaying 3/s", asyncio.run(grants(requests, 3))),
        ("rate_limit alone, 1 slot decaying 3/s", asyncio.run(grants(requests, 1))),
        ("Reelflow's caller (1 slot) -> fake Notion", asyncio.run(updates(requests))),
    ]
    rows = []
    for label, times in runs:
        rate = (len(times) - 1) / (times[-1] - times[0])
        most = peak(times)
        rows.append(
            [label, str(len(times)), f"{rate:.2f}", f"{most} ({'PASS' if most <= 3 else 'MISS'})"]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    root = h.isolate("notion")
    os.environ["REELFLOW_SCRIPTS_DIR"] = str(ROOT / "scripts")
    with h.prefect_server(root):
        rows = pipeline_rows(root, args.rounds)
        rates = rate_rows(args.requests)
    print()
    print(h.table(
        f"the tiny pipeline with a Notion board (median of {args.rounds} runs, seconds)",
        ["board", "pipeline wall", "growth vs none", "whole call", "requests/run", "429s",
         "peak req in 1 s", "board current"],
        rows,
    ))  # fmt: skip
    print()
    print(h.table(
        "the notion-api limit, asked as fast as it grants",
        ["what asks", "requests", "per second", "most in any 1 s"],
        rates,
    ))  # fmt: skip


if __name__ == "__main__":
    main()
