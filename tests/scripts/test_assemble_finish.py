"""assemble_video's finish, measured on real output: burned captions where (and only where)
they belong, the music bed ducked under speech, loudness on target, the vertical cut, the
thumbnail, crossfades, and the same picture on a machine without fonts.

A few small assemblies are made once per module (320x180, 4.5 s) and shared by the tests."""

from __future__ import annotations

import re
import subprocess
from array import array
from pathlib import Path
from typing import Any

import av
import imageio_ffmpeg
import pytest
from PIL import Image, ImageChops, ImageStat

from flows.core.media import measure_loudness, problems_with_final
from tests.scripts.conftest import FPS, H, W, load_script, ok, rms

layout = load_script("_layout")
captions_module = load_script("_captions")
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
TEXTS = ("The day begins.", "Deep in the forest, birds sing.")


def _scenes(media: dict[str, Path]) -> list[dict[str, Any]]:
    """Narrated (foreground right); silent, no text; narrated over birds (foreground at the
    bottom, so its captions go up under the title)."""
    words = [media[f"narration{i}"].with_suffix(".words.json") for i in (0, 1)]
    return [
        {"clip": str(media["clip0"]), "narration": str(media["narration0"]),
         "words": str(words[0]), "sfx": None, "text": TEXTS[0], "title": "Dawn",
         "layout": {"position": "right", "scale": 0.5}, "duration": 1.5},
        {"clip": str(media["clip1"]), "narration": None, "sfx": None, "text": "",
         "title": "Forest", "layout": None, "duration": 1.0},
        {"clip": str(media["clip2"]), "narration": str(media["narration1"]),
         "words": str(words[1]), "sfx": str(media["sfx1"]), "text": TEXTS[1],
         "title": "Storm", "layout": {"position": "bottom", "scale": 0.4}, "duration": 2.0},
    ]  # fmt: skip


