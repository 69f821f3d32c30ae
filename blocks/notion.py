"""A Notion board that mirrors a channel's videos (and queues new ones)."""

from __future__ import annotations

from typing import Literal

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from flows.notion.schema import DEFAULT_STATUS_OPTIONS


class NotionBoard(Block):
    """A Notion database used as a board: its token, where it is, and its property names.

    Each video gets a card (a page of the database's data source) showing its status, error,
    cost, duration, output and review link; cards set to the "queued" option start videos
    (intake). Only the properties the board has are written; ``reelflow notion check`` says
    which are missing and ``reelflow notion check --fix`` adds them. ``reelflow notion init``
    makes a board with all of them.
    """

    _block_type_name = "Reelflow Notion Board"
    _block_type_slug = "reelflow-notion-board"
    _description = "A Notion database mirroring a channel's videos and queueing new ones."

    token: SecretStr = Field(description="The integration token (secret_… or ntn_…).")
    database_id: str = Field(description="The board's database id.")
    data_source_id: str | None = Field(
        default=None,
        description="The data source inside the database; discovered from the database if empty.",
    )
    base_url: str = Field(
        default="https://api.notion.com", description="Notion's API; change for proxies and tests."
    )
    status_property: str = Field(default="Status", description="The property holding the status.")
    status_property_type: Literal["status", "select"] = Field(
        default="status",
        description="Status or select (a hint only: the board's own schema is read).",
    )
    status_options: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_STATUS_OPTIONS),
        description="Our status → the board's option name.",
    )
    title_property: str = Field(default="Name", description="The title property.")
    video_id_property: str | None = Field(
        default="Video ID",
        description="Number: the video's id (finds a card again instead of making a second).",
    )
    manifest_property: str | None = Field(
        default="Manifest", description="Property holding a plan's path or URL (intake)."
    )
    error_property: str | None = Field(default="Error", description="Rich text for errors.")
    cost_property: str | None = Field(default="Cost", description="Number: cost in USD.")
    duration_property: str | None = Field(default="Duration", description="Number: seconds.")
    output_property: str | None = Field(default="Output", description="URL or text: the MP4.")
    output_property_type: Literal["rich_text", "url"] = Field(
        default="rich_text", description="Text or URL (a hint only: the schema is read)."
    )
    review_property: str | None = Field(
        default="Review", description="URL or text: the run's page in the Prefect UI."
    )
    decision_property: str | None = Field(
        default="Decision",
        description="Text: the review's decision (approved / rejected / changes, by whom, why).",
    )
    channel_property: str | None = Field(
        default="Channel", description="Select or text: the video's channel."
    )
    updated_property: str | None = Field(
        default="Updated", description="Date: when the card was last written."
    )
    plan_roots: list[str] | None = Field(
        default=None,
        description="Folders a card's Manifest path may point into; default "
        "<REELFLOW_DATA_DIR>/plans. Nothing outside them is read.",
    )
    plan_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts a card's Manifest URL may be fetched from (redirects only to the "
        "same host); empty: no URLs.",
    )
    plan_max_bytes: int = Field(
        default=1_000_000, ge=1, description="The largest plan a card may point at."
    )
