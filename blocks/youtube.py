"""Credentials for publishing to YouTube: an OAuth desktop client and a refresh token."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr


class YouTubeCredentials(Block):
    """A Google OAuth desktop client and the refresh token it was granted for one channel.

    ``reelflow youtube auth BLOCK`` runs the installed-app flow (a loopback redirect) and
    saves this block. Access tokens are made from the refresh token for each run and never
    stored or logged. A consent screen left in "Testing" makes the refresh token expire
    after 7 days (``invalid_grant``): run the auth again, or publish the consent screen.
    """

    _block_type_name = "Reelflow YouTube Credentials"
    _block_type_slug = "reelflow-youtube-credentials"

    client_id: str = Field(description="The OAuth client id (a Desktop app client).")
    client_secret: SecretStr = Field(description="The OAuth client's secret.")
    refresh_token: SecretStr = Field(
        description="The refresh token granted with the youtube.upload and youtube.force-ssl "
        "scopes."
    )
