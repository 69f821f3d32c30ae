"""The review gate on local runs: decisions, requested changes, artifacts, expiry."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from PIL import Image
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.responses import SetStateStatus
from pydantic import ValidationError

from flows.core import videos
from flows.core.errors import ReviewError
from flows.core.settings import Settings
from flows.core.store import session_scope
from flows.pipeline import produce_video
from flows.review import (
    ReviewDecision,
    SceneChange,
    answer_when_paused,
    decision_form,
    submit_decision,
)
from tests.conftest import PROJECT_ROOT, Configure
from tests.factories import TINY, open_video, produce, runs_by_label, statuses

pytestmark = pytest.mark.usefixtures("prefect_api")


@pytest.fixture
def review_settings(configure: Configure) -> Settings:
    return configure(scripts_dir=PROJECT_ROOT / "scripts", retry_delay_seconds="0.05")


async def test_requested_changes_redo_only_those_scenes_and_the_assembly(
    review_settings: Settings,
) -> None:
    change = ReviewDecision(
        decision="request_changes",
        reviewer="ada",
        changes=[SceneChange(scene="forest", narration="In the forest, an owl calls at dusk.")],
    )
    result = await produce(answers=[change, ReviewDecision(decision="approve", reviewer="ada")])
    runs = await runs_by_label()
    twice = {label for label, n in runs.items() if n == 2}
    assert twice == {"narration/forest", "assembly/final"}
    assert all(n <= 2 for n in runs.values())
    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=result["video_id"])
        events = await videos.list_events(session=session, video_id=video.id)
    assert video.status == "published" and video.review_round == 2  # approved, then published
    assert video.manifest["scenes"][1]["narration"] == "In the forest, an owl calls at dusk."
    asked = [e for e in events if e.kind == "changes_requested"]
    assert len(asked) == 1 and asked[0].actor == "ada"
    assert asked[0].detail["changes"] == [
        {"scene": "forest", "narration": "In the forest, an owl calls at dusk."}
    ]
    assert (await statuses(video.id)).count("awaiting_review") == 2
    srt = Path(result["subtitles"]).read_text()
    assert "an owl calls at dusk" in srt


async def test_a_change_to_an_unknown_scene_is_refused_and_the_gate_keeps_waiting(
    review_settings: Settings,
) -> None:
    """The form is the video's own: its scene ids are the only choices, and the server
    refuses any other, so the reviewer hears about it at once and can answer again."""
    bad = ReviewDecision(
        decision="request_changes", changes=[SceneChange(scene="nope", narration="x")]
    )
    refusals: list[str] = []

    async def answer(video: Any) -> ReviewDecision | None:
        if not refusals:
            try:
                await submit_decision(video.flow_run_id, bad)
            except ReviewError as exc:
                refusals.append(str(exc))
        return ReviewDecision(decision="approve", reviewer="ada")

    video_id = await open_video(TINY, "test")
    reviewer = asyncio.create_task(answer_when_paused(video_id, answer, poll=0.2, rounds=1))
    try:
        result = await produce_video(video_id=video_id, review_timeout_hours=1)
    finally:
        reviewer.cancel()
    assert result["decision"]["decision"] == "approve"
    (refused,) = refusals
    assert "refused the decision" in refused and "'nope' is not one of" in refused, refused
    assert all(n == 1 for n in (await runs_by_label()).values())


def test_the_form_of_a_video_offers_its_own_scene_ids() -> None:
    form = decision_form(["dawn", "forest", "storm"])
    schema = form.model_json_schema()
    change = schema["$defs"]["SceneChange"]["properties"]
    assert change["scene"]["enum"] == ["dawn", "forest", "storm"]
    assert all(change[f]["type"] == "string" for f in ("narration", "background", "motion"))
    assert form.model_validate(
        {"decision": "request_changes", "changes": [{"scene": "storm", "narration": "Rain."}]}
    ).changes[0].as_change() == {"scene": "storm", "narration": "Rain."}
    with pytest.raises(ValidationError):
        form.model_validate({"decision": "request_changes", "changes": [{"scene": "x"}]})


async def test_a_reviewer_gets_a_contact_sheet_the_narration_costs_and_the_file(
    approved_tiny: tuple[dict[str, Any], Settings],
) -> None:
    result, _ = approved_tiny  # produce() of TINY, approved (made once per session)
    sheet = Path(result["output"]).with_name("tiny-contact-sheet.png")
    with Image.open(sheet) as image:
        assert image.size[0] == 4 * 320
    async with session_scope() as session:
        run_id = (await videos.get_video(session=session, video_id=result["video_id"])).flow_run_id
    async with get_client() as client:  # other tests' videos have the same ids: this run's
        mine = ArtifactFilter(
            key=ArtifactFilterKey(like_=f"video-{result['video_id']}-"),
            flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(str(run_id))]),
        )
        artifacts = {a.key: a for a in await client.read_artifacts(artifact_filter=mine)}
    key = f"video-{result['video_id']}-review"
    assert "data:image/jpeg;base64," in artifacts[f"{key}-contact-sheet"].data
    assert "Then the storm arrives." in artifacts[f"{key}-narration"].data
    scenes = artifacts[f"{key}-scenes"].data
    assert scenes.count("data:image/jpeg;base64,") == 3 and "| 1.5 s | $0.00 |" in scenes
    assert artifacts[f"{key}-costs"].type == "table"
    assert "tiny.mp4" in artifacts[f"{key}-video"].data
    finish = artifacts[f"{key}-finish"].data
    assert "- loudness landscape: " in finish and "LUFS (target -14)" in finish
    assert "![thumbnail](data:image/jpeg;base64," in finish
    assert "tiny-thumbnail.jpg" in artifacts[f"{key}-thumbnail"].data
    assert "| video | 3/3 |" in artifacts[f"video-{result['video_id']}-summary"].data
    decision = artifacts[f"video-{result['video_id']}-decision"].data
    assert decision.startswith("## Review round 0: approve") and "**Reviewer:** tests" in decision


async def test_a_review_that_times_out_is_marked_expired(review_settings: Settings) -> None:
    result = await produce(answer=False, review_timeout_hours=2 / 3600)
    assert result["decision"] is None
    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=result["video_id"])
    assert video.status == "review_expired"


async def test_a_review_that_times_out_rejects_the_video_when_the_run_says_so(
    review_settings: Settings,
) -> None:
    result = await produce(answer=False, review_timeout_hours=2 / 3600, on_review_timeout="reject")
    assert result["decision"] is None
    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=result["video_id"])
    assert (video.status, video.error) == ("rejected", "the review timed out with no decision")


def test_a_rejection_without_a_reason_is_refused() -> None:
    with pytest.raises(ValidationError, match="a rejection needs a reason"):
        ReviewDecision(decision="reject")


def test_requested_changes_must_name_what_changes() -> None:
    with pytest.raises(ValidationError, match="at least one scene change"):
        ReviewDecision(decision="request_changes")
    with pytest.raises(ValidationError, match="must set at least one field"):
        SceneChange(scene="storm")


async def test_a_resume_without_a_decision_is_refused_and_never_approves(
    review_settings: Settings,
) -> None:
    """The form has no preset: Prefect's resume endpoint checks the input against the
    schema (what the UI's Resume button calls), so an empty Resume leaves the run paused."""
    schema = ReviewDecision.model_json_schema()
    assert "decision" in schema["required"] and "default" not in schema["properties"]["decision"]
    for name in ("reason", "notes", "reviewer"):
        assert schema["properties"][name]["type"] == "string", "no str/None type picker"
    video_id = await open_video(TINY, "test")
    running = asyncio.create_task(produce_video(video_id=video_id, review_timeout_hours=1))
    try:
        async with get_client() as client:
            while True:
                async with session_scope() as session:
                    video = await videos.get_video(session=session, video_id=video_id)
                if video.flow_run_id and video.status == "awaiting_review":
                    run = await client.read_flow_run(UUID(video.flow_run_id))
                    if run.state and run.state.is_paused():
                        break
                assert not running.done(), running
                await asyncio.sleep(0.2)
            refused = await client.resume_flow_run(run.id, run_input={})
            assert refused.status == SetStateStatus.REJECT, refused
            assert "'decision' is a required property" in str(refused.details)
            await asyncio.sleep(1.5)  # the gate polls every second: it must still be waiting
            still = await client.read_flow_run(run.id)
            assert still.state is not None and still.state.type == StateType.PAUSED
            async with session_scope() as session:
                video = await videos.get_video(session=session, video_id=video_id)
            assert video.status == "awaiting_review"
            accepted = await client.resume_flow_run(
                run.id, run_input={"decision": "reject", "reason": "too dark"}
            )
            assert accepted.status == SetStateStatus.ACCEPT, accepted
        result = await asyncio.wait_for(running, 60)
    finally:
        running.cancel()
    assert result["decision"]["decision"] == "reject"
    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=video_id)
    assert video.status == "rejected" and video.error == "too dark"
