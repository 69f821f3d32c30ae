"""The plan: caps on every text (flows/core/manifest_limits.py), strict types, finite numbers,
no blank text, voices checked offline, and every bad file refused in one ManifestError line."""

from __future__ import annotations

import copy
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.core import manifest_limits as limits
from flows.core.errors import ManifestError
from flows.core.manifest import Manifest, load_manifest, parse_manifest
from tests.conftest import PROJECT_ROOT

EXAMPLES = sorted((PROJECT_ROOT / "examples").glob("*.yaml"))
TINY = PROJECT_ROOT / "examples" / "tiny.yaml"


def tiny() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(TINY.read_text(encoding="utf-8")))


def refused(data: Any) -> str:
    with pytest.raises(ManifestError) as caught:
        parse_manifest(data)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 3000, message
    return message


def refused_file(path: Path) -> str:
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path)), message
    return message


def with_scene(**fields: Any) -> dict[str, Any]:
    data = tiny()
    data["scenes"][0].update(fields)
    return data


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_examples_and_the_demo_plan_are_valid(path: Path) -> None:
    assert isinstance(load_manifest(path), Manifest)


# --- 1. unbounded input ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("title", limits.MAX_SCENE_TITLE),
        ("background", limits.MAX_BACKGROUND),
        ("foreground", limits.MAX_FOREGROUND),
        ("motion", limits.MAX_MOTION),
        ("narration", limits.MAX_NARRATION),
        ("sfx", limits.MAX_SFX),
    ],
)
def test_every_scene_text_is_capped_at_what_its_provider_accepts(field: str, limit: int) -> None:
    parse_manifest(with_scene(**{field: "a" * limit}))
    message = refused(with_scene(**{field: "a" * (limit + 1)}))
    assert (
        message
        == f"manifest: scene 'dawn' (#1) {field}: String should have at most {limit} characters"
    )


def test_provider_caps_are_within_the_providers_limits() -> None:
    assert limits.MAX_MOTION + 100 <= 2500  # Kling's prompt, with our suffix
    assert limits.MAX_SFX <= 450 and limits.MAX_NARRATION <= 10_000


def test_plan_title_voice_and_the_number_of_scenes_are_capped() -> None:
    assert "title: String should have at most" in refused({**tiny(), "title": "t" * 501})
    assert "voice: String should have at most 100" in refused({**tiny(), "voice": "e" * 101})
    data = tiny()
    data["scenes"] = [dict(data["scenes"][0], id=f"s{i}") for i in range(limits.MAX_SCENES + 1)]
    assert "scenes: List should have at most 500 items" in refused(data)


def test_a_50_mb_prompt_is_refused_at_once_without_reading_the_file_whole(tmp_path: Path) -> None:
    plan = tmp_path / "huge.yaml"
    text = TINY.read_text(encoding="utf-8")
    plan.write_text(text.replace("a calm sunrise", "a calm " + "x" * 50_000_000), encoding="utf-8")
    tracemalloc.start()
    try:
        assert refused_file(plan) == f"{plan}: larger than 1 MiB; a plan is smaller"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, f"{peak} bytes held for a 50 MB file: it was read"


def test_a_plan_of_500_full_scenes_is_within_the_value_limit(tmp_path: Path) -> None:
    data = tiny()
    scene = dict(data["scenes"][0], voice="en-us", layout={"position": "left", "scale": 0.5})
    data["scenes"] = [dict(scene, id=f"s{i}") for i in range(limits.MAX_SCENES)]
    plan = tmp_path / "full.yaml"
    plan.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert len(load_manifest(plan).scenes) == limits.MAX_SCENES
    flat = tmp_path / "flat.yaml"
    flat.write_text("scenes: [" + ", ".join(["1"] * 300_000) + "]\n")
    assert refused_file(flat).endswith(f"more than {limits.MAX_NODES} values")


def test_a_plan_file_of_exactly_the_cap_is_read(tmp_path: Path) -> None:
    plan = tmp_path / "padded.yaml"
    text = TINY.read_text(encoding="utf-8") + "#"
    plan.write_text(text + "x" * (limits.MAX_PLAN_BYTES - len(text.encode()) - 1) + "\n")
    assert plan.stat().st_size == limits.MAX_PLAN_BYTES
    assert load_manifest(plan).project_id == "tiny"


# --- 2. accepted but wrong -----------------------------------------------------------------


