"""``reelflow prune``: remove what Reelflow's storage no longer needs, and show what it holds."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

import typer

from flows.cli.common import fail, print_json, run
from flows.core.prune import data_dir_usage
from flows.core.settings import Settings, get_settings
from flows.core.storage import human_bytes

__all__ = ["parse_age", "print_usage", "prune_command"]

AGE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([dhm])\s*")
UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def prune_command(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than", metavar="AGE", help="Only what is older than this: 30d, 12h or 90m."
        ),
    ] = "30d",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would go and remove nothing.")
    ] = False,
) -> None:
    """Remove old run output, spill files, dead cache entries, unused virtualenvs and the
    outputs of rejected or expired videos; never anything a video in progress needs."""
    age = parse_age(older_than)
    from flows.prune import prune_storage

    summary = run(prune_storage(settings=get_settings(), older_than=age, dry_run=dry_run))
    _print_summary(summary, older_than)


def parse_age(value: str) -> timedelta:
    """``30d``, ``12h``, ``90m`` (or ``1.5d``) as a timedelta; anything else fails."""
    found = AGE.fullmatch(value)
    if found is None:
        fail(f"--older-than {value!r}: give a number and a unit, such as 30d, 12h or 90m")
    number, unit = found.groups()
    return timedelta(**{UNITS[unit]: float(number)})


def print_usage(settings: Settings, *, json_output: bool = False) -> None:
    """What the data directory holds, by area (``reelflow status``)."""
    usage = data_dir_usage(settings)
    if json_output:
        print_json({"data_dir": str(settings.data_dir), **usage})
        return
    areas = ", ".join(f"{k} {human_bytes(v)}" for k, v in usage.items() if k != "total" and v)
    typer.echo(f"data {settings.data_dir}: {human_bytes(usage['total'])}")
    typer.echo(f"  {areas or 'empty'}; `reelflow prune --dry-run` shows what could go")


def _print_summary(summary: dict[str, Any], older_than: str) -> None:
    dry = summary["dry_run"]
    typer.echo(f"older than {older_than} (before {summary['cutoff'][:19]} UTC):")
    verb = "WOULD GO" if dry else "REMOVED"
    typer.echo(f"  {'KIND':11} {'ITEMS':>6} {verb:>11} {'BEFORE':>11} {'AFTER':>11}")
    rows = summary["kinds"]
    total = {k: sum(row[k] for row in rows.values()) for k in ("items", "bytes", "before", "after")}
    for kind, row in [*rows.items(), ("total", total)]:
        sizes = " ".join(f"{human_bytes(row[k]):>11}" for k in ("bytes", "before", "after"))
        typer.echo(f"  {kind:11} {row['items']:>6} {sizes}")
    if dry:
        typer.echo("dry run: nothing was removed")
    if summary["skipped"]:
        typer.echo(f"{summary['skipped']} item(s) kept: a video needs them since the plan was made")
