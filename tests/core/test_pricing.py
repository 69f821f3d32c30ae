"""flows.core.pricing: the estimator prices items exactly as the scripts price their results."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.core.errors import ConfigError
from flows.core.manifest import load_manifest, parse_manifest
from flows.core.pricing import (
    DEFAULT_MODELS,
    estimate_step,
    item_cost,
    kling_clip_seconds,
    load_prices,
    model_of,
    prices_path,
    sound_seconds,
)
from flows.core.settings import Settings
from flows.core.steps import STEPS, Item, VideoPaths, plan_items
from tests.conftest import PROJECT_ROOT, Configure
from tests.factories import TINY
from tests.scripts.conftest import load_script

PAID = {"assets": "gemini", "video": "kling", "narration": "elevenlabs", "sfx": "elevenlabs"}
PRICES = load_prices(PROJECT_ROOT / "scripts" / "prices.toml")


def _items(step: str, providers: dict[str, str] = PAID, models: dict[str, str] | None = None
           ) -> list[Item]:  # fmt: skip
    paths = VideoPaths.for_video(Path("/out"), "c", "tiny")
    return plan_items(load_manifest(TINY), step, paths, providers, models)


def test_each_paid_step_is_priced_by_its_rule() -> None:
    assert [item_cost(i, PRICES) for i in _items("assets")] == [0.039] * 5
    assert [item_cost(i, PRICES) for i in _items("video")] == [0.21, 0.21, 0.21], "5 s clips"
    texts = [i.input["text"] for i in _items("narration")]
    assert [item_cost(i, PRICES) for i in _items("narration")] == [
        round(len(t) * 0.10 / 1000, 6) for t in texts
    ]
    assert [item_cost(i, PRICES) for i in _items("sfx")] == [0.00375, 0.00375, 0.005]


def test_local_items_cost_nothing_and_need_no_price() -> None:
    for step in STEPS:
        assert {item_cost(i, PRICES) for i in _items(step, providers={})} == {0.0}


def test_the_channels_model_and_kling_mode_choose_the_price() -> None:
    models = {"video": "kling-v2-1:pro", "narration": "eleven_flash_v2_5"}
    assert {item_cost(i, PRICES) for i in _items("video", models=models)} == {0.49}
    assert item_cost(_items("narration", models=models)[0], PRICES) == round(
        len("The day begins by the sea.") * 0.05 / 1000, 6
    )


def test_kling_clips_and_sound_lengths_follow_what_the_apis_make() -> None:
    assert [kling_clip_seconds(d) for d in (0.5, 5.0, 5.01, 10.0, 120.0)] == [5, 5, 10, 10, 10]
    assert [sound_seconds(d) for d in (0.05, 0.5, 7.25, 22.0, 60.0)] == [0.5, 0.5, 7.25, 22, 22]


def test_an_estimate_sums_a_step_and_cached_items_cost_nothing() -> None:
    items = _items("video")
    full = estimate_step("video", items, PRICES)
    assert (full.provider, full.model, full.items, full.cached) == (
        "kling",
        "kling-v2-5-turbo:std",
        3,
        0,
    )
    assert full.cost_usd == 0.63
    part = estimate_step("video", items, PRICES, cached=[items[0].label, items[2].label])
    assert (part.cached, part.cost_usd) == (2, 0.21)


def test_a_model_or_provider_without_a_price_is_an_error_not_free() -> None:
    with pytest.raises(ConfigError, match="no price for kling kling-v9 std"):
        item_cost(_items("video", models={"video": "kling-v9"})[0], PRICES)
    with pytest.raises(ConfigError, match="no price rule for provider 'kling' on step 'assets'"):
        item_cost(_items("assets", providers={"assets": "kling"})[0], PRICES)


def test_the_price_table_comes_from_reelflow_prices_else_the_scripts_directory(
    configure: Configure, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings: Settings = configure(scripts_dir=tmp_path)
    assert prices_path() == PROJECT_ROOT / "scripts" / "prices.toml", (
        "no table there: the project's"
    )
    (tmp_path / "prices.toml").write_text('[gemini."gemini-2.5-flash-image"]\nper_image = 1.5\n')
    assert prices_path() == settings.scripts_dir / "prices.toml"
    assert item_cost(_items("assets")[0], load_prices()) == 1.5
    other = tmp_path / "other.toml"
    other.write_text("not = [valid")
    monkeypatch.setenv("REELFLOW_PRICES", str(other))
    with pytest.raises(ConfigError, match="cannot read the price table"):
        load_prices()


def test_the_estimator_and_the_scripts_agree_on_models_lengths_and_prices() -> None:
    gemini, kling, voice = load_script("_gemini"), load_script("_kling"), load_script("_elevenlabs")
    prices = load_script("_prices")
    assert {
        ("assets", "gemini"): gemini.DEFAULT_MODEL,
        ("video", "kling"): f"{kling.DEFAULT_MODEL}:{kling.DEFAULT_MODE}",
        ("narration", "elevenlabs"): voice.SPEECH_MODEL,
        ("sfx", "elevenlabs"): voice.SOUND_MODEL,
    } == DEFAULT_MODELS
    for duration in (0.05, 1.5, 5.0, 6.0, 21.9, 30.0, 120.0):
        assert kling_clip_seconds(duration) == kling.clip_seconds(duration)
        assert sound_seconds(duration) == voice.sound_seconds(duration)
    clip = _items("video")[0]
    assert item_cost(clip, PRICES) == prices.kling_clip("kling-v2-5-turbo", "std", 5)
    line = _items("narration")[1]
    assert item_cost(line, PRICES) == prices.speech(
        "eleven_multilingual_v2", len(line.input["text"])
    )
    sound = _items("sfx")[2]
    assert item_cost(sound, PRICES) == prices.sound("eleven_text_to_sound_v2", 2.0)
    assert item_cost(_items("assets")[0], PRICES) == prices.gemini_image(gemini.DEFAULT_MODEL, None)


def test_the_music_bed_is_priced_by_the_seconds_elevenlabs_makes_with_its_own_model() -> None:
    voice = load_script("_elevenlabs")
    paths = VideoPaths.for_video(Path("/out"), "c", "tiny")
    for duration in (1.0, 5.0, 72.0):
        data = load_manifest(TINY).model_dump(mode="json")
        data["music"] = {"prompt": "a calm piano"}
        data["scenes"][0]["duration"] = duration
        plan = parse_manifest(data)
        models = {"sfx": "eleven_text_to_sound_v2"}  # the scenes' sounds' model, not the bed's
        [bed] = [i for i in plan_items(plan, "sfx", paths, PAID, models) if i.key == "music"]
        assert (bed.script, model_of(bed)) == ("generate_music", voice.MUSIC_MODEL)
        seconds = voice.music_ms(plan.duration) / 1000
        assert item_cost(bed, PRICES) == pytest.approx(0.005 * seconds)
