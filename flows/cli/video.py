"""``reelflow run``, ``demo``, ``status`` and ``videos``: producing videos and watching them."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.cli.common import fail, print_json, run
from flows.cli.progress import StepBars
from flows.core import runs, step_runs, videos
from flows.core.errors import VideoBusy
from flows.core.manifest import Manifest, load_manifest
from flows.core.media import loudness_lines
from flows.core.names import check_channel_name
from flows.core.reviews import last_decision
from flows.core.settings import PROJECT_ROOT, get_settings
from flows.core.statuses import DONE, STATUSES
from flows.core.steps import STEPS
from flows.core.store import session_scope

app = typer.Typer(no_args_is_help=True, help="Videos in the database.")

DEMO = PROJECT_ROOT / "examples" / "documentary.yaml"
PROMPT_SETTLE_S = 15.0  # a prompt the run outran finds out how its gate was answered

Approve = Annotated[bool, typer.Option("--approve", help="Approve at the review gate.")]
Reject = Annotated[
    str | None, typer.Option("--reject", metavar="REASON", help="Reject at the review gate.")
]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's log lines.")]


def run_command(
    manifest: Annotated[Path, typer.Argument(help="The plan, YAML or JSON.", exists=True)],
    channel: Annotated[str | None, typer.Option(help="Channel; default the plan's.")] = None,
    budget: Annotated[
        float | None, typer.Option(min=0, help="This video's budget in USD; default the channel's.")
    ] = None,
    approve: Approve = False,
    reject: Reject = None,
    reviewer: Annotated[str | None, typer.Option(help="Your name, for the record.")] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="If another run is producing it, wait for that run.")
    ] = False,
    allow_partial: Annotated[
        bool,
        typer.Option(
            "--allow-partial",
            help="Start even if the estimate is over the budget; stop at the step that passes it.",
        ),
    ] = False,
    verbose: Verbose = False,
) -> None:
    """Produce a video from a plan, then review it (a re-run resumes where it stopped)."""
    _produce(
        manifest, channel, approve, reject, reviewer, verbose, budget,
        Options(wait=wait, allow_partial=allow_partial),
    )  # fmt: skip


def demo_command(
    approve: Approve = False,
    reject: Reject = None,
    verbose: Verbose = False,
) -> None:
    """Produce the documentary demo (13 scenes, 72 s, 1280x720) on local providers."""
    _produce(DEMO, None, approve, reject, "demo", verbose)


@dataclass(frozen=True)
class Options:
    """How ``run`` treats a video another run holds, and a budget below the estimate."""

    wait: bool = False
    allow_partial: bool = False
    poll_seconds: float = 0.5  # a DB read; waiting is cheap


def _produce(
    path: Path,
    channel: str | None,
    approve: bool,
    reject: str | None,
    reviewer: str | None,
    verbose: bool,
    budget: float | None = None,
    options: Options | None = None,
) -> None:
    if approve and reject is not None:
        fail("choose --approve or --reject REASON, not both")
    if not approve and reject is None and not sys.stdin.isatty():
        fail(
            "the review gate needs an answer and there is no terminal to ask: "
            "pass --approve or --reject REASON"
        )
    plan = run(_load(path))
    preset = preset_decision(approve, reject, reviewer)
    result = run(_watch(plan, path, channel, preset, reviewer, verbose, budget, options))
    decision = result.get("decision") or {}
    typer.echo(f"\nvideo {result['video_id']}: {result['output']}")
    typer.echo(f"subtitles: {result['subtitles']}")
    typer.echo(f"cost: ${result['cost_usd']:.2f}; review: {decision.get('decision', 'expired')}")
    if result.get("publish"):  # after an approval (flows/publish)
        from flows.cli.publish import describe

        typer.echo(describe(result["publish"]))


def preset_decision(approve: bool, reject: str | None, reviewer: str | None) -> Any:
    """The decision given on the command line (``--approve`` / ``--reject``), or None."""
    from flows.review import ReviewDecision

    if not approve and reject is None:
        return None
    return ReviewDecision(
        decision="approve" if approve else "reject", reason=reject or "", reviewer=reviewer or ""
    )


async def _load(path: Path) -> Manifest:
    return load_manifest(path)


async def _watch(
    plan: Manifest,
    path: Path,
    channel: str | None,
    preset: Any,
    reviewer: str | None,
    verbose: bool,
    budget: float | None,
    options: Options | None = None,
) -> dict[str, Any]:
    from flows.runs import holding_video

    options = options or Options()
    name = check_channel_name(channel or plan.channel or "default")
    settings = get_settings()
    busy: VideoBusy | None = None
    try:  # opened and held by this process in one transaction: if it dies, recover reaps it
        async with session_scope() as session:
            video = await videos.open_video(
                session=session, channel=name, manifest=plan, source=str(path),
                target_s=settings.target_seconds,
            )  # fmt: skip
            video_id = video.id
            await runs.claim_run(
                session=session, video_id=video_id, holder=runs.process_holder(),
                lease_s=settings.run_lease_seconds,
            )  # fmt: skip
    except VideoBusy as exc:
        busy, video_id = exc, int(exc.video_id)
    typer.echo(f"video {video_id}: {plan.title} ({len(plan.scenes)} scenes, {plan.duration:g} s)")
    while True:
        if busy is not None:
            if not options.wait:
                raise busy
            ended = await _wait_while_busy(video_id, busy, options)
            if ended is not None:
                return ended
        try:
            async with holding_video(video_id, runs.process_holder()):
                return await follow(
                    video_id, preset, reviewer, verbose, budget=budget,
                    allow_partial=options.allow_partial,
                )  # fmt: skip
        except VideoBusy as exc:
            busy = exc


async def _wait_while_busy(
    video_id: int, busy: VideoBusy, options: Options
) -> dict[str, Any] | None:
    """Wait while another live run holds the video. When that run finished the video
    meanwhile, what it ended with; else None: ours to produce."""
    typer.echo(f"{busy}; waiting for it (Ctrl-C to stop waiting)")
    while True:
        async with session_scope() as session:
            video = await videos.get_video(session=session, video_id=video_id)
        if runs.busy_with(video) is None:
            break
        await asyncio.sleep(options.poll_seconds)
    if video.status not in DONE:
        return None
    typer.echo(f"video {video_id} was {video.status} meanwhile, by run {video.flow_run_id}")
    final = Path(video.output_path or "")
    return {
        "video_id": video.id, "output": str(final), "subtitles": str(final.with_suffix(".srt")),
        "cost_usd": video.cost_usd, "decision": {"decision": video.status},
    }  # fmt: skip


async def follow(
    video_id: int,
    preset: Any,
    reviewer: str | None,
    verbose: bool,
    *,
    budget: float | None = None,
    allow_partial: bool = False,
) -> dict[str, Any]:
    """Produce ``video_id`` here with progress bars, answering its review gate(s) with
    ``preset`` or by asking in the terminal."""
    from flows.pipeline import produce_video
    from flows.review import answer_when_paused

    if not verbose:
        _quiet_prefect_console()
    bars = StepBars(video_id)
    decide = _Decider(preset, reviewer, bars)
    flow = asyncio.create_task(
        produce_video(video_id=video_id, budget_usd=budget, allow_partial=allow_partial)
    )
    reviews = asyncio.create_task(answer_when_paused(video_id, decide))
    watchers = [asyncio.create_task(bars.follow()), reviews]
    try:  # a review that cannot be answered (the input ended) stops the run
        await asyncio.wait({flow, reviews}, return_when=asyncio.FIRST_COMPLETED)
        if not flow.done():
            reviews.result()
        with contextlib.suppress(TimeoutError):  # an open prompt says how it was answered
            await asyncio.wait_for(decide.idle.wait(), timeout=PROMPT_SETTLE_S)
        return await flow
    finally:
        for task in (*watchers, flow):
            task.cancel()
        await asyncio.gather(*watchers, flow, return_exceptions=True)
        bars.close()


class _Decider:
    """Answers the gate with ``preset``, or asks in the terminal (flows/cli/prompt.py);
    ``idle`` is set while no prompt is open."""

    def __init__(self, preset: Any, reviewer: str | None, bars: StepBars) -> None:
        from flows.cli.prompt import Lines

        self.preset, self.reviewer, self.bars = preset, reviewer, bars
        self.lines = Lines()
        self.idle = asyncio.Event()
        self.idle.set()

    async def __call__(self, video: Any) -> Any:
        from flows.cli.prompt import review_here

        if self.preset is not None:
            return self.preset
        self.bars.close()
        self.idle.clear()
        try:
            await review_here(video, self.reviewer, self.lines)
        finally:
            self.idle.set()
        return None


def _quiet_prefect_console() -> None:
    """Prefect's console lines would tear the progress bars, and its tracebacks bury the one
    line that says what failed: warnings and errors only, one line each (flows/cli/logs.py).
    The UI still has every line and every traceback."""
    from flows.cli.logs import quiet_console
    from flows.scripts import script_logger

    quiet_console()
    quiet_console(script_logger())


def status_command(
    video_id: Annotated[int | None, typer.Argument(help="A video; default all recent.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
    data: Annotated[bool, typer.Option("--data", help="Only what the data dir holds.")] = False,
) -> None:
    """A video's status, steps, duration and cost (or every recent video's, then what the
    data directory holds)."""
    from flows.cli.prune import print_usage

    if data:
        if video_id is not None:
            fail("--data shows the data directory, not a video: leave out the video id")
        print_usage(get_settings(), json_output=json_output)
        return
    states = run(_states(video_id))
    if json_output:
        print_json(states if video_id is None else states[0])
        return
    for state in states:
        _print_state(state)
    if video_id is None:
        print_usage(get_settings())


async def _states(video_id: int | None) -> list[dict[str, Any]]:
    async with session_scope() as session:
        if video_id is not None:
            video = await videos.get_video(session=session, video_id=video_id)
            pairs = [(video, await videos.channel_name(session=session, video=video))]
        else:
            pairs = await videos.list_videos(session=session, limit=20)
        return [await _state(session, video, channel) for video, channel in pairs]


async def _state(session: Any, video: Any, channel: str) -> dict[str, Any]:
    runs = await step_runs.list_step_runs(session=session, video_id=video.id)
    latest = {r.step: r for r in runs}
    return {
        "video_id": video.id,
        "channel": channel,
        "project_id": video.project_id,
        "title": video.title,
        "status": video.status,
        "error": video.error,
        "flow_run_id": video.flow_run_id,
        "started_at": video.started_at,
        "completed_at": video.completed_at,
        "duration_s": video.duration_s,
        "over_target": video.over_target,
        "cost_usd": video.cost_usd,
        "output": video.output_path,
        "public_url": video.public_url,  # once published (flows/publish)
        "attempts": video.attempts,
        "next_attempt_at": video.next_attempt_at,
        "held_by": video.run_lease,
        "review_round": video.review_round,
        "decision": last_decision(await videos.list_events(session=session, video_id=video.id)),
        "loudness": dict(video.step_completion).get("loudness") or {},
        "steps": {
            step: {
                "status": latest[step].status,
                "items_done": latest[step].items_done,
                "items_total": latest[step].items_total,
                "items_cached": latest[step].items_cached,
                "duration_s": latest[step].duration_s,
                "cost_usd": latest[step].cost_usd,
            }
            for step in STEPS
            if step in latest
        },
    }


def _print_state(state: dict[str, Any]) -> None:
    typer.echo(
        f"video {state['video_id']} [{state['channel']}/{state['project_id']}] {state['title']}"
    )
    typer.echo(f"  status: {state['status']}" + (f" ({state['error']})" if state["error"] else ""))
    if state["held_by"]:
        typer.echo(f"  being produced by run {state['held_by']}")
    if state["next_attempt_at"]:
        typer.echo(
            f"  next attempt at {state['next_attempt_at']:%Y-%m-%d %H:%M:%S %Z} "
            f"(automatic attempts so far: {state['attempts']})"
        )
    for step, info in state["steps"].items():
        duration = f"{info['duration_s']:.1f} s" if info["duration_s"] is not None else "…"
        typer.echo(
            f"  {step:11} {info['status']:10} {info['items_done']}/{info['items_total']} "
            f"(cached {info['items_cached']})  {duration:>9}  ${info['cost_usd']:.2f}"
        )
    if state["duration_s"] is not None:
        flag = "  OVER TARGET" if state["over_target"] else ""
        typer.echo(f"  total: {state['duration_s']:.1f} s, ${state['cost_usd']:.2f}{flag}")
    if state["output"]:
        typer.echo(f"  output: {state['output']}")
    for line in loudness_lines({"loudness": state.get("loudness")}):
        typer.echo(f"  loudness {line}")
    if state["public_url"]:
        typer.echo(f"  published: {state['public_url']}")
    if state["decision"]:
        typer.echo(f"  review round {state['review_round']}: {state['decision']}")


@app.command("list")
def list_videos(
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
) -> None:
    """Recent videos, newest first."""
    if status is not None and status not in STATUSES:
        fail(f"unknown status {status!r}; one of: {', '.join(sorted(STATUSES))}")

    async def rows() -> list[Any]:
        async with session_scope() as session:
            return await videos.list_videos(
                session=session, channel=channel, status=status, limit=limit
            )

    found = run(rows())
    typer.echo(f"{'ID':>5}  {'CHANNEL':14} {'PROJECT':20} {'STATUS':22} {'COST':>8}  TITLE")
    for video, channel_name in found:
        typer.echo(
            f"{video.id:>5}  {channel_name:14} {video.project_id:20} {video.status:22} "
            f"${video.cost_usd:>7.2f}  {video.title}"
        )
