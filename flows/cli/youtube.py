"""``reelflow youtube auth``: get a refresh token for a channel and save it in a block.

The installed-app flow with a loopback redirect: the command listens on 127.0.0.1, prints
the consent URL (and opens it in a browser when it can), receives the code there, trades it
at Google's token endpoint and saves a ``YouTubeCredentials`` block. The client secret comes
from an environment variable, never the command line; no token is ever printed.
"""

from __future__ import annotations

import os
import secrets
import webbrowser
from typing import Annotated

import typer

from flows.cli.common import fail, run

app = typer.Typer(no_args_is_help=True, help="YouTube: credentials for publishing.")


@app.command()
def auth(
    block: Annotated[str, typer.Argument(help="Name of the YouTubeCredentials block to save.")],
    client_id: Annotated[
        str | None,
        typer.Option(help="OAuth Desktop client id (default: the setting)."),
    ] = None,
    client_secret_env: Annotated[
        str, typer.Option(help="Environment variable holding the client secret.")
    ] = "REELFLOW_YOUTUBE_CLIENT_SECRET",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Loopback port; 0: any.")] = 0,
    browser: Annotated[bool, typer.Option(help="Open the consent URL in a browser.")] = True,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for the answer.")] = 300,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing block.")] = False,
) -> None:
    """Authorise Reelflow on a YouTube channel (installed-app flow) and save the block."""
    from flows.core.oauth import AUTH_URL, TOKEN_URL, Loopback, consent_url, pkce_pair
    from flows.core.settings import get_settings

    settings = get_settings()
    client = client_id or settings.youtube_client_id or ""
    secret = os.environ.get(client_secret_env, "").strip()
    if not client or not secret:
        fail(f"give --client-id (or REELFLOW_YOUTUBE_CLIENT_ID) and set {client_secret_env}")
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    loopback = Loopback(state, port)
    auth_url = os.environ.get("REELFLOW_GOOGLE_AUTH_URL") or AUTH_URL
    url = consent_url(client, loopback.redirect_uri, state, challenge, auth_url=auth_url)
    typer.echo(f"Open this URL, sign in with the channel's account and allow access:\n{url}")
    if browser:
        webbrowser.open(url)
    token_url = settings.google_token_url or TOKEN_URL
    message = run(_finish(block, client, secret, loopback, verifier, timeout, token_url, overwrite))
    typer.echo(message)


async def _finish(
    name: str, client: str, secret: str, loopback: object, verifier: str, timeout: float,
    token_url: str, overwrite: bool,
) -> str:  # fmt: skip
    import asyncio

    from pydantic import SecretStr

    from blocks import YouTubeCredentials
    from flows.bootstrap import ensure_block_types
    from flows.core.errors import ConfigError
    from flows.core.oauth import Loopback, exchange_code

    assert isinstance(loopback, Loopback)
    if not overwrite:
        try:
            await YouTubeCredentials.aload(name)
        except ValueError:
            pass
        else:
            raise ConfigError(f"YouTubeCredentials block {name!r} exists: --overwrite replaces it")
    code = await asyncio.to_thread(loopback.wait, timeout)
    refresh = await asyncio.to_thread(
        exchange_code, client, secret, code, loopback.redirect_uri, verifier, token_url=token_url
    )
    await ensure_block_types(YouTubeCredentials)
    block = YouTubeCredentials(
        client_id=client, client_secret=SecretStr(secret), refresh_token=SecretStr(refresh)
    )
    await block.asave(name, overwrite=overwrite)
    return (
        f"saved YouTubeCredentials block {name!r}; use it: "
        f"reelflow channel create NAME --publisher youtube --credentials youtube={name}"
    )
