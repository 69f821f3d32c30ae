"""Channel names: one rule (flows/core/names.py), checked wherever a name enters a path."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.core.errors import ConfigError, ManifestError
from flows.core.manifest import parse_manifest
from flows.core.names import CHANNEL_NAME, CHANNEL_RULE, check_channel_name
from flows.core.steps import VideoPaths

BAD = ["", "../up", "/tmp/x", "a/b", "..", ".", "Bad_Name", "-lead", "a b", "x\n", "a" * 64]


@pytest.mark.parametrize("name", ["default", "cli", "a", "9", "my-channel-2", "a" * 63])
def test_good_names_pass_unchanged(name: str) -> None:
    assert check_channel_name(name) == name
    assert CHANNEL_NAME.fullmatch(name)


@pytest.mark.parametrize("name", BAD)
def test_bad_names_are_refused_in_one_line_naming_the_value_and_the_rule(name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_channel_name(name)
    message = str(caught.value)
    assert message == f"channel name {name!r}: {CHANNEL_RULE}"
    assert "\n" not in message


def _plan(channel: str) -> dict[str, object]:
    scene = {"id": "a", "title": "A", "background": "sky", "duration": 1, "narration": "hi"}
    return {"title": "T", "project_id": "p", "channel": channel, "scenes": [scene]}


def test_a_plan_with_an_escaping_channel_fails_validation() -> None:
    with pytest.raises(ManifestError) as caught:
        parse_manifest(_plan("../../tmp/escaped"), source="plan.yaml")
    assert (
        str(caught.value) == f"plan.yaml: channel: channel name '../../tmp/escaped': {CHANNEL_RULE}"
    )
    assert caught.value.field == "channel"  # type: ignore[attr-defined]


def test_a_plan_with_a_good_channel_or_none_loads() -> None:
    assert parse_manifest(_plan("docs"), source="plan.yaml").channel == "docs"
    plan = _plan("x")
    del plan["channel"]
    assert parse_manifest(plan, source="plan.yaml").channel is None


def test_video_paths_stay_inside_the_output_root(tmp_path: Path) -> None:
    paths = VideoPaths.for_video(tmp_path / "out", "cli", "tiny")
    assert paths.root == tmp_path / "out" / "cli" / "tiny"


@pytest.mark.parametrize(
    ("channel", "project_id"),
    [
        ("../up", "tiny"),
        ("/tmp/x", "tiny"),
        ("..", "tiny"),
        (".", ".."),
        ("", "tiny"),
        ("cli", ""),
        ("cli", "../../escaped"),
        ("cli", "/etc"),
        ("a\\..\\..", "tiny"),
    ],
)
def test_video_paths_refuse_anything_outside_the_root(
    tmp_path: Path, channel: str, project_id: str
) -> None:
    with pytest.raises(ConfigError):
        VideoPaths.for_video(tmp_path / "out", channel, project_id)


def test_video_paths_refuse_a_folder_that_resolves_outside_the_root(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    (root / "cli").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ConfigError, match="outside the output root"):
        VideoPaths.for_video(root, "cli", "tiny")
