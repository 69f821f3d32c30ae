"""The assembly's sound: narration, effects and a music bed ducked under the narration,
then loudness-normalised (measure, then apply) and measured.

1. ``mix``: every scene's narration and effect delayed to its scene's start and cut at its
   end; the music bed (looped to the length, at its volume, faded in and out) goes through
   ``sidechaincompress`` keyed by the narration, so it dips under speech; all into a 48 kHz
   stereo WAV. With ``stems`` the ducked bed is written too (to measure, or to remix).
2. ``normalise``: ebur128 measures the mix; the gain to the target is applied through a
   true-peak limiter (at 192 kHz, ceiling under ``TP_AIM``), out at 48 kHz; ebur128 measures
   the result and the gain is trimmed until it is within ``TRIM`` LU (at most ``PASSES``).
   Not ``loudnorm``: where a linear gain would break the peak ceiling or the loudness range
   (eSpeak's speech peaks stand far above its loudness) its linear mode reverts to dynamic
   (ffmpeg's documentation of ``linear``), which reshapes the whole sound; the limiter
   touches only the peaks, and the same ebur128 that checks the result sets the gain.
3. ``measure``: ebur128 (integrated, true peak, LRA) of any file's audio, e.g. the final MP4.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from _contract import Failure
from _media import ffmpeg, ffmpeg_log

TP_AIM = -2.0  # the limiter's true-peak ceiling; AAC adds a little, the check allows -1.0
TP_MAX = -1.0
TOLERANCE = 0.5
TRIM = 0.1  # LU: closer than this to the target, the gain is left as it is
PASSES = 3
FORMAT = "aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo"
# Content near 20 kHz (synthetic birdsong) makes ffmpeg's AAC encoder overshoot by up to
# 14 dB of true peak; nothing above 16 kHz matters on a video site that re-encodes anyway.
LOWPASS = "lowpass=f=16000"
# The narration is compressed (as broadcast speech is) so that -14 LUFS fits under a
# -1 dBTP peak without the limiter squashing it: eSpeak's peaks stand 17 dB over its loudness.
VOICE = "acompressor=threshold=0.05:ratio=4:attack=1:release=60:knee=4:makeup=2"
DUCK = "sidechaincompress=threshold=0.01:ratio=12:attack=20:release=350:knee=2"


def mix(
    scenes: list[dict[str, Any]],
    music: dict[str, Any] | None,
    *,
    sfx_db: float,
    total: float,
    output: Path,
    stems: Path | None = None,
) -> None:
    """Narration, effects and the ducked music bed into ``output`` (48 kHz stereo WAV)."""
    args: list[str] = []
    chains: list[str] = []
    voice: list[str] = []
    effects: list[str] = []
    start = 0.0
    for scene in scenes:
        for kind, gain, bus in (("narration", 0.0, voice), ("sfx", sfx_db, effects)):
            if scene[kind] is None:
                continue
            index, label = len(args) // 2, f"{kind[0]}{len(bus)}"
            args += ["-i", str(scene[kind])]
            chains.append(
                f"[{index}:a]{FORMAT},atrim=end={scene['duration']:.3f},asetpts=PTS-STARTPTS,"
                f"volume={gain}dB,adelay=delays={round(start * 1000)}:all=1[{label}]"
            )
            bus.append(f"[{label}]")
        start += scene["duration"]
    buses = []
    for name, parts in (("voice", voice), ("fx", effects)):
        chains.append(f"anullsrc=r=48000:cl=stereo,atrim=end={total:.3f}[{name}0]")
        chains.append(
            f"[{name}0]{''.join(parts)}amix=inputs={len(parts) + 1}:normalize=0:"
            f"duration=first{',' + VOICE if name == 'voice' else ''}[{name}]"
        )
        buses.append(name)
    outputs = ["-map", "[mix]", "-c:a", "pcm_f32le", str(output)]
    done = f"{LOWPASS}[mix]"
    if music is None:
        chains.append("[voice][fx]amix=inputs=2:normalize=0:duration=first," + done)
    else:
        index = len(args) // 2
        args += ["-stream_loop", "-1", "-i", str(music["file"])]
        fade_out = max(0.0, total - music["fade_out"])
        chains += [
            f"[{index}:a]{FORMAT},atrim=end={total:.3f},asetpts=PTS-STARTPTS,"
            f"volume={music['volume_db']}dB,afade=t=in:d={music['fade_in']:.2f},"
            f"afade=t=out:st={fade_out:.3f}:d={music['fade_out']:.2f}[bed]",
            "[voice]asplit=2[speech][key]",
            f"[bed][key]{DUCK}[ducked]",
        ]
        if stems is None:
            chains.append("[speech][fx][ducked]amix=inputs=3:normalize=0:duration=first," + done)
        else:
            chains += [
                "[ducked]asplit=2[ducked1][ducked2]",
                "[speech][fx][ducked1]amix=inputs=3:normalize=0:duration=first," + done,
            ]
            outputs += ["-map", "[ducked2]", "-c:a", "pcm_f32le", str(stems)]
    ffmpeg(*args, "-filter_complex", ";".join(chains), "-t", f"{total:.3f}", *outputs)


def normalise(source: Path, output: Path, *, target: float) -> dict[str, Any]:
    """``source`` at ``target`` LUFS with its true peak under ``TP_AIM`` into ``output``
    (48 kHz WAV): measure, apply the measured gain through a limiter running at 192 kHz
    (4x, so its sample peaks are true peaks), measure again and trim the gain (at most
    ``PASSES`` times). Returns what ebur128 measured of the result, and the passes."""
    first = measure(source)
    if first["integrated"] < -69:  # silence: nothing to normalise
        ffmpeg("-i", str(source), "-c:a", "pcm_f32le", "-ar", "48000", str(output))
        return {**first, "mode": "silent"}
    gain, ceiling = target - first["integrated"], 10 ** ((TP_AIM - 0.3) / 20)
    slope, last = 1.0, None  # LU gained per dB of gain: under 1 where the limiter works
    done = 0
    while done < PASSES:
        done += 1
        ffmpeg(
            "-i", str(source), "-af",
            f"volume={gain:.3f}dB,aresample=192000,"
            f"alimiter=limit={ceiling:.5f}:level=false:attack=1:release=60,aresample=48000",
            "-c:a", "pcm_f32le", str(output),
        )  # fmt: skip
        measured = measure(output)
        if abs(target - measured["integrated"]) <= TRIM:
            break
        if last is not None and gain != last[0]:
            slope = min(1.0, max(0.3, (measured["integrated"] - last[1]) / (gain - last[0])))
        last = (gain, measured["integrated"])
        gain += (target - measured["integrated"]) / slope
    limited = first["true_peak"] + target - first["integrated"] > TP_AIM
    return {**measured, "mode": f"{'limited' if limited else 'linear'}, {done} passes"}


METER = "ebur128=peak=true:framelog=quiet"
SUMMARY = {
    "integrated": re.compile(r"I:\s+(-?[\d.]+|-inf) LUFS"),
    "lra": re.compile(r"LRA:\s+(-?[\d.]+) LU"),
    "true_peak": re.compile(r"Peak:\s+(-?[\d.]+|-inf) dBFS"),
}


def measure(path: Path) -> dict[str, float]:
    """ebur128's summary of ``path``'s audio: integrated LUFS, true peak dBTP, LRA LU."""
    log = ffmpeg_log("-i", str(path), "-map", "0:a:0", "-af", METER, "-f", "null", "-")
    summary = log[log.rfind("Summary:") :]
    values = {}
    for key, pattern in SUMMARY.items():
        found = pattern.search(summary)
        if found is None:
            raise Failure(f"ebur128 gave no {key} for {path.name}", type="tool_failed")
        values[key] = -99.0 if found[1] == "-inf" else round(float(found[1]), 2)
    return values


def loudness_problems(measured: dict[str, float], target: float) -> list[str]:
    problems = []
    if abs(measured["integrated"] - target) > TOLERANCE:
        problems.append(
            f"integrated {measured['integrated']} LUFS is not within {TOLERANCE} LU of {target}"
        )
    if measured["true_peak"] > TP_MAX:
        problems.append(f"true peak {measured['true_peak']} dBTP is above {TP_MAX}")
    return problems
