"""flows.notion.push: the links a card carries (the pipeline's writes are in
tests/test_notion_sync.py)."""

from __future__ import annotations

import pytest
from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings

from flows.media.keys import media_link
from flows.review.links import review_link
from tests.conftest import Configure


async def test_output_links_under_the_media_url_else_is_the_path(configure: Configure) -> None:
    settings = configure(media_url="https://m.example/v/")
    path = settings.output_dir / "history" / "tiny" / "assembly" / "tiny.mp4"
    assert await media_link(str(path)) == "https://m.example/v/history/tiny/assembly/tiny.mp4"
    assert await media_link("/elsewhere/x.mp4") == "/elsewhere/x.mp4"
    assert await media_link(None) is None
    configure(media_url="")
    assert await media_link(str(path)) == str(path), "no media URL known: the path"


@pytest.mark.usefixtures("prefect_api")
async def test_output_is_a_signed_link_when_media_serve_is_configured(
    configure: Configure,
) -> None:
    settings = configure(media_serve_url="http://media.test:8765")
    path = settings.output_dir / "history" / "tiny" / "assembly" / "tiny.mp4"
    link = await media_link(str(path))
    assert link is not None
    assert link.startswith("http://media.test:8765/media/history/tiny/assembly/tiny.mp4?exp=")
    assert "&sig=" in link


def test_the_review_link_is_the_runs_page_in_the_prefect_ui() -> None:
    with temporary_settings({PREFECT_API_URL: "http://prefect.example:4200/api"}):
        assert review_link("abc") == "http://prefect.example:4200/v2/runs/flow-run/abc"
    with temporary_settings(
        {PREFECT_API_URL: "http://10.0.0.5:4200/api", PREFECT_UI_URL: "https://ui.example/"}
    ):
        assert review_link("abc") == "https://ui.example/v2/runs/flow-run/abc"
    assert review_link(None) is None
