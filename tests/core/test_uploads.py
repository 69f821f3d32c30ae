"""Upload sessions in the store, and migration 0004 up and down, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import inspect, text

from flows.core import store, uploads, videos
from flows.core.manifest import load_manifest
from flows.core.models import utcnow
from flows.core.store import session_scope
from tests.factories import TINY
from tests.postgres import admin, recreate, url_of
from tests.publish.conftest import PATH_TO_APPROVED


async def _approved() -> int:
    async with session_scope() as session:
        video = await videos.create_video(
            session=session, channel="c", manifest=load_manifest(TINY)
        )
        for status in PATH_TO_APPROVED:
            await videos.set_status(session=session, video_id=video.id, status=status)
        return video.id


async def test_a_session_advances_only_forwards_and_a_finished_upload_is_kept(
    database_url: str,
) -> None:
    video_id = await _approved()
    async with session_scope() as session:
        row = await uploads.open_upload(
            session=session, video_id=video_id, publisher="youtube", sha256="a" * 64, total=1000
        )
        assert row.state == "created" and row.session_url is None
        await uploads.record_session(session=session, video_id=video_id, url="https://s/1")
    async with session_scope() as session:
        moves = [
            await uploads.record_progress(session=session, video_id=video_id, url=url, confirmed=n)
            for url, n in [("https://s/1", 512), ("https://s/1", 256), ("https://s/old", 900)]
        ]
        assert moves == [True, False, False]  # backwards and a foreign session change nothing
        again = await uploads.open_upload(
            session=session, video_id=video_id, publisher="youtube", sha256="a" * 64, total=1000
        )
        assert (again.id, again.bytes_confirmed, again.sessions_started) == (row.id, 512, 1)
        await uploads.record_uploaded(session=session, video_id=video_id, remote_id="yt123")
    async with session_scope() as session:  # other bytes later: the finished upload stays
        kept = await uploads.open_upload(
            session=session, video_id=video_id, publisher="youtube", sha256="b" * 64, total=7
        )
        assert (kept.remote_id, kept.bytes_confirmed, kept.sha256) == ("yt123", 1000, "a" * 64)


async def test_an_unfinished_session_for_other_bytes_starts_over(database_url: str) -> None:
    video_id = await _approved()
    async with session_scope() as session:
        await uploads.open_upload(
            session=session, video_id=video_id, publisher="youtube", sha256="a" * 64, total=10
        )
        await uploads.record_session(session=session, video_id=video_id, url="https://s/1")
        row = await uploads.open_upload(
            session=session, video_id=video_id, publisher="youtube", sha256="c" * 64, total=20
        )
        assert (row.session_url, row.total_bytes, row.state) == (None, 20, "created")


async def test_waiting_videos_are_due_when_their_time_has_come(database_url: str) -> None:
    waiting, later = await _approved(), await _approved()
    async with session_scope() as session:
        for video_id, until in ((waiting, None), (later, utcnow() + timedelta(hours=1))):
            await videos.set_status(session=session, video_id=video_id, status="publishing")
            await videos.set_status(session=session, video_id=video_id, status="publish_waiting")
            await uploads.set_waiting_until(session=session, video_id=video_id, until=until)
        assert [v.id for v in await uploads.due_to_publish(session=session)] == [waiting]
        due = await uploads.due_to_publish(session=session, now=utcnow() + timedelta(hours=2))
        assert [v.id for v in due] == [waiting, later]


def _downgrade(connection: object, revision: str) -> None:
    from alembic import command

    command.downgrade(store._alembic_config(connection), revision)  # type: ignore[arg-type]


async def _migrate_both_ways(url: str) -> None:
    assert await store.upgrade(url, "0003") == "0003"
    assert await store.upgrade(url) == "0004"
    engine = store._create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade, "0003")
        async with engine.begin() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
            assert "upload_sessions" not in tables
    finally:
        await engine.dispose()
    assert await store.upgrade(url) == "0004"
    async with store.session_scope(url) as session:
        assert await session.scalar(text("SELECT count(*) FROM upload_sessions")) == 0
        await session.execute(text("SELECT public_url FROM videos"))
    await store.dispose_engines()


async def test_migration_0004_goes_up_and_down_on_sqlite(tmp_path: Path) -> None:
    await _migrate_both_ways(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")


async def test_migration_0004_goes_up_and_down_on_postgres(postgres_url: str) -> None:
    name = "reelflow_test_publish_migration"
    await admin(*recreate(name))
    try:
        await _migrate_both_ways(url_of(name))
    finally:
        await store.dispose_engines()
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
