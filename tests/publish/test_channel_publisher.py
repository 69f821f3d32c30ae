"""A channel chooses its publisher: ``reelflow channel create --publisher youtube
--credentials youtube=BLOCK --base-url youtube=ROOT``, or the settings for the default channel."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from blocks import Channel, YouTubeCredentials
from flows.channels import forget_blocks, resolve_publisher
from flows.cli.main import app
from flows.core.errors import ConfigError
from flows.publish.youtube import youtube_environment
from tests.conftest import Configure

runner = CliRunner()


@pytest.mark.usefixtures("prefect_api", "settings")
def test_a_channel_publishes_with_its_credentials_block_and_base_url() -> None:
    name = f"yt-{uuid.uuid4().hex[:8]}"
    credentials = YouTubeCredentials(client_id="cid", client_secret=SecretStr("cs"),
                                     refresh_token=SecretStr("rt"))  # fmt: skip
    asyncio.run(_save(credentials, name))
    try:
        result = runner.invoke(app, [
            "channel", "create", name, "--publisher", "youtube", "--credentials",
            f"youtube={name}", "--base-url", "youtube=http://127.0.0.1:9", "--privacy", "unlisted",
        ])  # fmt: skip
        assert result.exit_code == 0, result.output
        config = asyncio.run(resolve_publisher(name))
        assert (config.publisher, config.privacy, config.credentials_block) == (
            "youtube", "unlisted", name,
        )  # fmt: skip
        env = asyncio.run(youtube_environment(config))
        assert env == {
            "REELFLOW_YOUTUBE_CLIENT_ID": "cid", "REELFLOW_YOUTUBE_CLIENT_SECRET": "cs",
            "REELFLOW_YOUTUBE_REFRESH_TOKEN": "rt",
            "REELFLOW_YOUTUBE_BASE_URL": "http://127.0.0.1:9/youtube/v3",
            "REELFLOW_YOUTUBE_UPLOAD_URL": "http://127.0.0.1:9/upload/youtube/v3",
            "REELFLOW_GOOGLE_TOKEN_URL": "http://127.0.0.1:9/token",
        }  # fmt: skip
        bad = runner.invoke(app, ["channel", "create", f"{name}-b", "--publisher", "tape"])
        assert bad.exit_code == 1 and "--publisher 'tape': youtube or folder" in bad.stderr
    finally:
        asyncio.run(_drop(name))


async def _save(credentials: YouTubeCredentials, name: str) -> None:
    from flows.bootstrap import ensure_block_types

    await ensure_block_types(YouTubeCredentials, Channel)
    await credentials.asave(name)


async def _drop(name: str) -> None:
    for kind in (Channel, YouTubeCredentials):
        with contextlib.suppress(ValueError):
            await kind.adelete(name)
    forget_blocks()


@pytest.mark.usefixtures("prefect_api")
def test_the_default_channel_follows_the_settings(configure: Configure) -> None:
    configure()
    assert asyncio.run(resolve_publisher("default")).publisher == "folder"
    configure(youtube_client_id="cid", youtube_refresh_token="rt")
    config = asyncio.run(resolve_publisher("default"))
    assert config.publisher == "youtube"  # auto: credentials are set
    with pytest.raises(ConfigError, match="REELFLOW_YOUTUBE_CLIENT_SECRET"):
        asyncio.run(youtube_environment(config))
    configure(youtube_client_id="cid", youtube_refresh_token="rt", publisher="folder")
    assert asyncio.run(resolve_publisher("default")).publisher == "folder"
