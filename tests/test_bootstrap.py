"""flows.bootstrap: the limits and block types a command needs, made on first use, once,
even when two processes find them missing at the same moment."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys

import pytest
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound

from blocks import NotionBoard
from flows.bootstrap import LIMITS, ensure_block_types, ensure_limit, forget_ensured
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.usefixtures("prefect_api")

RACE = """
import asyncio, sys
from flows.bootstrap import ensure_limit
print(asyncio.run(ensure_limit(sys.argv[1])))
"""


async def _drop(name: str) -> None:
    async with get_client() as client:
        with contextlib.suppress(ObjectNotFound):  # absent already
            await client.delete_global_concurrency_limit_by_name(name)


async def _read(name: str) -> tuple[int, float]:
    async with get_client() as client:
        found = await client.read_global_concurrency_limit_by_name(name)
    return found.limit, found.slot_decay_per_second or 0.0


async def test_a_missing_limit_is_made_once_with_setups_values() -> None:
    await _drop("provider-kling")
    forget_ensured()
    assert await ensure_limit("provider-kling") is True
    assert await ensure_limit("provider-kling") is False, "asked once per process"
    assert await _read("provider-kling") == (3, 0.0)
    assert await ensure_limit("someone-elses-limit") is False, "not ours: left alone"


def test_two_processes_racing_for_a_missing_limit_make_it_once() -> None:
    asyncio.run(_drop("notion-api"))
    env = os.environ | {"PYTHONPATH": str(PROJECT_ROOT)}
    racers = [
        subprocess.Popen([sys.executable, "-c", RACE, "notion-api"], cwd=PROJECT_ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # fmt: skip
    results = [racer.communicate(timeout=120) for racer in racers]
    assert all(racer.returncode == 0 for racer in racers), results
    made = sorted(out.strip().splitlines()[-1] for out, _ in results)
    assert made == ["False", "True"], f"made once, the other found it or lost the 409: {results}"
    wanted = next(limit for limit in LIMITS if limit.name == "notion-api")
    assert asyncio.run(_read("notion-api")) == (wanted.limit, wanted.slot_decay_per_second)


async def test_block_types_are_registered_once_per_process() -> None:
    forget_ensured()
    await ensure_block_types(NotionBoard)
    async with get_client() as client:
        found = await client.read_block_type_by_slug(NotionBoard.get_block_type_slug())
    assert found.name == "Reelflow Notion Board"
