"""The plan's finishing options: captions and their style, the music bed, the output shapes,
crossfades and the loudness target. ``Manifest`` (flows/core/manifest.py) inherits them.

The old ``burn_subtitles: true | false`` still reads: true means ``captions: burned`` and
false ``captions: srt`` (its old meaning: an .srt beside the MP4, nothing drawn). Plans stored
before ``captions`` existed therefore keep working; giving both with different meanings is
refused in one line.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

__all__ = ["CaptionStyle", "MediaOptions", "Music", "vertical_size"]

COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
FONT = re.compile(r"^[A-Za-z0-9 ._-]{1,64}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_CROSSFADE = 2.0


def _colour(value: str) -> str:
    if not COLOUR.match(value):
        raise ValueError("write a colour as #RRGGBB, e.g. #FFFFFF")
    return value.upper()


def _font(value: str) -> str:
    if not FONT.match(value):
        raise ValueError("a font family name: letters, digits, spaces, . _ - (at most 64)")
    return value


def _line(value: str) -> str:
    if not value.strip() or CONTROL.search(value):
        raise ValueError("must be one line of text, not blank")
    return value


Colour = Annotated[str, AfterValidator(_colour)]
Line = Annotated[str, AfterValidator(_line)]


DEFAULT_LOUDNESS = -14.0  # LUFS: what YouTube normalises playback to


class _Strict(BaseModel):  # as flows/core/manifest.py's
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class CaptionStyle(_Strict):
    """How burned captions look. Sizes are pixels on a 1080-line frame, scaled to the frame."""

    font: Annotated[str, AfterValidator(_font)] = Field(
        default="Source Sans Pro",
        description="Font family: the bundled Source Sans Pro, or one installed on the machine.",
    )
    size: float = Field(default=54, ge=8, le=200, allow_inf_nan=False)
    colour: Colour = "#FFFFFF"
    outline_colour: Colour = "#000000"
    outline: float = Field(default=3, ge=0, le=20, allow_inf_nan=False)
    position: Literal["bottom", "top"] = Field(
        default="bottom",
        description="Preferred edge; a scene whose foreground sits there puts them opposite.",
    )


class Music(_Strict):
    """A music bed under the whole video: a file, or a prompt (and mood) to make one."""

    file: Line | None = Field(
        default=None, max_length=1000, description="An audio file (absolute path is safest)."
    )
    prompt: Line | None = Field(default=None, max_length=450)
    mood: Line | None = Field(default=None, max_length=100)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    volume_db: float = Field(
        default=-16, ge=-60, le=0, allow_inf_nan=False, description="The bed's gain before ducking."
    )

    @model_validator(mode="after")
    def _one_source(self) -> Music:
        if (self.file is None) == (self.prompt is None):
            raise ValueError("give music either a file or a prompt (not both)")
        if self.file is not None and self.mood is not None:
            raise ValueError("a mood goes with a prompt, not a file")
        return self


class MediaOptions(_Strict):
    """What the assembly makes of the scenes: captions, music, shapes, fades, loudness."""

    captions: Literal["burned", "srt", "none"] = Field(
        default="burned",
        description="burned: drawn on the picture and an .srt beside it; srt: only the .srt.",
    )
    caption_style: CaptionStyle = CaptionStyle()
    music: Music | None = None
    formats: list[Literal["landscape", "vertical"]] = Field(
        default=["landscape"],
        min_length=1,
        max_length=2,
        description="landscape: the plan's resolution; vertical: a 9:16 cut (1080x1920 for 720p).",
    )
    crossfade: float = Field(default=0.0, ge=0, le=MAX_CROSSFADE, allow_inf_nan=False)
    loudness_lufs: float | None = Field(
        default=None,
        ge=-30,
        le=-5,
        allow_inf_nan=False,
        description="Integrated target; default the channel's, else -14 (YouTube's level).",
    )
    burn_subtitles: bool | None = Field(
        default=None,
        exclude=True,
        description="Old name: true is captions: burned, false is captions: srt.",
    )

    @property
    def loudness_target(self) -> float:
        """The integrated loudness the assembly aims at (LUFS)."""
        return DEFAULT_LOUDNESS if self.loudness_lufs is None else self.loudness_lufs

    @model_validator(mode="before")
    @classmethod
    def _old_burn_subtitles(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("burn_subtitles"), bool):
            return data
        old = data["burn_subtitles"]
        mapped = "burned" if old else "srt"
        given = data.get("captions", mapped)
        if given != mapped:
            raise ValueError(
                f"burn_subtitles: {str(old).lower()} (the old name) means captions: {mapped}, "
                f"but captions is {given!r}: keep only captions"
            )
        return {**data, "captions": mapped}

    @model_validator(mode="before")
    @classmethod
    def _music_file_shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("music"), str):
            return {**data, "music": {"file": data["music"]}}
        return data

    @model_validator(mode="after")
    def _formats_and_fades(self) -> MediaOptions:
        if len(set(self.formats)) != len(self.formats):
            raise ValueError("formats: each format once")
        if "landscape" not in self.formats:
            raise ValueError("formats: landscape is the video reviewed and validated; keep it")
        scenes = getattr(self, "scenes", None) or []
        short = [s.id for s in scenes if s.duration <= 2 * self.crossfade]
        if self.crossfade and short:
            raise ValueError(
                f"crossfade {self.crossfade:g} s needs scenes longer than twice it; "
                f"too short: {', '.join(short[:5])}"
            )
        bed = self.music is not None and self.music.prompt is not None
        if bed and any(s.id == "music" and s.sfx for s in scenes):
            raise ValueError("a scene 'music' with sfx clashes with the music bed: rename it")
        return self


def vertical_size(width: int, height: int) -> tuple[int, int]:
    """The 9:16 frame for a landscape ``width`` x ``height``: 1.5 x its height wide (1080x1920
    for 1280x720), at most 1080x1920, even numbers."""
    tall = min(1920, round(width * 1.5 / 2) * 2)
    return max(16, round(tall * 9 / 16 / 2) * 2), max(16, tall)
