"""What Reelflow needs on the Prefect server, made on first use: global concurrency limits
and block types.

``reelflow setup`` creates everything at once (and is the way to tune or reset the limits);
without it, the first request of a process that needs a limit creates it with the same
values (``ensure_limit``), and a command that saves a block registers its type first
(``ensure_block_types``). Both are race-safe across processes: a create that loses to
another process's (409, or any refusal after which the object exists) counts as done, and
each is asked at most once per process and server.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prefect.blocks.core import Block
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.settings import PREFECT_API_URL

__all__ = [
    "LIMITS",
    "NOTION_LIMIT",
    "NOTION_RATE",
    "Limit",
    "ensure_block_types",
    "ensure_limit",
    "forget_ensured",
]

NOTION_LIMIT = "notion-api"
NOTION_RATE = 3.0  # requests per second: the limit's slot decay (one slot, so no burst)
_log = logging.getLogger("reelflow.bootstrap")


@dataclass(frozen=True)
class Limit:
    """A Prefect global concurrency limit the project uses."""

    name: str
    limit: int
    slot_decay_per_second: float
    purpose: str

    def describe(self) -> str:
        decay = (
            f", {self.slot_decay_per_second:g} slot(s)/s decay"
            if self.slot_decay_per_second
            else ""
        )
        return f"limit {self.limit}{decay}"


LIMITS = (
    # One slot that frees three times a second: at most 3 requests in ANY one-second window
    # across every run and worker. A limit of 3 with the same decay admits a burst of 3 on
    # top of the refill, up to 5 requests in one second (measured; see bench/notion_sync.py).
    Limit(NOTION_LIMIT, 1, NOTION_RATE, "every request to Notion: at most 3 a second, no burst"),
    Limit("provider-gemini", 4, 0.0, "Gemini image requests in flight"),
    Limit("provider-kling", 3, 0.0, "Kling clip tasks in flight (the account's task quota)"),
    Limit("provider-elevenlabs", 5, 0.0, "ElevenLabs requests in flight (Creator tier: 5)"),
)
_BY_NAME = {limit.name: limit for limit in LIMITS}
_ensured: set[tuple[str, str]] = set()  # (API URL, limit or block type) made or found here


def forget_ensured() -> None:
    """Ask the server again next time (tests that delete limits)."""
    _ensured.clear()


async def ensure_limit(name: str) -> bool:
    """Make sure the limit ``name`` exists; True when this call created it.

    A name that is not one of ``LIMITS`` (a script's own limit in the registry) is left to
    whoever made it.
    """
    wanted = _BY_NAME.get(name)
    key = (str(PREFECT_API_URL.value() or ""), name)
    if wanted is None or key in _ensured:
        return False
    async with get_client() as client:
        try:
            await client.read_global_concurrency_limit_by_name(name)
            created = False
        except ObjectNotFound:
            created = await _create(client, wanted)
        _ensured.add(key)
    if created:
        _log.info("created the %s limit (%s): %s", name, wanted.describe(), wanted.purpose)
    return created


async def _create(client: PrefectClient, wanted: Limit) -> bool:
    """Create ``wanted``; False when another process made it first."""
    limit = GlobalConcurrencyLimitCreate(
        name=wanted.name, limit=wanted.limit, slot_decay_per_second=wanted.slot_decay_per_second
    )
    try:
        await client.create_global_concurrency_limit(limit)
    except ObjectAlreadyExists:  # 409: another process made it first
        return False
    return True


async def ensure_block_types(*kinds: type[Block]) -> None:
    """Register these block types (and schemas) with the server, once per process."""
    url = str(PREFECT_API_URL.value() or "")
    for kind in kinds:
        key = (url, f"block:{kind.get_block_type_slug()}")
        if key not in _ensured:
            await kind.aregister_type_and_schema()
            _ensured.add(key)
