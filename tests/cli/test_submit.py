"""``reelflow submit``: every problem is one line; one bad plan never stops the others."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from typer.testing import CliRunner

from flows.cli.main import app
from tests.conftest import Configure
from tests.factories import TINY

runner = CliRunner()

pytestmark = pytest.mark.usefixtures("prefect_api")


@pytest.fixture
def deployment() -> Iterator[str]:
    """A produce-video deployment of its own (no worker: its runs stay scheduled), removed
    afterwards with its runs."""
    name = f"test-submit-{uuid4().hex[:8]}"

    async def create() -> UUID:
        async with get_client() as client:
            flow_id = await client.create_flow_from_name("produce-video")
            return await client.create_deployment(
                flow_id=flow_id, name=name, entrypoint="flows/pipeline.py:produce_video"
            )

    async def remove(deployment_id: UUID) -> None:
        async with get_client() as client:
            mine = DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
            for run in await client.read_flow_runs(deployment_filter=mine):
                await client.delete_flow_run(run.id)
            await client.delete_deployment(deployment_id)

    deployment_id = asyncio.run(create())
    yield f"produce-video/{name}"
    asyncio.run(remove(deployment_id))


def _plan(folder: Path, project_id: str) -> Path:
    path = folder / f"{project_id}.yaml"
    path.write_text(TINY.read_text().replace("project_id: tiny", f"project_id: {project_id}"))
    return path


def _videos() -> list[dict[str, object]]:
    return json.loads(runner.invoke(app, ["status", "--json"]).stdout)  # type: ignore[no-any-return]


def test_without_the_deployment_it_says_which_and_how_to_make_it(configure: Configure) -> None:
    configure()
    result = runner.invoke(app, ["submit", str(TINY), "--deployment", "produce-video/nope"])
    assert result.exit_code == 1, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: no deployment 'produce-video/nope' on the Prefect server")
    assert "prefect --no-prompt deploy --all" in line
    assert _videos() == []  # checked before any video is opened


def test_a_bad_plan_is_one_line(configure: Configure, tmp_path: Path) -> None:
    configure()
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.read_text().replace("duration: 2\n", "duration: zero\n"))
    result = runner.invoke(app, ["submit", str(bad)])
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [
        f"error: {bad}: scene 'storm' (#3) duration: Input should be a valid number"
    ]
    assert result.stdout == ""


def test_a_folder_submits_every_good_plan_and_names_each_bad_one(
    configure: Configure, tmp_path: Path, deployment: str
) -> None:
    configure()
    plans = tmp_path / "plans"
    plans.mkdir()
    good = [_plan(plans, "first"), _plan(plans, "second")]
    (plans / "broken.yaml").write_text("title: [unclosed\n")
    (plans / "empty.json").write_text("{}")
    missing = tmp_path / "missing.yaml"
    args = ["submit", str(missing), str(plans), "--deployment", deployment]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    started = result.stdout.splitlines()
    assert [line.split()[1] for line in started] == [str(p) for p in good]
    for line in started:
        UUID(line.split()[0])
    errors = result.stderr.splitlines()
    assert len(errors) == 3, result.stderr
    assert errors[0] == f"error: no such plan: {missing}"
    assert errors[1].startswith(f"error: {plans / 'broken.yaml'}")
    assert errors[2].startswith(f"error: {plans / 'empty.json'}")
    assert sorted(v["project_id"] for v in _videos()) == ["first", "second"]
