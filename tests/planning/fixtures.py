"""The structured-output Gemini stand-in, for the planning tests (a plugin: the CLI tests
load it with ``pytest_plugins = ["tests.planning.fixtures"]``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.planning.fake_gemini import FakeGeminiText


@pytest.fixture(scope="session")
def gemini_text_service() -> Iterator[FakeGeminiText]:
    fake = FakeGeminiText().start()
    yield fake
    fake.stop()


@pytest.fixture
def gemini_text(
    gemini_text_service: FakeGeminiText, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeGeminiText]:
    """The stand-in with nothing recorded or queued, and this process's key and base URL
    pointing at it (as a person exports them)."""
    gemini_text_service.reset()
    monkeypatch.setenv("REELFLOW_GEMINI_API_KEY", gemini_text_service.key)
    monkeypatch.setenv("REELFLOW_GEMINI_BASE_URL", gemini_text_service.url)
    yield gemini_text_service
    gemini_text_service.reset()
