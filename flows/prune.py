"""The ``prune`` flow: keeps Reelflow's storage bounded (deployed daily, see prefect.yaml).

It removes what no video needs any more once it is older than ``older_than_days`` (the
rules are in ``flows.core.prune``: nothing a video that is not final needs is ever
touched), then publishes a markdown table of the sizes before and after. ``prune_storage``
does the same without Prefect, for ``reelflow prune``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact

from flows.core import storage
from flows.core.models import utcnow
from flows.core.prune import KINDS, apply_prune, plan_prune, totals
from flows.core.settings import Settings, get_settings
from flows.core.store import session_scope

__all__ = ["prune", "prune_storage", "size_table"]


async def prune_storage(
    *, settings: Settings, older_than: timedelta, dry_run: bool = False
) -> dict[str, Any]:
    """Plan a prune, apply it unless ``dry_run`` and measure again, each in a short
    transaction. Per kind: items and bytes removed (or that would be), bytes before and after.
    """
    async with session_scope(settings.database_url) as session:
        plan = await plan_prune(
            session=session, settings=settings, older_than=older_than, now=utcnow()
        )
    done, skipped = totals(plan.targets), 0
    after = {kind: max(0, plan.before[kind] - done[kind][1]) for kind in KINDS}
    if not dry_run:
        async with session_scope(settings.database_url) as session:
            result = await apply_prune(plan, session=session)
        async with session_scope(settings.database_url) as session:
            after = await storage.storage_usage(session=session, settings=settings)
        done, skipped = totals(result.removed), len(result.skipped)
    kinds = {
        kind: {"items": done[kind][0], "bytes": done[kind][1],
               "before": plan.before[kind], "after": after[kind]}
        for kind in KINDS
    }  # fmt: skip
    return {"cutoff": plan.cutoff.isoformat(), "dry_run": dry_run, "skipped": skipped,
            "kinds": kinds}  # fmt: skip


def size_table(summary: dict[str, Any]) -> str:
    """The summary of ``prune_storage`` as a markdown table."""
    removed = "would go" if summary["dry_run"] else "removed"
    rows = [f"| kind | items | {removed} | before | after |", "|---|---:|---:|---:|---:|"]
    for kind, row in summary["kinds"].items():
        sizes = (storage.human_bytes(row[k]) for k in ("bytes", "before", "after"))
        rows.append(f"| {kind} | {row['items']} | " + " | ".join(sizes) + " |")
    return "\n".join(rows)


@flow(name="prune")
async def prune(older_than_days: float = 30, dry_run: bool = False) -> dict[str, Any]:
    """Remove what Reelflow's storage no longer needs, once older than ``older_than_days``.

    Finished runs' stdout and stderr (their rows stay), spill files, cached results no
    video can use, virtualenvs no registered script uses, and the outputs of rejected or
    expired videos. Nothing a video that is not final needs is touched.

    Args:
        older_than_days: Only what is older than this many days goes.
        dry_run: Only report what would go.
    """
    settings = get_settings()
    summary = await prune_storage(
        settings=settings, older_than=timedelta(days=older_than_days), dry_run=dry_run
    )
    freed = sum(row["bytes"] for row in summary["kinds"].values())
    what = "would free" if dry_run else "freed"
    await acreate_markdown_artifact(
        key="storage-prune",
        markdown=f"# Storage prune\n\nOlder than {older_than_days:g} days (before "
        f"{summary['cutoff']}): {what} {storage.human_bytes(freed)}.\n\n{size_table(summary)}",
        description=f"Prune of {settings.data_dir}: {what} {storage.human_bytes(freed)}",
    )
    get_run_logger().info(
        "prune older than %g days: %s %s, %d item(s) kept because a video needs them now",
        older_than_days, what, storage.human_bytes(freed), summary["skipped"],
    )  # fmt: skip
    return summary


if __name__ == "__main__":
    import asyncio

    asyncio.run(prune())
