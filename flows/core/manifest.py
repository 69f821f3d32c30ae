"""The video plan: a typed manifest of scenes, read from YAML or JSON.

Validation errors name the scene (by id, or by position when it has none) and the field::

    scene 'storm' (#3) narration: String should have at least 1 character

Types are strict (``fps: true`` or ``duration: "5"`` is refused, not converted), numbers must
be finite, text must not be blank nor hold control characters, every text is capped at what
its provider accepts (flows/core/manifest_limits.py), and voices are checked offline
(flows/core/voices.py). Reading files safely is flows/core/manifest_file.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from flows.core import manifest_limits as limits
from flows.core.errors import ConfigError, ManifestError
from flows.core.manifest_file import read_plan_file
from flows.core.manifest_media import MediaOptions
from flows.core.manifest_publish import PublishPlan
from flows.core.names import check_channel_name
from flows.core.voices import check_voice

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

# Folders of a channel that are not a project's (flows/core/publishing.py: published/).
RESERVED_PROJECT_IDS = frozenset({"published"})
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
RESOLUTION = re.compile(r"^(\d{2,5})x(\d{2,5})$")
CONTROL = limits.CONTROL


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    if CONTROL.search(value):
        raise ValueError("must not contain control characters (such as NUL)")
    return value


def _optional_text(value: str | None) -> str | None:
    return None if value is None or value == "" else _text(value)  # "" still means none


Text = Annotated[str, AfterValidator(_text)]
OptionalText = Annotated[str | None, AfterValidator(_optional_text)]
Voice = Annotated[str, Field(max_length=limits.MAX_VOICE), AfterValidator(check_voice)]
Fit = Literal["cut", "extend"]
FIT_HELP = "A narration longer than its scene: cut at the scene's end, or extend the scene."


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Layout(_Strict):
    """Where a scene's foreground sits on its background."""

    position: Literal["center", "left", "right", "top", "bottom"] = "center"
    scale: float = Field(
        default=0.6,
        gt=0,
        le=1,
        allow_inf_nan=False,
        description="Foreground height / frame height.",
    )


class Scene(_Strict):
    """One scene: its pictures, its motion, its narration and its sound."""

    id: str = Field(description="Unique within the plan: lowercase letters, digits, - and _.")
    title: Text = Field(max_length=limits.MAX_SCENE_TITLE)
    background: Text = Field(
        max_length=limits.MAX_BACKGROUND, description="Prompt for the background picture."
    )
    foreground: OptionalText = Field(
        default=None,
        max_length=limits.MAX_FOREGROUND,
        description="Prompt for an optional subject.",
    )
    layout: Layout = Layout()
    motion: Text = Field(
        default="slow zoom in", max_length=limits.MAX_MOTION, description="Camera move prompt."
    )
    duration: float = Field(gt=0, le=120, allow_inf_nan=False, description="Clip length, seconds.")
    narration: Text = Field(max_length=limits.MAX_NARRATION)
    voice: Voice | None = Field(default=None, description="Voice; default the plan's.")
    sfx: OptionalText = Field(
        default=None, max_length=limits.MAX_SFX, description="Sound-effect prompt; none: silence."
    )
    fit: Fit | None = Field(default=None, description=FIT_HELP + " Default: the plan's fit.")

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("use lowercase letters, digits, - and _ (at most 64)")
        if value in RESERVED_PROJECT_IDS:
            raise ValueError(
                f"{value!r} is the name of the channel's folder of published videos; choose another"
            )
        return value


class Manifest(MediaOptions):
    """A video plan (its finishing options, captions to loudness: manifest_media.py)."""

    title: Text = Field(max_length=limits.MAX_PLAN_TITLE)
    project_id: str = Field(description="Names the output folder; lowercase, digits, - and _.")
    channel: str | None = Field(default=None, description="Default channel for this plan.")
    resolution: str = Field(default="1280x720", description="WIDTHxHEIGHT, even numbers.")
    fps: int = Field(default=30, ge=1, le=60)
    voice: Voice = Field(default="en", description="Default narration voice.")
    budget_usd: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    publish: PublishPlan | None = Field(default=None, description="How it goes out.")
    fit: Fit = Field(default="cut", description=FIT_HELP)  # flows/core/narration_fit.py
    scenes: list[Scene] = Field(min_length=1, max_length=limits.MAX_SCENES)

    @field_validator("project_id")
    @classmethod
    def _project_slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("use lowercase letters, digits, - and _ (at most 64)")
        if value in RESERVED_PROJECT_IDS:
            raise ValueError(
                f"{value!r} is the name of the channel's folder of published videos; choose another"
            )
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
        found = "nothing" if data is None else f"a {type(data).__name__}"
        raise ManifestError(
            f"{source}: a plan is a mapping with title, project_id and scenes, not {found}"
        )
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc, data, source) from exc


def load_manifest(path: Path | str) -> Manifest:
    """Read a plan from a .yaml, .yml or .json file."""
    path = Path(path)
    return parse_manifest(read_plan_file(path), source=str(path))


def _explain(exc: ValidationError, data: dict[str, Any], source: str) -> ManifestError:
    first = exc.errors(include_url=False)[0]
    location = list(first["loc"])
    message = _one_line(first["msg"].removeprefix("Value error, "), 2000)
    if first["type"] in ("int_type", "float_type") and isinstance(first.get("input"), bool):
        message += f", not a boolean ({str(first['input']).lower()})"
    if len(location) >= 2 and location[0] == "scenes" and isinstance(location[1], int):
        index = location[1]
        scenes = data.get("scenes") or []
        raw = scenes[index] if index < len(scenes) and isinstance(scenes[index], dict) else {}
        scene_id = _one_line(str(raw.get("id", "?")), 64)
        field = ".".join(_one_line(str(p), 64) for p in location[2:]) or "scene"
        return ManifestError(
            f"{source}: scene {scene_id!r} (#{index + 1}) {field}: {message}",
            scene=scene_id,
            field=field,
        )
    field = ".".join(_one_line(str(p), 64) for p in location) or "plan"
    return ManifestError(f"{source}: {field}: {message}", field=field)


def _one_line(text: str, limit: int) -> str:
    """``text`` on one line (control characters escaped), at most ``limit`` characters."""
    flat = CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", " ".join(text.split()))
    return flat if len(flat) <= limit else flat[:limit] + "…"


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
