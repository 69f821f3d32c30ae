"""Captions for the assembly: words → timed phrases → the .srt and an ASS script for libass.

Words come from the narration's ``<stem>.words.json`` (``{"words": [{"text", "start",
"end"}], "duration"}``, written by generate_audio); without one, a narration's words are
spread over its length by their number of characters (an estimate, said so in the result).
A phrase is at most two lines of at most ``MAX_CHARS`` characters that also fit the frame's
safe width; it ends at a sentence's end, at a long pause, at a comma once it is half full, or
when the next word would not fit. It is shown from its first word's start to its last word's
end (held up to ``HOLD`` seconds, never into the next phrase or past its scene). The .srt gets
the same timings. Burned captions and scene titles are one ASS script drawn by libass with
the font shipped in ``fonts/`` (``fontsdir``), after the camera move, so zoom never cuts them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

FONTS = Path(__file__).resolve().parent / "fonts"
FONT_FILE = FONTS / "SourceSansPro-Bold.ttf"
MAX_CHARS = 42
HOLD = 0.3  # seconds a phrase stays after its last word
PAUSE = 0.5  # a gap this long between words ends a phrase
SENTENCE_END = re.compile(r"[.!?…][\"')\]]*$")
CLAUSE_END = re.compile(r"[,;:\u2014\u2013][\"')\]]*$")  # comma, semicolon, colon, dashes
EM = 1.42  # libass sizes a font by ascent + descent: Source Sans Pro's is 1.42 em


@dataclass(frozen=True)
class Word:
    text: str
    start: float  # seconds from the narration's start
    end: float


@dataclass(frozen=True)
class Cue:
    start: float  # seconds from the video's start
    end: float
    text: str  # lines joined by "\n"


def timestamp(seconds: float) -> str:
    """SRT time: ``HH:MM:SS,mmm``."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def srt(cues: list[Cue]) -> str:
    """The SubRip text: numbered blocks separated by blank lines."""
    blocks = [
        f"{number}\n{timestamp(cue.start)} --> {timestamp(cue.end)}\n{cue.text}\n"
        for number, cue in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)


def read_words(path: Path | None, text: str, duration: float) -> tuple[list[Word], bool]:
    """(words, timed): the narration's word timings, or an estimate when it has none."""
    if path is not None and path.is_file():
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
            words = [
                Word(str(w["text"]), float(w["start"]), float(w["end"]))
                for w in data["words"]
                if str(w["text"]).strip()
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path.name}: not a words file: {exc}") from None
        if words:
            return sorted(words, key=lambda w: w.start), True
    return estimate_words(text, duration), False


def estimate_words(text: str, duration: float) -> list[Word]:
    """``text``'s words spread over ``duration`` by their length (a fallback)."""
    tokens = text.split()
    total = sum(len(t) + 1 for t in tokens) or 1
    words, at = [], 0.0
    for token in tokens:
        length = duration * (len(token) + 1) / total
        words.append(Word(token, at, at + length * 0.9))
        at += length
    return words


@cache
def _font(size: int) -> Any:
    from PIL import ImageFont

    return ImageFont.truetype(str(FONT_FILE), size)


def text_width(text: str, size: float) -> float:
    """Width in pixels of ``text`` drawn by libass at ASS font size ``size``."""
    return float(_font(max(4, round(size / EM * 8))).getlength(text)) / 8


def wrap(words: list[str], fits: Callable[[str], bool]) -> list[str]:
    """Greedy lines that each fit; a word too long for any line stands alone."""
    lines: list[str] = []
    for word in words:
        if lines and fits(f"{lines[-1]} {word}"):
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def balanced(words: list[str], fits: Callable[[str], bool]) -> list[str]:
    """One line if it fits, else the two-line split with the shortest longer line."""
    whole = " ".join(words)
    if fits(whole) or len(words) < 2:
        return [whole]
    splits = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]
    good = [s for s in splits if fits(s[0]) and fits(s[1])] or splits
    return list(min(good, key=lambda s: max(len(s[0]), len(s[1]))))


