"""A markdown outline into a video plan, offline and deterministically.

An outline::

    # How Rivers Carve Canyons          the plan's title (and project id)
    > voice: en-us                      optional plan hints: voice, resolution, fps, fit, style

    ## The Source                       one scene per `##` heading (its title and id)
    > background: snow on a peak        optional scene hints: background, foreground, motion,
    > fit: extend                         sfx, duration, fit, voice, position, scale
    High in the mountains, melting      paragraphs: the scene's narration (joined)
    snow becomes a tiny spring.

Text between the title and the first scene is a note for the writer and is not narrated.
Everything not given is derived from the text: the duration from the narration's estimated
length at the voice's speaking rate (flows/core/narration_fit.py) plus a breath, rounded up
to half a second; the background prompt from the scene's title and first sentence (with the
plan's style); the camera move from words in the narration (rising, falling, wide, close,
revealing; else a fixed round of moves); a sound effect when the text names something the
local sound recipes make (water, wind, rain, birds…). The same outline always gives the
same plan. Problems are one ManifestError naming the line.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from flows.core.errors import ManifestError
from flows.core.manifest import RESERVED_PROJECT_IDS, Manifest, parse_manifest
from flows.core.manifest_limits import MAX_BACKGROUND
from flows.core.narration_fit import estimate_speech, scene_length_for

__all__ = ["OutlineOptions", "outline_to_plan", "parse_outline", "slug"]

PLAN_HINTS = ("voice", "resolution", "fps", "fit", "style")
SCENE_HINTS = ("background", "foreground", "motion", "sfx", "duration", "fit", "voice",
               "position", "scale")  # fmt: skip
MIN_SCENE = 2.0
BREATH = 0.6  # seconds between one scene's last word and the next scene
STYLES = {
    "documentary": "cinematic documentary photograph, natural light",
    "explainer": "clean illustrated diagram style, flat colours",
    "dramatic": "dramatic cinematic lighting, high contrast",
}
# (words in the narration, camera move): the first rule whose word appears wins.
MOVES = (
    (("rise", "rises", "climb", "up", "sky", "tall", "peak", "above"), "slow pan up"),
    (("fall", "falls", "down", "deep", "descend", "sink", "below"), "slow pan down"),
    (("reveal", "opens", "vast", "far", "distance", "whole"), "slow zoom out"),
    (("across", "wide", "horizon", "along", "travels", "flows"), "slow pan right"),
    (("detail", "close", "small", "tiny", "grain", "inside"), "slow zoom in"),
)
ROUND = ("slow zoom in", "slow pan right", "slow zoom out", "slow pan left")
# (words, sound prompt): what scripts/_sound.py makes locally and ElevenLabs understands.
SOUNDS = (
    (("rain", "storm", "thunder"), "rain and distant thunder"),
    (("sea", "ocean", "waves", "shore"), "gentle waves"),
    (("river", "stream", "water", "spring", "flood"), "flowing water"),
    (("wind", "mountain", "desert", "snow"), "wind"),
    (("bird", "birds", "forest", "trees"), "birds"),
    (("city", "street", "traffic"), "distant traffic"),
    (("fire", "flame", "volcano"), "crackling fire"),
)
_HINT = re.compile(r"^>\s*([A-Za-z_]+)\s*:\s*(.*)$")
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class OutlineOptions:
    """What the outline does not say: defaults for the plan (the outline's hints win)."""

    voice: str = "en"
    resolution: str = "1280x720"
    fps: int = 30
    style: str | None = None
    fit: str | None = None
    channel: str | None = None
    title: str | None = None  # when the outline has no `#` line (a Notion card's title)


@dataclass
class _Scene:
    title: str
    line: int
    hints: dict[str, str] = field(default_factory=dict)
    paragraphs: list[str] = field(default_factory=list)


@dataclass
class _Outline:
    title: str | None = None
    hints: dict[str, str] = field(default_factory=dict)
    scenes: list[_Scene] = field(default_factory=list)


def outline_to_plan(text: str, options: OutlineOptions | None = None, *,
                    source: str = "outline") -> Manifest:  # fmt: skip
    """The plan for the outline ``text``, validated like a hand-written one."""
    options = options or OutlineOptions()
    return parse_manifest(plan_data(text, options, source=source), source=source)


def plan_data(text: str, options: OutlineOptions, *, source: str = "outline") -> dict[str, Any]:
    """The outline as plan data (not yet validated)."""
    outline = parse_outline(text, source=source)
    title = outline.title or options.title
    if not title:
        raise ManifestError(f"{source}: no title: start the outline with a `# Title` line")
    if not outline.scenes:
        raise ManifestError(f"{source}: no scenes: give each scene a `## Heading` line")
    hints = outline.hints
    voice = hints.get("voice") or options.voice
    style = hints.get("style") or options.style
    fps = _number(hints["fps"], "fps", source, integer=True) if "fps" in hints else options.fps
    plan: dict[str, Any] = {
        "title": title,
        "project_id": _project_id(title),
        "resolution": hints.get("resolution") or options.resolution,
        "fps": fps,
        "voice": voice,
        "scenes": _scenes(outline.scenes, voice, style, source),
    }
    fit = hints.get("fit") or options.fit
    if fit:
        plan["fit"] = fit
    if options.channel:
        plan["channel"] = options.channel
    return plan


def parse_outline(text: str, *, source: str = "outline") -> _Outline:
    """The outline's title, hints and scenes, with the line each scene starts on."""
    outline = _Outline()
    scene: _Scene | None = None
    paragraph: list[str] = []

    def close_paragraph() -> None:
        if paragraph and scene is not None:
            scene.paragraphs.append(" ".join(paragraph))
        paragraph.clear()

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("## ") or line == "##":
            close_paragraph()
            scene = _Scene(_heading(line, number, source), number)
            outline.scenes.append(scene)
        elif line.startswith("# ") or line == "#":
            close_paragraph()
            if outline.title is not None or scene is not None:
                raise ManifestError(f"{source} line {number}: a second `#` title; scenes are `##`")
            outline.title = _heading(line, number, source)
        elif line.startswith(">"):
            close_paragraph()
            allowed = SCENE_HINTS if scene is not None else PLAN_HINTS
            key, value = _hint(line, number, source, allowed)
            (scene.hints if scene is not None else outline.hints)[key] = value
        elif not line or line.startswith("```") or line.startswith("<!--"):
            close_paragraph()
        else:
            paragraph.append(re.sub(r"^([-*+]|\d+[.)])\s+", "", line))
    close_paragraph()
    return outline


def _heading(line: str, number: int, source: str) -> str:
    title = line.lstrip("#").strip().strip("#").strip()
    if not title:
        raise ManifestError(f"{source} line {number}: an empty heading")
    return title


def _hint(line: str, number: int, source: str, allowed: tuple[str, ...]) -> tuple[str, str]:
    match = _HINT.match(line)
    where = "a scene" if "background" in allowed else "the plan (before the first `##`)"
    if not match or match[1].lower() not in allowed or not match[2].strip():
        raise ManifestError(
            f"{source} line {number}: write hints for {where} as `> key: value`, "
            f"key one of {', '.join(allowed)}"
        )
    return match[1].lower(), match[2].strip()


def _scenes(scenes: list[_Scene], voice: str, style: str | None, source: str) -> list[Any]:
    used: set[str] = set()
    made = []
    for index, scene in enumerate(scenes):
        if not scene.paragraphs:
            raise ManifestError(
                f"{source} line {scene.line}: scene {scene.title!r} has no narration: "
                "write it as a paragraph under the heading"
            )
        made.append(_scene(scene, index, voice, style, _unique(scene.title, index, used), source))
    return made


def _scene(scene: _Scene, index: int, voice: str, style: str | None, scene_id: str,
           source: str) -> dict[str, Any]:  # fmt: skip
    hints = scene.hints
    narration = " ".join(scene.paragraphs)
    words = set(_WORD.findall(narration.lower()))
    made: dict[str, Any] = {
        "id": scene_id,
        "title": scene.title,
        "background": hints.get("background") or _background(scene.title, narration, style),
        "motion": hints.get("motion") or _move(words, index),
        "narration": narration,
    }
    speaker = hints.get("voice") or voice
    if "duration" in hints:
        made["duration"] = _number(hints["duration"], "duration", source, line=scene.line)
    else:
        made["duration"] = _duration(estimate_speech(narration, speaker))
    for key in ("foreground", "fit", "voice"):
        if key in hints:
            made[key] = hints[key]
    sfx = hints.get("sfx") or _sound(words)
    if sfx and sfx.lower() != "none":
        made["sfx"] = sfx
    if "position" in hints or "scale" in hints:
        layout: dict[str, Any] = {"position": hints.get("position", "center")}
        if "scale" in hints:
            layout["scale"] = _number(hints["scale"], "scale", source, line=scene.line)
        made["layout"] = layout
    return made


def _duration(speech: float) -> float:
    seconds = scene_length_for(speech + BREATH)
    return max(MIN_SCENE, -(-seconds // 0.5) * 0.5)  # rounded up to half a second


def _background(title: str, narration: str, style: str | None) -> str:
    first = re.split(r"(?<=[.!?])\s+", narration, maxsplit=1)[0].rstrip(".!?")
    look = STYLES.get(style.lower(), style) if style else None
    prompt = f"{title}: {first}" + (f"; {look}" if look else "")
    return prompt[:MAX_BACKGROUND]


def _move(words: set[str], index: int) -> str:
    for keys, move in MOVES:
        if words.intersection(keys):
            return move
    return ROUND[index % len(ROUND)]


def _sound(words: set[str]) -> str | None:
    for keys, prompt in SOUNDS:
        if words.intersection(keys):
            return prompt
    return None


def _number(value: str, name: str, source: str, *, integer: bool = False,
            line: int | None = None) -> float | int:  # fmt: skip
    try:
        return int(value) if integer else float(value)
    except ValueError:
        where = f"{source} line {line}" if line else source
        kind = "a whole number" if integer else "a number"
        raise ManifestError(f"{where}: hint {name!r} must be {kind}, not {value!r}") from None


def slug(text: str, *, fallback: str) -> str:
    """``text`` as an id: lowercase ASCII letters, digits and -, at most 64 characters."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    made = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:64].strip("-")
    return made or fallback


def _project_id(title: str) -> str:
    made = slug(title, fallback="video")
    return f"{made[:58]}-video" if made in RESERVED_PROJECT_IDS else made


def _unique(title: str, index: int, used: set[str]) -> str:
    base = slug(title, fallback=f"scene-{index + 1}")[:60].strip("-") or f"scene-{index + 1}"
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}-{n}", n + 1
    used.add(candidate)
    return candidate
