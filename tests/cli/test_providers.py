"""``reelflow providers check``: each provider's keys tried with its cheapest (free) call."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest
from typer.testing import CliRunner, Result

from blocks import Channel
from flows.cli.main import app
from flows.core.settings import Settings
from tests.scripts.providers import kling
from tests.scripts.providers.fakes import Fakes

pytest_plugins = ["tests.scripts.providers.fixtures"]
pytestmark = pytest.mark.usefixtures("prefect_api")

runner = CliRunner()
WRONG = {
    "api_key": "AIzaSyWRONG-check-canary-1", "access_key": "AKWRONG-check-canary-2",
    "secret_key": "SKWRONG-check-canary-3", "elevenlabs_key": "sk_WRONG-check-canary-4",
}  # fmt: skip


def _check(name: str) -> tuple[Result, dict[str, list[str]]]:
    result = runner.invoke(app, ["providers", "check", "--channel", name])
    lines = {line.split()[0]: line.split(maxsplit=2)[1:] for line in result.stdout.splitlines()}
    return result, lines


def test_good_keys_are_accepted_through_free_calls_and_never_printed(
    settings: Settings, fakes: Fakes, channel_on_fakes: Callable[..., str]
) -> None:
    result, lines = _check(channel_on_fakes())
    assert result.exit_code == 0, result.output
    assert lines["gemini"] == [
        "ok", "key accepted; model gemini-2.5-flash-image available (used for assets)"
    ]  # fmt: skip
    assert lines["kling"] == ["ok", "keys accepted (signed token verified) (used for video)"]
    assert lines["elevenlabs"] == [
        "ok", "key accepted; tier creator; 1,200 of 100,000 characters used "
        "(used for narration, sfx)",
    ]  # fmt: skip
    assert [s.path for s in fakes.gemini.seen()] == ["/v1beta/models/gemini-2.5-flash-image"]
    [listing] = fakes.kling.seen()
    assert (listing.method, listing.path, listing.query, listing.status) == (
        "GET", "/v1/videos/image2video", {"pageNum": "1", "pageSize": "1"}, 200,
    )  # fmt: skip
    assert [(s.method, s.path) for s in fakes.elevenlabs.seen()] == [("GET", "/v1/user")]
    assert fakes.paid() == 0
    for secret in fakes.secrets():
        assert secret not in result.output


def test_rejected_keys_are_named_with_the_providers_message_and_fail_the_check(
    settings: Settings, fakes: Fakes, channel_on_fakes: Callable[..., str]
) -> None:
    result, lines = _check(channel_on_fakes(keys=WRONG))
    assert result.exit_code == 1
    assert (
        lines["gemini"][0] == "rejected"
        and "400 INVALID_ARGUMENT: API key not valid" in (lines["gemini"][1])
    )
    assert (
        lines["kling"][0] == "rejected"
        and "401 code 1002: Authorization is invalid" in (lines["kling"][1])
    )
    assert lines["elevenlabs"][0] == "rejected"
    assert "401 invalid_api_key: Invalid API key" in lines["elevenlabs"][1]
    for secret in [*WRONG.values(), *fakes.kling.tokens, kling.SECRET_KEY]:
        assert secret not in result.output


def test_missing_keys_fail_the_check_only_for_providers_the_channel_uses(
    settings: Settings,
) -> None:
    result, lines = _check("default")  # no block, no REELFLOW_* keys: everything local
    assert result.exit_code == 0, result.output
    assert {state for state, _ in lines.values()} == {"missing"}
    assert "REELFLOW_KLING_ACCESS_KEY, REELFLOW_KLING_SECRET_KEY" in lines["kling"][1]
    name = "check-no-keys"
    asyncio.run(Channel(providers={"video": "kling"}).asave(name, overwrite=True))
    try:
        result, lines = _check(name)
    finally:
        asyncio.run(Channel.adelete(name))
    assert result.exit_code == 1
    assert lines["kling"][0] == "missing" and lines["kling"][1].endswith("(used for video)")


def test_an_unreachable_provider_is_reported_as_such(
    settings: Settings, channel_on_fakes: Callable[..., str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    result, lines = _check(channel_on_fakes(base_urls={"elevenlabs": closed}))
    assert result.exit_code == 1
    assert lines["elevenlabs"][0] == "unreachable" and "ConnectError" in lines["elevenlabs"][1]
    assert lines["gemini"][0] == lines["kling"][0] == "ok"


def test_save_stores_keys_from_the_environment_in_a_block_and_never_prints_them(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from blocks import KlingCredentials

    monkeypatch.delenv("REELFLOW_KLING_SECRET_KEY", raising=False)
    monkeypatch.setenv("REELFLOW_KLING_ACCESS_KEY", "AK-save-canary-5")
    missing = runner.invoke(app, ["providers", "save", "kling", "kling-saved"])
    assert missing.exit_code == 1
    assert "set REELFLOW_KLING_SECRET_KEY first" in missing.output

    monkeypatch.setenv("REELFLOW_KLING_SECRET_KEY", "SK-save-canary-6")
    saved = runner.invoke(app, ["providers", "save", "kling", "kling-saved"])
    assert saved.exit_code == 0, saved.output
    assert "saved KlingCredentials block 'kling-saved'" in saved.stdout
    assert "canary" not in saved.output
    block = asyncio.run(KlingCredentials.aload("kling-saved"))
    assert block.access_key.get_secret_value() == "AK-save-canary-5"
    assert block.secret_key.get_secret_value() == "SK-save-canary-6"

    again = runner.invoke(app, ["providers", "save", "kling", "kling-saved"])
    assert again.exit_code == 1 and "pass --overwrite" in again.output
    replaced = runner.invoke(app, ["providers", "save", "kling", "kling-saved", "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    asyncio.run(KlingCredentials.adelete("kling-saved"))


def test_save_names_an_unknown_provider(settings: Settings) -> None:
    result = runner.invoke(app, ["providers", "save", "openai", "x"])
    assert result.exit_code == 1
    assert "unknown provider 'openai': known are gemini, kling, elevenlabs" in result.output