def phrases(
    words: list[Word], *, offset: float, limit: float, fits: Callable[[str], bool]
) -> list[Cue]:
    """Timed phrases of at most two fitting lines, shifted by ``offset``, ending by ``limit``."""
    groups: list[list[Word]] = []
    for word in words:
        group = groups[-1] if groups else None
        if group is not None and not _ends(group, word, fits):
            group.append(word)
        else:
            groups.append([word])
    cues = []
    for i, group in enumerate(groups):
        start = offset + group[0].start
        if start >= limit:
            break
        following = offset + groups[i + 1][0].start if i + 1 < len(groups) else limit
        end = min(offset + group[-1].end + HOLD, following, limit)
        text = "\n".join(balanced([w.text for w in group], fits))
        cues.append(Cue(round(start, 3), round(max(end, start + 0.05), 3), text))
    return cues


def _ends(group: list[Word], word: Word, fits: Callable[[str], bool]) -> bool:
    """Whether ``group`` is a finished phrase once ``word`` comes next."""
    last = group[-1].text
    if SENTENCE_END.search(last) or word.start - group[-1].end >= PAUSE:
        return True
    joined = " ".join(w.text for w in group)
    if CLAUSE_END.search(last) and len(joined) >= MAX_CHARS // 2:
        return True
    return len(wrap([*(w.text for w in group), word.text], fits)) > 2


def line_fits(size: float, max_width: float) -> Callable[[str], bool]:
    """A line fits when it has at most MAX_CHARS characters and ``max_width`` pixels."""
    return lambda line: len(line) <= MAX_CHARS and text_width(line, size) <= max_width


# --- ASS --------------------------------------------------------------------------------


def _ass_colour(hex_colour: str, alpha: int = 0) -> str:
    r, g, b = hex_colour[1:3], hex_colour[3:5], hex_colour[5:7]
    return f"&H{alpha:02X}{b}{g}{r}".upper()


def _ass_time(seconds: float) -> str:
    centis = max(0, round(seconds * 100))
    hours, centis = divmod(centis, 360_000)
    minutes, centis = divmod(centis, 6000)
    secs, centis = divmod(centis, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{centis:02d}"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\u200b").replace("{", "(").replace("}", ")").replace("\n", "\\N")


@dataclass(frozen=True)
class Placed:
    """A text at a point: ``anchor`` is the ASS \\an (8 = top centre, 2 = bottom centre)."""

    start: float
    end: float
    text: str
    x: int
    y: int
    anchor: int
    style: str  # "Caption" or "Title"


def ass_script(
    placed: list[Placed], *, width: int, height: int, style: dict[str, Any], sizes: dict[str, float]
) -> str:
    """An ASS script drawing every placed text with its style at the frame's pixel scale."""
    font, outline = style["font"], sizes["outline"]
    primary, edge = _ass_colour(style["colour"]), _ass_colour(style["outline_colour"])
    shade = _ass_colour(style["outline_colour"], 0x60)
    head = [
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {width}",
        f"PlayResY: {height}",
        "WrapStyle: 2",
        "ScaledBorderAndShadow: yes",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
        "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
        f"Style: Caption,{font},{sizes['caption']:.1f},{primary},{primary},{edge},{shade},"
        f"-1,0,0,0,100,100,0,0,1,{outline:.2f},{outline / 2:.2f},2,0,0,0,1",
        f"Style: Title,{font},{sizes['title']:.1f},&H00FFFFFF,&H00FFFFFF,&H00000000,{shade},"
        f"-1,0,0,0,100,100,0,0,1,{sizes['title_outline']:.2f},{sizes['title_outline']:.2f},"
        "8,0,0,0,1",
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    events = []
    for p in placed:
        fade = "\\fad(250,250)" if p.style == "Title" else ""
        events.append(
            f"Dialogue: {1 if p.style == 'Caption' else 0},{_ass_time(p.start)},"
            f"{_ass_time(p.end)},{p.style},,0,0,0,,"
            f"{{\\an{p.anchor}\\pos({p.x},{p.y}){fade}}}{_escape(p.text)}"
        )
    return "\n".join([*head, *events]) + "\n"