@pytest.fixture(scope="module")
def made(media: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same scenes assembled several ways, once."""
    folder = tmp_path_factory.mktemp("finish")
    music = folder / "bed.wav"  # a steady chord: its level is easy to follow
    chord = "+".join(f"0.08*sin({f}*2*PI*t)" for f in (220, 277.2, 329.6))
    subprocess.run(
        [FFMPEG, "-loglevel", "error", "-f", "lavfi", "-i",
         f"aevalsrc={chord}|{chord}:s=48000:d=4", str(music)],
        check=True,
    )  # fmt: skip
    base = {"scenes": _scenes(media), "width": W, "height": H, "fps": FPS,
            "music": {"file": str(music), "fade_in": 0.2, "fade_out": 0.2},
            "title": "Tiny Test Film"}  # fmt: skip

    def assemble(name: str, **fields: Any) -> dict[str, Any]:
        return ok("assemble_video", {**base, "output": str(folder / f"{name}.mp4"), **fields})

    return {
        "burned": assemble("burned", stems=True, thumbnail=str(folder / "thumb.jpg")),
        "none": assemble("none", captions="none"),
        "vertical": assemble("vertical", format="vertical"),
        "crossfade": assemble("crossfade", crossfade=0.4, captions="none"),
        "music": music,
        "folder": folder,
    }


def _frame_at(path: str | Path, seconds: float) -> Image.Image:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= seconds:
                return frame.to_image()
    raise AssertionError(f"no frame at {seconds} s in {path}")


def _diff(a: Image.Image, b: Image.Image, box: tuple[int, int, int, int]) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a.crop(box), b.crop(box))).mean) / 3


def _strong(a: Image.Image, b: Image.Image, box: tuple[int, int, int, int]) -> tuple[int, int]:
    """Pixels whose brightness differs by more than encoding noise does (48 of 255): (inside
    ``box``, outside it)."""
    changed = ImageChops.difference(a.convert("L"), b.convert("L")).point(
        lambda v: 255 if v > 48 else 0
    )
    inside = int(ImageStat.Stat(changed.crop(box)).sum[0] / 255)
    return inside, int(ImageStat.Stat(changed).sum[0] / 255) - inside


def _caption_box(seconds: float) -> tuple[int, int, int, int]:
    """Where the scene playing at ``seconds`` puts its caption (the layout's own rule)."""
    style = load_script("_assembly_spec").STYLE_DEFAULTS
    frame = layout.frame_for("landscape", W, H, (W, H))
    size = layout.sizes(frame, style)
    names = ("clip0", "clip1", "clip2", "narration0", "narration1", "sfx1")
    scene = _scenes({name: Path(name) for name in names})[0 if seconds < 1.5 else 2]
    cue = captions_module.Cue(0, 1, "x\ny")
    placed = layout.place_scene(frame, scene, 0.0, [cue], style, size)
    left, top, right, bottom = layout.caption_box(frame, placed[-1], size)
    return left, max(0, top - 2), right, min(H, bottom + 2)


def _cues(srt: str) -> list[tuple[float, float, str]]:
    found = []
    for block in srt.strip().split("\n\n"):
        lines = block.split("\n")
        start, end = (
            sum(float(x) * m for x, m in zip(re.split("[:,]", t)[:3], (3600, 60, 1), strict=True))
            + int(t[-3:]) / 1000
            for t in lines[1].split(" --> ")
        )
        found.append((start, end, " ".join(lines[2:])))
    return found


def test_burned_captions_are_in_the_picture_inside_the_caption_box_only(
    made: dict[str, Any],
) -> None:
    cues = _cues(Path(made["burned"]["srt"]).read_text("utf-8"))
    assert [text for *_, text in cues] == list(TEXTS)
    for start, end, _ in cues:
        at = (start + end) / 2
        burned, plain = (
            _frame_at(made["burned"]["output"], at),
            _frame_at(made["none"]["output"], at),
        )
        box = _caption_box(at)
        inside, outside = _strong(burned, plain, box)
        assert inside > 100, f"a caption is drawn at {at:.2f} s in {box}"
        assert outside <= inside / 50, f"and nothing else changes ({outside} vs {inside} pixels)"
    silent = 2.0  # the scene without narration
    quiet = _strong(_frame_at(made["burned"]["output"], silent),
                    _frame_at(made["none"]["output"], silent), (0, 0, W, H))  # fmt: skip
    assert quiet == (0, 0), "no caption while nobody speaks"


def test_the_srt_has_the_phrases_timed_to_the_spoken_words(
    made: dict[str, Any], media: dict[str, Path]
) -> None:
    assert made["burned"]["timed_scenes"] == 2, "both narrations came with word timings"
    cues = _cues(Path(made["burned"]["srt"]).read_text("utf-8"))
    words, _ = captions_module.read_words(
        media["narration1"].with_suffix(".words.json"), TEXTS[1], 2.0
    )
    assert cues[1][0] == pytest.approx(2.5 + words[0].start, abs=0.002)
    assert cues[1][1] == pytest.approx(min(4.5, 2.5 + words[-1].end + captions_module.HOLD),
                                       abs=0.002)  # fmt: skip
    assert Path(made["none"]["srt"]).read_text("utf-8") == "", "captions: none writes no cues"


def _samples(path: Path, rate: int = 8000) -> array:
    samples = array("h")
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                samples.frombytes(bytes(out.planes[0])[: out.samples * 2])
    return samples


def _db(value: float) -> float:
    import math

    return 20 * math.log10(max(value, 1e-9) / 32768)


def test_the_music_bed_is_there_and_ducked_at_least_10_db_under_speech(
    made: dict[str, Any],
) -> None:
    stem = Path(made["burned"]["stems"])
    bed, rate = _samples(stem), 8000
    cues = _cues(Path(made["burned"]["srt"]).read_text("utf-8"))
    under = [rms(bed[int((a + 0.15) * rate) : int((b - 0.35) * rate)]) for a, b, _ in cues]
    between = rms(bed[int(1.9 * rate) : int(2.4 * rate)])  # the silent scene
    assert _db(between) > -40, "the bed plays between phrases"
    for level in under:
        assert _db(between) - _db(level) >= 10, (_db(between), _db(level))
    mix = _samples(Path(made["burned"]["output"]))
    assert _db(rms(mix[int(1.9 * rate) : int(2.4 * rate)])) > -45, "and reaches the mix"


def _ebur128(path: str) -> dict[str, float]:
    """ffmpeg's own ebur128 summary, independent of the script's report."""
    log = subprocess.run(
        [FFMPEG, "-hide_banner", "-nostats", "-i", path, "-map", "0:a",
         "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    summary = log[log.rfind("Summary:") :]
    return {
        "integrated": float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary)[1]),  # type: ignore[index]
        "true_peak": float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary)[1]),  # type: ignore[index]
    }


