"""``reelflow db``: the database schema."""

from __future__ import annotations

from typing import Annotated

import typer

from flows.cli.common import run
from flows.core import store
from flows.core.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="Create and migrate Reelflow's database.")


@app.command()
def upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations to REELFLOW_DATABASE_URL (SQLite or PostgreSQL)."""
    reached = run(store.upgrade(revision=revision))
    url = get_settings().database_url.split("@")[-1]
    typer.echo(f"database {url} is at revision {reached}")


@app.command()
def current() -> None:
    """Show the database's revision and the code's."""
    revision = run(store.current_revision())
    typer.echo(f"database: {revision or 'empty'}\ncode:     {store.head_revision()}")
