"""Budgets: stop before a step whose estimated cost would pass the video's budget.

``produce_video`` calls ``check_budget`` before every step. The step's items are priced from
the price table (``flows.core.pricing``); items already in the cache cost nothing and are not
counted again. When what the video has spent (``videos.cost_usd``) plus that estimate would
pass the budget, the video goes to ``budget_exceeded`` with a message saying by how much,
and BudgetExceeded stops the run before anything is spent. Raise the budget (the channel's,
or ``produce_video(budget_usd=…)``) and run again: it resumes there, cached items still free.
"""

from __future__ import annotations

import logging

from prefect import get_run_logger
from prefect.exceptions import MissingContextError
from prefect.filesystems import LocalFileSystem

from flows.core import videos
from flows.core.channel import ChannelConfig
from flows.core.errors import BudgetExceeded, ConfigError, StepError
from flows.core.manifest import Manifest
from flows.core.pricing import PriceTable, StepEstimate, estimate_step, item_cost, load_prices
from flows.core.settings import get_settings
from flows.core.steps import ERROR_STATUS, NOUN, STEPS, Item, VideoPaths, plan_items
from flows.core.store import session_scope
from flows.status import change_status
from flows.steps import is_cached, result_storage

__all__ = ["cached_paid_items", "check_budget", "check_plan_budget", "estimate_remaining"]

STATUS = "budget_exceeded"
TOLERANCE = 1e-9  # float sums: a budget met exactly is not passed


async def check_budget(
    video_id: int, step: str, items: list[Item], channel: ChannelConfig, budget_usd: float | None
) -> None:
    """Raise BudgetExceeded (after marking the video) if ``step`` would pass the budget."""
    if budget_usd is None:
        return
    try:
        prices = load_prices()
        cached = await cached_paid_items(items, prices)
        estimate = estimate_step(step, items, prices, cached=cached).cost_usd
    except ConfigError as exc:  # a provider or model without a price: never run it blind
        message = f"{NOUN[step]}: {exc}"
        await change_status(video_id, ERROR_STATUS[step], error=message)
        raise StepError(message, step=step, status=ERROR_STATUS[step]) from exc
    async with session_scope() as session:
        spent = (await videos.get_video(session=session, video_id=video_id)).cost_usd
    if estimate > 0 and spent + estimate > budget_usd + TOLERANCE:  # free steps always run
        error = BudgetExceeded(step=step, spent=spent, estimate=estimate, budget=budget_usd)
        detail = {
            "step": step, "spent_usd": spent, "estimate_usd": estimate,
            "budget_usd": budget_usd, "over_usd": round(spent + estimate - budget_usd, 6),
        }  # fmt: skip
        await change_status(video_id, STATUS, error=str(error), detail=detail)
        raise error
    if estimate:
        _logger().info(
            "video %s: %s should cost about $%.4f; $%.4f spent of the $%.2f budget",
            video_id, step, estimate, spent, budget_usd,
        )  # fmt: skip


async def estimate_remaining(
    plan: Manifest, paths: VideoPaths, channel: ChannelConfig, prices: PriceTable | None = None
) -> list[StepEstimate]:
    """What each step of ``plan`` would still cost on ``channel`` (cached items are free)."""
    prices = prices or load_prices()
    estimates = []
    for step in STEPS:
        items = plan_items(plan, step, paths, channel.providers, channel.models)
        cached = await cached_paid_items(items, prices)
        estimates.append(estimate_step(step, items, prices, cached=cached))
    return estimates


async def check_plan_budget(
    video_id: int, plan: Manifest, paths: VideoPaths, channel: ChannelConfig,
    budget_usd: float | None,
) -> None:  # fmt: skip
    """Before the first cent: raise BudgetExceeded (after marking the video) when what is
    left to make is estimated over the budget. ``check_budget`` still guards every step
    against estimates that were too low."""
    if budget_usd is None:
        return
    try:
        estimate = sum(s.cost_usd for s in await estimate_remaining(plan, paths, channel))
    except ConfigError:  # a missing price: the step's own check names it
        return
    async with session_scope() as session:
        spent = (await videos.get_video(session=session, video_id=video_id)).cost_usd
    if estimate > 0 and spent + estimate > budget_usd + TOLERANCE:
        error = BudgetExceeded(step="plan", spent=spent, estimate=estimate, budget=budget_usd)
        detail = {
            "step": "plan", "spent_usd": spent, "estimate_usd": round(estimate, 6),
            "budget_usd": budget_usd, "over_usd": round(spent + estimate - budget_usd, 6),
        }  # fmt: skip
        await change_status(video_id, STATUS, error=str(error), detail=detail)
        raise error


async def cached_paid_items(items: list[Item], prices: PriceTable) -> set[str]:
    """Labels of the items that would cost money but are already in the cache (free)."""
    storage: LocalFileSystem | None = None
    cached: set[str] = set()
    for item in items:
        if item_cost(item, prices) <= 0:
            continue  # free items need no cache lookup
        if storage is None:
            storage = await result_storage(get_settings())
        if await is_cached(item, storage=storage):
            cached.add(item.label)
    return cached


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    try:
        return get_run_logger()
    except MissingContextError:  # called outside a run (tests, the CLI)
        return logging.getLogger("reelflow")
