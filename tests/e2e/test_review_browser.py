"""The review gate as a reviewer meets it: the Prefect UI in a real browser (Debian's chromium,
headless, driven by Playwright), mouse clicks and typing only, against a real ``prefect
server``, work pool, deployment and process worker, and ``reelflow media serve``.

Two videos are made at once when the module starts; A goes through a refused empty Submit,
the previews, a change to one scene and an approval, B is rejected. V1 (the page Reelflow's
review links open) and V2 (Prefect 3.8's default UI) are both used; see tests/e2e/browser.py
for how their selects differ. Screenshots of each step: ``BROWSER_TEST_SHOTS=/some/dir``.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.browser import V1Form, V2Form, chromium, require_chromium, shot
from tests.e2e.stack import (
    BIN,
    POOL,
    Stack,
    Unavailable,
    deployed_stack,
    start_media_server,
    submit,
)
from tests.factories import TINY

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e


@dataclass
class Review:
    stack: Stack
    ui: str
    runs: dict[str, str]  # plan's project id → flow run id
    browser: Browser

    def page(self) -> Page:
        return self.browser.new_page(viewport={"width": 1280, "height": 900})

    def video(self, project: str) -> dict[str, Any]:
        """The video of ``project``'s run as ``reelflow status --json`` tells it."""
        mine = [s for s in self.stack.states() if s["flow_run_id"] == self.runs[project]]
        assert len(mine) == 1, mine
        return dict(mine[0])

    def wait_at_gate(self, project: str, round: int, timeout: float = 120) -> int:
        """The video's id once it awaits review ``round`` (0 first) with its run suspended."""
        run = self.runs[project]
        query = "SELECT id, status, review_round FROM videos WHERE flow_run_id = $1"
        deadline = time.monotonic() + timeout
        while True:
            rows = self.stack.query(query, run)
            if rows and (rows[0]["status"], rows[0]["review_round"]) == ("awaiting_review", round):
                state = self.stack.flow_run(run)["state"]
                if state and state["name"] == "Suspended":
                    return int(rows[0]["id"])
            assert time.monotonic() < deadline, f"{project} never reached review round {round}"
            time.sleep(0.5)


def _plan(tmp: Path, project: str) -> Path:
    plan = tmp / f"{project}.yaml"
    plan.write_text(TINY.read_text().replace("project_id: tiny", f"project_id: {project}"))
    return plan


@pytest.fixture(scope="module")
def review(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Review]:
    require_chromium()
    root = tmp_path_factory.mktemp("browser")
    try:
        with deployed_stack(root, worker_query_seconds=1) as stack:
            stack.env["REELFLOW_MEDIA_SERVE_URL"] = start_media_server(stack)
            stack.start(str(BIN / "prefect"), "worker", "start", "--pool", POOL, log="worker")
            runs = {p: submit(stack, str(_plan(root, p)), "--channel", "ui") for p in "ab"}
            with chromium() as browser:
                yield Review(stack, stack.api.removesuffix("/api"), runs, browser)
    except Unavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")


def test_a_submit_without_a_decision_is_refused_in_both_uis(review: Review) -> None:
    review.wait_at_gate("a", round=0)
    page = review.page()
    v1 = V1Form(page, review.ui, review.runs["a"])
    v1.submit()
    v1.field("Decision").get_by_text("'decision' is a required property").wait_for()
    shot(page, "a-v1-refused")
    v2 = V2Form(page, review.ui, review.runs["a"])
    with page.expect_response(lambda r: r.url.endswith("/resume")) as answered:
        v2.submit()
    assert answered.value.json()["status"] == "REJECT", "the server must refuse it too"
    page.get_by_text("'decision' is a required property").wait_for()
    shot(page, "a-v2-refused")
    assert v2.dialog.is_visible()
    page.close()
    time.sleep(1)  # a run that took the empty answer would be leaving Suspended by now
    assert review.stack.flow_run(review.runs["a"])["state"]["name"] == "Suspended"
    assert review.video("a")["status"] == "awaiting_review"


