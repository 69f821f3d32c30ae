"""``reelflow youtube auth``: the installed-app flow with a loopback redirect, against the
stand-in's token endpoint; the browser is played by the test (it follows the consent URL's
redirect_uri with a code and the state)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest

from blocks import YouTubeCredentials
from flows.core.errors import ConfigError
from flows.core.oauth import SCOPES, Loopback, consent_url, exchange_code, pkce_pair
from tests.conftest import PROJECT_ROOT, Configure
from tests.publish.youtube_fake import FakeYouTube


def _answer(url: str, **params: str) -> int:
    """Be the browser Google redirects back to us."""
    query = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    target = query["redirect_uri"] + "?" + urlencode({"state": query["state"], **params})
    return httpx.get(target, timeout=10).status_code


def test_the_loopback_gets_the_code_and_the_code_becomes_a_refresh_token(
    fake: FakeYouTube,
) -> None:
    verifier, challenge = pkce_pair()
    loopback = Loopback("s-1")
    url = consent_url("cid", loopback.redirect_uri, "s-1", challenge, auth_url=f"{fake.url}/auth")
    query = parse_qs(urlparse(url).query)
    assert query["scope"] == [" ".join(SCOPES)] and query["access_type"] == ["offline"]
    assert query["code_challenge_method"] == ["S256"] and query["prompt"] == ["consent"]
    fake.codes["code-1"] = "rtoken"
    assert _answer(url, code="code-1") == 200
    code = loopback.wait(10)
    token = exchange_code("cid", "csecret", code, loopback.redirect_uri, verifier,
                          token_url=f"{fake.url}/token")  # fmt: skip
    assert token == "rtoken"
    with pytest.raises(ConfigError, match='"Testing" expires refresh tokens after 7 days'):
        exchange_code("cid", "csecret", "used", loopback.redirect_uri, verifier,
                      token_url=f"{fake.url}/token")  # fmt: skip


def test_a_foreign_state_or_a_refusal_is_said_in_one_line() -> None:
    loopback = Loopback("mine")
    httpx.get(loopback.redirect_uri + "?state=theirs&code=x", timeout=10)
    with pytest.raises(ConfigError, match="state does not match"):
        loopback.wait(5)
    refused = Loopback("mine")
    httpx.get(refused.redirect_uri + "?state=mine&error=access_denied", timeout=10)
    with pytest.raises(ConfigError, match="consent refused: access_denied"):
        refused.wait(5)


@pytest.mark.usefixtures("prefect_api")
def test_the_command_saves_the_block_and_prints_no_token(
    configure: Configure, fake: FakeYouTube
) -> None:
    configure(google_token_url=f"{fake.url}/token")
    fake.codes["code-2"] = "rtoken"
    name = "yt-auth-test"
    env = {**os.environ, "REELFLOW_YOUTUBE_CLIENT_SECRET": "csecret",
           "REELFLOW_GOOGLE_AUTH_URL": f"{fake.url}/auth"}  # fmt: skip
    command = subprocess.Popen(
        [str(PROJECT_ROOT / ".venv/bin/reelflow"), "youtube", "auth", name, "--client-id", "cid",
         "--no-browser", "--timeout", "60", "--overwrite"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert command.stdout is not None
    command.stdout.readline()
    url = command.stdout.readline().strip()
    assert url.startswith(f"{fake.url}/auth?")
    assert _answer(url, code="code-2") == 200
    out, err = command.communicate(timeout=60)
    assert command.returncode == 0, err[-2000:]
    assert f"saved YouTubeCredentials block {name!r}" in out
    assert "rtoken" not in out + err and "csecret" not in out + err
    block = asyncio.run(YouTubeCredentials.aload(name))
    assert block.client_id == "cid" and block.refresh_token.get_secret_value() == "rtoken"
    asyncio.run(YouTubeCredentials.adelete(name))