@pytest.mark.parametrize("name", ["burned", "none", "vertical", "crossfade"])
def test_integrated_loudness_and_true_peak_meet_the_targets(
    made: dict[str, Any], name: str
) -> None:
    measured = _ebur128(made[name]["output"])
    assert measured["integrated"] == pytest.approx(-14.0, abs=0.5)
    assert measured["true_peak"] <= -1.0
    reported = made[name]["loudness"]
    assert reported["integrated"] == pytest.approx(measured["integrated"], abs=0.15)
    pipeline_side = measure_loudness(Path(made[name]["output"]))  # what the flow checks with
    assert pipeline_side.integrated == pytest.approx(measured["integrated"], abs=0.15)
    assert pipeline_side.true_peak <= -1.0


def test_the_vertical_cut_is_9_16_with_the_scenes_length_and_both_streams(
    made: dict[str, Any],
) -> None:
    result = made["vertical"]
    width, height = layout.vertical_size(W, H)
    assert (width, height) == (270, 480)
    assert (result["width"], result["height"], result["format"]) == (width, height, "vertical")
    with av.open(result["output"]) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, audio.codec_context.name) == ("h264", "aac")
        assert video.frames == round(4.5 * FPS)
        assert float(audio.duration * audio.time_base) == pytest.approx(4.5, abs=0.1)
    path = Path(result["output"])
    assert problems_with_final(path, 4.5, size=(width, height), loudness_lufs=-14.0) == []
    assert problems_with_final(path, 4.5, size=(W, H)) == [f"frame {width}x{height}, not {W}x{H}"]
    picture = _frame_at(path, 3.5)
    band = layout.frame_for("vertical", width, height, (W, H)).band
    top_fill = ImageStat.Stat(picture.crop((0, 0, width, band[1] // 2))).stddev
    assert max(top_fill) < 40, "above the band: the blurred fill (and the title)"


def test_the_thumbnail_is_a_1280x720_jpeg_under_2_mb(made: dict[str, Any]) -> None:
    path = Path(made["burned"]["thumbnail"])
    with Image.open(path) as image:
        assert (image.format, image.size, image.mode) == ("JPEG", (1280, 720), "RGB")
    assert path.stat().st_size < 2_000_000
    picked = made["burned"]["thumbnail_frame"]
    assert picked["scene"] in (0, 1, 2) and picked["score"] > 0
    assert made["none"]["thumbnail"] is None


def test_the_strongest_frame_is_the_sharp_contrasted_one(tmp_path: Path) -> None:
    thumbnail = load_script("_thumbnail")
    sharp = Image.effect_mandelbrot((320, 180), (-2, -1.2, 1, 1.2), 60).convert("RGB")
    flat = Image.new("RGB", (320, 180), (90, 120, 140))
    blurred = sharp.resize((32, 18)).resize((320, 180))
    scores = [thumbnail.score(image) for image in (flat, blurred, sharp)]
    assert scores[0] < scores[1] < scores[2]


def test_a_crossfade_blends_scenes_and_keeps_the_length(made: dict[str, Any]) -> None:
    result = made["crossfade"]
    assert result["duration"] == pytest.approx(4.5, abs=0.1)
    with av.open(result["output"]) as container:
        assert container.streams.video[0].frames == round(4.5 * FPS)
    path, plain = result["output"], made["none"]["output"]
    assert _diff(_frame_at(path, 0.6), _frame_at(plain, 0.6), (0, 0, W, H)) < 2, "before: same"
    mid = _diff(_frame_at(path, 1.7), _frame_at(plain, 1.7), (0, 0, W, H))
    assert mid > 2, "during the fade the picture is a blend, not the cut"


def test_a_machine_without_fonts_draws_the_same_captions(
    made: dict[str, Any], media: dict[str, Path], tmp_path: Path
) -> None:
    empty = tmp_path / "fonts.conf"  # fontconfig that knows no font directory at all
    empty.write_text('<?xml version="1.0"?><fontconfig><cachedir>'
                     f"{tmp_path}/cache</cachedir></fontconfig>")  # fmt: skip
    again = ok(
        "assemble_video",
        {"scenes": _scenes(media), "width": W, "height": H, "fps": FPS, "captions": "burned",
         "music": {"file": str(made["music"]), "fade_in": 0.2, "fade_out": 0.2},
         "output": str(tmp_path / "bare.mp4")},
        env={"FONTCONFIG_FILE": str(empty), "FONTCONFIG_PATH": str(tmp_path)},
    )  # fmt: skip
    at = 3.5
    box = _caption_box(at)
    assert _diff(_frame_at(again["output"], at), _frame_at(made["burned"]["output"], at), box) < 1
