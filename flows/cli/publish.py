"""``reelflow publish``: publish an approved video now (or the ones waiting for it).

The video goes out with its channel's publisher (YouTube, or the channel's ``published/``
folder), as the step after an approval does; a video waiting for quota or that failed at
publishing tries again, resuming its upload. Exit 0 when published, 75 when it must wait
(the line says until when), 1 on an error (the line says why).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from flows.cli.common import print_json, run

__all__ = ["describe", "publish_command"]


def describe(outcome: dict[str, Any]) -> str:
    """One line for what became of a video's publishing."""
    video, status = outcome.get("video_id"), outcome.get("status")
    if status == "published":
        return f"video {video}: published {outcome.get('url')}"
    if status == "publish_waiting":
        return (
            f"video {video}: publish_waiting until {outcome.get('until')}: {outcome.get('error')}"
        )
    return f"video {video}: {status}: {outcome.get('error')}"


def publish_command(
    video_id: Annotated[int | None, typer.Argument(help="An approved video.")] = None,
    pending: Annotated[
        bool, typer.Option("--pending", help="Every publish_waiting video whose time has come.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Prefect's log lines.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Publish an approved video with its channel's publisher (YouTube or a folder)."""
    if (video_id is None) == (not pending):
        raise typer.BadParameter("give a VIDEO_ID or --pending")
    if not verbose:
        from flows.cli.logs import quiet_console
        from flows.scripts import script_logger

        quiet_console()
        quiet_console(script_logger())
    outcomes = run(_publish(video_id))
    if as_json:
        print_json(outcomes)
    else:
        for outcome in outcomes:
            line = describe(outcome)
            typer.echo(line, err=outcome.get("status") == "publish_error")
        if not outcomes:
            typer.echo("nothing waits to be published")
    statuses = {o.get("status") for o in outcomes}
    if "publish_error" in statuses:
        raise typer.Exit(1)
    if "publish_waiting" in statuses:
        raise typer.Exit(75)


async def _publish(video_id: int | None) -> list[dict[str, Any]]:
    if video_id is not None:
        from flows.publish.publish import publish

        return [await publish(video_id)]
    from flows.publish.pending import publish_pending

    report = await publish_pending()
    return list(report["videos"].values())
