"""generate_asset: real PNGs that depend on the prompt, deterministic, written atomically."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageStat

from tests.scripts.conftest import H, W, leftovers, ok, run_script


def _request(tmp_path: Path, **fields: object) -> dict[str, object]:
    request: dict[str, object] = {
        "prompt": "a green forest at noon",
        "title": "Forest",
        "kind": "background",
        "width": W,
        "height": H,
        "seed": None,
        "output": str(tmp_path / "asset.png"),
    }
    request.update(fields)
    return request


def test_a_background_is_an_rgb_png_of_the_requested_size(tmp_path: Path) -> None:
    result = ok("generate_asset", _request(tmp_path))
    assert result["output"] == str(tmp_path / "asset.png")
    assert (result["duration"], result["provider"], result["model"], result["cost_usd"]) == (
        None,
        "local",
        "pillow",
        0.0,
    )
    assert (result["width"], result["height"]) == (W, H)
    with Image.open(result["output"]) as image:
        assert (image.format, image.mode, image.size) == ("PNG", "RGB", (W, H))
        assert ImageStat.Stat(image).stddev[1] > 10, "a picture, not a flat fill"


def test_a_foreground_is_rgba_with_a_transparent_surround_and_an_opaque_subject(
    tmp_path: Path,
) -> None:
    result = ok("generate_asset", _request(tmp_path, prompt="a heron", kind="foreground"))
    with Image.open(result["output"]) as image:
        assert (image.mode, image.size) == ("RGBA", (W, H))
        alpha = image.getchannel("A")
        assert alpha.getpixel((0, 0)) == 0 and alpha.getpixel((W - 1, H - 1)) == 0
        assert alpha.getextrema() == (0, 255)
        opaque = alpha.histogram()[255]
        assert 0.02 * W * H < opaque < 0.8 * W * H


def test_the_same_request_gives_identical_bytes(tmp_path: Path) -> None:
    first = ok("generate_asset", _request(tmp_path, output=str(tmp_path / "a.png")))
    second = ok("generate_asset", _request(tmp_path, output=str(tmp_path / "b.png")))
    assert first["seed"] == second["seed"]
    assert Path(first["output"]).read_bytes() == Path(second["output"]).read_bytes()


def test_another_seed_or_title_gives_another_picture(tmp_path: Path) -> None:
    base = ok("generate_asset", _request(tmp_path, seed=1, output=str(tmp_path / "a.png")))
    seeded = ok("generate_asset", _request(tmp_path, seed=2, output=str(tmp_path / "b.png")))
    titled = ok("generate_asset", _request(tmp_path, title="Other", output=str(tmp_path / "c.png")))
    pictures = {Path(r["output"]).read_bytes() for r in (base, seeded, titled)}
    assert len(pictures) == 3


def test_prompt_keywords_choose_the_palette(tmp_path: Path) -> None:
    def mean(prompt: str) -> list[float]:
        out = tmp_path / f"{prompt.split()[-1]}.png"
        ok("generate_asset", _request(tmp_path, prompt=prompt, title="", output=str(out)))
        with Image.open(out) as image:
            return ImageStat.Stat(image).mean

    red, green, blue = mean("fire at sunset")
    assert red > blue + 30
    red, green, blue = mean("the deep blue ocean")
    assert blue > red + 30
    red, green, blue = mean("a mossy forest")
    assert green > red and green > blue
    assert sum(mean("a city at night")) < sum(mean("a desert"))


def test_relative_output_is_resolved_and_its_folders_created(tmp_path: Path) -> None:
    result = ok("generate_asset", _request(tmp_path, output="deep/down/asset.png"), cwd=tmp_path)
    assert result["output"] == str(tmp_path / "deep" / "down" / "asset.png")
    assert Path(result["output"]).is_file()
    assert leftovers(tmp_path / "deep" / "down") == []


def test_a_missing_or_invalid_field_is_bad_input_naming_it(tmp_path: Path) -> None:
    request = _request(tmp_path)
    del request["prompt"]
    cases = [
        (request, "prompt"),
        (_request(tmp_path, kind="sideways"), "kind"),
        (_request(tmp_path, width="wide"), "width"),
        (_request(tmp_path, height=True), "height"),
        (_request(tmp_path, seed=1.5), "seed"),
        (_request(tmp_path, output=str(tmp_path / "asset.jpg")), "output"),
    ]
    for bad, field in cases:
        code, result, _ = run_script("generate_asset", bad)
        assert code == 2, bad
        assert f"'{field}'" in result["error"]["message"]
        assert result["error"]["retry_after"] is None
    assert list(tmp_path.iterdir()) == []


def test_empty_stdin_bad_json_and_unknown_provider_exit_2(tmp_path: Path) -> None:
    code, result, _ = run_script("generate_asset", None)
    assert (code, result["error"]["type"]) == (2, "missing_field")
    code, result, _ = run_script("generate_asset", "{not json")
    assert (code, result["error"]["type"]) == (2, "invalid_json")
    code, result, _ = run_script("generate_asset", _request(tmp_path), "--provider", "midjourney")
    assert (code, result["error"]["type"]) == (2, "unknown_provider")
    assert "midjourney" in result["error"]["message"] and "gemini" in result["error"]["message"]
    code, result, _ = run_script("generate_asset", _request(tmp_path), "--frobnicate")
    assert (code, result["error"]["type"]) == (2, "bad_arguments")


def test_a_failed_run_leaves_the_previous_file_and_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "asset.png"
    target.write_bytes(b"previous")
    code, result, _ = run_script("generate_asset", _request(tmp_path), "--model", "dall-e")
    assert (code, result["error"]["type"]) == (2, "unknown_model")
    assert target.read_bytes() == b"previous"
    assert leftovers(tmp_path) == []
