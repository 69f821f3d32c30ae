"""A progress bar per step, fed from the database (so it works for any run of the video)."""

from __future__ import annotations

import asyncio
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from flows.core import videos
from flows.core.steps import STEPS
from flows.core.store import session_scope


class StepBars:
    """Bars on a terminal; one line per finished step otherwise."""

    def __init__(self, video_id: int, *, poll: float = 0.5) -> None:
        self.video_id = video_id
        self.poll = poll
        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description:12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[state]}"),
            console=self.console,
        )
        self.tasks: dict[str, TaskID] = {}
        self.reported: dict[str, str] = {}
        self.live = self.console.is_terminal

    async def follow(self) -> None:
        if self.live:
            self.progress.start()
        while True:
            async with session_scope() as session:
                video = await videos.get_video(session=session, video_id=self.video_id)
                completion: dict[str, Any] = dict(video.step_completion)
            for step in STEPS:
                if step in completion:
                    self._show(step, completion[step])
            await asyncio.sleep(self.poll)

    def _show(self, step: str, info: dict[str, Any]) -> None:
        done, total, state = int(info["done"]), int(info["total"]), str(info["status"])
        if self.live:
            if step not in self.tasks:
                self.tasks[step] = self.progress.add_task(step, total=total or 1, state=state)
            self.progress.update(
                self.tasks[step], completed=done if total else 1, total=total or 1, state=state
            )
        elif state != "running" and self.reported.get(step) != state:
            self.console.print(f"{step:12} {done}/{total} {state}")
        self.reported[step] = state

    def close(self) -> None:
        if self.live:
            self.progress.stop()
            self.live = False
