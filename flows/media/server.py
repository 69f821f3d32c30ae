"""The read-only media server: ``GET``/``HEAD /media/<path>?exp=…&sig=…`` over the output
folder, with Range requests (a browser's video player seeks with them).

An unsigned, altered or expired link is refused with 403 before the path is looked at; a
path outside the output folder (``..``, a symlink that leaves it) or not a file is 404.
Nothing is listed and nothing is written.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from flows.media.links import check_signature, relative_media_path

__all__ = ["create_app", "media_type"]

# The types a reviewer's browser needs to play or show them inline.
TYPES = {
    ".mp4": "video/mp4",
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".json": "application/json",
}
HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300"}


def media_type(path: Path) -> str:
    return (
        TYPES.get(path.suffix.lower())
        or mimetypes.guess_type(path.name)[0]
        or ("application/octet-stream")
    )


def create_app(root: Path, key: bytes) -> Starlette:
    """The app serving files under ``root`` to links signed with ``key``."""
    base = root.resolve()

    async def media(request: Request) -> Response:
        relpath = request.path_params["path"]
        if not check_signature(
            relpath, request.query_params.get("exp"), request.query_params.get("sig"), key
        ):
            return PlainTextResponse("forbidden: this link is unsigned, altered or expired\n", 403)
        relative = relative_media_path(relpath)
        target = (base / relative).resolve() if relative is not None else None
        if target is None or not target.is_relative_to(base) or not target.is_file():
            return PlainTextResponse("not found\n", 404)
        return FileResponse(target, media_type=media_type(target), headers=HEADERS)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    return Starlette(
        routes=[
            Route("/media/{path:path}", media, methods=["GET", "HEAD"]),
            Route("/health", health, methods=["GET"]),
        ]
    )
