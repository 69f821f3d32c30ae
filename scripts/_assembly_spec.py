"""assemble_video's request read: every field checked (errors name it, e.g.
``scenes[2].clip`` or ``caption_style.colour``), the inputs probed, and the captions timed and
placed for the format (see assemble_video.py for the fields)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from _contract import (
    BadInput,
    Request,
    get_bool,
    get_choice,
    get_number,
    get_str,
    input_file,
)
from _media import frame_size, probe_input

POSITIONS = ("center", "left", "right", "top", "bottom")
STYLE_DEFAULTS: dict[str, Any] = {
    "font": "Source Sans Pro",
    "size": 54.0,
    "colour": "#FFFFFF",
    "outline_colour": "#000000",
    "outline": 3.0,
    "position": "bottom",
}


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
            "title": " ".join(get_str(named, f"scenes[{i}].title", "", empty=True).split()),
            "duration": get_number(named, f"scenes[{i}].duration", minimum=0.001, maximum=3600.0),
            "layout": _layout(item.get("layout"), i),
        }
        scene["clip_info"] = probe_input(scene["clip"], f"scenes[{i}].clip", video=True)
        for kind in ("narration", "sfx"):
            value, name = item.get(kind), f"scenes[{i}].{kind}"
            scene[kind] = None if value is None else input_file(value, name)
            scene[f"{kind}_info"] = scene[kind] and probe_input(scene[kind], name, audio=True)
        words = item.get("words")
        if words is not None and not isinstance(words, str):
            raise BadInput(f"field 'scenes[{i}].words' must be a path", type="invalid_field")
        scene["words"] = Path(words).expanduser().absolute() if words else None
        scenes.append(scene)
    return scenes


def _layout(value: Any, i: int) -> dict[str, Any] | None:
    """A scene's foreground layout (where titles and captions must not go), or None."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadInput(f"field 'scenes[{i}].layout' must be an object", type="invalid_field")
    named = {f"scenes[{i}].layout.{k}": v for k, v in value.items()}
    return {
        "position": get_choice(named, f"scenes[{i}].layout.position", POSITIONS, "center"),
        "scale": get_number(named, f"scenes[{i}].layout.scale", 0.6, minimum=0.01, maximum=1.0),
    }


def read_style(request: Request) -> dict[str, Any]:
    """The caption style, each field checked (defaults above)."""
    raw = request.get("caption_style") or {}
    if not isinstance(raw, dict):
        raise BadInput("field 'caption_style' must be an object", type="invalid_field")
    unknown = set(raw) - set(STYLE_DEFAULTS)
    if unknown:
        raise BadInput(
            f"field 'caption_style.{sorted(unknown)[0]}' is unknown", type="invalid_field"
        )
    named = {f"caption_style.{k}": v for k, v in raw.items()}
    style = {
        "font": get_str(named, "caption_style.font", STYLE_DEFAULTS["font"]),
        "size": get_number(named, "caption_style.size", 54.0, minimum=4, maximum=400),
        "outline": get_number(named, "caption_style.outline", 3.0, minimum=0, maximum=40),
        "position": get_choice(named, "caption_style.position", ("bottom", "top"), "bottom"),
    }
    for key in ("colour", "outline_colour"):
        value = get_str(named, f"caption_style.{key}", STYLE_DEFAULTS[key])
        if len(value) != 7 or value[0] != "#" or not _is_hex(value[1:]):
            raise BadInput(f"field 'caption_style.{key}' must be #RRGGBB", type="invalid_field")
        style[key] = value
    if any(ch in style["font"] for ch in ",\\{}\n"):
        raise BadInput(
            "field 'caption_style.font' must be a plain family name", type="invalid_field"
        )
    return style


def _is_hex(text: str) -> bool:
    return all(ch in "0123456789abcdefABCDEF" for ch in text)


def read_spec(request: Request) -> dict[str, Any]:
    """Every field checked, the captions timed and placed for the format."""
    from _assembly import placements, timed_captions
    from _layout import frame_for, sizes, vertical_size

    width, height = frame_size(request)
    scenes = read_scenes(request)
    kind = get_choice(request, "format", ("landscape", "vertical"), "landscape")
    size = (width, height) if kind == "landscape" else vertical_size(width, height)
    frame = frame_for(kind, *size, (width, height))
    style = read_style(request)
    text_sizes = sizes(frame, style)
    captions = get_choice(request, "captions", ("burned", "srt", "none"), "burned")
    cues, timed = timed_captions(scenes, frame, text_sizes)
    spec: dict[str, Any] = {
        "scenes": scenes,
        "frame": frame,
        "fps": get_number(request, "fps", integer=True, minimum=1, maximum=120),
        "captions": captions,
        "style": style,
        "sizes": text_sizes,
        "cues": [cue for scene_cues in cues for cue in scene_cues],
        "timed_scenes": timed,
        "placed": placements(scenes, cues, frame, style, text_sizes, burn=captions == "burned"),
        "music": _music(request),
        "crossfade": get_number(request, "crossfade", 0.0, minimum=0.0, maximum=2.0),
        "lufs": get_number(request, "loudness_lufs", -14.0, minimum=-30, maximum=-5),
        "sfx_volume_db": get_number(request, "sfx_volume_db", -14.0, minimum=-60, maximum=12),
        "total": sum(scene["duration"] for scene in scenes),
        "title": get_str(request, "title", "", empty=True),
        "stems": get_bool(request, "stems", False),
    }
    if spec["crossfade"] and any(s["duration"] <= 2 * spec["crossfade"] for s in scenes):
        raise BadInput("field 'crossfade' must be under half of every scene", type="invalid_field")
    return spec


def _music(request: Request) -> dict[str, Any] | None:
    raw = request.get("music")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BadInput("field 'music' must be an object or null", type="invalid_field")
    named = {f"music.{k}": v for k, v in raw.items()}
    music = {
        "file": input_file(raw.get("file"), "music.file"),
        "volume_db": get_number(named, "music.volume_db", -16.0, minimum=-60, maximum=0),
        "fade_in": get_number(named, "music.fade_in", 2.0, minimum=0, maximum=30),
        "fade_out": get_number(named, "music.fade_out", 3.0, minimum=0, maximum=30),
    }
    probe_input(music["file"], "music.file", audio=True)
    return music


def thumbnail_path(request: Request) -> Path | None:
    value = request.get("thumbnail")
    if value is None:
        return None
    if not isinstance(value, str) or Path(value).suffix.lower() not in (".jpg", ".jpeg"):
        raise BadInput("field 'thumbnail' must be a .jpg path or null", type="invalid_field")
    return Path(value).expanduser().absolute()
