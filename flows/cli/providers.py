"""``reelflow providers check``: are a channel's provider keys there, and do the providers
accept them?

Each provider gets its cheapest call, one that costs nothing: Gemini ``GET
/v1beta/models/{model}`` (the channel's image model), Kling ``GET
/v1/videos/image2video?pageNum=1&pageSize=1`` (its task list, with the JWT the scripts sign),
ElevenLabs ``GET /v1/user`` (the subscription). Keys come from the channel's credential
blocks, else the ``REELFLOW_*`` variables, exactly as the scripts get them; they are never
printed (the providers' messages are masked too).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass, field
from typing import Annotated

import httpx
import typer

from flows.cli.common import fail, run
from flows.core.errors import ConfigError
from flows.core.pricing import DEFAULT_MODELS
from flows.core.redact import Redactor

__all__ = ["Check", "app", "check_command", "check_providers"]

app = typer.Typer(no_args_is_help=True, help="The paid providers (Gemini, Kling, ElevenLabs).")

DEFAULT_URLS = {
    "gemini": "https://generativelanguage.googleapis.com",
    "kling": "https://api-singapore.klingai.com",
    "elevenlabs": "https://api.elevenlabs.io",
}
TIMEOUT = httpx.Timeout(connect=10.0, read=20.0, write=20.0, pool=10.0)


@dataclass
class Check:
    """One provider's verdict: ok, missing (no key), rejected (refused) or unreachable."""

    provider: str
    state: str
    detail: str
    used_by: list[str] = field(default_factory=list)

    @property
    def fails(self) -> bool:
        """A rejected key always fails the check; anything else only for a provider in use."""
        return self.state == "rejected" or (self.state != "ok" and bool(self.used_by))


@app.command("check")
def check_command(
    channel: Annotated[str, typer.Option(help="The channel whose keys to check.")] = "default",
) -> None:
    """Check each provider's keys with its cheapest call; exit 1 if a used one fails."""
    checks = run(check_providers(channel))
    for check in checks:
        used = f" (used for {', '.join(check.used_by)})" if check.used_by else ""
        typer.echo(f"{check.provider:<11} {check.state:<12} {check.detail}{used}")
    if any(check.fails for check in checks):
        raise typer.Exit(1)


async def check_providers(channel: str) -> list[Check]:
    """Check every provider for ``channel``."""
    from flows.channels import PROVIDER_ENV, provider_environment, resolve_channel

    config = await resolve_channel(channel)
    checks = []
    for provider, names in PROVIDER_ENV.items():
        used = [step for step, name in sorted(config.providers.items()) if name == provider]
        try:
            env = await provider_environment(channel, provider)
        except ConfigError as exc:
            checks.append(Check(provider, "missing", str(exc), used))
            continue
        values = {v: env.get(v) or os.environ.get(v, "") for v in names.values()}
        keys = [values[v] for a, v in names.items() if a != "base_url"]
        base = (values[names["base_url"]] or DEFAULT_URLS[provider]).rstrip("/")
        model = config.models.get("assets") or DEFAULT_MODELS[("assets", "gemini")]
        try:
            async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as client:
                state, detail = await _CALLS[provider](client, keys, model)
        except httpx.HTTPError as exc:
            state, detail = "unreachable", f"{base}: {type(exc).__name__}: {exc}"
        except ValueError:  # a 2xx that is not the provider's JSON (a proxy, a portal)
            state, detail = "unreachable", f"{base}: the answer is not the provider's JSON"
        checks.append(Check(provider, state, Redactor(keys).text(detail), used))
    return checks


async def _gemini(client: httpx.AsyncClient, keys: list[str], model: str) -> tuple[str, str]:
    response = await client.get(f"/v1beta/models/{model}", headers={"x-goog-api-key": keys[0]})
    if response.is_success:
        return "ok", f"key accepted; model {model} available"
    return _refused(response)


async def _kling(client: httpx.AsyncClient, keys: list[str], model: str) -> tuple[str, str]:
    token = kling_token(keys[0], keys[1])
    keys.append(token)  # masked like the keys
    response = await client.get(
        "/v1/videos/image2video",
        params={"pageNum": 1, "pageSize": 1},
        headers={"Authorization": f"Bearer {token}"},
    )
    if response.is_success and response.json().get("code") == 0:
        return "ok", "keys accepted (signed token verified)"
    return _refused(response)


async def _elevenlabs(client: httpx.AsyncClient, keys: list[str], model: str) -> tuple[str, str]:
    response = await client.get("/v1/user", headers={"xi-api-key": keys[0]})
    if not response.is_success:
        return _refused(response)
    plan = response.json().get("subscription") or {}
    used, limit = plan.get("character_count"), plan.get("character_limit")
    usage = f"; {used:,} of {limit:,} characters used" if used is not None and limit else ""
    return "ok", f"key accepted; tier {plan.get('tier', '?')}{usage}"


_CALLS = {"gemini": _gemini, "kling": _kling, "elevenlabs": _elevenlabs}


def _refused(response: httpx.Response) -> tuple[str, str]:
    """A refusal: rejected (4xx: the key or the request) or unreachable (429, 5xx)."""
    transient = response.status_code == 429 or response.status_code >= 500
    return ("unreachable" if transient else "rejected"), f"{response.status_code} {_said(response)}"


def _said(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return " ".join(response.text.split())[:200] or response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return f"{error.get('status', '')}: {error.get('message', '')}".strip(": ")
    if isinstance(detail, dict):
        return f"{detail.get('status', '')}: {detail.get('message', '')}".strip(": ")
    if isinstance(body, dict) and "message" in body:
        return f"code {body.get('code')}: {body['message']}"
    return json.dumps(body)[:200]


def kling_token(access_key: str, secret_key: str, now: float | None = None) -> str:
    """Kling's API token: HS256 JWT {iss: access key, exp: +30 min, nbf: -5 s}."""
    issued = int(time.time() if now is None else now)
    parts = [{"alg": "HS256", "typ": "JWT"}, {"iss": access_key, "exp": issued + 1800,
                                               "nbf": issued - 5}]  # fmt: skip
    signing = ".".join(_b64(json.dumps(p, separators=(",", ":")).encode()) for p in parts)
    signature = hmac.new(secret_key.encode(), signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{_b64(signature)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@app.command("save")
def save_command(
    provider: Annotated[str, typer.Argument(help="gemini, kling or elevenlabs.")],
    block: Annotated[str, typer.Argument(help="The credentials block's name.")],
    overwrite: Annotated[bool, typer.Option(help="Replace an existing block.")] = False,
) -> None:
    """Save a provider's keys, read from their REELFLOW_* environment variables (never from
    arguments), as a credentials block for `reelflow channel create --credentials`."""
    from flows.channels import PROVIDER_ENV, credentials_block_type, secret_variables

    if provider not in PROVIDER_ENV:
        fail(f"unknown provider {provider!r}: known are {', '.join(PROVIDER_ENV)}")
    variables = secret_variables(provider)
    secrets = {field: os.environ.get(var, "").strip() for field, var in variables.items()}
    missing = [variables[field] for field, value in secrets.items() if not value]
    if missing:
        fail(f"set {', '.join(missing)} first: keys are read from the environment only")
    kind = credentials_block_type(provider)
    credentials = kind(**secrets)
    try:
        run(credentials.asave(block, overwrite=overwrite))
    except ValueError:  # Prefect's answer for a name in use
        fail(f"a {kind.__name__} block {block!r} exists already: pass --overwrite to replace it")
    typer.echo(f"saved {kind.__name__} block {block!r} (from {', '.join(variables.values())})")
