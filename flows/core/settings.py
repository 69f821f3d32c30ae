"""The one settings object, read from ``REELFLOW_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["PROJECT_ROOT", "OutputStrategy", "Settings", "get_settings"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]

OutputStrategy = Literal["head_tail", "truncate", "fail", "spill"]


class Settings(BaseSettings):
    """Reelflow's configuration. Relative paths are resolved against the working directory."""

    model_config = SettingsConfigDict(env_prefix="REELFLOW_", env_file=".env", extra="ignore")

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

    @field_validator("data_dir", "output_dir", "scripts_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

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
    """The process-wide settings. Tests call ``get_settings.cache_clear()`` after changing env."""
    return Settings()
