"""Narration that does not fit its scene: said from the text before anything is made, said
again from the measured speech, and with ``fit: extend`` the scene lengthened to the speech
before its clip is made (each clip made once)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flows.core import videos
from flows.core.manifest import parse_manifest
from flows.core.media import probe
from flows.core.narration_fit import (
    estimate_speech,
    estimated_notes,
    extend_to_speech,
    measured_notes,
    scene_length_for,
)
from flows.core.store import session_scope
from flows.planning.fit import step_order
from tests.conftest import PROJECT_ROOT, Configure
from tests.factories import produce, runs_by_label, statuses

LONG = "The river carves the canyon grain by grain, for a million patient years."


def plan(**overrides: Any) -> Any:
    data: dict[str, Any] = {
        "title": "Fit", "project_id": "fit", "resolution": "160x90", "fps": 12,
        "scenes": [
            {"id": "long", "title": "Long", "background": "a canyon", "duration": 1.0,
             "narration": LONG, "motion": "static"},
            {"id": "short", "title": "Short", "background": "the sea", "duration": 1.5,
             "narration": "It rests."},
        ],
    }  # fmt: skip
    data.update(overrides)
    return parse_manifest(data)


def test_the_estimate_names_the_scene_that_cannot_fit_and_what_happens() -> None:
    notes = estimated_notes(plan())
    assert [n.scene for n in notes] == ["long"]
    assert notes[0].message() == (
        f"scene 'long' (#1): narration is estimated at {estimate_speech(LONG):.1f} s, the "
        "scene 1 s: it is cut at 1 s (set `fit: extend` to lengthen it)"
    )
    assert 3.5 < estimate_speech(LONG) < 4.5  # 72 characters at 17.5 a second
    assert estimate_speech("x" * 40, "JBFqnCBsd6RMkjVDRZzb") > estimate_speech("x" * 40, "en")


def test_only_extend_scenes_are_lengthened_and_never_shortened() -> None:
    cut = plan()
    assert extend_to_speech(cut, {"long": 4.0, "short": 0.5}) is cut
    extend = plan(fit="extend")
    longer = extend_to_speech(extend, {"long": 4.04, "short": 0.5})
    assert [s.duration for s in longer.scenes] == [scene_length_for(4.04), 1.5] == [4.5, 1.5]
    one = plan(scenes=[{**plan().scenes[0].model_dump(), "fit": "extend"},
                       plan().scenes[1].model_dump()])  # fmt: skip
    assert step_order(one)[0] == "narration" and step_order(plan())[0] == "assets"
    notes = measured_notes(one, {"long": 4.0})
    assert notes[0].message().endswith("the scene is extended to 4.4 s")


@pytest.mark.usefixtures("prefect_api")
async def test_an_extend_scene_is_lengthened_to_its_speech_before_its_clip(
    configure: Configure,
) -> None:
    configure(scripts_dir=PROJECT_ROOT / "scripts", retry_delay_seconds="0.05")
    result = await produce(plan(fit="extend"), channel="fit")
    video_id = result["video_id"]
    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=video_id)
        events = await videos.list_events(session=session, video_id=video_id)
    stored = parse_manifest(video.manifest)
    long_scene = stored.scene("long")
    assert long_scene.duration > 3.0, "lengthened to the measured speech"
    assert stored.scene("short").duration == 1.5
    extended = [e for e in events if e.kind == "plan_extended"]
    assert extended[0].detail["scenes"] == {"long": {"from": 1.0, "to": long_scene.duration}}
    order = await statuses(video_id)
    assert order[1:3] == ["generating_audio", "generating_assets"], "narration first"
    runs = await runs_by_label()
    assert runs["video/long"] == runs["narration/long"] == 1, "each item made once"
    clip = probe(Path(result["output"]).parents[1] / "video" / "long.mp4")
    assert abs(clip.duration - long_scene.duration) < 0.1, "the clip was made at its length"
    final = probe(Path(result["output"]))
    assert abs(final.duration - stored.duration) <= 0.5
