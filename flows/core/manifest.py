"""The video plan: a typed manifest of scenes, read from YAML or JSON.

Validation errors name the scene (by id, or by position when it has none) and the field::

    scene 'storm' (#3) narration: String should have at least 1 character
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from flows.core.errors import ConfigError, ManifestError
from flows.core.names import check_channel_name

__all__ = [
    "CHANGEABLE_FIELDS",
    "Layout",
    "Manifest",
    "Scene",
    "apply_changes",
    "load_manifest",
    "parse_manifest",
]

CHANGEABLE_FIELDS = ("title", "background", "foreground", "motion", "narration", "sfx")

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
RESOLUTION = re.compile(r"^(\d{2,5})x(\d{2,5})$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Layout(_Strict):
    """Where a scene's foreground sits on its background."""

    position: Literal["center", "left", "right", "top", "bottom"] = "center"
    scale: float = Field(default=0.6, gt=0, le=1, description="Foreground height / frame height.")


class Scene(_Strict):
    """One scene: its pictures, its motion, its narration and its sound."""

    id: str = Field(description="Unique within the plan: lowercase letters, digits, - and _.")
    title: str = Field(min_length=1, max_length=200)
    background: str = Field(min_length=1, description="Prompt for the background picture.")
    foreground: str | None = Field(default=None, description="Prompt for an optional subject.")
    layout: Layout = Layout()
    motion: str = Field(default="slow zoom in", min_length=1, description="Camera move prompt.")
    duration: float = Field(gt=0, le=120, description="Clip length in seconds.")
    narration: str = Field(min_length=1, max_length=5000)
    voice: str | None = Field(default=None, description="Voice; default the plan's.")
    sfx: str | None = Field(default=None, description="Sound-effect prompt; none for silence.")

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("use lowercase letters, digits, - and _ (at most 64)")
        return value


class Manifest(_Strict):
    """A video plan."""

    title: str = Field(min_length=1, max_length=500)
    project_id: str = Field(description="Names the output folder; lowercase, digits, - and _.")
    channel: str | None = Field(default=None, description="Default channel for this plan.")
    resolution: str = Field(default="1280x720", description="WIDTHxHEIGHT, even numbers.")
    fps: int = Field(default=30, ge=1, le=60)
    voice: str = Field(default="en", description="Default narration voice.")
    burn_subtitles: bool = False
    budget_usd: float | None = Field(default=None, ge=0)
    scenes: list[Scene] = Field(min_length=1, max_length=500)

    @field_validator("project_id")
    @classmethod
    def _project_slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("use lowercase letters, digits, - and _ (at most 64)")
        return value

    @field_validator("channel")
    @classmethod
    def _channel_name(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            return check_channel_name(value)
        except ConfigError as exc:
            raise ValueError(exc.message) from None

    @field_validator("resolution")
    @classmethod
    def _resolution(cls, value: str) -> str:
        match = RESOLUTION.match(value)
        if not match:
            raise ValueError("write it as WIDTHxHEIGHT, e.g. 1280x720")
        width, height = int(match[1]), int(match[2])
        if width % 2 or height % 2 or not (16 <= width <= 7680 and 16 <= height <= 4320):
            raise ValueError("width and height must be even, 16..7680 x 16..4320")
        return value

    @model_validator(mode="after")
    def _unique_scene_ids(self) -> Manifest:
        seen: set[str] = set()
        for scene in self.scenes:
            if scene.id in seen:
                raise ValueError(f"scene id {scene.id!r} is used twice")
            seen.add(scene.id)
        return self

    @property
    def width(self) -> int:
        return int(self.resolution.split("x")[0])

    @property
    def height(self) -> int:
        return int(self.resolution.split("x")[1])

    @property
    def duration(self) -> float:
        return sum(scene.duration for scene in self.scenes)

    def scene(self, scene_id: str) -> Scene:
        for scene in self.scenes:
            if scene.id == scene_id:
                return scene
        raise ManifestError(f"no scene {scene_id!r} in the plan", scene=scene_id)

    def voice_of(self, scene: Scene) -> str:
        return scene.voice or self.voice


def parse_manifest(data: Any, *, source: str = "manifest") -> Manifest:
    """Validate a parsed plan; a ManifestError names the scene and field of the first problem."""
    if not isinstance(data, dict):
        raise ManifestError(f"{source}: a plan is a mapping with title, project_id and scenes")
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc, data, source) from exc


def load_manifest(path: Path | str) -> Manifest:
    """Read a plan from a .yaml, .yml or .json file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ManifestError(
            f"{path} is not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}"
        ) from exc
    return parse_manifest(data, source=str(path))


def _explain(exc: ValidationError, data: dict[str, Any], source: str) -> ManifestError:
    first = exc.errors()[0]
    location = list(first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if len(location) >= 2 and location[0] == "scenes" and isinstance(location[1], int):
        index = location[1]
        scenes = data.get("scenes") or []
        raw = scenes[index] if index < len(scenes) and isinstance(scenes[index], dict) else {}
        scene_id = str(raw.get("id", "?"))
        field = ".".join(str(p) for p in location[2:]) or "scene"
        return ManifestError(
            f"{source}: scene {scene_id!r} (#{index + 1}) {field}: {message}",
            scene=scene_id,
            field=field,
        )
    field = ".".join(str(p) for p in location) or "plan"
    return ManifestError(f"{source}: {field}: {message}", field=field)


def apply_changes(manifest: Manifest, changes: list[dict[str, Any]]) -> Manifest:
    """The plan with reviewers' changes applied: per scene id, new text for any of
    ``CHANGEABLE_FIELDS``. The result is validated like any plan."""
    data = manifest.model_dump(mode="json")
    scenes = {scene["id"]: scene for scene in data["scenes"]}
    for change in changes:
        scene_id = str(change.get("scene", ""))
        if scene_id not in scenes:
            raise ManifestError(f"no scene {scene_id!r} in the plan", scene=scene_id)
        updates = {f: change[f] for f in CHANGEABLE_FIELDS if change.get(f) is not None}
        if not updates:
            raise ManifestError(f"scene {scene_id!r}: the change sets nothing", scene=scene_id)
        scenes[scene_id].update(updates)
    return parse_manifest(data, source="requested changes")
