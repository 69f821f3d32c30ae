"""Nudging reviewers: the gate's events, and the automations that turn them into messages.

- ``reelflow-review-waiting`` (``reelflow setup --notify BLOCK``): when a video reaches its
  review gate (our ``reelflow.video.awaiting-review`` event, emitted by the gate of local
  and deployed runs alike), a message through any Prefect notification block (Slack,
  Teams, email, a custom webhook) naming the video, with links to its review page and MP4.
- ``reelflow-review-reminder``: the same block again when the review is still waiting
  after ``remind_after`` (no ``reelflow.video.reviewed`` event for that video meanwhile).
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from prefect.automations import Automation, EventTrigger, SendNotification
from prefect.events.schemas.automations import Posture

__all__ = [
    "AWAITING_REVIEW_EVENT",
    "REMINDER_AUTOMATION",
    "REVIEWED_EVENT",
    "REVIEW_AUTOMATION",
    "reminder_automation",
    "review_automation",
]

REVIEW_AUTOMATION = "reelflow-review-waiting"
REMINDER_AUTOMATION = "reelflow-review-reminder"
AWAITING_REVIEW_EVENT = "reelflow.video.awaiting-review"
REVIEWED_EVENT = "reelflow.video.reviewed"

# The message: the triggering event's resource is the video, its payload the links.
_SUBJECT = "Review needed: {{ event.resource.name }}"
_BODY = (
    'Video {{ event.payload.video_id }} "{{ event.resource.name }}" '
    "({{ event.payload.channel }}, ${{ event.payload.cost_usd }}) waits for review, round "
    "{{ event.payload.round }}.\n"
    "Decide: {{ event.payload.review_url }}\n"
    "Watch: {{ event.payload.video_url }}"
)


def review_automation(block_document_id: UUID) -> Automation:
    """One message per video reaching its review gate (each round), through the block."""
    return Automation(
        name=REVIEW_AUTOMATION,
        description="Tells reviewers a Reelflow video waits for them (reelflow setup --notify).",
        trigger=EventTrigger(
            expect={AWAITING_REVIEW_EVENT},
            match={"prefect.resource.id": "reelflow.video.*"},
            for_each={"prefect.resource.id"},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[
            SendNotification(block_document_id=block_document_id, subject=_SUBJECT, body=_BODY)
        ],
    )


def reminder_automation(block_document_id: UUID, remind_after: timedelta) -> Automation:
    """A reminder when a video's review is still waiting ``remind_after`` later."""
    hours = remind_after.total_seconds() / 3600
    return Automation(
        name=REMINDER_AUTOMATION,
        description=f"Reminds reviewers of a Reelflow video waiting {hours:g} h for review.",
        trigger=EventTrigger(
            after={AWAITING_REVIEW_EVENT},
            expect={REVIEWED_EVENT},
            match={"prefect.resource.id": "reelflow.video.*"},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=remind_after,
        ),
        actions=[
            SendNotification(
                block_document_id=block_document_id,
                subject="Still waiting: {{ event.resource.name }}",
                body=f"Still waiting for review after {hours:g} h.\n" + _BODY,
            )
        ],
    )
