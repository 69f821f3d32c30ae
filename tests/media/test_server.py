"""The media server answers signed links with the file (Range requests included) and
refuses everything else."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from flows.media.links import MediaLinks
from flows.media.server import create_app

KEY = b"s" * 32


Served = tuple[httpx.AsyncClient, MediaLinks, Path]


@pytest.fixture
async def served(tmp_path: Path):
    root = tmp_path / "out"
    (root / "ch" / "p" / "assembly").mkdir(parents=True)
    video = root / "ch" / "p" / "assembly" / "p.mp4"
    video.write_bytes(bytes(range(256)) * 4)
    transport = httpx.ASGITransport(app=create_app(root, KEY))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, MediaLinks(root, "http://testserver", KEY, ttl_seconds=60), video


async def test_a_range_request_gets_206_with_the_bytes_asked_for(served: Served) -> None:
    client, links, video = served
    url = links.url_for(video)
    assert url is not None
    whole = await client.get(url)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.content == video.read_bytes()
    part = await client.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 10-19/{video.stat().st_size}"
    assert part.content == video.read_bytes()[10:20]


async def test_an_altered_unsigned_or_expired_link_is_403(served: Served) -> None:
    client, links, video = served
    url = links.url_for(video)
    assert url is not None
    assert (await client.get(url[:-1] + ("0" if url[-1] != "0" else "1"))).status_code == 403
    assert (await client.get(url.split("?")[0])).status_code == 403
    for stale in (
        MediaLinks(links.root, "http://testserver", KEY, ttl_seconds=-10).url_for(video),
        MediaLinks(links.root, "http://testserver", b"x" * 32, 60).url_for(video),
    ):
        assert stale is not None
        assert (await client.get(stale)).status_code == 403


async def test_nothing_outside_the_output_folder_is_served(served: Served, tmp_path: Path) -> None:
    from flows.media.links import sign

    client, _, video = served
    (tmp_path / "secret.txt").write_text("private")
    os.symlink(tmp_path / "secret.txt", video.parent / "link.txt")
    for relpath in ("../secret.txt", "ch/p/assembly/link.txt", "ch/p/assembly", "ch/none.mp4"):
        signed = {"exp": "9999999999", "sig": sign(relpath, 9999999999, KEY)}
        response = await client.get(f"/media/{relpath}", params=signed)
        assert response.status_code == 404, relpath
        assert b"private" not in response.content


async def test_nothing_can_be_written(served: Served) -> None:
    client, links, video = served
    url = links.url_for(video)
    assert url is not None
    assert (await client.put(url, content=b"new")).status_code == 405
    assert (await client.delete(url)).status_code == 405
    assert video.read_bytes()[:4] == bytes(range(4))
