"""How long the local music bed takes: generate_music (72 s, every mood) against a baseline
measured in the same run, ffmpeg writing a 72 s 48 kHz stereo sine tone to WAV (the cheapest
"bed" there is, and the same process start-up and WAV writing).

Runs each on one core (``taskset -c 0`` when available) and reports wall and CPU seconds
(the script and its ffmpeg child together). Goal (issue 14): a 72 s bed well under 3 s on
one core.

    .venv/bin/python bench/music_bed.py [--seconds 72] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MOODS = ("calm", "happy", "hopeful", "sad", "dramatic", "mysterious")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(argv: list[str], stdin: str = "") -> tuple[float, float, str]:
    """(wall, CPU seconds, stdout) of one run of ``argv``, pinned to one core if possible."""
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    cpu, wall = _children_cpu(), time.perf_counter()
    done = subprocess.run([*pin, *argv], input=stdin, text=True, check=True, capture_output=True)
    return time.perf_counter() - wall, _children_cpu() - cpu, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=72.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "scripts"))
    import _media

    folder = Path(tempfile.mkdtemp(prefix="reelflow-bench-music-"))
    tone = [_media.ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi", "-i",
            f"sine=frequency=220:duration={args.seconds}:sample_rate=48000",
            "-ac", "2", "-c:a", "pcm_s16le", str(folder / "tone.wav")]  # fmt: skip
    baseline = [_timed(tone) for _ in range(args.repeat)]
    base_wall = statistics.median(w for w, _, _ in baseline)
    base_cpu = statistics.median(c for _, c, _ in baseline)
    print(f"baseline (ffmpeg sine tone, {args.seconds:.0f} s): wall {base_wall:.2f} s, "
          f"CPU {base_cpu:.2f} s")  # fmt: skip
    print(
        f"{'mood':<12}{'wall s':>8}{'CPU s':>8}{'x tone':>8}  key, tempo (CPU is the script"
        " and its ffmpeg together)"
    )
    for mood in MOODS:
        runs = []
        for attempt in range(args.repeat):
            request = {"prompt": "a documentary", "mood": mood, "duration": args.seconds,
                       "seed": 1, "output": str(folder / f"{mood}-{attempt}.wav")}  # fmt: skip
            runs.append(_timed([sys.executable, str(ROOT / "scripts" / "generate_music.py")],
                               json.dumps(request)))  # fmt: skip
        wall = statistics.median(w for w, _, _ in runs)
        cpu = statistics.median(c for _, c, _ in runs)
        result = json.loads(runs[-1][2].strip().splitlines()[-1])
        print(f"{mood:<12}{wall:>8.2f}{cpu:>8.2f}{wall / base_wall:>8.1f}  "
              f"{result['key']}, {result['tempo_bpm']} bpm")  # fmt: skip
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
