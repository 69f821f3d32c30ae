"""A queued Notion card without a plan: planned from its page body (an outline) or its
title (a topic), and the plan written back to the card before the video starts.

The page body is read as markdown (heading blocks as ``#``/``##``, quotes as ``>`` hints,
paragraphs and list items as narration). A body with at least one second-level heading is an
outline, planned offline with the card's title standing in for a missing ``#`` line. A card
with an empty body and a title is a topic for Gemini, a one-minute video, when the channel
has Gemini credentials (its block, or the worker's environment) and only on a board whose
"Queued" is Reelflow's own option (``topics``), so a person's card in a shared "Not started"
is never sent to a model; otherwise the card has no plan, as before.

The plan goes back to the card as a YAML code block (after a line saying where it came
from), split into the 2,000-character pieces a Notion rich text holds; the intake reads that
block like any hand-written plan, so a card re-queued later keeps the plan it showed.
"""

from __future__ import annotations

from typing import Any

from flows.core.errors import ConfigError, ManifestError, ScriptError
from flows.core.manifest import Manifest
from flows.core.outline import OutlineOptions, outline_to_plan
from flows.core.plan_yaml import commented_yaml
from flows.core.settings import get_settings
from flows.notion.client import NotionCaller
from flows.planning.topic import TopicRequest

__all__ = ["CHUNK", "body_markdown", "plan_blocks", "plan_card"]

CHUNK = 2000  # characters of one rich text object's content (Notion's request limits)
MAX_RICH = 100  # rich text objects in one block (same page)
DEFAULT_MINUTES = 1.0
PREFIX = {"heading_1": "# ", "heading_2": "## ", "heading_3": "## ", "quote": "> ",
          "bulleted_list_item": "- ", "numbered_list_item": "- ", "paragraph": ""}  # fmt: skip


def body_markdown(blocks: list[dict[str, Any]]) -> str:
    """The page body as markdown (blocks of other kinds are left out)."""
    lines = []
    for block in blocks:
        kind = block.get("type")
        if kind not in PREFIX:
            continue
        data = block.get(kind) or {}
        text = "".join(
            part.get("plain_text") or (part.get("text") or {}).get("content", "")
            for part in data.get("rich_text", [])
        )
        lines += [PREFIX[str(kind)] + text.strip(), ""]
    return "\n".join(lines).strip()


async def plan_card(
    call: NotionCaller, card_id: str, title: str, blocks: list[dict[str, Any]], channel: str,
    *, topics: bool,
) -> Manifest | None:  # fmt: skip
    """The card's plan from its outline or its title, written back to it; None when the
    card has neither (or only a title on a board whose Queued is shared)."""
    body = body_markdown(blocks)
    source = f"card {title or card_id!r}"
    if any(line.startswith("## ") for line in body.splitlines()):
        options = OutlineOptions(title=title or None, channel=channel)
        plan, origin = outline_to_plan(body, options, source=source), "from the card's outline"
    elif not body and title and topics and await _reaches_gemini(channel):
        plan, origin = await _from_title(title, channel, source), "by Gemini from the card's title"
    else:
        return None
    text = commented_yaml(plan, origin=f"made {origin}")
    await call(lambda c: c.blocks.children.append(card_id, children=plan_blocks(text, origin)))
    return plan


async def _reaches_gemini(channel: str) -> bool:
    """Whether the channel has Gemini credentials (its block, or this worker's environment)."""
    from flows.channels import provider_environment

    try:
        await provider_environment(channel, "gemini")
    except ConfigError:
        return False
    return True


async def _from_title(title: str, channel: str, source: str) -> Manifest:
    from flows.planning.plan_and_produce import plan_topic

    settings = get_settings()
    request = TopicRequest(topic=title, minutes=DEFAULT_MINUTES, channel=channel,
                           model=settings.plan_model, tries=settings.plan_tries)  # fmt: skip
    try:
        plan, _ = await plan_topic(request, channel)
    except (ConfigError, ScriptError) as exc:  # shown on the card; a person re-queues it
        raise ManifestError(f"{source}: its title could not be planned: {exc}") from exc
    return plan


def plan_blocks(text: str, origin: str) -> list[dict[str, Any]]:
    """A paragraph saying where the plan came from, and the plan as a YAML code block."""
    pieces = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]
    if len(pieces) > MAX_RICH:
        raise ManifestError(f"the plan is longer than a Notion code block holds "
                            f"({MAX_RICH * CHUNK} characters)")  # fmt: skip
    rich = [{"type": "text", "text": {"content": piece}} for piece in pieces]
    note = f"The plan, made by Reelflow {origin}: the video is made from it."
    return [
        {"object": "block", "type": "paragraph",
         "paragraph": {"rich_text": [{"type": "text", "text": {"content": note}}]}},
        {"object": "block", "type": "code", "code": {"language": "yaml", "rich_text": rich}},
    ]  # fmt: skip
