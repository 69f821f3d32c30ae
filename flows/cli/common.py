"""What every command shares: running async work, and printing errors as one line."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine
from typing import Any, NoReturn, TypeVar

import typer

from flows.core.errors import ReelflowError, ScriptError

T = TypeVar("T")

__all__ = ["fail", "print_json", "run"]


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a command's async body; a Reelflow error becomes one line on stderr and exit 1."""

    async def main() -> T:
        from flows.core.store import dispose_engines

        try:
            return await coroutine
        finally:
            await dispose_engines()

    try:
        return asyncio.run(main())
    except ScriptError as exc:
        fail(str(exc), code=75 if exc.transient else 1)
    except ReelflowError as exc:
        fail(str(exc))


def fail(message: str, *, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, default=str, ensure_ascii=False)
    sys.stdout.write("\n")
