"""The review prompt of ``reelflow run``: asks in the terminal while watching the gate.

Every answer is checked where it is typed, and a bad one is asked again, naming what is
allowed: the answer (approve, reject, changes), a scene id of the plan, a field that can
change, text that is not blank and makes a valid plan. While it waits for a line the
prompt watches the video's run: when someone answers the gate elsewhere (``reelflow review
approve N``, the Prefect UI), the prompt ends with ``answered elsewhere: approved by …``.

Lines are read by a daemon thread, one per request, so a prompt answered elsewhere leaves
no thread the command waits for at exit; a line asked for and not used goes to the next
prompt.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from queue import SimpleQueue
from typing import IO, Any
from uuid import UUID

import typer
from prefect.exceptions import NotPausedError

from flows.core import videos
from flows.core.errors import ManifestError, ReviewError
from flows.core.manifest import CHANGEABLE_FIELDS, apply_changes, parse_manifest
from flows.core.models import Video
from flows.core.store import session_scope
from flows.review import ReviewDecision, SceneChange, submit_decision

__all__ = ["Lines", "ask_review", "review_here"]

ANSWERS = ("approve", "reject", "changes")
OUTCOME_WAIT_S = 10.0


class Lines:
    """Lines of ``stream`` (stdin), awaited one at a time; None at end of input."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdin
        self._requests: SimpleQueue[tuple[asyncio.AbstractEventLoop, asyncio.Future[str]]]
        self._requests = SimpleQueue()
        self._pending: asyncio.Future[str] | None = None
        self._thread: threading.Thread | None = None

    async def read(self) -> str | None:
        if self._pending is None:
            self._pending = asyncio.get_running_loop().create_future()
            self._requests.put((asyncio.get_running_loop(), self._pending))
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="stdin", daemon=True)
                self._thread.start()
        line = await asyncio.shield(self._pending)
        self._pending = None
        return line.rstrip("\r\n") if line else None

    def _serve(self) -> None:
        while True:
            loop, future = self._requests.get()
            try:
                line = self.stream.readline()
            except (OSError, ValueError):  # the terminal went away (EIO), or stdin is closed
                line = ""
            try:
                loop.call_soon_threadsafe(_settle, future, line)
            except RuntimeError:  # that loop is closed: nobody waits any more
                return


def _settle(future: asyncio.Future[str], line: str) -> None:
    if not future.done():
        future.set_result(line)


async def review_here(video: Video, reviewer: str | None, lines: Lines) -> None:
    """Ask for the decision on ``video`` (paused at its gate) and resume its run with it,
    or end the prompt when the gate is answered elsewhere first."""
    since = await _last_event(video.id)
    asking = asyncio.create_task(ask_review(video, reviewer, lines))
    elsewhere = asyncio.create_task(_gate_answered(video))
    try:
        await asyncio.wait({asking, elsewhere}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (asking, elsewhere):
            task.cancel()
        await asyncio.gather(asking, elsewhere, return_exceptions=True)
    if elsewhere.cancelled():  # the answer came first
        decision = asking.result()
        try:
            await submit_decision(str(video.flow_run_id), decision)
            return
        except (ReviewError, NotPausedError):  # answered elsewhere meanwhile
            pass
    else:
        elsewhere.result()  # its error, if watching failed
    typer.echo(f"\nanswered elsewhere: {await _outcome(video.id, since)}")


async def ask_review(video: Video, reviewer: str | None, lines: Lines) -> ReviewDecision:
    """The decision, asked in the terminal, each answer asked again until it is valid."""
    typer.echo(f"\nReview video {video.id}: {video.output_path}")
    while True:
        answer = (await _ask(lines, "approve, reject or changes?", "approve")).lower()
        chosen = [a for a in ANSWERS if a.startswith(answer)] if answer else []
        if len(chosen) == 1:
            break
        typer.echo(f"please answer approve, reject or changes (not {answer!r})")
    if chosen[0] == "reject":
        reason = await _ask_text(lines, "reason", "a rejection needs a reason")
        return ReviewDecision(decision="reject", reason=reason, reviewer=reviewer or "")
    if chosen[0] == "changes":
        change = await _ask_change(video, lines)
        return ReviewDecision(decision="request_changes", changes=[change], reviewer=reviewer or "")
    notes = await _ask(lines, "notes (optional)", "")
    return ReviewDecision(decision="approve", notes=notes, reviewer=reviewer or "")


async def _ask_change(video: Video, lines: Lines) -> SceneChange:
    plan = parse_manifest(video.manifest, source=f"video {video.id}")
    scenes = [scene.id for scene in plan.scenes]
    scene = await _ask_choice(lines, "scene id", scenes, "no scene {!r}; the plan's scenes: ")
    field = await _ask_choice(
        lines, f"field ({', '.join(CHANGEABLE_FIELDS)})", list(CHANGEABLE_FIELDS),
        "unknown field {!r}; one of: ",
    )  # fmt: skip
    while True:
        text = await _ask_text(lines, "new text", "the new text must not be blank")
        change = SceneChange.model_validate({"scene": scene, field: text})
        try:
            apply_changes(plan, [change.as_change()])
            return change
        except ManifestError as exc:
            typer.echo(f"{exc}; type it again")


async def _ask_choice(lines: Lines, prompt: str, allowed: list[str], refusal: str) -> str:
    while True:
        value = await _ask(lines, prompt)
        if value in allowed:
            return value
        typer.echo(refusal.format(value) + ", ".join(allowed))


async def _ask_text(lines: Lines, prompt: str, refusal: str) -> str:
    while True:
        value = await _ask(lines, prompt)
        if value:
            return value
        typer.echo(refusal)


async def _ask(lines: Lines, prompt: str, default: str | None = None) -> str:
    shown = f" [{default}]" if default else ""
    typer.echo(f"{prompt}{shown}: ", nl=False)
    line = await lines.read()
    if line is None:
        raise ReviewError("the input ended before the review was answered")
    return line.strip() or (default or "")


async def _gate_answered(video: Video, *, poll: float = 0.5) -> None:
    """Returns once the video's run is no longer paused at its gate."""
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        while True:
            run = await client.read_flow_run(UUID(str(video.flow_run_id)))
            if run.state is None or not run.state.is_paused():
                return
            await asyncio.sleep(poll)


async def _last_event(video_id: int) -> int:
    async with session_scope() as session:
        events = await videos.list_events(session=session, video_id=video_id)
    return events[-1].seq if events else 0


async def _outcome(video_id: int, since: int) -> str:
    """How the gate was answered, from what the run records after ``since``."""
    deadline = asyncio.get_running_loop().time() + OUTCOME_WAIT_S
    while True:
        async with session_scope() as session:
            events = await videos.list_events(session=session, video_id=video_id)
        for event in (e for e in events if e.seq > since):
            told = _told(event.kind, event.status, event.actor or "someone", event.detail)
            if told:
                return told
        if asyncio.get_running_loop().time() > deadline:
            return "the run is no longer waiting for this review"
        await asyncio.sleep(0.3)


def _told(kind: str, status: str | None, actor: str, detail: dict[str, Any]) -> str | None:
    if kind == "changes_requested":
        scenes = ", ".join(str(c.get("scene")) for c in detail.get("changes", []))
        return f"changes requested by {actor} (scenes: {scenes})"
    if kind != "status":
        return None
    if status == "approved":
        return f"approved by {actor}"
    if status == "rejected":
        return f"rejected by {actor}: {detail.get('reason') or ''}".rstrip(": ")
    if status in ("review_expired", "crashed", "cancelled"):
        return f"the video is {status}"
    return None
