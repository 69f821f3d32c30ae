"""The plan's ``publish:`` section: what the video resource says when it goes out.

Every field is optional; the plan's title, the channel's privacy and its synthetic-media
declaration fill the gaps (``flows.core.publishing.video_resource``). YouTube's own limits
are checked here, where the plan is read, and again when the resource is built (the title
may come from the plan's title), so a plan over them is refused before any byte is sent:

- title at most 100 characters, no ``<`` or ``>``; description at most 5000 bytes (UTF-8),
  no ``<`` or ``>`` (the VideoSnippet reference);
- tags about 500 characters in total (YouTube counts a tag with a space as quoted, +2);
- ``publish_at`` only for private videos ("can be set only if the privacy status of the
  video is private", VideoStatus reference); an ISO 8601 time with its zone.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from flows.core.manifest_limits import CONTROL

__all__ = [
    "MAX_DESCRIPTION_BYTES",
    "MAX_TAGS_CHARS",
    "MAX_TITLE",
    "Privacy",
    "PublishPlan",
    "check_description",
    "check_publish_at",
    "check_title",
    "tags_length",
]

MAX_TITLE = 100
MAX_DESCRIPTION_BYTES = 5000
MAX_TAGS_CHARS = 500
MAX_CAPTION_NAME = 150  # captions.insert: nameTooLong beyond
Privacy = Literal["public", "unlisted", "private"]
ANGLE = re.compile(r"[<>]")
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
PLAYLIST = re.compile(r"^[A-Za-z0-9_-]{2,64}$")


def check_title(value: str) -> str:
    """A YouTube title: not blank, at most 100 characters, no < or >."""
    if not value.strip():
        raise ValueError("must not be blank")
    if len(value) > MAX_TITLE:
        raise ValueError(f"is {len(value)} characters; YouTube takes at most {MAX_TITLE}")
    if ANGLE.search(value) or CONTROL.search(value):
        raise ValueError("must not contain < or > or control characters")
    return value


def check_description(value: str) -> str:
    """A YouTube description: at most 5000 bytes of UTF-8, no < or >."""
    size = len(value.encode())
    if size > MAX_DESCRIPTION_BYTES:
        raise ValueError(f"is {size} bytes; YouTube takes at most {MAX_DESCRIPTION_BYTES}")
    if ANGLE.search(value) or CONTROL.search(value):
        raise ValueError("must not contain < or > or control characters")
    return value


def tags_length(tags: list[str]) -> int:
    """Characters YouTube counts for ``tags``: each tag, +2 when it holds a space (quoted),
    and a comma between tags."""
    return sum(len(t) + (2 if " " in t else 0) for t in tags) + max(len(tags) - 1, 0)


def _tags(value: list[str]) -> list[str]:
    for tag in value:
        if not tag.strip() or ANGLE.search(tag) or CONTROL.search(tag) or "," in tag:
            raise ValueError(f"tag {tag!r}: not blank, no comma, < or >")
    if tags_length(value) > MAX_TAGS_CHARS:
        raise ValueError(f"are {tags_length(value)} characters; YouTube takes about 500")
    return value


def check_publish_at(value: str | None) -> str | None:
    """An ISO 8601 time with its zone (``2026-12-24T09:00:00Z``), or None."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("write an ISO 8601 time, e.g. 2026-12-24T09:00:00Z") from None
    if when.tzinfo is None:
        raise ValueError("needs its time zone, e.g. 2026-12-24T09:00:00Z")
    return value


def _language(value: str | None) -> str | None:
    if value is not None and not LANGUAGE.match(value):
        raise ValueError("a BCP-47 language code, e.g. en or en-US")
    return value


def _playlist(value: str | None) -> str | None:
    if value is not None and not PLAYLIST.match(value):
        raise ValueError("a YouTube playlist id (letters, digits, - and _)")
    return value


class PublishPlan(BaseModel):
    """How the video goes out (YouTube's video resource; the folder publisher's metadata)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    title: Annotated[str | None, AfterValidator(lambda v: v and check_title(v))] = Field(
        default=None, description="At most 100 characters; default the plan's title."
    )
    description: Annotated[str, AfterValidator(check_description)] = Field(
        default="", description="At most 5000 bytes."
    )
    tags: Annotated[list[str], AfterValidator(_tags)] = Field(default_factory=list)
    category_id: str = Field(
        default="22", pattern=r"^\d{1,3}$", description="A YouTube category id (22: People)."
    )
    default_language: Annotated[str | None, AfterValidator(_language)] = None
    privacy: Privacy | None = Field(default=None, description="Default: the channel's.")
    publish_at: Annotated[str | None, AfterValidator(check_publish_at)] = Field(
        default=None, description="Scheduled release (private videos only), ISO 8601."
    )
    made_for_kids: bool = Field(default=False, description="selfDeclaredMadeForKids.")
    synthetic_media: bool | None = Field(
        default=None, description="containsSyntheticMedia; default the channel's (true)."
    )
    playlist_id: Annotated[str | None, AfterValidator(_playlist)] = None
    thumbnail: str | None = Field(
        default=None, description="A JPEG or PNG; default the first scene's composite."
    )
    caption_language: Annotated[str | None, AfterValidator(_language)] = None
    caption_name: str = Field(default="", max_length=MAX_CAPTION_NAME)

    @model_validator(mode="after")
    def _scheduled_is_private(self) -> PublishPlan:
        if self.publish_at and self.privacy not in (None, "private"):
            raise ValueError("publish_at needs privacy: private (YouTube's rule)")
        return self
