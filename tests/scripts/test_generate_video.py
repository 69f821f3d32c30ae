"""generate_video: a real H.264 clip of exactly round(duration * fps) frames, moving as asked."""

from __future__ import annotations

from pathlib import Path

import av
import pytest
from PIL import ImageChops, ImageStat

from tests.scripts.conftest import FPS, H, W, leftovers, load_script, ok, run_script


def _request(media: dict[str, Path], tmp_path: Path, **fields: object) -> dict[str, object]:
    request: dict[str, object] = {
        "image": str(media["composite"]),
        "motion": "slow zoom in",
        "duration": 1.5,
        "width": W,
        "height": H,
        "fps": FPS,
        "output": str(tmp_path / "clip.mp4"),
    }
    request.update(fields)
    return request


def _frames(path: Path) -> list:
    with av.open(str(path)) as container:
        return [frame.to_image() for frame in container.decode(video=0)]


def _difference(a: object, b: object) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean)  # type: ignore[arg-type]


def test_the_clip_is_h264_yuv420p_with_the_exact_frame_count_and_no_audio(
    media: dict[str, Path],
    tmp_path: Path,
) -> None:
    result = ok("generate_video", _request(media, tmp_path, duration=1.55))
    frames = round(1.55 * FPS)
    assert (result["frames"], result["model"], result["motion"]) == (
        frames,
        "ffmpeg-zoompan",
        "zoom_in",
    )
    assert result["duration"] == pytest.approx(frames / FPS)
    with av.open(result["output"]) as container:
        assert not container.streams.audio
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.codec_context.width, stream.codec_context.height) == (W, H)
        assert stream.frames == frames
        assert float(stream.average_rate) == FPS
    assert len(_frames(Path(result["output"]))) == frames
    assert leftovers(tmp_path) == []


def test_a_zoom_moves_the_picture_and_static_keeps_it_still(
    media: dict[str, Path],
    tmp_path: Path,
) -> None:
    zoom = _frames(
        Path(ok("generate_video", _request(media, tmp_path, motion="zoom in"))["output"])
    )
    still = _frames(
        Path(
            ok(
                "generate_video",
                _request(media, tmp_path, motion="static", output=str(tmp_path / "still.mp4")),
            )["output"]
        )
    )
    assert _difference(zoom[0], zoom[-1]) > 3 * max(_difference(still[0], still[-1]), 0.5)


def test_motion_keywords_pick_the_move() -> None:
    module = load_script("_motion")
    moves = {
        motion: module.parse_motion(motion)[0]
        for motion in (
            "zoom in",
            "slow zoom out",
            "pan left",
            "Pan Right slowly",
            "tilt up",
            "pan down",
            "static",
            "a dreamy drift",
            "close up",
        )
    }
    assert moves == {
        "zoom in": "zoom_in",
        "slow zoom out": "zoom_out",
        "pan left": "pan_left",
        "Pan Right slowly": "pan_right",
        "tilt up": "pan_up",
        "pan down": "pan_down",
        "static": "static",
        "a dreamy drift": "zoom_in",
        "close up": "zoom_in",
    }
    assert module.parse_motion("slow zoom in")[1] < module.parse_motion("fast zoom in")[1]


def test_bad_input_exits_2_naming_the_field(media: dict[str, Path], tmp_path: Path) -> None:
    text = tmp_path / "image.png"
    text.write_text("not a picture")
    cases = [
        ({"width": 321}, "'width'"),
        ({"height": 181}, "'height'"),
        ({"fps": 0}, "'fps'"),
        ({"duration": -1}, "'duration'"),
        ({"duration": 0.01}, "'duration'"),
        ({"image": str(tmp_path / "missing.png")}, "'image'"),
        ({"image": str(text)}, "'image'"),
        ({"output": str(tmp_path / "clip.mov")}, "'output'"),
    ]
    for change, field in cases:
        code, result, _ = run_script("generate_video", _request(media, tmp_path, **change))
        assert code == 2, change
        assert field in result["error"]["message"], result
    assert not (tmp_path / "clip.mp4").exists()
    assert leftovers(tmp_path) == []
