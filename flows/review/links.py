"""Where a reviewer decides: the run's page in the Prefect UI."""

from __future__ import annotations

from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL

__all__ = ["review_link"]


def review_link(flow_run_id: str | None) -> str | None:
    """The run's page in the Prefect UI (PREFECT_UI_URL, else from PREFECT_API_URL).

    It is the new UI's page (``/v2/…``, the server's default front page in Prefect 3.8):
    in the older one a click in the middle of a select opens and shuts its list at once
    (only a click on its arrow opens it), which leaves the Decision hard to choose by
    mouse; tests/e2e/test_review_browser.py drives both in Chromium."""
    if not flow_run_id:
        return None
    ui = PREFECT_UI_URL.value() or str(PREFECT_API_URL.value() or "").removesuffix("/api")
    return f"{ui.rstrip('/')}/v2/runs/flow-run/{flow_run_id}" if ui else None
