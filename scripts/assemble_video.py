"""assemble_video: clips, narration and sound effects into the final MP4 and its .srt.

Input (stdin JSON):
    scenes          list    in order, at least one: {"clip": path (required), "narration":
                            path|null, "sfx": path|null, "text": str (default ""),
                            "duration": seconds > 0 (required)}
    width, height   int     even frame size, 16..7680 x 16..4320
    fps             int     1..120
    burn_subtitles  bool    draw the narration text onto the picture (default false)
    loudness_lufs   float   integrated loudness of the mix, -70..-5 (default -16)
    sfx_volume_db   float   gain of the sound effects, -60..12 dB (default -14)
    output          str     path of the .mp4 to write; the .srt goes beside it (same stem)

Output (stdout JSON line):
    {"output", "duration", "provider", "model", "cost_usd", "srt", "size_bytes",
     "video_codec", "audio_codec", "width", "height", "reencoded", "scenes", "cues"}

Providers: local (ffmpeg, model "ffmpeg"). Scene i starts at the sum of the durations before
it; its narration and sfx (at sfx_volume_db) start there and are cut at its end; the mix is
loudness-normalised (loudnorm) into AAC. Matching H.264 clips are joined by stream copy;
burned subtitles, or clips of another size, rate or length, mean a libx264 re-encode. SRT
cue: a scene's text from its start to the end of its narration or of the scene, whichever
comes first. The MP4 is probed (video and audio present, duration within 0.5 s of the
scenes' total) before both files are renamed into place.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _contract as c
import _media as m


def run_local(spec: dict[str, Any], temp: Path, model: str | None) -> dict[str, Any]:
    """Join, mix and mux with ffmpeg into ``temp``."""
    from _assembly import Inputs, audio_graph, concat_listing, copyable, video_graph
    from _captions import render

    c.check_model(model, "ffmpeg")
    scenes, (width, height), fps = spec["scenes"], spec["size"], spec["fps"]
    reencode = spec["burn_subtitles"] or not all(copyable(s, width, height, fps) for s in scenes)
    inputs = Inputs()
    with tempfile.TemporaryDirectory(prefix="reelflow-assembly-") as work:
        if reencode:
            clips = [inputs.add(scene["clip"]) for scene in scenes]
        else:
            listing = Path(work) / "clips.txt"
            listing.write_text(concat_listing([scene["clip"] for scene in scenes]))
            inputs.add(listing, "-f", "concat", "-safe", "0")
        graph = audio_graph(
            scenes,
            inputs,
            sfx_db=spec["sfx_volume_db"],
            lufs=spec["loudness_lufs"],
            total=spec["total"],
        )
        video = ["-map", "0:v:0", "-c:v", "copy"]
        if reencode:
            captions = []
            for i, cue in enumerate(spec["cues"] if spec["burn_subtitles"] else []):
                png = Path(work) / f"caption-{i}.png"
                position = render(cue, width, height, png)
                captions.append((inputs.add(png), position, cue))
            graph += ";" + video_graph(scenes, clips, captions, width=width, height=height, fps=fps)
            video = ["-map", "[vout]", *m.H264, "-r", str(fps)]
        audio = ["-map", "[aout]", "-c:a", "aac", "-b:a", "160k", "-ar", "48000"]
        end = ["-t", f"{spec['total']:.3f}", "-movflags", "+faststart", str(temp)]
        m.ffmpeg(*inputs.args, "-filter_complex", graph, *video, *audio, *end)
    return {"model": "ffmpeg", "cost_usd": 0.0, "reencoded": reencode}


PROVIDERS = {"local": run_local}


def run(request: c.Request, provider: str, model: str | None) -> c.Result:
    """Validate and probe the inputs, assemble into temp files, probe, rename both."""
    from _assembly import cues_for, read_scenes
    from _captions import srt

    implementation = c.pick_provider(PROVIDERS, provider)
    width, height = m.frame_size(request)
    scenes = read_scenes(request)
    spec: dict[str, Any] = {
        "scenes": scenes,
        "size": (width, height),
        "fps": c.get_number(request, "fps", integer=True, minimum=1, maximum=120),
        "burn_subtitles": c.get_bool(request, "burn_subtitles", False),
        "loudness_lufs": c.get_number(request, "loudness_lufs", -16.0, minimum=-70, maximum=-5),
        "sfx_volume_db": c.get_number(request, "sfx_volume_db", -14.0, minimum=-60, maximum=12),
        "total": sum(scene["duration"] for scene in scenes),
        "cues": cues_for(scenes),
    }
    output = c.output_path(request, (".mp4",))
    subtitles = output.with_suffix(".srt")
    with c.atomic_output(output) as temp, c.atomic_output(subtitles) as temp_srt:
        produced = implementation(spec, temp, model)
        temp_srt.write_text(srt(spec["cues"]), encoding="utf-8")
        info = m.probe(temp)
        lengths = (info.duration, info.video_duration, info.audio_duration)
        if (
            info.video_codec is None
            or info.audio_codec is None
            or any(abs(length - spec["total"]) > 0.5 for length in lengths)
        ):
            raise c.Failure(
                f"final check failed: video {info.video_codec} "
                f"{info.video_duration:.2f} s, audio {info.audio_codec} "
                f"{info.audio_duration:.2f} s, for {spec['total']:.2f} s of scenes",
                type="invalid_output",
            )
    c.log(f"{len(scenes)} scenes, {info.duration:.2f} s → {output}")
    return {
        "output": str(output),
        "duration": info.duration,
        "provider": provider,
        "model": produced.get("model", model),
        "cost_usd": float(produced.get("cost_usd", 0.0)),
        "srt": str(subtitles),
        "size_bytes": output.stat().st_size,
        "video_codec": info.video_codec,
        "audio_codec": info.audio_codec,
        "width": info.width,
        "height": info.height,
        "reencoded": produced.get("reencoded"),
        "scenes": len(scenes),
        "cues": len(spec["cues"]),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, read the request on stdin, print the one JSON result line."""
    return c.serve(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
