"""``reelflow setup``: blocks registered and global concurrency limits created, idempotently."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
from typer.testing import CliRunner

from flows.cli.main import app

pytestmark = pytest.mark.usefixtures("prefect_api")

runner = CliRunner()


async def _limits() -> dict[str, tuple[int, float]]:
    async with get_client() as client:
        found = await client.read_global_concurrency_limits(limit=200)
        return {gcl.name: (gcl.limit, gcl.slot_decay_per_second) for gcl in found}


async def _drop(name: str) -> None:
    async with get_client() as client:
        with contextlib.suppress(ObjectNotFound):
            await client.delete_global_concurrency_limit_by_name(name)


def test_setup_creates_what_is_missing_and_keeps_what_exists() -> None:
    asyncio.run(_drop("provider-kling"))
    first = runner.invoke(app, ["setup"])
    assert first.exit_code == 0, first.output
    assert "registered blocks: reelflow-channel, reelflow-notion-board" in first.stdout
    assert "created provider-kling (limit 3)" in first.stdout
    limits = asyncio.run(_limits())
    assert limits["notion-api"] == (1, 3.0)
    assert {"provider-gemini", "provider-kling", "provider-elevenlabs"} <= set(limits)
    second = runner.invoke(app, ["setup"])
    assert second.exit_code == 0 and "created" not in second.stdout
    assert "kept notion-api (limit 1, 3 slot(s)/s decay)" in second.stdout
