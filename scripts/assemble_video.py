"""assemble_video: clips, narration, effects and music into one format's MP4, its .srt and
(optionally) the video's thumbnail.

Input (stdin JSON):
    scenes          list    in order, at least one: {"clip": path (required), "narration":
                            path|null, "words": path|null (the narration's words.json; a
                            missing file means estimated timings), "sfx": path|null, "text":
                            str, "title": str (drawn over the moving picture), "layout":
                            {"position", "scale"}|null (the foreground's, kept clear),
                            "duration": seconds > 0 (required)}
    width, height   int     the clips' (landscape) frame size, even, 16..7680 x 16..4320
    fps             int     1..120
    format          str     "landscape" (the frame size) or "vertical" (9:16, 1.5 x height
                            wide: 1080x1920 for 1280x720) (default landscape)
    captions        str     "burned" (drawn and .srt), "srt" (only the .srt), "none" (neither)
                            (default burned)
    caption_style   object  {"font", "size" (px at 1080 lines), "colour", "outline_colour"
                            (#RRGGBB), "outline" (px at 1080 lines), "position" (bottom|top)}
    music           object  {"file": path, "volume_db": -60..0 (default -16), "fade_in",
                            "fade_out": seconds (default 2, 3)} or null: ducked under speech
    crossfade       float   seconds of fade between scenes, 0..2 (default 0)
    loudness_lufs   float   integrated target, -30..-5 (default -14); true peak <= -1 dBTP
    sfx_volume_db   float   gain of the sound effects, -60..12 dB (default -14)
    thumbnail       str     path of a .jpg to write (1280x720, < 2 MB), or null
    title           str     the video's title, set on the thumbnail
    stems           bool    also write <stem>.music.wav, the ducked bed (default false)
    output          str     path of the .mp4 to write; the .srt goes beside it (same stem)

Output (stdout JSON line):
    {"output", "duration", "provider", "model", "cost_usd", "srt", "size_bytes",
     "video_codec", "audio_codec", "width", "height", "format", "reencoded", "scenes", "cues",
     "timed_scenes", "loudness": {"integrated", "true_peak", "lra", "target", "mode"},
     "thumbnail", "thumbnail_frame", "music"}

Providers: local (ffmpeg, model "ffmpeg"). Scene i starts at the sum of the durations before
it. Sound: see _mix.py (ducking, a measured gain through a true-peak limiter, ebur128).
Captions: _captions.py (phrases timed to the words); layout per format: _layout.py. Titles
and captions are drawn by libass after the camera move. With no titles, nothing burned, no
crossfade and matching H.264 clips, the landscape picture is stream-copied. The MP4 is
probed (video and audio present, duration within 0.5 s of the scenes' total) and its
loudness measured (within 0.5 LU of the target, true peak <= -1 dBTP) before the files are
renamed into place.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _contract as c
import _media as m


def run_local(spec: dict[str, Any], temp: Path, model: str | None) -> dict[str, Any]:
    """Mix and normalise the sound, then join, draw and mux with ffmpeg into ``temp``."""
    import _mix
    from _assembly import Inputs, concat_listing, copyable, video_graph
    from _captions import FONT_FILE, ass_script

    c.check_model(model, "ffmpeg")
    scenes, frame, fps = spec["scenes"], spec["frame"], spec["fps"]
    with tempfile.TemporaryDirectory(prefix="reelflow-assembly-") as folder:
        work = Path(folder)
        _mix.mix(
            scenes, spec["music"], sfx_db=spec["sfx_volume_db"], total=spec["total"],
            output=work / "mix.wav", stems=spec["stems"],
        )  # fmt: skip
        loudness = _mix.normalise(work / "mix.wav", work / "norm.wav", target=spec["lufs"])
        inputs = Inputs()
        plain = not spec["placed"] and not spec["crossfade"] and frame.kind == "landscape"
        copy = plain and all(copyable(s, frame.width, frame.height, fps) for s in scenes)
        if copy:
            listing = work / "clips.txt"
            listing.write_text(concat_listing([scene["clip"] for scene in scenes]))
            inputs.add(listing, "-f", "concat", "-safe", "0")
            video = ["-map", "0:v:0", "-c:v", "copy"]
        else:
            clips = [inputs.add(scene["clip"]) for scene in scenes]
            overlay = None
            if spec["placed"]:
                (work / "fonts").mkdir()
                shutil.copy(FONT_FILE, work / "fonts" / FONT_FILE.name)
                script = ass_script(
                    spec["placed"], width=frame.width, height=frame.height,
                    style=spec["style"], sizes=spec["sizes"],
                )  # fmt: skip
                (work / "text.ass").write_text(script, encoding="utf-8")
                overlay = f"ass=filename={work / 'text.ass'}:fontsdir={work / 'fonts'}"
            graph = video_graph(
                scenes, clips, frame, fps=fps, crossfade=spec["crossfade"], overlay=overlay
            )
            video = ["-filter_complex", graph, "-map", "[vout]", *m.H264, "-r", str(fps)]
        sound = inputs.add(work / "norm.wav")
        audio = ["-map", f"{sound}:a:0", "-c:a", "aac", "-b:a", "192k", "-ar", "48000"]
        end = ["-t", f"{spec['total']:.3f}", "-movflags", "+faststart", str(temp)]
        m.ffmpeg(*inputs.args, *video, *audio, *end)
    return {"model": "ffmpeg", "cost_usd": 0.0, "reencoded": not copy, "mix": loudness}


PROVIDERS = {"local": run_local}


def run(request: c.Request, provider: str, model: str | None) -> c.Result:
    """Validate and probe the inputs, assemble into temp files, check, rename them all."""
    from _assembly_spec import read_spec, thumbnail_path
    from _captions import srt

    implementation = c.pick_provider(PROVIDERS, provider)
    spec = read_spec(request)
    output = c.output_path(request, (".mp4",))
    thumbnail = thumbnail_path(request)
    stems = output.with_name(f"{output.stem}.music.wav")
    with c.atomic_output(output) as temp, c.atomic_output(output.with_suffix(".srt")) as temp_srt:
        spec["stems"] = c.temp_path_for(stems) if spec["stems"] and spec["music"] else None
        try:
            produced = implementation(spec, temp, model)
            temp_srt.write_text(srt(spec["cues"]) if spec["captions"] != "none" else "", "utf-8")
            info, loudness = _check(temp, spec)
            picked = _make_thumbnail(spec, thumbnail) if thumbnail else None
            if spec["stems"] is not None:
                spec["stems"].replace(stems)
        finally:
            if spec["stems"] is not None:
                spec["stems"].unlink(missing_ok=True)
    c.log(f"{len(spec['scenes'])} scenes, {info.duration:.2f} s, {loudness} → {output}")
    return {
        "output": str(output),
        "duration": info.duration,
        "provider": provider,
        "model": produced.get("model", model),
        "cost_usd": float(produced.get("cost_usd", 0.0)),
        "srt": str(output.with_suffix(".srt")),
        "size_bytes": output.stat().st_size,
        "video_codec": info.video_codec,
        "audio_codec": info.audio_codec,
        "width": info.width,
        "height": info.height,
        "format": spec["frame"].kind,
        "reencoded": produced.get("reencoded"),
        "scenes": len(spec["scenes"]),
        "cues": len(spec["cues"]),
        "timed_scenes": spec["timed_scenes"],
        "loudness": {**loudness, "target": spec["lufs"], "mode": produced["mix"]["mode"]},
        "thumbnail": str(thumbnail) if thumbnail else None,
        "thumbnail_frame": picked,
        "music": str(spec["music"]["file"]) if spec["music"] else None,
        "stems": str(stems) if spec["stems"] is not None else None,
    }


def _check(temp: Path, spec: dict[str, Any]) -> tuple[m.MediaInfo, dict[str, float]]:
    """The MP4's streams, size and length, then its loudness (ebur128), or Failure."""
    import _mix

    info = m.probe(temp)
    lengths = (info.duration, info.video_duration, info.audio_duration)
    frame = spec["frame"]
    if (
        info.video_codec is None
        or info.audio_codec is None
        or (info.width, info.height) != (frame.width, frame.height)
        or any(abs(length - spec["total"]) > 0.5 for length in lengths)
    ):
        raise c.Failure(
            f"final check failed: video {info.video_codec} {info.width}x{info.height} "
            f"{info.video_duration:.2f} s, audio {info.audio_codec} "
            f"{info.audio_duration:.2f} s, for {spec['total']:.2f} s of scenes",
            type="invalid_output",
        )
    loudness = _mix.measure(temp)
    problems = _mix.loudness_problems(loudness, spec["lufs"])
    if problems:
        raise c.Failure("loudness check failed: " + "; ".join(problems), type="invalid_output")
    return info, loudness


def _make_thumbnail(spec: dict[str, Any], path: Path) -> dict[str, Any]:
    """The thumbnail from the strongest scene frame, written atomically."""
    import _thumbnail
    from _captions import FONT_FILE

    image, index, score = _thumbnail.strongest([scene["clip"] for scene in spec["scenes"]])
    with c.atomic_output(path) as temp:
        size = _thumbnail.render(
            image, spec["title"] or spec["scenes"][index]["title"], FONT_FILE, temp
        )
    return {"scene": index, "score": round(score, 1), "size_bytes": size}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, read the request on stdin, print the one JSON result line."""
    return c.serve(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
