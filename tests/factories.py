"""Shared helpers: script copies with injected faults, runs that answer their own review."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from flows.core import executions, videos
from flows.core.manifest import Manifest, load_manifest
from flows.core.store import session_scope
from tests.conftest import PROJECT_ROOT

TINY = PROJECT_ROOT / "examples" / "tiny.yaml"

_WRAPPER = '''"""Test wrapper: injects faults, then runs the real script."""
import fcntl
import io
import json
import os
import pathlib
import runpy
import sys
import time

RULES = {rules}
raw = sys.stdin.read()
request = json.loads(raw or "{{}}")
for rule in RULES:
    if rule["match"] in request.get("output", ""):
        # Items of one step run at once and may match one rule: count under a lock.
        with open(rule["marker"], "a+") as marker:
            fcntl.flock(marker, fcntl.LOCK_EX)
            marker.seek(0)
            seen = int(marker.read() or 0)
            marker.seek(0)
            marker.truncate()
            marker.write(str(seen + 1))
        if rule.get("sleep") and not os.environ.get("REELFLOW_TEST_SKIP_SLEEP"):
            time.sleep(rule["sleep"])
        if seen < rule.get("times", 0):
            print(json.dumps({{"error": {{"type": "injected", "message": rule["message"],
                                          "retry_after": None}}}}))
            sys.exit(rule["exit"])
sys.stdin = io.TextIOWrapper(io.BytesIO(raw.encode()))
runpy.run_path(str(pathlib.Path(__file__).with_name("{real}")), run_name="__main__")
'''


def scripts_with_faults(tmp_path: Path, faults: dict[str, list[dict[str, Any]]]) -> Path:
    """A copy of the project's scripts where ``faults[script]`` rules wrap the real script.

    A rule: ``match`` (a substring of the item's output path), ``times`` (fail that many
    times), ``exit`` (the exit code), ``message``, optional ``sleep`` (seconds, every call
    unless REELFLOW_TEST_SKIP_SLEEP is set: the wrapper's bytes, and so the cache keys,
    stay the same).
    """
    target = tmp_path / "scripts"
    shutil.copytree(PROJECT_ROOT / "scripts", target, ignore=shutil.ignore_patterns("__pycache__"))
    for script, rules in faults.items():
        for i, rule in enumerate(rules):
            rule.setdefault("marker", str(tmp_path / f"fault-{script}-{i}"))
            rule.setdefault("exit", 1)
            rule.setdefault("message", f"injected failure in {script}")
        real = f"_real_{script}.py"
        (target / f"{script}.py").rename(target / real)
        (target / f"{script}.py").write_text(_WRAPPER.format(rules=json.dumps(rules), real=real))
    return target


async def open_video(manifest: Manifest | Path = TINY, channel: str = "test") -> int:
    plan = manifest if isinstance(manifest, Manifest) else load_manifest(manifest)
    async with session_scope() as session:
        video = await videos.open_video(session=session, channel=channel, manifest=plan)
        return video.id


async def produce(
    manifest: Manifest | Path = TINY,
    *,
    decision: str = "approve",
    channel: str = "test",
    answers: list[Any] | None = None,
    review_timeout_hours: float = 168.0,
    answer: bool = True,
    flow: Any = None,
    on_review_timeout: str = "expire",
) -> dict[str, Any]:
    """Run produce_video like ``reelflow run`` does, answering the review gate: with
    ``answers`` (ReviewDecisions, one per round) or with ``decision`` every time."""
    from flows.pipeline import produce_video
    from flows.review import ReviewDecision, answer_when_paused

    produce_video = flow or produce_video
    video_id = await open_video(manifest, channel)
    queue = list(answers or [])
    default = ReviewDecision(
        decision="approve" if decision == "approve" else "reject",
        reason="" if decision == "approve" else "not good enough",
        reviewer="tests",
    )

    async def decide(video: Any) -> ReviewDecision:
        return queue.pop(0) if queue else default

    if not answer:
        return await produce_video(
            video_id=video_id,
            review_timeout_hours=review_timeout_hours,
            on_review_timeout=on_review_timeout,
        )
    reviewer = asyncio.create_task(answer_when_paused(video_id, decide, poll=0.2))
    try:
        return await produce_video(video_id=video_id, review_timeout_hours=review_timeout_hours)
    finally:
        reviewer.cancel()
        await asyncio.gather(reviewer, return_exceptions=True)


async def runs_by_label(status: str | None = None) -> Counter[str]:
    """How many times each item label ran (optionally: ended with ``status``)."""
    async with session_scope() as session:
        rows = await executions.list_executions(session=session, status=status, limit=10_000)
    return Counter(row.label for row in rows if row.label)


async def statuses(video_id: int) -> list[str]:
    async with session_scope() as session:
        events = await videos.list_events(session=session, video_id=video_id)
    return [e.status for e in events if e.kind == "status" and e.status]
