"""``reelflow script``: the registered scripts, trying one, and the execution log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.cli.common import fail, print_json, run
from flows.core import executions
from flows.core.errors import ScriptError
from flows.core.registry import load_registry
from flows.core.runner import check_timeout, execute_script
from flows.core.settings import get_settings
from flows.core.store import session_scope

app = typer.Typer(no_args_is_help=True, help="Registered scripts and their execution log.")


@app.command("list")
def list_scripts() -> None:
    """The scripts in the registry."""
    registry = load_registry(get_settings().scripts_dir)
    typer.echo(f"{'NAME':22} {'RUNTIME':8} {'TIMEOUT':>8}  {'ENABLED':8} DESCRIPTION")
    for name, spec in sorted(registry.scripts.items()):
        enabled = "yes" if spec.enabled else "no"
        typer.echo(
            f"{name:22} {spec.runtime:8} {spec.timeout:>7g}s  {enabled:8} {spec.description}"
        )


@app.command("run")
def run_script(
    name: Annotated[str, typer.Argument(help="A script in the registry.")],
    args: Annotated[list[str] | None, typer.Argument(help="Arguments after --.")] = None,
    input: Annotated[
        str | None, typer.Option("--input", "-i", help="JSON input, or @file.json.")
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds; default the registry's.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not stream its output.")] = False,
) -> None:
    """Run a script once and print its result as JSON (secrets masked)."""
    try:
        check_timeout(name, timeout)
    except ScriptError as exc:
        fail(f"--timeout: {exc}")
    payload = _read_input(input)

    def stream(which: str, text: str) -> None:
        typer.echo(text, err=True)

    result = run(
        execute_script(
            name, input=payload, args=args or [], timeout=timeout, log=None if quiet else stream
        )
    )
    print_json(
        {
            "execution_id": result.execution_id,
            "exit_code": result.exit_code,
            "duration_ms": round(result.duration_ms, 1),
            "output": result.recorded_output,
        }
    )


def _read_input(value: str | None) -> Any:
    if value is None:
        return None
    text = value
    if value.startswith("@"):
        path = Path(value[1:])
        if not path.is_file():
            fail(f"--input: no such file {path}")
        text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except ValueError as exc:
        fail(f"--input is not valid JSON: {exc}")


@app.command()
def history(
    name: Annotated[str | None, typer.Argument(help="Only this script.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    video: Annotated[int | None, typer.Option(help="Only runs for this video.")] = None,
) -> None:
    """Recent runs, newest first."""

    async def rows() -> list[Any]:
        async with session_scope() as session:
            return await executions.list_executions(
                session=session, script=name, video_id=video, limit=limit, offset=offset
            )

    found = run(rows())
    typer.echo(
        f"{'ID':10} {'SCRIPT':20} {'STATUS':10} {'EXIT':>4} {'MS':>9}  STARTED (UTC)        LABEL"
    )
    for row in found:
        exit_code = "" if row.exit_code is None else str(row.exit_code)
        ms = "" if row.duration_ms is None else f"{row.duration_ms:.1f}"
        started = row.started_at.strftime("%Y-%m-%d %H:%M:%S")
        typer.echo(
            f"{row.id[:8]:10} {row.script:20} {row.status:10} {exit_code:>4} {ms:>9}  "
            f"{started}  {row.label or ''}"
        )


@app.command()
def show(execution_id: Annotated[str, typer.Argument(help="An id or a unique prefix.")]) -> None:
    """Everything recorded about one run."""

    async def one() -> dict[str, Any]:
        async with session_scope() as session:
            row = await executions.get_execution(session=session, id=execution_id)
            return {column.key: getattr(row, column.key) for column in row.__table__.columns}

    print_json(run(one()))
