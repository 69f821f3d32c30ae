"""An outline into a plan: the same plan every time, every missing field filled, problems
named by line, the commented YAML reads back as the same plan, and the plan makes a video."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.core.errors import ManifestError
from flows.core.manifest import parse_manifest
from flows.core.manifest_file import parse_plan_text
from flows.core.media import probe
from flows.core.narration_fit import estimate_speech
from flows.core.outline import OutlineOptions, outline_to_plan
from flows.core.plan_yaml import commented_yaml
from flows.core.settings import Settings
from tests.conftest import PROJECT_ROOT, Configure
from tests.factories import produce

TINY_OUTLINE = Path(__file__).with_name("tiny_outline.md")
EXAMPLE = PROJECT_ROOT / "examples" / "outline.md"


def test_the_same_outline_gives_the_same_plan_with_every_field_filled() -> None:
    text = TINY_OUTLINE.read_text()
    plan = outline_to_plan(text)
    assert plan == outline_to_plan(text)
    assert (plan.title, plan.project_id, plan.resolution, plan.fps) == (
        "A Tiny River", "a-tiny-river", "160x90", 12,
    )  # fmt: skip
    assert [s.id for s in plan.scenes] == ["spring", "rapids", "sea"]
    spring, rapids, sea = plan.scenes
    assert spring.narration == "Snow melts into a spring."
    assert spring.background == "Spring: Snow melts into a spring"
    assert spring.sfx == "flowing water"  # "spring" names water
    assert rapids.foreground == "white water" and rapids.layout.position == "bottom"
    assert sea.sfx is None, "`> sfx: none` means silence"
    assert [s.motion for s in plan.scenes] == ["slow zoom in", "slow pan right", "slow zoom out"]
    for scene in plan.scenes:  # long enough to say, in half seconds, at least 2 s
        assert scene.duration >= max(2.0, estimate_speech(scene.narration))
        assert scene.duration * 2 == int(scene.duration * 2)


def test_the_example_outline_reads_back_from_its_commented_yaml() -> None:
    plan = outline_to_plan(EXAMPLE.read_text(), OutlineOptions(voice="en-us"))
    text = commented_yaml(plan, origin="from the example")
    assert parse_manifest(parse_plan_text(text, source="yaml")) == plan
    assert plan.voice == "en-us" and plan.scenes[1].fit == "extend"
    assert plan.scenes[3].background.startswith("a vast red canyon"), "a hint wins"
    assert "documentary photograph" in plan.scenes[0].background, "the plan's style"


@pytest.mark.parametrize(
    ("outline", "problem"),
    [
        ("## Scene\nText.\n", "outline: no title: start the outline with a `# Title` line"),
        ("# T\nJust a note.\n", "outline: no scenes: give each scene a `## Heading` line"),
        ("# T\n## A\n## B\nSaid.\n", "outline line 2: scene 'A' has no narration"),
        ("# T\n## A\n> colour: red\nSaid.\n", "outline line 3: write hints for a scene as"),
        ("# T\n> background: x\n", "outline line 2: write hints for the plan (before"),
        ("# T\n## A\n> duration: long\nSaid.\n", "outline line 2: hint 'duration' must be a n"),
        ("# T\n# U\n", "outline line 2: a second `#` title; scenes are `##`"),
        ("# T\n## A\n> fit: always\nSaid.\n", "outline: scene 'a' (#1) fit: Input should be"),
    ],
)
def test_a_bad_outline_is_one_line_naming_where(outline: str, problem: str) -> None:
    with pytest.raises(ManifestError) as caught:
        outline_to_plan(outline)
    assert str(caught.value).startswith(problem)


def test_a_card_title_stands_in_for_a_missing_heading_and_ids_stay_unique() -> None:
    plan = outline_to_plan("## Intro\nOne.\n\n## Intro\nTwo.\n", OutlineOptions(title="Café"))
    assert plan.project_id == "cafe" and [s.id for s in plan.scenes] == ["intro", "intro-2"]
    published = outline_to_plan("# Published\n## A\nSaid.\n")
    assert published.project_id == "published-video", "not the channel's published/ folder"


@pytest.mark.usefixtures("prefect_api")
async def test_the_outline_plan_produces_a_video_at_its_tiny_size(configure: Configure) -> None:
    settings: Settings = configure(scripts_dir=PROJECT_ROOT / "scripts",
                                   retry_delay_seconds="0.05")  # fmt: skip
    plan = outline_to_plan(TINY_OUTLINE.read_text())
    result = await produce(plan, channel="outline")
    info = probe(Path(result["output"]))
    assert (info.width, info.height) == (160, 90)
    assert abs(info.duration - plan.duration) <= 0.5
    assert Path(result["output"]).is_relative_to(settings.output_dir / "outline" / "a-tiny-river")
