"""A YouTube channel's configuration: where its videos go, which providers make them, what
they may cost, and which board mirrors them. Credentials live in their own blocks."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field


class Channel(Block):
    """A channel: its output folder, providers, credentials, board, limits and budget.

    Two channels share nothing: each has its own output folder, credential blocks and board.
    """

    _block_type_name = "Reelflow Channel"
    _block_type_slug = "reelflow-channel"
    _description = "A Reelflow channel: outputs, providers, credentials, Notion board, budget."

    output_root: str | None = Field(
        default=None,
        description="Videos go to <output_root>/<channel>/<project>/; default REELFLOW_OUTPUT_DIR.",
    )
    providers: dict[str, str] = Field(
        default_factory=dict,
        description='Provider per step, e.g. {"assets": "gemini", "video": "kling"}; '
        'steps not named use "local".',
    )
    models: dict[str, str] = Field(
        default_factory=dict, description="Model per step, where the provider has several."
    )
    base_urls: dict[str, str] = Field(
        default_factory=dict,
        description='Base URL per provider (proxies, regions, tests), e.g. {"kling": "https://…"}.',
    )
    gemini_credentials: str | None = Field(
        default=None, description="Name of a GeminiCredentials block."
    )
    kling_credentials: str | None = Field(
        default=None, description="Name of a KlingCredentials block."
    )
    elevenlabs_credentials: str | None = Field(
        default=None, description="Name of an ElevenLabsCredentials block."
    )
    notion_board: str | None = Field(default=None, description="Name of a NotionBoard block.")
    publisher: str | None = Field(
        default=None,
        description='Where approved videos go: "youtube" or "folder" (the channel\'s '
        "published/ folder); default youtube with credentials, else folder.",
    )
    youtube_credentials: str | None = Field(
        default=None, description="Name of a YouTubeCredentials block."
    )
    privacy_status: str = Field(
        default="private",
        description="YouTube privacy of uploads whose plan does not say: public, unlisted or "
        "private.",
    )
    contains_synthetic_media: bool = Field(
        default=True,
        description="Declare uploads as altered or synthetic media (generated narration and "
        "pictures) unless the plan says otherwise.",
    )
    max_concurrent_videos: int = Field(
        default=1, ge=1, description="Videos of this channel produced at once."
    )
    step_concurrency: dict[str, int] = Field(
        default_factory=dict, description="Items of a step run at once, per step."
    )
    budget_usd: float | None = Field(
        default=None, ge=0, description="Spending cap per video, overridable per run."
    )
    loudness_lufs: float | None = Field(
        default=None, ge=-30, le=-5,
        description="Integrated loudness of this channel's videos (LUFS) when a plan names "
        "none; default -14, the level YouTube plays at.",
    )  # fmt: skip
    step_retries: dict[str, int] = Field(
        default_factory=dict,
        description="Immediate retries of a transiently failing item, per step "
        '(e.g. {"video": 5}); default 3 for paid steps.',
    )
    retry_later: bool = Field(
        default=True,
        description="A transient failure that outlives its retries is tried again later "
        "(retry_scheduled) instead of ending the video.",
    )
    retry_base_minutes: float | None = Field(
        default=None, gt=0,
        description="First later retry after this long, doubling each time; "
        "default REELFLOW_RETRY_LATER_BASE_SECONDS (5 minutes).",
    )  # fmt: skip
    retry_max_age_hours: float | None = Field(
        default=None, gt=0,
        description="Give up once failures have lasted this long; default 24 hours.",
    )  # fmt: skip
    max_recoveries: int | None = Field(
        default=None, ge=0,
        description="A crashed run's video is started again at most this often; default 3.",
    )  # fmt: skip
