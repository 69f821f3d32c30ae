"""A reviewer's hands in the Prefect UI: Playwright driving Debian's chromium, mouse clicks
(and typing into text fields) only.

Prefect 3.8.8 ships two UIs. V1 (Vue) answers the run links Reelflow hands out
(``<ui>/runs/flow-run/<id>``); V2 (React) is the default for the server's front page and lives
under ``<ui>/v2/``. Both render the review form from its JSON schema, differently:

- V1 draws a select as a button inside a wrapper that both carry the select's click handler,
  so a click on the middle of the field opens the list and closes it again in the same event
  (every select in V1, the log level one too; not headless-only). A click on its chevron
  reaches only the wrapper and opens it: that is where a reviewer's mouse has to go in V1.
- V2 opens its (Radix) selects with a click anywhere on them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# A folder for screenshots of each step (REELFLOW_* variables are cleared for tests).
SHOTS = os.environ.get("BROWSER_TEST_SHOTS")


def require_chromium() -> None:
    """Skip without Debian's chromium or Playwright, except under CI=true, where it fails."""
    missing = None
    if not CHROMIUM.is_file():
        missing = f"{CHROMIUM} not found (apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "playwright is not installed (pip install -e '.[dev]')"
    if missing is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the browser test needs chromium and playwright in CI: {missing}")
    pytest.skip(f"browser test: {missing}")


@contextmanager
def chromium() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            browser.close()


def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _starts(label: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*{re.escape(label)}(\s|$)")


def _resume_answer(page: Page, submit: Callable[[], None]) -> dict[str, Any]:
    """Click the form's submit and wait for the server's answer to the resume request it
    sends: closing the page before the request has left would drop the decision."""
    with page.expect_response(
        lambda r: r.url.endswith("/resume") and r.request.method == "POST", timeout=60_000
    ) as answered:
        submit()
    return dict(answered.value.json())


class V1Form:
    """The Resume dialog of the V1 UI (the page ``reelflow``'s review links open)."""

    def __init__(self, page: Page, ui: str, flow_run_id: str) -> None:
        self.page = page
        page.goto(f"{ui}/runs/flow-run/{flow_run_id}")
        page.get_by_role("button", name="Resume").first.click()
        self.dialog = page.locator(".p-modal")
        self.dialog.wait_for()

    def field(self, label: str, within: Locator | None = None) -> Locator:
        scope = within or self.dialog
        name = self.page.locator(".schema-form-property__label", has_text=_starts(label))
        return scope.locator(".schema-form-property").filter(has=name).last

    def choose(self, label: str, option: str, within: Locator | None = None) -> None:
        field = self.field(label, within)
        field.locator(".p-select-button__icon").click()  # the chevron; see the module doc
        self.page.get_by_role("option", name=option, exact=True).click()
        field.locator(".p-select-button__value", has_text=option).wait_for()

    def type(self, label: str, text: str, within: Locator | None = None) -> None:
        area = self.field(label, within).locator("textarea, input").first
        area.click()
        area.fill(text)

    def add_change(self) -> None:
        self.field("Changes").get_by_role("button", name="Add item").click()
        self.field("Scene").wait_for()

    def submit(self) -> None:
        self.dialog.get_by_role("button", name="Submit").click()

    def resume(self) -> dict[str, Any]:
        """Submit, and the server's answer (``{"status": "ACCEPT", …}`` when it resumed)."""
        return _resume_answer(self.page, self.submit)


class V2Form:
    """The Resume dialog of the V2 UI (Prefect 3.8's default for its front page)."""

    def __init__(self, page: Page, ui: str, flow_run_id: str) -> None:
        self.page = page
        page.goto(f"{ui}/v2/runs/flow-run/{flow_run_id}")
        page.get_by_role("button", name="Open menu").click()
        page.get_by_role("menuitem", name="Resume").click()
        self.dialog = page.get_by_role("dialog")
        self.dialog.wait_for()

    def field(self, label: str, within: Locator | None = None) -> Locator:
        scope = within or self.dialog
        name = self.page.locator("label", has_text=_starts(label))
        return scope.locator("div.group").filter(has=name).last

    def choose(self, label: str, option: str, within: Locator | None = None) -> None:
        field = self.field(label, within)
        field.locator("fieldset button").first.click()
        self.page.get_by_role("option", name=option, exact=True).click()
        field.locator("fieldset button", has_text=option).wait_for()

    def type(self, label: str, text: str, within: Locator | None = None) -> None:
        area = self.field(label, within).locator("fieldset textarea, fieldset input").first
        area.click()
        area.fill(text)

    def add_change(self) -> None:
        self.field("Changes").get_by_role("button", name="Add item").click()
        self.field("Scene").wait_for()

    def submit(self) -> None:
        self.dialog.get_by_role("button", name="Resume").click()

    def resume(self) -> dict[str, Any]:
        """Submit, and the server's answer (``{"status": "ACCEPT", …}`` when it resumed)."""
        return _resume_answer(self.page, self.submit)
