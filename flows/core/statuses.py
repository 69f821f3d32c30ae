"""The one state machine of a video's status: every status, and which moves are allowed.

    queued ─► processing ─► generating_assets ─► … ─► assembling ─► awaiting_review
      │                          │ (any working status)                 │
      │                          ├─► <step>_error | budget_exceeded      ├─► approved
      │                          ├─► retry_scheduled (transient; later)  ├─► rejected
      │                          └─► crashed | cancelled                 ├─► review_expired
      └─► budget_exceeded, <step>_error (before a step starts)           └─► generating_* (changes)

    approved ─► publishing ─► published
                    │  ▲  └─► publish_error   (permanent: a refused title, a revoked token)
                    │  └───── publish_waiting (quota until midnight Pacific; a dead run)
                    └──────►  publish_waiting, publish_error ─► publishing (tried again)

A video that stopped (an error, a crash, a cancellation, a retry scheduled, a budget) may
start again at any working status, or go back to ``queued`` (re-queued from the board).
The final statuses (``published``, ``rejected``, ``review_expired``) are final.
``set_status`` refuses everything else with StatusError.

``DONE`` is what a person decided and nobody needs to make any more: the final statuses,
``approved`` and every publishing status. Such a video frees its plan for a new video, is
never produced again, and prune treats its runs as settled. A run may still hold a
``publishing`` video (it is ``LIVE``); one that dies there is ``publish_waiting``, not
``crashed`` (``after_crash``): the upload resumes, the video is never made again.
"""

from __future__ import annotations

from flows.core.errors import StatusError

__all__ = [
    "DONE",
    "ERRORS",
    "FINAL",
    "INTERRUPTED",
    "LIVE",
    "PUBLISHING",
    "STATUSES",
    "WORKING",
    "after_crash",
    "check_transition",
    "is_allowed",
]

START = frozenset({"queued", "processing"})
WORKING = frozenset(
    {
        "generating_assets",
        "generating_composites",
        "generating_video",
        "generating_audio",
        "generating_sfx",
        "assembling",
    }
)
REVIEW = frozenset({"awaiting_review"})
ERRORS = frozenset(
    {
        "asset_error",
        "composite_error",
        "video_error",
        "audio_error",
        "sfx_error",
        "assembly_error",
        "budget_exceeded",
    }
)
INTERRUPTED = frozenset({"crashed", "cancelled", "retry_scheduled"})
FINAL = frozenset({"published", "rejected", "review_expired"})
PUBLISHING = frozenset({"publishing", "publish_waiting", "publish_error"})
DONE = FINAL | PUBLISHING | frozenset({"approved"})
STATUSES = START | WORKING | REVIEW | ERRORS | INTERRUPTED | DONE
# A run may be working on a video in these: what a crash leaves behind.
LIVE = START | WORKING | REVIEW | frozenset({"publishing"})
STOPPED = ERRORS | INTERRUPTED

_ALLOWED: dict[str, frozenset[str]] = {
    # a step may fail before it starts (no price for its model, the budget): START → ERRORS
    "queued": frozenset({"processing", "crashed", "cancelled"}) | WORKING | ERRORS,
    "processing": frozenset({"queued", "crashed", "cancelled"}) | WORKING | ERRORS,
    **{
        status: WORKING
        | ERRORS
        | frozenset({"retry_scheduled", "crashed", "cancelled"})
        | (REVIEW if status == "assembling" else frozenset())
        for status in WORKING
    },
    "awaiting_review": frozenset({"approved", "rejected", "review_expired", "crashed", "cancelled"})
    | WORKING,
    **{status: WORKING | START | ERRORS | INTERRUPTED for status in STOPPED},
    "approved": frozenset({"publishing"}),
    "publishing": frozenset({"published", "publish_error", "publish_waiting"}),
    "publish_waiting": frozenset({"publishing"}),
    "publish_error": frozenset({"publishing"}),
    **{status: frozenset() for status in FINAL},
}


def after_crash(status: str, default: str) -> str:
    """The status a video in ``status`` gets when its run dies or stops (``default``,
    ``crashed`` or ``cancelled``, for a video being made): a video being published waits to
    be published again (its upload resumes), and is never made again."""
    return "publish_waiting" if status == "publishing" else default


def is_allowed(old: str, new: str) -> bool:
    """Whether a video may go from ``old`` to ``new`` (staying put is always allowed)."""
    if new not in STATUSES:
        return False
    return old == new or new in _ALLOWED.get(old, frozenset())


def check_transition(old: str, new: str, *, video_id: int | None = None) -> None:
    """Raise StatusError unless ``old`` → ``new`` is an allowed move."""
    if is_allowed(old, new):
        return
    which = f"video {video_id}: " if video_id is not None else ""
    if new not in STATUSES:
        raise StatusError(f"{which}unknown status {new!r}", old=old, new=new)
    raise StatusError(f"{which}{old} → {new} is not allowed", old=old, new=new)
