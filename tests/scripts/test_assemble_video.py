"""assemble_video: the final MP4 (H.264 + AAC, the scenes' total length) and its SRT."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from array import array
from pathlib import Path
from typing import Any

import av
import imageio_ffmpeg
import pytest
from PIL import Image

from tests.scripts.conftest import FPS, H, W, leftovers, load_script, ok, rms, run_script

CUE = re.compile(r"^(\d+)\n(\d\d:\d\d:\d\d,\d\d\d) --> (\d\d:\d\d:\d\d,\d\d\d)\n(.+)$")


def _scenes(media: dict[str, Path]) -> list[dict[str, Any]]:
    """Three scenes: narrated; silent and without text; narrated with birds under it."""
    return [
        {
            "clip": str(media["clip0"]),
            "narration": str(media["narration0"]),
            "sfx": None,
            "text": "The day begins.",
            "duration": 1.5,
        },
        {"clip": str(media["clip1"]), "narration": None, "sfx": None, "text": "", "duration": 1.0},
        {
            "clip": str(media["clip2"]),
            "narration": str(media["narration1"]),
            "sfx": str(media["sfx1"]),
            "text": "Deep in the forest, birds sing.",
            "duration": 2.0,
        },
    ]


def _request(media: dict[str, Path], out: Path, **fields: Any) -> dict[str, Any]:
    """No titles and captions only in the .srt: the picture can be stream-copied."""
    request = {"scenes": _scenes(media), "width": W, "height": H, "fps": FPS,
               "captions": "srt", "output": str(out)}  # fmt: skip
    request.update(fields)
    return request


def _assemble_fails(media: dict[str, Path], out: Path, **fields: Any) -> tuple[int, dict]:
    code, result, _ = run_script("assemble_video", _request(media, out, **fields))
    return code, result["error"]


def _seconds(stamp: str) -> float:
    hours, minutes, rest = stamp.split(":")
    secs, millis = rest.split(",")
    return int(hours) * 3600 + int(minutes) * 60 + int(secs) + int(millis) / 1000


def _media_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        return float(container.duration or 0) / 1_000_000


def _loudness_per_window(path: Path, windows: list[tuple[float, float]]) -> list[float]:
    """RMS of the decoded audio in each (start, end) window, in 16-bit units."""
    rate = 8000
    samples = array("h")
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                samples.frombytes(bytes(out.planes[0])[: out.samples * 2])
    return [rms(samples[int(a * rate) : int(b * rate)]) for a, b in windows]


def _frame_at(path: Path, seconds: float) -> Image.Image:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= seconds:
                return frame.to_image()
    raise AssertionError(f"no frame at {seconds} s in {path}")


@pytest.fixture(scope="module")
def final(media: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("final") / "film.mp4"
    return ok("assemble_video", _request(media, out))


def test_the_mp4_has_h264_and_aac_and_the_scenes_total_duration(final: dict[str, Any]) -> None:
    assert final["video_codec"] == "h264" and final["audio_codec"] == "aac"
    assert final["reencoded"] is False, "matching clips are joined by stream copy"
    assert final["duration"] == pytest.approx(4.5, abs=0.1)
    with av.open(final["output"]) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.width, video.codec_context.height) == (W, H)
        assert video.frames == round(4.5 * FPS)
        assert float(audio.duration * audio.time_base) == pytest.approx(4.5, abs=0.1)
        assert audio.codec_context.sample_rate == 48000
    assert final["size_bytes"] == Path(final["output"]).stat().st_size
    assert leftovers(Path(final["output"]).parent) == []


def test_the_srt_has_the_narrations_phrases_timed_by_their_words(
    final: dict[str, Any], media: dict[str, Path]
) -> None:
    srt = Path(final["srt"])
    assert srt == Path(final["output"]).with_suffix(".srt")
    cues = [CUE.match(block) for block in srt.read_text("utf-8").strip().split("\n\n")]
    assert all(cues) and final["cues"] == len(cues) == 2
    numbers, starts, ends, texts = zip(
        *((int(c[1]), _seconds(c[2]), _seconds(c[3]), c[4]) for c in cues if c), strict=True
    )
    assert numbers == (1, 2)
    assert texts == ("The day begins.", "Deep in the forest, birds sing.")
    assert starts[0] < 0.2 and 2.5 <= starts[1] < 2.7, "scene 3 starts after 1.5 + 1.0 s"
    narration0, narration1 = (
        _media_seconds(media["narration0"]),
        _media_seconds(media["narration1"]),
    )
    assert narration0 - 0.1 <= ends[0] <= min(1.5, narration0 + 0.35), "held after the words"
    assert 2.5 + narration1 - 0.1 <= ends[1] <= min(4.5, 2.5 + narration1 + 0.35)


def test_narration_starts_with_its_scene_and_the_silent_scene_stays_quiet(
    final: dict[str, Any],
) -> None:
    first, silent, third = _loudness_per_window(
        Path(final["output"]), [(0.1, 0.9), (1.6, 2.4), (2.6, 4.3)]
    )
    assert first > 1000 and third > 1000
    assert silent < 0.1 * min(first, third)


def test_clips_longer_or_shorter_than_their_scene_are_fitted_by_reencoding(
    media: dict[str, Path], tmp_path: Path
) -> None:
    scenes = _scenes(media)
    scenes[0]["duration"], scenes[2]["duration"] = 1.0, 2.5  # the clips last 1.5 s and 2 s
    result = ok("assemble_video", _request(media, tmp_path / "fit.mp4", scenes=scenes))
    assert result["reencoded"] is True
    assert result["duration"] == pytest.approx(4.5, abs=0.1)
    with av.open(result["output"]) as container:
        assert container.streams.video[0].frames == round(4.5 * FPS)


def test_a_missing_or_unreadable_clip_is_bad_input_and_writes_nothing(
    media: dict[str, Path], tmp_path: Path
) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x13" * 5000)
    for clip, kind in (
        (tmp_path / "gone.mp4", "missing_input_file"),
        (garbage, "invalid_input_file"),
        (media["narration0"], "invalid_input_file"),  # no video stream
    ):
        scenes = _scenes(media)
        scenes[1]["clip"] = str(clip)
        code, error = _assemble_fails(media, tmp_path / "f.mp4", scenes=scenes)
        assert (code, error["type"]) == (2, kind)
        assert "scenes[1].clip" in error["message"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["garbage.mp4"]


def test_a_clip_cut_short_fails_the_final_check_and_leaves_nothing(
    media: dict[str, Path], tmp_path: Path
) -> None:
    """Its header promises the full length but its data stops early: the joined video is
    shorter than the audio, so the run fails (exit 1) and nothing is renamed into place."""
    whole, short = tmp_path / "whole.mp4", tmp_path / "short.mp4"
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    remux = ["-c", "copy", "-movflags", "+faststart", str(whole)]
    subprocess.run([ffmpeg, "-loglevel", "error", "-i", str(media["clip0"]), *remux], check=True)
    short.write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])
    scenes = _scenes(media)
    scenes[0]["clip"] = str(short)
    code, error = _assemble_fails(media, tmp_path / "f.mp4", scenes=scenes)
    assert (code, error["type"]) == (1, "invalid_output")
    assert "final check failed" in error["message"]
    assert not (tmp_path / "f.mp4").exists() and not (tmp_path / "f.srt").exists()
    assert leftovers(tmp_path) == []


def _fake_ffmpeg(tmp_path: Path, body: str) -> dict[str, str]:
    """REELFLOW_FFMPEG pointing at a stand-in that runs ``body`` (a Python snippet)."""
    fake = tmp_path / "fake-ffmpeg"
    fake.write_text(f"#!{sys.executable}\nimport sys\n{body}\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return {"REELFLOW_FFMPEG": str(fake)}


def test_an_ffmpeg_failure_exits_1_with_its_stderr_tail_and_leaves_nothing(
    media: dict[str, Path], tmp_path: Path
) -> None:
    env = _fake_ffmpeg(
        tmp_path,
        "open(sys.argv[-1], 'wb').write(b'half a file')\n"
        "sys.stderr.write('noise\\nboom: simulated failure\\n')\nsys.exit(1)",
    )
    out = tmp_path / "out" / "f.mp4"
    code, result, _ = run_script("assemble_video", _request(media, out), env=env)
    assert (code, result["error"]["type"]) == (1, "tool_failed")
    assert "boom: simulated failure" in result["error"]["message"]
    assert list(out.parent.iterdir()) == []


def test_an_unreadable_result_exits_1_and_is_not_renamed(
    media: dict[str, Path], tmp_path: Path
) -> None:
    real = imageio_ffmpeg.get_ffmpeg_exe()  # the sound is mixed for real; the MP4 is garbage
    env = _fake_ffmpeg(
        tmp_path,
        "import os\n"
        f"if not sys.argv[-1].endswith('.mp4'): os.execv({real!r}, [{real!r}, *sys.argv[1:]])\n"
        "open(sys.argv[-1], 'wb').write(b'not a video at all')",
    )
    out = tmp_path / "out" / "f.mp4"
    code, result, _ = run_script("assemble_video", _request(media, out), env=env)
    assert (code, result["error"]["type"]) == (1, "unreadable_media")
    assert list(out.parent.iterdir()) == []


def test_bad_fields_are_bad_input_naming_them(media: dict[str, Path], tmp_path: Path) -> None:
    no_duration = _scenes(media)
    del no_duration[0]["duration"]
    missing_sfx = _scenes(media)
    missing_sfx[2]["sfx"] = str(tmp_path / "nope.wav")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"scenes": []}, "'scenes'"),
        ({"scenes": ["clip.mp4"]}, "'scenes[0]'"),
        ({"scenes": no_duration}, "'scenes[0].duration'"),
        ({"scenes": missing_sfx}, "'scenes[2].sfx'"),
        ({"loudness_lufs": 3}, "'loudness_lufs'"),
        ({"sfx_volume_db": "quiet"}, "'sfx_volume_db'"),
        ({"captions": "yes"}, "'captions'"),
        ({"format": "square"}, "'format'"),
        ({"crossfade": 1.0}, "'crossfade'"),
        ({"caption_style": {"colour": "red"}}, "'caption_style.colour'"),
        ({"caption_style": {"font": "A,B"}}, "'caption_style.font'"),
        ({"music": {"file": str(tmp_path / "nope.wav")}}, "'music.file'"),
        ({"thumbnail": str(tmp_path / "t.png")}, "'thumbnail'"),
        ({"width": 321}, "'width'"),
        ({"output": str(tmp_path / "f.mkv")}, "'output'"),
    ]
    for change, field in cases:
        code, error = _assemble_fails(media, tmp_path / "f.mp4", **change)
        assert code == 2, change
        assert field in error["message"], error
    assert list(tmp_path.iterdir()) == []


def test_srt_timestamps_are_hh_mm_ss_mmm_and_cues_are_numbered_blocks() -> None:
    captions = load_script("_captions")
    assert captions.timestamp(0) == "00:00:00,000"
    assert captions.timestamp(3723.4567) == "01:02:03,457"
    assert captions.timestamp(59.9996) == "00:01:00,000"
    text = captions.srt([captions.Cue(0, 1.25, "One."), captions.Cue(2, 3.5, "Two.")])
    assert (
        text == "1\n00:00:00,000 --> 00:00:01,250\nOne.\n\n2\n00:00:02,000 --> 00:00:03,500\nTwo.\n"
    )
