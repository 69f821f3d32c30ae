"""The ``prune`` flow: the core's prune, with a markdown table of the sizes as an artifact."""

from __future__ import annotations

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from flows.core.errors import ConfigError
from flows.core.settings import Settings
from flows.prune import prune
from tests.cli.test_prune import rejected_video

pytestmark = pytest.mark.usefixtures("prefect_api")


async def test_the_flow_prunes_and_publishes_the_sizes(settings: Settings) -> None:
    folder = await rejected_video(settings, "old", days_ago=40)
    dry = await prune(older_than_days=30, dry_run=True)
    assert dry["dry_run"] and dry["kinds"]["outputs"] == {
        "items": 1, "bytes": 10_000, "before": 10_000, "after": 0,
    }  # fmt: skip
    assert folder.is_dir()

    state = await prune(older_than_days=30, return_state=True)
    summary = await state.aresult()
    assert summary["kinds"]["outputs"]["items"] == 1 and not folder.exists()
    assert summary["kinds"]["outputs"]["after"] == 0 and summary["skipped"] == 0
    run_id = state.state_details.flow_run_id
    async with get_client() as client:
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    [artifact] = [a for a in artifacts if a.key == "storage-prune"]
    assert "| outputs | 1 | 9.8 KiB | 9.8 KiB | 0 B |" in str(artifact.data)
    assert "freed 9.8 KiB" in str(artifact.data)


async def test_a_negative_age_fails_the_flow(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="must not be negative"):
        await prune(older_than_days=-1)
