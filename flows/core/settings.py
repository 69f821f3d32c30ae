"""The one settings object, read from ``REELFLOW_*`` environment variables (and ``.env``).

A value that cannot be used is refused when the settings are read: ``get_settings`` raises
one SettingsError naming each variable, its value (a URL's password masked) and what is
allowed. ``REELFLOW_DATABASE_URL`` takes ``sqlite+aiosqlite://`` and ``postgresql+asyncpg://``
URLs; the bare ``sqlite://``, ``postgresql://`` and ``postgres://`` mean those drivers.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from flows.core.errors import SettingsError

__all__ = ["PROJECT_ROOT", "OutputStrategy", "Settings", "get_settings", "mask_url"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]

OutputStrategy = Literal["head_tail", "truncate", "fail", "spill"]
ENV_PREFIX = "REELFLOW_"
# what a database URL may start with → the driver it means
DATABASE_SCHEMES = {
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "sqlite": "sqlite+aiosqlite",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}
DATABASE_RULE = (
    "must be a sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER:PASSWORD@HOST/DB URL"
)


class Settings(BaseSettings):
    """Reelflow's configuration. Relative paths are resolved against the working directory."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path(".reelflow"),
        description="Database, virtualenvs, cached results and spilled output live here.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy async URL; default a SQLite file in the data directory.",
    )
    scripts_dir: Path = Field(
        default=PROJECT_ROOT / "scripts",
        description="Holds registry.toml and the scripts it declares.",
    )
    output_dir: Path = Field(
        default=Path("output"), description="Media goes to <channel>/<project id>/<step>/."
    )
    output_limit_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    output_strategy: OutputStrategy = Field(
        default="head_tail",
        description="Past the limit: head_tail keeps the first and last half, truncate the "
        "head, spill writes the rest to a file, fail stops the script.",
    )
    kill_grace_seconds: float = Field(
        default=5.0, ge=0, description="SIGTERM to SIGKILL wait for a script's process group."
    )
    log_batch_lines: int = Field(default=1000, gt=0)
    log_batch_seconds: float = Field(default=0.5, gt=0)
    retry_delay_seconds: float = Field(
        default=10.0, ge=0, description="Base of the exponential back-off between item retries."
    )
    retry_jitter_factor: float = Field(default=0.5, ge=0)
    retry_later_base_seconds: float = Field(
        default=300.0, gt=0,
        description="A transient failure past its retries is tried again after this long "
        "(doubling each time); channels may set their own.",
    )  # fmt: skip
    retry_later_max_age_hours: float = Field(
        default=24.0, gt=0, description="Later retries stop once failures have lasted this long."
    )
    max_recoveries: int = Field(
        default=3, ge=0, description="A crashed video is started again at most this often."
    )
    run_lease_seconds: float = Field(
        default=60.0, gt=0,
        description="How long a live run's hold on its video lasts unrenewed (it renews every "
        "third of it); a video whose run stopped renewing is crashed, then recovered.",
    )  # fmt: skip
    target_seconds: float = Field(
        default=7200.0, gt=0, description="A video taking longer is flagged (default 2 hours)."
    )
    dask_address: str | None = Field(
        default=None,
        description="A Dask scheduler (tcp://host:8786): items of every step run on its workers.",
    )
    locks_url: str | None = Field(
        default=None,
        description="Where item locks live: unset, lock files under the data directory (one "
        "machine); redis://host:port/db for several machines.",
    )
    python: Path | None = Field(
        default=None,
        description="Interpreter for python scripts without requirements; default this one.",
    )
    allow_script_runs: bool = Field(
        default=False,
        description="Let the run-registered-script flow run scripts in this process (opt-in).",
    )
    media_url: str | None = Field(
        default=None,
        description="Where reviewers reach the output folder (a bucket, a CDN): links become "
        "<media_url>/<path>, unsigned. Unset: links signed for `reelflow media serve`.",
    )
    media_serve_url: str | None = Field(
        default=None,
        description="The address reviewers reach `reelflow media serve` at (e.g. "
        "http://media.example.com:8765); links on cards and in reviews are signed for it.",
    )
    media_link_hours: float = Field(
        default=168.0, gt=0, le=24 * 366, description="How long a signed media link works."
    )
    # --- planning (flows/planning): `reelflow plan TOPIC` asks this Gemini model ---
    plan_model: str = Field(
        default="gemini-3.8-flash", min_length=1,
        description="Gemini text model that writes plans from a topic (needs a price).",
    )  # fmt: skip
    plan_tries: int = Field(
        default=3, ge=1, le=10,
        description="Answers asked for before giving up (each invalid one is fed back).",
    )  # fmt: skip
    # --- publishing (flows/publish): the default channel's publisher and YouTube's access ---
    publisher: Literal["auto", "folder", "youtube"] = Field(
        default="auto",
        description="The default channel's publisher: auto is youtube when YouTube "
        "credentials are set, else folder (the channel's published/ folder).",
    )
    youtube_client_id: str | None = Field(default=None, description="OAuth desktop client id.")
    youtube_client_secret: SecretStr | None = Field(default=None, description="Its secret.")
    youtube_refresh_token: SecretStr | None = Field(
        default=None, description="A refresh token (`reelflow youtube auth` prints one)."
    )
    youtube_base_url: str | None = Field(
        default=None, description="YouTube Data API v3 (proxies, tests); default Google's."
    )
    youtube_upload_url: str | None = Field(
        default=None, description="YouTube's upload endpoint (proxies, tests)."
    )
    google_token_url: str | None = Field(
        default=None, description="Google's OAuth token endpoint (proxies, tests)."
    )
    youtube_chunk_bytes: int = Field(
        default=32 * 256 * 1024, ge=256 * 1024, multiple_of=256 * 1024,
        description="Bytes per upload PUT (8 MiB): a multiple of 256 KiB (YouTube's rule).",
    )  # fmt: skip

    @field_validator("data_dir", "output_dir", "scripts_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("data_dir")
    @classmethod
    def _writable(cls, value: Path) -> Path:
        """The data directory exists (it is made here) and can be written."""
        try:
            value.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(
                f"cannot be made ({exc.strerror}); must be a writable directory"
            ) from None
        if not os.access(value, os.W_OK | os.X_OK):
            raise ValueError("cannot be written; must be a writable directory")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value:
            return value
        scheme, sep, rest = value.partition("://")
        driver = DATABASE_SCHEMES.get(scheme.lower())
        if not sep or driver is None or not rest.strip():
            raise ValueError(DATABASE_RULE)
        url = f"{driver}://{rest}"
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(url)
        except (ArgumentError, ValueError):
            raise ValueError(DATABASE_RULE) from None
        return url

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'reelflow.db'}"
        return self

    @property
    def registry_path(self) -> Path:
        return self.scripts_dir / "registry.toml"

    @property
    def venvs_dir(self) -> Path:
        return self.data_dir / "venvs"

    @property
    def spill_dir(self) -> Path:
        return self.data_dir / "spill"

    @property
    def results_dir(self) -> Path:
        return self.data_dir / "results"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings. Tests call ``get_settings.cache_clear()`` after changing env.

    Raises:
        SettingsError: a variable holds a value that cannot be used (one line for all).
    """
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


def _describe(error: ValidationError) -> str:
    """``REELFLOW_X='value': what is allowed`` for each refused setting, on one line."""
    problems = []
    for item in error.errors():
        name = ENV_PREFIX + "_".join(str(part) for part in item["loc"]).upper()
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{name}={_shown(item.get('input'))}: {message}")
    return "settings: " + "; ".join(problems)


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return repr(mask_url(text)[:200])


def mask_url(text: str) -> str:
    """``scheme://user:***@host/…``: a URL's password hidden."""
    return re.sub(r"(://[^/:@\s]*:)\S*@", r"\1***@", text)