@pytest.mark.parametrize("field", ["narration", "title", "background", "motion"])
@pytest.mark.parametrize("blank", ["", "   ", "\n\t "])
def test_blank_text_is_refused(field: str, blank: str) -> None:
    message = refused(with_scene(**{field: blank}))
    assert message.startswith(f"manifest: scene 'dawn' (#1) {field}: ")
    assert "blank" in message or "at least 1 character" in message


@pytest.mark.parametrize("field", ["foreground", "sfx"])
def test_optional_prompts_may_be_left_empty_but_not_blank(field: str) -> None:
    assert getattr(parse_manifest(with_scene(**{field: ""})).scenes[0], field) is None
    assert refused(with_scene(**{field: "  "})).endswith(f"{field}: must not be blank")


def test_the_published_folders_name_is_not_a_project_id() -> None:
    message = refused({**tiny(), "project_id": "published"})
    assert message.endswith(
        "project_id: 'published' is the name of the channel's folder of published videos; "
        "choose another"
    )
    assert parse_manifest({**tiny(), "project_id": "published-1"}).project_id == "published-1"


def test_control_characters_such_as_nul_are_refused() -> None:
    message = refused(with_scene(narration="hello\x00world"))
    assert message.endswith("narration: must not contain control characters (such as NUL)")
    assert parse_manifest(with_scene(narration="line one\nline two\ttab")).scenes[0]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("fps", True, "fps: Input should be a valid integer, not a boolean (true)"),
        ("fps", "30", "fps: Input should be a valid integer"),
        ("fps", 30.5, "fps: Input should be a valid integer"),
        ("burn_subtitles", 1, "burn_subtitles: Input should be a valid boolean"),
        ("budget_usd", False, "budget_usd: Input should be a valid number, not a boolean (false)"),
        ("budget_usd", float("inf"), "budget_usd: Input should be a finite number"),
        ("title", 5, "title: Input should be a valid string"),
    ],
)
def test_plan_types_are_strict(field: str, value: Any, expected: str) -> None:
    assert refused({**tiny(), field: value}) == f"manifest: {expected}"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused_as_such(value: float) -> None:
    message = refused(with_scene(duration=value))
    assert message == "manifest: scene 'dawn' (#1) duration: Input should be a finite number"
    data = with_scene(layout={"position": "left", "scale": value})
    assert refused(data).endswith("layout.scale: Input should be a finite number")


def test_yaml_nan_and_bool_are_refused_from_a_file(tmp_path: Path) -> None:
    text = TINY.read_text(encoding="utf-8")
    nan = tmp_path / "nan.yaml"
    nan.write_text(text.replace("duration: 1.5", "duration: .nan", 1), encoding="utf-8")
    assert refused_file(nan).endswith("duration: Input should be a finite number")
    fps = tmp_path / "fps.yaml"
    fps.write_text(text.replace("fps: 12", "fps: true"), encoding="utf-8")
    assert refused_file(fps).endswith("fps: Input should be a valid integer, not a boolean (true)")


def test_integers_still_count_as_numbers() -> None:
    plan = parse_manifest(with_scene(duration=3, layout={"scale": 1}))
    assert plan.scenes[0].duration == 3.0 and plan.scenes[0].layout.scale == 1.0


@pytest.mark.parametrize(
    "voice",
    [
        "en",
        "en-us",
        "EN-US",
        "en-GB-x-rp",
        "fr",
        "gmw/en-US",
        "English (America)",
        "en+f3",
        "cmn",
        "JBFqnCBsd6RMkjVDRZzb",
    ],
)
def test_espeak_voices_and_elevenlabs_voice_ids_are_accepted(voice: str) -> None:
    assert parse_manifest({**tiny(), "voice": voice}).voice == voice
    assert parse_manifest(with_scene(voice=voice)).scenes[0].voice == voice


@pytest.mark.parametrize("voice", ["enn", "en-gb", "english", "xx-nowhere", "JBFqnCBsd6RMkjVDRZz"])
def test_an_unknown_voice_is_refused_naming_the_scene_the_field_and_the_allowed_values(
    voice: str,
) -> None:
    message = refused(with_scene(voice=voice))
    assert message.startswith(f"manifest: scene 'dawn' (#1) voice: unknown voice {voice!r}; ")
    assert "en, en-029" in message and "en-US" in message
    assert "or an ElevenLabs voice id (20 letters and digits)" in message
    assert refused({**tiny(), "voice": voice}).startswith(
        f"manifest: voice: unknown voice {voice!r}"
    )


def test_an_unknown_voice_suggests_the_nearest_and_an_unknown_variant_lists_variants() -> None:
    assert "did you mean en" in refused(with_scene(voice="enn"))
    assert "voice: eSpeak NG has no variant 'nope'; variants: " in refused(
        with_scene(voice="en+nope")
    )
    assert "is not a voice name" in refused(with_scene(voice="en\nus"))