def test_the_run_page_shows_the_contact_sheet_and_links_a_seekable_mp4(review: Review) -> None:
    video_id = review.wait_at_gate("a", round=0)
    page = review.page()
    for ui in ("v1", "v2"):
        _open_artifact(page, review, ui, f"video-{video_id}-review-contact-sheet")
        sheet = page.get_by_role("img", name="contact sheet")
        page.wait_for_function("img => img.complete", arg=sheet.element_handle())
        width = sheet.evaluate("img => img.naturalWidth")
        shot(page, f"contact-sheet-{ui}")
        assert width > 0, f"the contact sheet did not load in {ui}: {page.url}"
    _open_artifact(page, review, "v1", f"video-{video_id}-review-video")
    link = page.locator("a[href*='/media/'][href*='.mp4']").first
    href = str(link.get_attribute("href"))
    shot(page, "mp4-link")
    page.close()
    seek = {"Range": "bytes=100-199"}  # what a player asks for when the reviewer seeks
    played = httpx.get(href, headers=seek, timeout=10)
    assert played.status_code == 206, played.text
    assert played.headers["content-type"] == "video/mp4"
    assert played.headers["content-range"].startswith("bytes 100-199/")
    assert len(played.content) == 100
    signature = href.rsplit("sig=", 1)[1][:64]
    altered = href.replace(signature, ("0" if signature[0] != "0" else "1") + signature[1:])
    assert httpx.get(altered, headers=seek, timeout=10).status_code == 403


def _open_artifact(page: Page, review: Review, ui: str, key: str) -> None:
    """From the run's page, its Artifacts tab, then the artifact's card (V2 shows the key's
    history first: then its newest artifact)."""
    prefix = "/v2" if ui == "v2" else ""
    page.goto(f"{review.ui}{prefix}/runs/flow-run/{review.runs['a']}")
    page.get_by_text("Artifacts", exact=True).first.click()
    page.get_by_text(key, exact=True).first.click()
    if ui == "v2":
        page.wait_for_url("**/artifacts/key/**")
        page.locator("a[href*='/artifacts/artifact/']").first.click()
    page.wait_for_url("**/artifacts/artifact/**")


def test_b_reject_with_a_reason_rejects_the_video_and_stores_the_reason(review: Review) -> None:
    review.wait_at_gate("b", round=0)
    page = review.page()
    form = V2Form(page, review.ui, review.runs["b"])
    form.choose("Decision", "reject")
    form.type("Reason", "The storm scene is too dark.")
    form.type("Reviewer", "grace")
    shot(page, "b-reject")
    assert form.resume()["status"] == "ACCEPT"
    review.stack.wait_for_state(review.runs["b"], {"COMPLETED"}, timeout=90)
    page.close()
    video = review.video("b")
    assert video["status"] == "rejected", video
    assert video["error"] == "The storm scene is too dark.", video
    assert video["decision"] == "rejected by grace: The storm scene is too dark.", video


def test_c_request_changes_on_one_scene_redoes_only_its_items(review: Review) -> None:
    video_id = review.wait_at_gate("a", round=0)
    before = Counter(label for label, _ in review.stack.executions(video_id))
    page = review.page()
    form = V1Form(page, review.ui, review.runs["a"])
    form.choose("Decision", "request_changes")
    form.type("Reviewer", "ada")
    form.add_change()
    form.choose("Scene", "storm")
    form.type("Narration", "At last the rain stops.")
    shot(page, "c-request-changes")
    assert form.resume()["status"] == "ACCEPT"
    page.close()
    assert review.wait_at_gate("a", round=1) == video_id
    after = Counter(label for label, _ in review.stack.executions(video_id))
    redone = after - before
    assert set(redone) == {"narration/storm", "assembly/final"}, f"ran again: {redone}"
    assert set(redone.values()) == {1}, redone
    srt = Path(review.video("a")["output"]).with_suffix(".srt")
    assert "At last the rain stops." in srt.read_text()


def test_d_approve_completes_the_run_and_approves_the_video(review: Review) -> None:
    review.wait_at_gate("a", round=1)
    page = review.page()
    form = V2Form(page, review.ui, review.runs["a"])
    form.choose("Decision", "approve")
    form.type("Notes", "ship it")
    form.type("Reviewer", "ada")
    shot(page, "d-approve")
    assert form.resume()["status"] == "ACCEPT"
    review.stack.wait_for_state(review.runs["a"], {"COMPLETED"}, timeout=90)
    page.close()
    video = review.video("a")
    # approved, then published when its channel publishes (to a folder by default)
    assert video["status"] in ("approved", "published"), video
    assert video["decision"] == "approved by ada: ship it", video
