"""``reelflow submit`` and ``reelflow review``: deployed runs and their review gates.

Both talk to the Prefect server in PREFECT_API_URL (the one the workers use). Prefect has no
CLI verb that resumes a run with input; ``reelflow review`` is it.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer

from flows.cli.common import fail, print_json, run
from flows.core import videos
from flows.core.errors import ReelflowError, ReviewError
from flows.core.manifest import Manifest, load_manifest
from flows.core.names import check_channel_name
from flows.core.settings import get_settings
from flows.core.store import session_scope

app = typer.Typer(no_args_is_help=True, help="Review videos waiting at the gate.")

DEPLOYMENT = "produce-video/produce-video"  # as flows.launch (imported only when needed)
Reviewer = Annotated[
    str | None, typer.Option(help="Who decides (default: your user name).", show_default=False)
]
Target = Annotated[str, typer.Argument(help="A video id, or the flow run id waiting for review.")]


def _api_required() -> None:
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        fail("set PREFECT_API_URL to the Prefect server your workers use")


def submit_command(
    manifests: Annotated[
        list[Path] | None,
        typer.Argument(help="Plans, folders of plans, or @list.txt files of paths."),
    ] = None,
    channel: Annotated[str | None, typer.Option(help="Channel; default each plan's.")] = None,
    video: Annotated[
        list[int] | None, typer.Option("--video", help="Resume these video ids instead.")
    ] = None,
    budget: Annotated[float | None, typer.Option(help="Budget per video, in USD.")] = None,
    replace: Annotated[
        bool,
        typer.Option(
            help="With --video: mark the video's previous run crashed if Prefect still thinks "
            "it runs (its worker died), so its slot is freed."
        ),
    ] = False,
    deployment: Annotated[str, typer.Option(help="The deployment to run.")] = DEPLOYMENT,
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
) -> None:
    """Start one deployed run per plan (or per --video), printing the flow-run ids.

    A plan or video that cannot start is one ``error:`` line; the others start anyway, and
    the command exits 1 if any could not."""
    _api_required()
    plans: list[tuple[Path, Manifest]] = []
    paths, problems = _expand(manifests or [])
    for path in paths:
        try:
            plans.append((path, load_manifest(path)))
        except ReelflowError as exc:
            problems.append(str(exc))
    if not plans and not video and not problems:
        fail("give at least one plan (or --video ID)")
    started, failed = run(_submit(plans, video or [], channel, budget, deployment, replace))
    problems += failed
    if json_output:
        print_json(started)
    else:
        for entry in started:
            typer.echo(f"{entry['flow_run_id']}  {entry['source']}")
    for problem in problems:
        typer.echo(f"error: {problem}", err=True)
    if problems:
        raise typer.Exit(1)


def _expand(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """The plan files named (folders and @lists opened), and one line per missing one."""
    found: list[Path] = []
    missing: list[str] = []
    for path in paths:
        text = str(path)
        if text.startswith("@"):
            listed = Path(text[1:])
            if not listed.is_file():
                missing.append(f"no list file {listed}")
                continue
            lines = [ln.strip() for ln in listed.read_text().splitlines()]
            more, gone = _expand(
                [listed.parent / ln for ln in lines if ln and not ln.startswith("#")]
            )
            found, missing = found + more, missing + gone
        elif path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml", ".json"})
        elif path.is_file():
            found.append(path)
        else:
            missing.append(f"no such plan: {path}")
    return found, missing


async def _submit(
    plans: list[tuple[Path, Manifest]], video_ids: list[int], channel: str | None,
    budget: float | None, deployment: str, replace: bool,
) -> tuple[list[dict[str, Any]], list[str]]:  # fmt: skip
    """Open each plan's video (resuming its unfinished one), then start every video through
    the deployment, in its channel's work queue: what started, and one line per failure."""
    from flows.launch import ensure_deployment, start_videos

    if not plans and not video_ids:
        return [], []
    await ensure_deployment(deployment, instead="produce a plan here with `reelflow run PLAN`")
    failed: list[str] = []
    jobs: list[tuple[str, int, str]] = []
    for path, plan in plans:
        try:
            jobs.append((str(path), *await _open(path, plan, channel, budget)))
        except ReelflowError as exc:
            failed.append(f"{path}: {exc}")
    for video_id in video_ids:
        try:
            jobs.append((f"video {video_id}", video_id, await _resumable(video_id, replace)))
        except ReelflowError as exc:
            failed.append(str(exc))
    started = []
    for source, video_id, name in jobs:
        try:
            runs = await start_videos(
                [video_id], mode="deployment", deployment=deployment, budget_usd=budget
            )
        except ReelflowError as exc:
            failed.append(f"{source}: {exc}")
            continue
        started.append(
            {"flow_run_id": runs[video_id], "source": source, "channel": name, "video_id": video_id}
        )
    return started, failed


async def _open(
    path: Path, plan: Manifest, channel: str | None, budget: float | None
) -> tuple[int, str]:
    name = check_channel_name(channel or plan.channel or "default")
    async with session_scope() as session:
        video = await videos.open_video(
            session=session, channel=name, manifest=plan, source=str(path),
            budget_usd=budget, target_s=get_settings().target_seconds,
        )  # fmt: skip
        return video.id, name


