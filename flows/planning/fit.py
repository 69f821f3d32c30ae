"""Narration that fits its scenes, in the pipeline: say which narrations are cut, and
lengthen the scenes that may extend before any clip is made.

What was chosen: a plan with a scene that may extend (``fit: extend``, on the scene or the
plan) has its narration made *first* (``step_order``): speech does not depend on a scene's
length, so its measured duration is known before the pictures, clips and sound effects,
and each of those is made once, at the scene's final length. Narration keeps its place in
every other plan. After the narration step (``after_narration``) each narration longer than
its scene is logged as a warning (cut at the scene's end, or extended), and the extended plan
is stored on the video with a ``plan_extended`` event, so a resumed run, ``reelflow status``
and the review see the lengths that were made. Narration items' cache keys do not involve
the duration, so a resumed run takes them from the cache.
"""

from __future__ import annotations

from prefect import get_run_logger

from flows.core import videos
from flows.core.manifest import Manifest
from flows.core.narration_fit import extend_to_speech, measured_notes, needs_speech_first
from flows.core.steps import STEPS, ItemResult
from flows.core.store import session_scope

__all__ = ["after_step", "step_order"]


def step_order(plan: Manifest) -> tuple[str, ...]:
    """The steps in the order they run for ``plan``: narration first when a scene may
    extend, else the usual order."""
    if not needs_speech_first(plan):
        return STEPS
    return ("narration", *(step for step in STEPS if step != "narration"))


async def after_step(
    video_id: int, plan: Manifest, step: str, results: list[ItemResult]
) -> Manifest:
    """The plan for the steps still to run: after narration, with every ``extend`` scene
    lengthened to its speech (and stored); otherwise ``plan`` itself."""
    if step != "narration":
        return plan
    speech = {r.label.split("/", 1)[1]: r.duration for r in results}
    logger = get_run_logger()
    for note in measured_notes(plan, speech):
        logger.warning("video %s: %s", video_id, note.message())
    extended = extend_to_speech(plan, speech)
    if extended is not plan:
        await _store(video_id, plan, extended)
    return extended


async def _store(video_id: int, before: Manifest, after: Manifest) -> None:
    lengths = {
        old.id: {"from": old.duration, "to": new.duration}
        for old, new in zip(before.scenes, after.scenes, strict=True)
        if old.duration != new.duration
    }
    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=video_id, lock=True)
        video.manifest = after.model_dump(mode="json")
        await videos.record_event(
            session=session, video=video, kind="plan_extended", actor="fit: extend",
            detail={"scenes": lengths},
        )  # fmt: skip
