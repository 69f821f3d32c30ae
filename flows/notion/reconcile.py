"""notion_reconcile: push the current state of every video whose card is behind its status.

What a run could not land (a board that was down, rate limited, not shared, renamed or
deleted and restored) is written here: videos with a recorded Notion error are tried again
too. Deployed hourly as ``notion-reconcile``; ``reelflow notion reconcile`` by hand.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from prefect import flow, get_run_logger

from flows.core.store import session_scope
from flows.notion import records
from flows.notion.boards import channel_boards, forget_boards
from flows.notion.push import push_card

__all__ = ["notion_reconcile"]


@flow(name="notion-reconcile")
async def notion_reconcile(channel: str | None = None, limit: int = 1000) -> dict[str, int]:
    """Push the current state of every video whose card is behind its status.

    Catches what a run could not land (a board that was down, rate limited or refusing
    writes): videos with a recorded Notion error are tried again too.

    Args:
        channel: Only this channel's videos; default every channel with a board.
        limit: At most this many videos per run, oldest first.
    """
    forget_boards()  # a board fixed since (check --fix, a property renamed back) is read anew
    boards = await channel_boards(channel)
    async with session_scope() as session:
        behind = await records.list_notion_behind(
            session=session, channels=sorted(boards), limit=limit
        )
    outcomes: Counter[str] = Counter()
    for video, channel_name in behind:  # one caller: the rate limit paces it
        outcomes[await push_card(video.id, boards[channel_name], retry_errors=True)] += 1
    get_run_logger().info("reconciled %d video(s): %s", len(behind), dict(outcomes))
    return dict(outcomes)


if __name__ == "__main__":
    asyncio.run(notion_reconcile())
