"""YouTube's quota: what each call costs, and when a day's quota comes back.

From the YouTube Data API's quota page and revision history (2026-06-01): ``videos.insert``
has its own bucket of 100 calls a day (1 per call); every other call shares 10,000 units a
day (``captions.insert`` 400, ``thumbnails.set`` about 50, ``playlistItems.insert`` 50).
Both reset at midnight Pacific Time. ``403 quotaExceeded`` means the shared units ran out,
``400 uploadLimitExceeded`` that the channel's own upload cap did; either way the video
waits (``publish_waiting``) until the next Pacific midnight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "DAILY_UNITS",
    "DAILY_UPLOADS",
    "PACIFIC",
    "QUOTA_ERRORS",
    "UNITS",
    "PublishCost",
    "next_reset",
    "publish_cost",
]

PACIFIC = ZoneInfo("America/Los_Angeles")
DAILY_UPLOADS = 100  # videos.insert calls a day, their own bucket (since 2026-06-01)
DAILY_UNITS = 10_000  # everything else shares these
UNITS = {
    "videos.insert": 1,  # from the upload bucket, not the shared units
    "thumbnails.set": 50,
    "captions.insert": 400,
    "playlistItems.insert": 50,
}
# the script's error types that mean "come back when the quota is back"
QUOTA_ERRORS = frozenset({"quota_exceeded", "upload_limit_exceeded"})


def next_reset(now: datetime | None = None) -> datetime:
    """The next midnight in Pacific Time (PST or PDT), in UTC."""
    now = (now or datetime.now(UTC)).astimezone(PACIFIC)
    tomorrow = (now + timedelta(days=1)).date()
    midnight = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=PACIFIC)
    return midnight.astimezone(UTC)


@dataclass(frozen=True)
class PublishCost:
    """What publishing one video costs in quota."""

    uploads: int  # from the 100-a-day upload bucket
    units: int  # from the shared 10,000 units

    def describe(self) -> str:
        return (
            f"{self.uploads} of {DAILY_UPLOADS} uploads a day and {self.units} of "
            f"{DAILY_UNITS:,} units a day (reset at midnight Pacific)"
        )


def publish_cost(*, thumbnail: bool, captions: bool, playlist: bool) -> PublishCost:
    """The quota one video's publish spends: the upload, then the calls after it."""
    units = (
        (UNITS["thumbnails.set"] if thumbnail else 0)
        + (UNITS["captions.insert"] if captions else 0)
        + (UNITS["playlistItems.insert"] if playlist else 0)
    )
    return PublishCost(uploads=UNITS["videos.insert"], units=units)
