"""The assembly's parts: its scenes read and probed, the subtitle cues, and the ffmpeg
filter graphs for the audio mix and, when re-encoding, the video."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _captions import Cue
from _contract import BadInput, Request, get_number, get_str, input_file
from _media import MediaInfo, probe_input


@dataclass
class Inputs:
    """ffmpeg's ``-i`` arguments; ``add`` returns the input's index for the graph."""

    args: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, path: Path, *options: str) -> int:
        self.args += [*options, "-i", str(path)]
        self.count += 1
        return self.count - 1


def read_scenes(request: Request) -> list[dict[str, Any]]:
    """Each scene's files checked and probed; error messages name e.g. scenes[2].clip."""
    raw = request.get("scenes")
    if not isinstance(raw, list) or not raw:
        raise BadInput("field 'scenes' must be a non-empty list", type="invalid_field")
    scenes = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise BadInput(f"field 'scenes[{i}]' must be an object", type="invalid_field")
        named = {f"scenes[{i}].{key}": value for key, value in item.items()}
        scene: dict[str, Any] = {
            "clip": input_file(item.get("clip"), f"scenes[{i}].clip"),
            "text": " ".join(get_str(named, f"scenes[{i}].text", "", empty=True).split()),
            "duration": get_number(named, f"scenes[{i}].duration", minimum=0.001, maximum=3600.0),
        }
        scene["clip_info"] = probe_input(scene["clip"], f"scenes[{i}].clip", video=True)
        for kind in ("narration", "sfx"):
            value, name = item.get(kind), f"scenes[{i}].{kind}"
            scene[kind] = None if value is None else input_file(value, name)
            scene[f"{kind}_info"] = scene[kind] and probe_input(scene[kind], name, audio=True)
        scenes.append(scene)
    return scenes


def cues_for(scenes: list[dict[str, Any]]) -> list[Cue]:
    """One cue per scene with text: from its start to the end of its narration or scene."""
    cues, start = [], 0.0
    for scene in scenes:
        end = start + scene["duration"]
        if scene["narration_info"] is not None:
            end = min(end, start + scene["narration_info"].duration)
        if scene["text"] and end > start:
            cues.append(Cue(start, end, scene["text"]))
        start += scene["duration"]
    return cues


def copyable(scene: dict[str, Any], width: int, height: int, fps: int) -> bool:
    """Can this clip be stream-copied: H.264 yuv420p at the frame size, rate and length?"""
    info: MediaInfo = scene["clip_info"]
    return (
        info.video_codec == "h264"
        and (info.width, info.height) == (width, height)
        and info.pix_fmt == "yuv420p"
        and abs(info.fps - fps) < 0.01
        and abs(info.duration - scene["duration"]) <= 1.01 / fps
    )


def concat_listing(clips: list[Path]) -> str:
    """A concat-demuxer listing (single quotes escaped the demuxer's way)."""
    return "".join("file '{}'\n".format(str(clip).replace("'", "'\\''")) for clip in clips)


def audio_graph(
    scenes: list[dict[str, Any]], inputs: Inputs, *, sfx_db: float, lufs: float, total: float
) -> str:
    """Narration and sfx delayed to their scene's start and cut at its end, mixed over
    silence lasting the whole video, loudness-normalised; ends in ``[aout]``."""
    chains: list[str] = []
    labels: list[str] = []
    start = 0.0
    for scene in scenes:
        for kind, gain in (("narration", 0.0), ("sfx", sfx_db)):
            if scene[kind] is None:
                continue
            index, label = inputs.add(scene[kind]), f"a{len(labels)}"
            chains.append(
                f"[{index}:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,"
                f"atrim=end={scene['duration']:.3f},asetpts=PTS-STARTPTS,volume={gain}dB,"
                f"adelay=delays={round(start * 1000)}:all=1[{label}]"
            )
            labels.append(f"[{label}]")
        start += scene["duration"]
    chains.append(f"anullsrc=r=48000:cl=stereo,atrim=end={total:.3f}[base]")
    chains.append(
        f"[base]{''.join(labels)}amix=inputs={len(labels) + 1}:normalize=0:duration=first,"
        f"loudnorm=I={lufs}:TP=-1.5:LRA=11,aresample=48000,atrim=end={total:.3f}[aout]"
    )
    return ";".join(chains)


def video_graph(
    scenes: list[dict[str, Any]],
    clips: list[int],
    captions: list[tuple[int, tuple[int, int], Cue]],
    *,
    width: int,
    height: int,
    fps: int,
) -> str:
    """Each clip fitted to the frame and held or trimmed to its scene's length, joined,
    with each caption PNG overlaid during its cue; ends in ``[vout]``."""
    chains = []
    for i, (scene, index) in enumerate(zip(scenes, clips, strict=True)):
        seconds = f"{scene['duration']:.3f}"
        chains.append(
            f"[{index}:v]scale={width}:{height}:force_original_aspect_ratio=increase,"
            f"crop={width}:{height},setsar=1,fps={fps},"
            f"tpad=stop_mode=clone:stop_duration={seconds},trim=duration={seconds},"
            f"setpts=PTS-STARTPTS[v{i}]"
        )
    joined = "".join(f"[v{i}]" for i in range(len(chains)))
    chains.append(f"{joined}concat=n={len(chains)}:v=1:a=0[o]")
    last = "o"
    for i, (index, (x, y), cue) in enumerate(captions):
        chains.append(
            f"[{last}][{index}:v]overlay={x}:{y}:"
            f"enable='between(t,{cue.start:.3f},{cue.end:.3f})'[o{i}]"
        )
        last = f"o{i}"
    chains.append(f"[{last}]format=yuv420p[vout]")
    return ";".join(chains)
