"""The plan-and-produce flow: a topic planned by the Gemini stand-in (a refused answer fed
back first), shown as an artifact, then made into a video at a tiny size and reviewed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from flows.core import videos
from flows.core.errors import ConfigError
from flows.core.media import probe
from flows.core.store import session_scope
from flows.planning.plan_and_produce import plan_and_produce
from flows.review import ReviewDecision, answer_when_paused
from tests.conftest import PROJECT_ROOT, Configure
from tests.planning.fake_gemini import FakeGeminiText

pytest_plugins = ["tests.planning.fixtures"]
pytestmark = pytest.mark.usefixtures("prefect_api")

NO_SCENES = '{"title": "Canyons", "project_id": "canyons", "scenes": []}'


async def approve_when_made(channel: str, project_id: str) -> None:
    """Wait for the flow's video, then approve it at its gate (as a reviewer would)."""
    while True:
        async with session_scope() as session:
            video = await videos.find_resumable_video(
                session=session, channel=channel, project_id=project_id
            )
        if video is not None:
            break
        await asyncio.sleep(0.2)

    async def approve(_: object) -> ReviewDecision:
        return ReviewDecision(decision="approve", reason="", reviewer="tests")

    await answer_when_paused(video.id, approve, poll=0.2, rounds=1)


async def test_a_topic_is_planned_shown_and_made(
    configure: Configure, gemini_text: FakeGeminiText
) -> None:
    configure(scripts_dir=PROJECT_ROOT / "scripts", retry_delay_seconds="0.05")
    gemini_text.plan_seconds = 6.0
    gemini_text.answers.append(NO_SCENES)
    reviewer = asyncio.create_task(approve_when_made("topic", "canyons"))
    try:
        result = await plan_and_produce(
            topic="How rivers carve canyons", minutes=0.1, channel="topic",
            resolution="160x90", fps=12, start="here",
        )  # fmt: skip
    finally:
        reviewer.cancel()
        await asyncio.gather(reviewer, return_exceptions=True)
    video_id = result["video_id"]
    assert result["runs"] == {video_id: "finished"} and result["plan_cost_usd"] > 0
    assert (result["scenes"], result["seconds"]) == (2, 6.0), "the schema's maxItems held"
    assert len(gemini_text.seen(method="POST")) == 2, "the empty plan was fed back once"
    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=video_id)
    assert video.status in ("approved", "published")  # a channel may publish on approval
    final = probe(Path(video.output_path or ""))
    assert (final.width, final.height) == (160, 90) and abs(final.duration - 6.0) <= 0.5
    async with get_client() as client:
        shown = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["plan"]))
        )
    assert any("project_id: canyons" in str(a.data) for a in shown)


async def test_a_topic_or_an_outline_is_needed_but_not_both(configure: Configure) -> None:
    configure(scripts_dir=PROJECT_ROOT / "scripts")
    for topic, outline in (("", ""), ("rivers", "# Rivers\n## One\nSaid.\n")):
        with pytest.raises(ConfigError, match="give a topic or an outline"):
            await plan_and_produce(topic=topic, outline=outline, start="here")


def test_the_deployment_takes_a_topic_or_an_outline_minutes_and_a_channel() -> None:
    import inspect

    import yaml

    spec = yaml.safe_load((PROJECT_ROOT / "deployments" / "prefect.yaml").read_text())
    [entry] = [d for d in spec["deployments"] if d["name"] == "plan-and-produce"]
    path, _, name = entry["entrypoint"].partition(":")
    assert (PROJECT_ROOT / path).is_file() and name == plan_and_produce.fn.__name__
    parameters = inspect.signature(plan_and_produce.fn).parameters
    assert {"topic", "outline", "minutes", "channel"} <= set(parameters)
    assert set(entry["parameters"]) <= set(parameters)
