"""A Notion board that mirrors a channel's videos (and queues new ones)."""

from __future__ import annotations

from typing import Literal

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from flows.core.notion import DEFAULT_STATUS_OPTIONS


class NotionBoard(Block):
    """A Notion database used as a board: its token, where it is, and its property names.

    Each video gets a card (a page of the database's data source) showing its status, error,
    cost, duration and output; cards set to the "queued" option start videos (intake).
    ``reelflow notion check`` says whether the database has every property named here.
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
        default="status", description="Whether that property is a status or a select."
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
        default="rich_text", description="Whether the output property is text or a URL."
    )