# --- 3. one line for every bad file ----------------------------------------------------------


def test_a_plan_that_is_not_utf8_is_one_line_naming_the_byte_and_line(tmp_path: Path) -> None:
    plan = tmp_path / "latin1.yaml"
    plan.write_bytes(TINY.read_text(encoding="utf-8").replace("Tiny", "Tïny").encode("latin-1"))
    message = refused_file(plan)
    assert message == f"{plan}: not UTF-8 text (byte 0xef on line 2); save the plan as UTF-8"


def test_a_utf8_bom_is_fine(tmp_path: Path) -> None:
    for suffix, text in ((".yaml", TINY.read_text()), (".json", json.dumps(tiny()))):
        plan = tmp_path / f"bom{suffix}"
        plan.write_bytes(b"\xef\xbb\xbf" + text.encode())
        assert load_manifest(plan).project_id == "tiny"


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_deep_nesting_is_refused_in_one_line(tmp_path: Path, suffix: str) -> None:
    plan = tmp_path / f"deep{suffix}"
    plan.write_text('{"title": ' + "[" * 100_000 + "]" * 100_000 + "}")
    message = refused_file(plan)
    assert message.endswith(f"nested deeper than {limits.MAX_DEPTH} levels")
    assert ("line 1, column" in message) == (suffix == ".yaml")


def test_a_billion_laughs_plan_is_refused_before_it_is_built(tmp_path: Path) -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    plan = tmp_path / "lol.yaml"
    plan.write_text("\n".join(lines) + "\n")
    tracemalloc.start()
    try:
        message = refused_file(plan)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (
        f"more than {limits.MAX_NODES} values (aliases expanded)" in message and "line " in message
    )
    assert peak < 50_000_000, f"{peak} bytes: the aliases were expanded"


def test_an_alias_inside_itself_is_refused(tmp_path: Path) -> None:
    plan = tmp_path / "loop.yaml"
    plan.write_text("title: &t [*t]\n")
    assert refused_file(plan).endswith("an alias refers to the node that contains it")


def test_modest_aliases_and_merge_keys_still_work(tmp_path: Path) -> None:
    text = TINY.read_text(encoding="utf-8")
    text = text.replace("background: a calm sunrise over the sea", "background: &sea the sea")
    text = text.replace("background: a green forest at noon", "background: *sea")
    plan = tmp_path / "anchors.yaml"
    plan.write_text(text)
    assert [s.background for s in load_manifest(plan).scenes][:2] == ["the sea", "the sea"]


MAPPING = "a plan is a mapping with title, project_id and scenes, not"
DIGITS = "a number has too many digits"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("huge.json", '{"fps": ' + "9" * 5000 + "}", f"not valid JSON: {DIGITS}"),
        ("huge.yaml", "fps: " + "9" * 5000 + "\n", f"not valid YAML: {DIGITS}"),
        ("inf.json", '{"title": "t", "project_id": "p", "fps": 1e999}', "fps: Input should be"),
        ("list.yaml", "- a\n- b\n", f"{MAPPING} a list"),
        ("scalar.yaml", "hello\n", f"{MAPPING} a str"),
        ("scalar.json", "3", f"{MAPPING} a int"),
        ("empty.yaml", "", f"{MAPPING} nothing"),
        ("syntax.yaml", "title: [a\n  b: c\n", "not valid YAML: line 2, column 4: expected ','"),
        ("syntax.json", "{'a': 1}", "not valid JSON: Expecting property name enclosed in"),
        ("nul.yaml", "title: a\x00\n", "not valid YAML: character #x0000 at offset 8 is not"),
        ("key.yaml", "? [a, b]\n: c\n", "not valid YAML: line 1, column 3: found unhashable key"),
        ("tag.yaml", 'title: !!int ""\n', "line 1, column 8: tags such as !!int are not allowed"),
        ("date.yaml", "title: 2020-13-45\n", "not valid YAML: month must be in 1..12"),
        ("multi.yaml", "a: 1\n---\nb: 2\n", "line 2, column 1: expected a single document"),
    ],
)
def test_bad_files_are_one_line_naming_the_file_and_the_problem(
    tmp_path: Path, name: str, content: str, expected: str
) -> None:
    plan = tmp_path / name
    plan.write_text(content, encoding="utf-8")
    assert expected in refused_file(plan)


def test_a_missing_file_or_a_folder_is_one_line(tmp_path: Path) -> None:
    assert refused_file(tmp_path / "nope.yaml").endswith("No such file or directory")
    assert "cannot read" in refused_file(tmp_path)


