"""``reelflow setup --notify``: the server's own automation tells reviewers, through a real
notification block (a custom webhook to a local receiver), once per video at its gate."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import uuid4

import pytest
from prefect.automations import EventTrigger
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.client.orchestration import get_client
from prefect.events.schemas.automations import Posture
from typer.testing import CliRunner

from flows.cli.main import app
from flows.core import videos
from flows.core.settings import Settings
from flows.core.store import session_scope
from flows.pipeline import produce_video
from flows.review import ReviewDecision, answer_when_paused
from flows.review.notify import (
    AWAITING_REVIEW_EVENT,
    REMINDER_AUTOMATION,
    REVIEW_AUTOMATION,
    REVIEWED_EVENT,
    reminder_automation,
)
from tests.conftest import PROJECT_ROOT, Configure
from tests.factories import TINY, open_video

pytestmark = pytest.mark.usefixtures("prefect_api")
runner = CliRunner()


class Receiver(ThreadingHTTPServer):
    messages: list[dict[str, Any]]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.messages.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(("127.0.0.1", 0), _Handler)
    server.messages = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture
def notify_settings(configure: Configure) -> Settings:
    return configure(scripts_dir=PROJECT_ROOT / "scripts", retry_delay_seconds="0.05")


async def _wait_for(messages: list[dict[str, Any]], count: int, timeout: float = 60) -> None:
    for _ in range(int(timeout * 5)):
        if len(messages) >= count:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{len(messages)} message(s), not {count}, after {timeout} s")


async def test_a_video_at_its_gate_sends_one_message_with_its_links(
    receiver: Receiver, notify_settings: Settings
) -> None:
    name = f"reviewers-{uuid4().hex[:8]}"
    await CustomWebhookNotificationBlock(
        name="reviewers",
        url=f"http://127.0.0.1:{receiver.server_port}/hook",
        json_data={"subject": "{{subject}}", "body": "{{body}}"},
    ).asave(name)
    block = f"custom-webhook/{name}"
    made = await asyncio.to_thread(runner.invoke, app, ["setup", "--notify", block])
    assert made.exit_code == 0, made.output
    assert f"created automation {REVIEW_AUTOMATION}" in made.stdout
    again = await asyncio.to_thread(runner.invoke, app, ["setup", "--notify", block])
    assert f"created automation {REMINDER_AUTOMATION}" in made.stdout
    assert f"kept automation {REVIEW_AUTOMATION}" in again.stdout, "idempotent"
    assert f"kept automation {REMINDER_AUTOMATION}" in again.stdout
    try:

        async def decide(video: Any) -> ReviewDecision:
            await _wait_for(receiver.messages, 1)  # the reviewer decides once told
            return ReviewDecision(decision="approve", reviewer="ada")

        video_id = await open_video(TINY, "notify")
        answering = asyncio.create_task(answer_when_paused(video_id, decide, poll=0.2, rounds=1))
        try:
            await produce_video(video_id=video_id, review_timeout_hours=1)
        finally:
            answering.cancel()
        await asyncio.sleep(3)  # a second message (a duplicate) would have arrived by now
    finally:
        async with get_client() as client:
            for name in (REVIEW_AUTOMATION, REMINDER_AUTOMATION):
                for automation in await client.read_automations_by_name(name):
                    assert automation.id is not None
                    await client.delete_automation(automation.id)
    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=video_id)
    (message,) = receiver.messages
    assert message["subject"] == f"Review needed: {video.title}"
    assert (
        f'Video {video_id} "{video.title}" (notify, $0.00) waits for review, round 0'
        in (message["body"])
    )
    ui = os.environ["PREFECT_API_URL"].removesuffix("/api")
    assert f"Decide: {ui}/v2/runs/flow-run/{video.flow_run_id}" in message["body"]
    assert f"Watch: {video.output_path}" in message["body"], "no media URL: the path"


def test_notify_names_a_block_that_is_missing_or_not_a_notifier() -> None:
    missing = runner.invoke(app, ["setup", "--notify", "custom-webhook/nope-nope"])
    assert missing.exit_code == 1
    assert "error: --notify 'custom-webhook/nope-nope': no such block" in missing.stderr
    assert "Traceback" not in missing.output
    assert not asyncio.run(_automations(REMINDER_AUTOMATION)), "nothing made"


async def _automations(name: str) -> list[Any]:
    async with get_client() as client:
        return await client.read_automations_by_name(name)


def test_the_reminder_fires_when_no_decision_follows_within_its_time() -> None:
    """The reminder is Proactive: after the gate's event, no "reviewed" event for that
    video within the time: its definition, as the server stores it."""
    block_id = uuid4()
    automation = reminder_automation(block_id, timedelta(hours=6))
    trigger = automation.trigger
    assert isinstance(trigger, EventTrigger)
    assert trigger.after == {AWAITING_REVIEW_EVENT} and trigger.expect == {REVIEWED_EVENT}
    assert trigger.posture == Posture.Proactive and trigger.within == timedelta(hours=6)
    assert trigger.for_each == {"prefect.resource.id"}, "one reminder per video"
