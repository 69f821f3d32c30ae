"""What publishing needs to know, without Prefect: the publisher's configuration, the files
that go out, the YouTube video resource built (and checked) from the plan, and the errors.

    PublishError            publishing cannot go on; the video becomes ``publish_error``
    └── PublishWaiting      not now: the quota, or a transient failure; ``publish_waiting``
                            until ``until`` (the next Pacific midnight for the quota)

(Both are ReelflowErrors; they belong with the tree in flows/core/errors.py.)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.core.errors import PublishError
from flows.core.manifest import Manifest
from flows.core.manifest_publish import (
    Privacy,
    PublishPlan,
    check_description,
    check_publish_at,
    check_title,
)
from flows.core.steps import VideoPaths

__all__ = [
    "PUBLISHERS",
    "PublishFiles",
    "PublisherConfig",
    "file_sha256",
    "metadata",
    "public_url",
    "video_resource",
]

PUBLISHERS = ("folder", "youtube")
WATCH_URL = "https://www.youtube.com/watch?v="


@dataclass(frozen=True)
class PublisherConfig:
    """A channel's publisher and its defaults (no secrets: those stay in blocks)."""

    channel: str
    publisher: str  # "folder" or "youtube"
    output_root: Path  # videos are made in <output root>/<channel>/<project id>/
    privacy: Privacy = "private"
    synthetic_media: bool = True
    credentials_block: str | None = None
    base_urls: dict[str, str] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        """The channel's published folder: ``<output root>/<channel>/published``."""
        return self.output_root / self.channel / "published"


@dataclass(frozen=True)
class PublishFiles:
    """The approved video's files: the MP4, its subtitles and a thumbnail (when present)."""

    video: Path
    subtitles: Path | None
    thumbnail: Path | None

    @classmethod
    def of(cls, plan: Manifest, paths: VideoPaths, output_path: str | None) -> PublishFiles:
        video = Path(output_path) if output_path else paths.final(plan.project_id)
        if not video.is_file():
            raise PublishError(f"the approved MP4 is missing: {video}")
        srt = video.with_suffix(".srt")
        wanted = (plan.publish or PublishPlan()).thumbnail
        made = paths.thumbnail(plan.project_id)  # the assembly's: the title over the best frame
        thumbnail = Path(wanted) if wanted else made
        if wanted and not thumbnail.is_file():
            raise PublishError(f"publish.thumbnail: no such file: {wanted}")
        return cls(
            video=video,
            subtitles=srt if srt.is_file() else None,
            thumbnail=thumbnail if thumbnail.is_file() else None,
        )


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """The file's SHA-256, read in chunks (never whole)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _checked(what: str, check: Any, value: Any) -> Any:
    try:
        return check(value)
    except ValueError as exc:
        raise PublishError(f"publish.{what}: {exc}") from None


def video_resource(plan: Manifest, config: PublisherConfig) -> dict[str, Any]:
    """The YouTube video resource (``snippet`` and ``status``) for the plan, checked against
    YouTube's limits: PublishError naming the field before anything is sent."""
    wanted = plan.publish or PublishPlan()
    title = _checked("title", check_title, wanted.title or plan.title)
    snippet: dict[str, Any] = {
        "title": title,
        "description": _checked("description", check_description, wanted.description),
        "tags": list(wanted.tags),
        "categoryId": wanted.category_id,
    }
    if wanted.default_language:
        snippet["defaultLanguage"] = snippet["defaultAudioLanguage"] = wanted.default_language
    privacy = wanted.privacy or config.privacy
    status: dict[str, Any] = {
        "privacyStatus": privacy,
        "selfDeclaredMadeForKids": wanted.made_for_kids,
        "containsSyntheticMedia": (
            config.synthetic_media if wanted.synthetic_media is None else wanted.synthetic_media
        ),
    }
    if wanted.publish_at:
        if privacy != "private":
            raise PublishError(
                f"publish.publish_at: YouTube schedules only private videos (this one would "
                f"be {privacy}): set publish.privacy: private"
            )
        status["publishAt"] = _checked("publish_at", check_publish_at, wanted.publish_at)
    return {"snippet": snippet, "status": status}


def public_url(publisher: str, remote_id: str) -> str:
    """Where the world sees it: the watch page, or the file the folder publisher wrote."""
    return WATCH_URL + remote_id if publisher == "youtube" else Path(remote_id).as_uri()


def metadata(plan: Manifest, config: PublisherConfig, video_id: int) -> dict[str, Any]:
    """The folder publisher's metadata JSON: the same resource YouTube would get."""
    return {
        "video_id": video_id,
        "project_id": plan.project_id,
        "channel": config.channel,
        "duration_s": plan.duration,
        **video_resource(plan, config),
        "playlist_id": (plan.publish or PublishPlan()).playlist_id,
    }