def test_a_huge_unknown_key_or_scene_id_is_shortened_in_the_message() -> None:
    message = refused({**tiny(), "k" * 10_000 + "\nx": 1})
    assert message.endswith(": Extra inputs are not permitted") and len(message) < 200
    message = refused(with_scene(id="Bad\n" + "x" * 10_000))
    assert message.startswith("manifest: scene 'Bad x") and len(message) < 300


# --- finishing options (flows/core/manifest_media.py) ----------------------------------------


def test_captions_are_burned_by_default_with_the_bundled_font_at_minus_14_lufs() -> None:
    plan = parse_manifest(tiny())
    assert (plan.captions, plan.formats, plan.crossfade, plan.music) == (
        "burned",
        ["landscape"],
        0.0,
        None,
    )
    assert plan.loudness_target == -14.0 and plan.caption_style.font == "Source Sans Pro"


@pytest.mark.parametrize(("old", "captions"), [(True, "burned"), (False, "srt")])
def test_the_old_burn_subtitles_still_reads_and_is_not_stored_again(
    old: bool, captions: str
) -> None:
    old_plan = {k: v for k, v in tiny().items() if k != "captions"}  # as plans were then
    plan = parse_manifest({**old_plan, "burn_subtitles": old})
    assert plan.captions == captions
    dumped = plan.model_dump(mode="json")
    assert "burn_subtitles" not in dumped and parse_manifest(dumped).captions == captions
    assert parse_manifest({**old_plan, "burn_subtitles": old, "captions": captions})


def test_burn_subtitles_that_contradicts_captions_is_one_clear_line() -> None:
    message = refused({**tiny(), "burn_subtitles": True, "captions": "none"})
    assert "burn_subtitles: true (the old name) means captions: burned" in message
    assert "keep only captions" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"captions": "yes"}, "captions: Input should be 'burned', 'srt' or 'none'"),
        ({"formats": []}, "formats: List should have at least 1 item"),
        ({"formats": ["vertical"]}, "landscape is the video reviewed and validated"),
        ({"formats": ["landscape", "landscape"]}, "formats: each format once"),
        ({"formats": ["square"]}, "formats.0: Input should be 'landscape' or 'vertical'"),
        ({"crossfade": 0.8}, "crossfade 0.8 s needs scenes longer than twice it; too short"),
        ({"crossfade": -1}, "crossfade: Input should be greater than or equal to 0"),
        ({"loudness_lufs": -3}, "loudness_lufs: Input should be less than or equal to -5"),
        ({"caption_style": {"colour": "red"}}, "caption_style.colour: write a colour as #RRGGBB"),
        ({"caption_style": {"font": "A{b}"}}, "caption_style.font: a font family name"),
        ({"caption_style": {"position": "middle"}}, "caption_style.position: Input should be"),
        ({"music": {"file": "a.wav", "prompt": "b"}}, "music: give music either a file or a"),
        ({"music": {"mood": "calm"}}, "music: give music either a file or a prompt"),
        ({"music": {"file": "a.wav", "mood": "calm"}}, "a mood goes with a prompt"),
        ({"music": {"prompt": "  "}}, "music.prompt: must be one line of text, not blank"),
        ({"music": {"prompt": "x", "volume_db": 3}}, "music.volume_db: Input should be less"),
    ],
)
def test_bad_finishing_options_are_refused_naming_the_field(
    change: dict[str, Any], expected: str
) -> None:
    assert expected in refused({**tiny(), **change})


def test_music_is_a_file_path_or_a_prompt_with_a_mood() -> None:
    assert parse_manifest({**tiny(), "music": "/data/bed.wav"}).music.file == "/data/bed.wav"
    music = parse_manifest({**tiny(), "music": {"prompt": "gentle strings", "mood": "calm"}}).music
    assert (music.prompt, music.mood, music.volume_db) == ("gentle strings", "calm", -16)
    data = tiny()
    data["scenes"][0]["id"] = "music"
    with_bed = {**data, "music": {"prompt": "gentle strings"}}
    assert "a scene 'music' with sfx clashes with the music bed" in refused(with_bed)


def test_style_colours_are_normalised_and_a_crossfade_under_half_a_scene_is_fine() -> None:
    plan = parse_manifest(
        {**tiny(), "caption_style": {"colour": "#ffcc00", "size": 60}, "crossfade": 0.5}
    )
    assert plan.caption_style.colour == "#FFCC00" and plan.caption_style.size == 60
    assert plan.crossfade == 0.5