async def _resumable(video_id: int, replace: bool) -> str:
    """The video's channel, once its previous run is known not to run any more."""
    async with session_scope() as session:
        found = await videos.get_video(session=session, video_id=video_id)
        name = await videos.channel_name(session=session, video=found)
    if found.flow_run_id:
        await _retire(video_id, found.flow_run_id, replace)
    return name


async def _retire(video_id: int, flow_run_id: str, replace: bool) -> None:
    """Refuse to start a second run of a video while its last one may still run, unless
    told it is dead: then mark it crashed, which frees its concurrency slots."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.states import Crashed

    async with get_client() as client:
        try:
            previous = await client.read_flow_run(UUID(flow_run_id))
        except ObjectNotFound:
            return
        state = previous.state
        if state is None or state.is_final() or state.is_paused():
            return
        if not replace:
            raise ReviewError(
                f"video {video_id} is still being produced by flow run {flow_run_id} "
                f"({state.name}); if its worker died, pass --replace"
            )
        await client.set_flow_run_state(
            previous.id, Crashed(message="replaced: its worker died"), force=True
        )


@app.command("list")
def list_reviews(
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
) -> None:
    """Videos waiting for review, with their flow runs."""
    waiting = run(_waiting())
    if json_output:
        print_json(waiting)
        return
    typer.echo(f"{'VIDEO':>5}  {'CHANNEL':14} {'FLOW RUN':36}  {'STATE':10} TITLE")
    for row in waiting:
        typer.echo(
            f"{row['video_id']:>5}  {row['channel']:14} {row['flow_run_id']:36}  "
            f"{row['state']:10} {row['title']}"
        )


async def _waiting() -> list[dict[str, Any]]:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    async with session_scope() as session:
        rows = await videos.list_videos(session=session, status="awaiting_review", limit=1000)
    waiting = []
    async with get_client() as client:
        for video, channel in rows:
            state: str = "?"
            if video.flow_run_id:
                try:
                    flow_run = await client.read_flow_run(UUID(video.flow_run_id))
                    state = flow_run.state.name if flow_run.state and flow_run.state.name else "?"
                except ObjectNotFound:
                    state = "gone"
            waiting.append(
                {
                    "video_id": video.id, "channel": channel, "title": video.title,
                    "flow_run_id": video.flow_run_id or "", "state": state,
                    "output": video.output_path, "cost_usd": video.cost_usd,
                }
            )  # fmt: skip
    return waiting


@app.command()
def approve(
    target: Target,
    notes: Annotated[str | None, typer.Option(help="Notes for the record.")] = None,
    reviewer: Reviewer = None,
) -> None:
    """Approve a video waiting for review."""
    _decide(target, {"decision": "approve", "notes": notes}, reviewer)


@app.command()
def reject(
    target: Target,
    reason: Annotated[str, typer.Option(help="Why (required).")],
    notes: Annotated[str | None, typer.Option(help="Notes for the record.")] = None,
    reviewer: Reviewer = None,
) -> None:
    """Reject a video waiting for review."""
    _decide(target, {"decision": "reject", "reason": reason, "notes": notes}, reviewer)


@app.command("request-changes")
def request_changes(
    target: Target,
    change: Annotated[
        list[str],
        typer.Option(help='SCENE.FIELD=TEXT, e.g. storm.narration="The rain stops." (repeat)'),
    ],
    notes: Annotated[str | None, typer.Option(help="Notes for the record.")] = None,
    reviewer: Reviewer = None,
) -> None:
    """Send a video back with new text for some scenes; only those are made again."""
    changes: dict[str, dict[str, str]] = {}
    for item in change:
        where, eq, text = item.partition("=")
        scene, dot, field = where.partition(".")
        if not (eq and dot and scene and field):
            fail(f"--change {item!r}: write SCENE.FIELD=TEXT")
        changes.setdefault(scene, {"scene": scene})[field] = text
    decision = {"decision": "request_changes", "changes": list(changes.values()), "notes": notes}
    _decide(target, decision, reviewer)


def _decide(target: str, fields: dict[str, Any], reviewer: str | None) -> None:
    from pydantic import ValidationError

    from flows.review import ReviewDecision

    _api_required()
    try:
        decision = ReviewDecision.model_validate({**fields, "reviewer": reviewer or _user()})
    except ValidationError as exc:
        fail(exc.errors()[0]["msg"].removeprefix("Value error, "))
    flow_run_id = run(_resume(target, decision))
    typer.echo(f"{decision.decision}: flow run {flow_run_id} resumes")


async def _resume(target: str, decision: Any) -> str:
    from flows.review import submit_decision

    if target.isdigit():
        async with session_scope() as session:
            video = await videos.get_video(session=session, video_id=int(target))
        if video.status != "awaiting_review" or not video.flow_run_id:
            raise ReviewError(
                f"video {video.id} is not waiting for a review (it is {video.status})"
            )
        target = video.flow_run_id
    try:
        UUID(target)
    except ValueError:
        raise ReviewError(f"{target!r} is neither a video id nor a flow run id") from None
    await submit_decision(target, decision)
    return target


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
