"""``reelflow recover``: one pass of what the scheduled ``recover`` deployment does.

Reaps videos whose run died, starts crashed videos again (at most the channel's
``max_recoveries`` times) and retries the ``retry_scheduled`` ones whose time has come.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Annotated, Any

import typer

from flows.cli.common import fail, print_json, run
from flows.core import recovery, runs
from flows.core.store import session_scope

__all__ = ["recover_command"]


def recover_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what it would do.")] = False,
    here: Annotated[
        bool, typer.Option("--here", help="Produce the videos in this terminal.")
    ] = False,
    approve: Annotated[bool, typer.Option("--approve", help="With --here: approve.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Reap dead runs, recover crashed videos and retry the ones whose time has come.

    Without --here the videos go to the produce-video deployment (each in its channel's
    queue), as the scheduled `recover` deployment does.
    """
    if here and not approve and not sys.stdin.isatty():
        fail("--here needs an answer for the review gate and there is no terminal: --approve")
    report = run(_dry_run() if dry_run else _recover(here, approve))
    if as_json:
        print_json(report)
        return
    for kind, ids in report.items():
        if ids:
            typer.echo(f"{kind}: {', '.join(map(str, ids))}")
    if not any(report.values()):
        typer.echo("nothing to recover")


async def _dry_run() -> dict[str, Any]:
    from flows.core.models import utcnow

    now = utcnow()
    async with session_scope() as session:
        dead = await recovery.dead_runs(session=session, now=now)
        crashed = await recovery.crashed_videos(session=session)
        due = await recovery.due_retries(session=session, now=now)
    return {
        "would reap": [v.id for v in dead],
        "would recover": [v.id for v in crashed],
        "would retry": [v.id for v in due],
    }


async def _recover(here: bool, approve: bool) -> dict[str, Any]:
    from flows.cli.video import follow, preset_decision
    from flows.launch import DEPLOYMENT, ensure_deployment, start_videos
    from flows.recover import reap_dead_runs, take_recoverable
    from flows.runs import holding_video

    if not here:
        await ensure_deployment(DEPLOYMENT)  # before taking any video
    reaped = await reap_dead_runs()
    taken = await take_recoverable()
    to_start = taken["crashed"] + taken["retry_scheduled"]
    report: dict[str, Any] = {"reaped": reaped, **taken}
    if not here:
        runs_ = await start_videos(to_start, mode="deployment")
        report["flow runs"] = list(runs_.values())
        return report
    preset = preset_decision(approve, None, "recover")
    async with contextlib.AsyncExitStack() as held:  # ours from here: if we die, reaped
        for video_id in to_start:
            await held.enter_async_context(holding_video(video_id, runs.process_holder()))
        for video_id in to_start:
            typer.echo(f"video {video_id}: starting again")
            try:
                await follow(video_id, preset, "recover", verbose=False)
            except Exception as exc:  # one video's failure does not stop the others
                typer.echo(f"video {video_id}: {exc}", err=True)
    return report
