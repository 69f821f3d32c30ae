"""A plan as YAML a person can edit: a comment beside each field of the plan and of its
first scene saying what it does, fields in a fixed order, and a header saying where the
plan came from and what to do next. It reads back as the same plan (tests pin this).
"""

from __future__ import annotations

from typing import Any

import yaml

from flows.core.manifest import Manifest

__all__ = ["commented_yaml"]

PLAN_ORDER = ("title", "project_id", "channel", "resolution", "fps", "voice", "fit")
SCENE_ORDER = ("id", "title", "background", "foreground", "layout", "motion", "duration",
               "narration", "voice", "sfx", "fit")  # fmt: skip
PLAN_NOTES = {
    "title": "the video's title",
    "project_id": "names the output folder; lowercase, digits, - and _",
    "channel": "default channel (reelflow channel list)",
    "resolution": "WIDTHxHEIGHT, even numbers",
    "fps": "frames a second, 1..60",
    "voice": "narration voice: an eSpeak NG voice (en, en-us…) or an ElevenLabs voice id",
    "fit": "narration longer than its scene: cut (at the scene's end) or extend (the scene)",
}
SCENE_NOTES = {
    "id": "unique; lowercase, digits, - and _",
    "title": "shown on the picture",
    "background": "prompt for the background picture",
    "foreground": "optional prompt for a subject over it",
    "layout": "where the subject sits: center|left|right|top|bottom; scale = its height",
    "motion": "camera move: zoom in/out, pan left/right/up/down, static",
    "duration": "seconds",
    "narration": "what the voice says",
    "voice": "this scene's voice (default the plan's)",
    "sfx": "optional sound-effect prompt",
    "fit": "this scene's fit (default the plan's)",
}


def commented_yaml(plan: Manifest, *, origin: str) -> str:
    """The plan as commented YAML; ``origin`` says where it came from (one line)."""
    data = plan.model_dump(mode="json", exclude_defaults=True)
    for name in ("resolution", "fps", "voice", "fit"):  # worth seeing even when default
        data.setdefault(name, getattr(plan, name))
    for raw, scene in zip(data["scenes"], plan.scenes, strict=True):
        raw.setdefault("motion", scene.motion)
        if scene.foreground:
            raw["layout"] = scene.layout.model_dump(mode="json")
    lines = [
        f"# {plan.title}: a Reelflow plan, {origin}.",
        "# Edit anything below, then:",
        "#   reelflow estimate THIS_FILE    what it would cost",
        "#   reelflow run THIS_FILE         make it (it stops for your review at the end)",
        "",
    ]
    lines += _fields(data, PLAN_ORDER, PLAN_NOTES, indent="", skip=("scenes",))
    lines.append("scenes:")
    for index, scene in enumerate(data["scenes"]):
        notes = SCENE_NOTES if index == 0 else {}
        body = _fields(scene, SCENE_ORDER, notes, indent="    ")
        lines += ["", "  - " + body[0].lstrip(), *body[1:]]
    return "\n".join(lines) + "\n"


def _fields(data: dict[str, Any], order: tuple[str, ...], notes: dict[str, str], *,
            indent: str, skip: tuple[str, ...] = ()) -> list[str]:  # fmt: skip
    names = [n for n in order if n in data] + [n for n in data if n not in order and n not in skip]
    lines = []
    for name in names:
        value = data[name]
        note = f"  # {notes[name]}" if name in notes else ""
        if isinstance(value, dict | list) and name != "layout":
            block = yaml.safe_dump({name: value}, sort_keys=False, allow_unicode=True, width=88)
            lines += [indent + line for line in block.rstrip("\n").splitlines()]
            continue
        lines.append(f"{indent}{name}: {_scalar(value)}{note}")
    return lines


def _scalar(value: Any) -> str:
    """One value on one line, quoted only where YAML needs it."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**9)
    return text.removesuffix("\n").removesuffix("\n...").strip()
