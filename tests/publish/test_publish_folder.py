"""The folder publisher: approval publishes into the channel's published/ folder, through
``reelflow run`` and a real pipeline, with the card following; and the script itself
(atomic, idempotent, refuses an entry holding another video)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flows.cli.main import app
from flows.core import videos
from flows.core.store import session_scope
from tests.conftest import PROJECT_ROOT, Configure
from tests.factories import TINY
from tests.notion.boards import BoardChannel
from tests.publish.conftest import SCRIPTS, sha256

pytest_plugins = ["tests.notion.fixtures"]
runner = CliRunner()


@pytest.mark.usefixtures("prefect_api")
async def test_run_approve_publishes_to_the_folder_and_the_card_shows_it(
    configure: Configure, board_channel: BoardChannel
) -> None:
    settings = configure(scripts_dir=PROJECT_ROOT / "scripts", retry_delay_seconds="0.05")
    channel = board_channel.channel
    result = await _invoke(["run", str(TINY), "--channel", channel, "--approve"])
    assert result.exit_code == 0, result.output
    status = json.loads((await _invoke(["status", "1", "--json"])).stdout)
    entry = settings.output_dir / channel / "published" / "tiny-1"
    assert status["status"] == "published"
    assert status["public_url"] == (entry / "tiny-1.mp4").as_uri()
    assert f"video 1: published {status['public_url']}" in result.stdout
    assert sorted(p.name for p in entry.iterdir()) == [
        "metadata.json", "thumbnail.jpg", "tiny-1.mp4", "tiny-1.srt",
    ]  # fmt: skip
    assert sha256(entry / "tiny-1.mp4") == sha256(Path(status["output"]))
    meta = json.loads((entry / "metadata.json").read_text())
    assert meta["snippet"]["title"] == "Tiny Test Film" and meta["sha256"] == sha256(
        entry / "tiny-1.mp4"
    )
    assert meta["status"]["containsSyntheticMedia"] is True
    assert [p.name for p in entry.parent.iterdir()] == ["tiny-1"]  # no temporary folder left
    await _settle(board_channel)
    async with session_scope() as session:
        page = (await videos.get_video(session=session, video_id=1)).notion_page_id
    assert page is not None
    assert board_channel.fake.value(page, "Status") == "Published"
    assert board_channel.fake.value(page, "Output") == status["public_url"]
    assert board_channel.fake.written_statuses()[-1] == "Published"


async def _invoke(args: list[str]) -> Any:
    import asyncio

    return await asyncio.to_thread(runner.invoke, app, args)


async def _settle(channel: BoardChannel) -> None:
    from flows.notion.reconcile import notion_reconcile

    await notion_reconcile(channel=channel.channel)  # whatever the run's end did not push


def _publish(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "publish_folder.py")], input=json.dumps(request),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def test_the_script_is_atomic_idempotent_and_refuses_other_bytes(tmp_path: Path) -> None:
    video, other = tmp_path / "a.mp4", tmp_path / "b.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"1" * 5000)
    other.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"2" * 5000)
    folder = tmp_path / "published"
    request = {"video": str(video), "subtitles": None, "thumbnail": None, "folder": str(folder),
               "name": "film-3", "metadata": {"title": "Film"}}  # fmt: skip
    code, first = _publish(request)
    assert code == 0 and first["already"] is False and first["sha256"] == sha256(video)
    assert sorted(p.name for p in (folder / "film-3").iterdir()) == ["film-3.mp4", "metadata.json"]
    code, again = _publish(request)
    assert code == 0 and again["already"] is True
    code, refused = _publish({**request, "video": str(other)})
    assert code == 1 and refused["error"]["type"] == "conflict"
    assert sha256(folder / "film-3" / "film-3.mp4") == sha256(video)
    code, bad = _publish({**request, "name": "../escape"})
    assert code == 2 and "name" in bad["error"]["message"]
    assert sorted(p.name for p in folder.iterdir()) == ["film-3"]  # no temporary folder left
