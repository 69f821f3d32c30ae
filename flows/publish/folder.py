"""The folder publisher: an approved video into its channel's ``published/`` folder."""

from __future__ import annotations

from flows.core.manifest import Manifest
from flows.core.models import Video
from flows.core.publishing import PublisherConfig, PublishFiles, metadata, public_url
from flows.scripts import run_script

__all__ = ["publish_to_folder"]


async def publish_to_folder(
    video: Video, plan: Manifest, files: PublishFiles, config: PublisherConfig
) -> str:
    """Copy the MP4, subtitles, thumbnail and metadata JSON in, atomically: the file URL."""
    name = f"{plan.project_id}-{video.id}"
    request = {
        "video": str(files.video),
        "subtitles": str(files.subtitles) if files.subtitles else None,
        "thumbnail": str(files.thumbnail) if files.thumbnail else None,
        "metadata": metadata(plan, config, video.id),
        "folder": str(config.folder),
        "name": name,
    }
    # no item label: a publish is not one of the video's cached items (the log has the
    # script's name and the video)
    result = await run_script("publish_folder", request, video_id=video.id)
    return public_url("folder", str(result.output["output"]))
