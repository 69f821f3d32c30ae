"""Shared fixtures. Prefect's home, result storage and server are isolated per session.

PostgreSQL: ``REELFLOW_TEST_POSTGRES_URL`` (default the local server, user postgres) is the
admin URL; a throwaway database is created for the session. When it cannot be reached the
PostgreSQL tests skip with the reason, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# Before anything imports Prefect: nothing of a developer's ~/.prefect leaks in or out.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="reelflow-tests-"))
os.environ["PREFECT_HOME"] = str(_SESSION_DIR / "prefect-home")
os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(_SESSION_DIR / "prefect-storage")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_API_URL"] = ""
os.environ.pop("PREFECT_API_KEY", None)
for _name in list(os.environ):
    if _name.startswith("REELFLOW_"):
        del os.environ[_name]

import asyncpg  # noqa: E402
import pytest  # noqa: E402

from flows.core import store  # noqa: E402
from flows.core.settings import Settings, get_settings  # noqa: E402
from tests.postgres import (  # noqa: E402
    POSTGRES_ADMIN_URL,
    admin,
    free_port,
    recreate,
    run_async,
    url_of,
)

FIXTURES = Path(__file__).parent / "fixtures"
TEST_SCRIPTS = FIXTURES / "scripts"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
Configure = Callable[..., Settings]


@pytest.fixture
def configure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Configure]:
    """Point Reelflow's settings at a fresh data directory (and anything else given)."""

    def apply(**overrides: str | Path) -> Settings:
        values: dict[str, str | Path] = {
            "DATA_DIR": tmp_path / "data",
            "OUTPUT_DIR": tmp_path / "output",
            "SCRIPTS_DIR": TEST_SCRIPTS,
        }
        values.update({k.upper(): v for k, v in overrides.items()})
        for key, value in values.items():
            monkeypatch.setenv(f"REELFLOW_{key}", str(value))
        get_settings.cache_clear()
        return get_settings()

    yield apply
    get_settings.cache_clear()


@pytest.fixture
def settings(configure: Configure) -> Settings:
    """Settings on a fresh SQLite database and the test scripts."""
    return configure()


# --- PostgreSQL ---------------------------------------------------------------------------


def _postgres_unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {reason}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    name = f"reelflow_test_{os.getpid()}"
    try:
        run_async(admin(*recreate(name)))
    except (OSError, asyncpg.PostgresError) as exc:
        _postgres_unavailable(str(exc))
    url = url_of(name)
    run_async(store.upgrade(url))
    yield url
    run_async(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, configure: Configure) -> str:
    """The same test against a fresh SQLite file and against PostgreSQL over asyncpg."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
        run_async(_truncate(url))
    configure(database_url=url)
    return url


async def _truncate(url: str) -> None:
    from sqlalchemy import text

    async with store.session_scope(url) as session:
        await session.execute(
            text(
                "TRUNCATE script_executions, video_events, step_runs, videos, channels "
                "RESTART IDENTITY CASCADE"
            )
        )


# --- Prefect --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """A real Prefect API server for the session, on PostgreSQL.

    The test harness's SQLite database answers concurrent writes with "database is locked"
    (HTTP 503, then 2-4 s client back-off); a PostgreSQL-backed server does not. Outside CI,
    without PostgreSQL, it falls back to SQLite.
    """
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_SERVER_DATABASE_CONNECTION_URL,
        temporary_settings,
    )

    database = _prefect_database()
    with temporary_settings({PREFECT_SERVER_DATABASE_CONNECTION_URL: database}):
        server = SubprocessASGIServer(port=free_port())
        server.start(timeout=120)
        try:
            with temporary_settings({PREFECT_API_URL: server.api_url}):
                os.environ["PREFECT_API_URL"] = server.api_url  # for subprocesses
                yield server.api_url
        finally:
            from prefect.logging.handlers import APILogHandler

            APILogHandler().flush()
            os.environ["PREFECT_API_URL"] = ""
            server.stop()
            if database.startswith("postgresql"):
                name = database.rsplit("/", 1)[-1]
                run_async(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _prefect_database() -> str:
    name = f"reelflow_prefect_{os.getpid()}"
    try:
        run_async(admin(*recreate(name)))
    except (OSError, asyncpg.PostgresError) as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        return f"sqlite+aiosqlite:///{_SESSION_DIR / 'prefect.db'}"
    return url_of(name)


# --- One produced video, for the tests that only look at it ------------------------------


@pytest.fixture(scope="session")
async def _approved_tiny(prefect_api: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The tiny plan produced once and approved, in a data and output directory of its own
    (the project's scripts, a real Prefect run): what it returned, and its settings."""
    from tests.factories import produce

    root = _SESSION_DIR / "approved-tiny"
    values = {
        "REELFLOW_DATA_DIR": str(root / "data"),
        "REELFLOW_OUTPUT_DIR": str(root / "output"),
        "REELFLOW_SCRIPTS_DIR": str(PROJECT_ROOT / "scripts"),
        "REELFLOW_RETRY_DELAY_SECONDS": "0.05",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("REELFLOW_")]:
            patch.delenv(name)  # nothing of the test that asked first
        for name, value in values.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        try:
            result = await produce()
        finally:
            get_settings.cache_clear()
    return result, values


@pytest.fixture
def approved_tiny(
    _approved_tiny: tuple[dict[str, Any], dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[dict[str, Any], Settings]]:
    """The session's approved tiny video (made once, shared: only look, change nothing), with
    the settings pointed at its directories and database."""
    result, values = _approved_tiny
    for name in [n for n in os.environ if n.startswith("REELFLOW_")]:
        monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield result, get_settings()
    get_settings.cache_clear()
