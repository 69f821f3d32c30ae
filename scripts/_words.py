"""Word timings of a narration: ``<stem>.words.json`` beside the audio file.

    {"words": [{"text": "Rivers", "start": 0.12, "end": 0.48}, ...], "duration": 4.73}

Seconds from the start of the audio, in speech order. ``text`` is each whitespace-separated
token of the narration as written, punctuation attached ("canyons."); joined with single
spaces they give back the narration. Three sources:

- ``from_marks``: eSpeak NG's WORD events (character index, sample); a word ends where its
  sound does (the last voiced 10 ms frame before the next word starts), found on the PCM.
- ``from_characters``: ElevenLabs' per-character alignment (start and end of each character).
- ``estimated``: no timing from the voice (the espeak-ng binary fallback, an answer without
  alignment): the voiced span of the audio shared out by the tokens' lengths.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import re
from array import array
from collections.abc import Sequence
from operator import mul
from pathlib import Path
from typing import Any

from _contract import temp_path_for

Word = dict[str, Any]
FRAME_SECONDS = 0.01
MIN_WORD = 0.04  # a word with sound lasts at least this long
SPOKEN = re.compile(r"\w")


def words_path(audio: Path) -> Path:
    """Where the timings of ``audio`` go: same folder, same stem, ``.words.json``."""
    return audio.with_name(f"{audio.stem}.words.json")


def tokens(text: str) -> list[tuple[int, int, str]]:
    """(start, end, token) of each whitespace-separated token, as character offsets."""
    return [(m.start(), m.end(), m[0]) for m in re.finditer(r"\S+", text)]


def voiced_frames(pcm: bytes, sample_rate: int) -> list[bool]:
    """For each 10 ms frame of 16-bit mono PCM: does it hold sound (RMS over 1% of the
    loudest frame's, and over an absolute floor of 20)?"""
    samples = array("h", pcm[: len(pcm) // 2 * 2])
    size = max(1, round(sample_rate * FRAME_SECONDS))
    energy = [sum(map(mul, chunk, chunk)) / size
              for chunk in (samples[i:i + size] for i in range(0, len(samples), size))]  # fmt: skip
    if not energy:
        return []
    floor = max(20.0**2, (0.01**2) * max(energy))
    return [e > floor for e in energy]


def from_marks(
    text: str, marks: Sequence[tuple[int, float]], duration: float, voiced: list[bool]
) -> list[Word]:
    """Words from (0-based character index, seconds) marks, one or more per spoken token
    (eSpeak gives "1995" three); tokens without a mark take the time between neighbours."""
    spans = tokens(text)
    offsets = [start for start, _, _ in spans]
    starts: list[float | None] = [None] * len(spans)
    for position, seconds in marks:
        index = max(0, bisect.bisect_right(offsets, position) - 1)
        known = starts[index]
        if spans and (known is None or seconds < known):
            starts[index] = seconds
    filled = _fill(starts, duration)
    return _ended(spans, filled, duration, voiced)


def _fill(starts: list[float | None], duration: float) -> list[float]:
    """Starts for tokens without one: evenly between the known neighbours; monotone."""
    known = [(i, s) for i, s in enumerate(starts) if s is not None]
    out: list[float] = []
    for i, start in enumerate(starts):
        if start is None:
            before = max(((j, s) for j, s in known if j < i), default=(-1, 0.0))
            after = min(((j, s) for j, s in known if j > i), default=(len(starts), duration))
            share = (i - before[0]) / (after[0] - before[0])
            start = before[1] + share * (after[1] - before[1])
        out.append(max(start, out[-1]) if out else start)
    return out


def _ended(
    spans: list[tuple[int, int, str]], starts: list[float], duration: float, voiced: list[bool]
) -> list[Word]:
    words: list[Word] = []
    for i, (_, _, token) in enumerate(spans):
        start = min(starts[i], duration)
        limit = min(starts[i + 1], duration) if i + 1 < len(spans) else duration
        if not SPOKEN.search(token):  # a lone dash or ellipsis: no sound of its own
            start = end = words[-1]["end"] if words else start
        else:
            end = _sound_end(start, limit, voiced)
        words.append({"text": token, "start": round(start, 3), "end": round(end, 3)})
    return words


def _sound_end(start: float, limit: float, voiced: list[bool]) -> float:
    """The end of the last voiced frame in [start, limit), at least MIN_WORD after start."""
    first, last = int(start / FRAME_SECONDS), min(len(voiced), int(limit / FRAME_SECONDS))
    end = next((f + 1 for f in range(last - 1, first - 1, -1) if voiced[f]), None)
    seconds = limit if end is None else min(end * FRAME_SECONDS, limit)
    return max(seconds, min(start + MIN_WORD, limit))


def from_characters(
    text: str, characters: Sequence[str], starts: Sequence[float], ends: Sequence[float],
    duration: float,
) -> list[Word] | None:  # fmt: skip
    """Words from a per-character alignment (ElevenLabs); None when it does not fit."""
    if not (len(characters) == len(starts) == len(ends)) or not characters:
        return None
    runs: list[tuple[float, float]] = []
    current: list[int] = []
    for i, char in enumerate([*characters, " "]):
        if char.strip():
            current.append(i)
        elif current:
            runs.append((float(starts[current[0]]), float(ends[current[-1]])))
            current = []
    spans = tokens(text)
    if len(runs) != len(spans):
        return None
    return [
        {"text": token, "start": round(min(a, duration), 3),
         "end": round(min(max(a, b), duration), 3)}
        for (_, _, token), (a, b) in zip(spans, runs, strict=True)
    ]  # fmt: skip


def estimated(text: str, duration: float, voiced: list[bool] | None = None) -> list[Word]:
    """Timings shared out over the voiced span by each token's length (no better source)."""
    spans = tokens(text)
    begin, finish = 0.0, duration
    if voiced and any(voiced):
        begin = voiced.index(True) * FRAME_SECONDS
        finish = min(duration, (len(voiced) - voiced[::-1].index(True)) * FRAME_SECONDS)
    weights = [len(token) + 1 for _, _, token in spans]
    total, at, words = sum(weights) or 1, begin, []
    for (_, _, token), weight in zip(spans, weights, strict=True):
        length = (finish - begin) * weight / total
        words.append({"text": token, "start": round(at, 3), "end": round(at + length, 3)})
        at += length
    return words


def write(path: Path, words: list[Word], duration: float) -> Path:
    """Write the timings atomically (a temp file beside ``path``, then a rename)."""
    temp = temp_path_for(path)
    try:
        document = {"words": words, "duration": round(duration, 3)}
        temp.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        temp.replace(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    return path
