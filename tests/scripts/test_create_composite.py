"""create_composite: the background covers the frame, the foreground lands where the layout says."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from tests.scripts.conftest import H, W, leftovers, ok, run_script


def _inputs(tmp_path: Path) -> tuple[Path, Path]:
    background = tmp_path / "bg.png"
    Image.new("RGB", (400, 400), (0, 0, 255)).save(background)  # square: must be cropped
    foreground = tmp_path / "fg.png"
    subject = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    subject.paste((255, 0, 0, 255), (50, 50, 150, 150))  # a 100x100 red square in a margin
    subject.save(foreground)
    return background, foreground


def _red_box(path: Path) -> tuple[int, int, int, int] | None:
    with Image.open(path) as image:
        assert (image.mode, image.size) == ("RGB", (W, H))
        red = image.getchannel("R").point(lambda v: 255 if v > 200 else 0)
        return red.getbbox()


def _compose(tmp_path: Path, name: str, **layout: object) -> Path:
    background, foreground = _inputs(tmp_path)
    result = ok(
        "create_composite",
        {
            "background": str(background),
            "foreground": str(foreground),
            "layout": layout,
            "width": W,
            "height": H,
            "output": str(tmp_path / f"{name}.png"),
        },
    )
    assert (result["model"], result["duration"], result["width"]) == ("pillow", None, W)
    return Path(result["output"])


def test_the_foreground_is_scaled_to_its_share_of_the_frame_height(tmp_path: Path) -> None:
    box = _red_box(_compose(tmp_path, "center", position="center", scale=0.5))
    assert box is not None
    left, top, right, bottom = box
    assert abs((bottom - top) - H * 0.5) <= 2, "the transparent margin is cropped away"
    assert abs((left + right) / 2 - W / 2) <= 2 and abs((top + bottom) / 2 - H / 2) <= 2


def test_each_position_puts_the_foreground_against_its_edge(tmp_path: Path) -> None:
    boxes = {
        p: _red_box(_compose(tmp_path, p, position=p, scale=0.4))
        for p in ("left", "right", "top", "bottom")
    }
    assert all(boxes.values())
    assert boxes["left"][0] < W * 0.1 and boxes["right"][2] > W * 0.9  # type: ignore[index]
    assert boxes["top"][1] < H * 0.1 and boxes["bottom"][3] > H * 0.9  # type: ignore[index]


def test_without_a_foreground_the_background_covers_the_frame(tmp_path: Path) -> None:
    background, _ = _inputs(tmp_path)
    result = ok(
        "create_composite",
        {
            "background": str(background),
            "foreground": None,
            "width": W,
            "height": H,
            "output": str(tmp_path / "c.png"),
        },
    )
    with Image.open(result["output"]) as image:
        assert image.size == (W, H)
        assert image.getcolors() == [(W * H, (0, 0, 255))]
    assert leftovers(tmp_path) == []


def test_missing_or_unreadable_inputs_are_bad_input_naming_the_field(tmp_path: Path) -> None:
    background, foreground = _inputs(tmp_path)
    not_a_picture = tmp_path / "notes.png"
    not_a_picture.write_text("hello")
    base = {
        "background": str(background),
        "foreground": str(foreground),
        "width": W,
        "height": H,
        "output": str(tmp_path / "out" / "c.png"),
    }
    cases = [
        ({"background": str(tmp_path / "nope.png")}, "'background'", "missing_input_file"),
        ({"foreground": str(not_a_picture)}, "'foreground'", "invalid_input_file"),
        ({"layout": {"scale": 0}}, "'layout.scale'", "invalid_field"),
        ({"layout": {"scale": 1.5}}, "'layout.scale'", "invalid_field"),
        ({"layout": {"position": "middle"}}, "'layout.position'", "invalid_field"),
        ({"width": 0}, "'width'", "invalid_field"),
    ]
    for change, field, kind in cases:
        code, result, _ = run_script("create_composite", {**base, **change})
        assert (code, result["error"]["type"]) == (2, kind), change
        assert field in result["error"]["message"]
    assert not (tmp_path / "out" / "c.png").exists()
