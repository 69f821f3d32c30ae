"""End to end through a real Prefect server, work pool, deployment and process workers.

Everything is started the way a user would: ``prefect server start`` (on PostgreSQL),
``prefect work-pool create``, ``prefect deploy --all`` from the project root, ``prefect worker
start``, then ``reelflow submit`` and ``reelflow review approve``. Everything started is
stopped by pid at the end. Run alone with ``make test-e2e`` (``pytest -m e2e``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.stack import (
    BIN,
    POOL,
    Stack,
    Unavailable,
    deployed_stack,
    kill_tree,
    pause_scheduled,
    run_tool,
    submit,
)
from tests.factories import TINY, scripts_with_faults
from tests.publish.conftest import sha256
from tests.publish.youtube_fake import FakeYouTube

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    try:
        # Workers poll every second, not every 10 s: each test waits for a worker to take a
        # submitted run, and again for a resumed one, several times.
        with deployed_stack(tmp_path_factory.mktemp("e2e"), worker_query_seconds=1) as started:
            yield started
    except Unavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")


def _video_of(stack: Stack, flow_run_id: str, timeout: float = 120) -> dict[str, Any]:
    """The video of ``flow_run_id`` once it awaits review, as ``reelflow status`` tells it.

    Waits on the database (a query, not a CLI process every half second: on 2 cores those
    compete with the worker's run); then the CLI must say the same."""
    deadline = time.monotonic() + timeout
    query = "SELECT id FROM videos WHERE flow_run_id = $1 AND status = 'awaiting_review'"
    while not stack.query(query, flow_run_id):
        assert time.monotonic() < deadline, f"no video awaiting review for {flow_run_id}"
        time.sleep(0.5)
    mine = [s for s in stack.states() if s["flow_run_id"] == flow_run_id]
    assert mine and mine[0]["status"] == "awaiting_review", mine
    return dict(mine[0])


def _approve_and_finish(stack: Stack, flow_run_id: str) -> dict[str, Any]:
    suspended = stack.wait_for_state(flow_run_id, {"Suspended"}, timeout=30)
    assert suspended["state"]["type"] == "PAUSED"
    video = _video_of(stack, flow_run_id)
    listed = stack.cli("review", "list", "--json")
    assert any(r["flow_run_id"] == flow_run_id for r in json.loads(listed.stdout))
    approved = stack.cli("review", "approve", str(video["video_id"]), "--notes", "ship it")
    assert approved.returncode == 0, approved.stderr
    stack.wait_for_state(flow_run_id, {"COMPLETED"}, timeout=120)
    final = json.loads(stack.cli("status", str(video["video_id"]), "--json").stdout)
    assert final["status"] == "published"  # approved, then published to the folder
    return dict(final)


def test_a_deployed_run_suspends_for_review_and_completes_when_approved(stack: Stack) -> None:
    worker = stack.start(str(BIN / "prefect"), "worker", "start", "--pool", POOL, log="worker-1")
    try:
        flow_run_id = submit(stack, str(TINY), "--channel", "e2e")
        stack.wait_for_state(flow_run_id, {"Suspended"}, timeout=180)
        video = _video_of(stack, flow_run_id)
        asked = stack.cli(
            "review", "request-changes", str(video["video_id"]),
            "--change", "storm.narration=At last the rain stops.", "--reviewer", "ada",
        )  # fmt: skip
        assert asked.returncode == 0, asked.stderr
        _wait_at_gate(stack, video["video_id"], decided=1)
        final = _approve_and_finish(stack, flow_run_id)
        ran = Counter(label for label, _ in stack.executions(final["video_id"]))
        assert len(ran) == 18, ran
        redone = {label for label, n in ran.items() if n == 2}
        assert redone == {"narration/storm", "assembly/final"}, f"ran: {ran}"
        assert all(n <= 2 for n in ran.values())
        assert "At last the rain stops." in Path(final["output"]).with_suffix(".srt").read_text()
        waits = stack.query(
            "SELECT count(*) AS n FROM video_events WHERE video_id = $1 AND kind = 'status' "
            "AND status = 'awaiting_review'",
            video["video_id"],
        )
        assert waits[0]["n"] == 2, "one awaiting_review per round, though each resume reruns"
    finally:
        kill_tree(worker, signal.SIGTERM)


def _wait_at_gate(stack: Stack, video_id: int, decided: int, timeout: float = 180) -> None:
    """Until the video waits for review again, after ``decided`` applied decisions."""
    deadline = time.monotonic() + timeout
    query = "SELECT status, review_round FROM videos WHERE id = $1"
    while (row := stack.query(query, video_id)[0])["review_round"] != decided or (
        row["status"] != "awaiting_review"
    ):
        assert time.monotonic() < deadline, f"video {video_id} is {row['status']}"
        time.sleep(0.5)


def test_a_killed_worker_is_replaced_and_no_finished_item_runs_twice(
    stack: Stack, tmp_path: Path
) -> None:
    scripts = scripts_with_faults(
        tmp_path, {"generate_video": [{"match": "/storm.mp4", "sleep": 60}]}
    )
    env = {**stack.env, "REELFLOW_SCRIPTS_DIR": str(scripts)}
    first = stack.start(
        str(BIN / "prefect"), "worker", "start", "--pool", POOL, env=env, log="worker-2"
    )
    plan = tmp_path / "killed.yaml"
    plan.write_text(TINY.read_text().replace("project_id: tiny", "project_id: killed"))
    flow_run_id = submit(stack, str(plan), "--channel", "e2e")
    video_id = _wait_mid_clip(stack, flow_run_id)
    kill_tree(first)  # the worker, its flow run and (through the reaper) the clip's script
    second = stack.start(
        str(BIN / "prefect"), "worker", "start", "--pool", POOL,
        env={**env, "REELFLOW_TEST_SKIP_SLEEP": "1"}, log="worker-3",
    )  # fmt: skip
    try:
        refused = stack.cli("submit", "--video", str(video_id))
        assert refused.returncode == 1 and "pass --replace" in refused.stderr
        rerun = submit(stack, "--video", str(video_id), "--replace")
        stack.wait_for_state(rerun, {"Suspended"}, timeout=180)
        _approve_and_finish(stack, rerun)
        rows = stack.executions(video_id)
        completed = Counter(label for label, status in rows if status == "completed")
        assert set(completed.values()) == {1}, f"finished items ran twice: {completed}"
        assert len(completed) == 18
        assert Counter(label for label, _ in rows)["video/storm"] == 2, (
            "killed mid-clip, then redone"
        )
    finally:
        kill_tree(second, signal.SIGTERM)


def _wait_mid_clip(stack: Stack, flow_run_id: str, timeout: float = 180) -> int:
    """The video of ``flow_run_id`` once dawn's and forest's clips are made and storm's runs
    (it sleeps a minute). Waits on the database, not a CLI process every half second."""
    deadline = time.monotonic() + timeout
    while True:
        mine = stack.query("SELECT id FROM videos WHERE flow_run_id = $1", flow_run_id)
        if mine:
            rows = stack.executions(mine[0]["id"])
            done = {label for label, status in rows if status == "completed"}
            running = {label for label, status in rows if status == "running"}
            if {"video/dawn", "video/forest"} <= done and "video/storm" in running:
                listed = [s for s in stack.states() if s["flow_run_id"] == flow_run_id]
                assert [s["video_id"] for s in listed] == [mine[0]["id"]], listed
                return int(mine[0]["id"])
        assert time.monotonic() < deadline, "the run never reached the clip step"
        time.sleep(0.5)


def test_two_deployed_runs_of_one_plan_on_two_workers_make_one_video_and_each_item_once(
    stack: Stack, tmp_path: Path
) -> None:
    made = stack.cli("channel", "create", "twice", "--max-videos", "2")
    assert made.returncode == 0, made.stderr
    workers = [
        stack.start(str(BIN / "prefect"), "worker", "start", "--pool", POOL, log=f"worker-{n}")
        for n in (4, 5)
    ]
    plan = tmp_path / "twice.yaml"
    plan.write_text(TINY.read_text().replace("project_id: tiny", "project_id: twice"))
    try:
        runs = [submit(stack, str(plan), "--channel", "twice") for _ in range(2)]
        ended = {run: stack.wait_for_state(run, {"Suspended", "FAILED"}, timeout=240)
                 for run in runs}  # fmt: skip
        suspended = [r for r, s in ended.items() if s["state"]["type"] == "PAUSED"]
        failed = [s for s in ended.values() if s["state"]["type"] == "FAILED"]
        assert len(suspended) == 1 and len(failed) == 1, ended
        assert "is being produced by run" in failed[0]["state"]["message"]
        final = _approve_and_finish(stack, suspended[0])
        rows = stack.executions(final["video_id"])
        ran = Counter(label for label, _ in rows)
        assert len(ran) == 18 and set(ran.values()) == {1}, f"items ran twice: {ran}"
        videos = stack.query("SELECT id FROM videos WHERE project_id = 'twice'")
        assert len(videos) == 1
    finally:
        for worker in workers:
            kill_tree(worker, signal.SIGTERM)


def test_a_quota_refusal_waits_and_the_publish_pending_deployment_publishes_it(
    stack: Stack,
) -> None:
    """Approve → YouTube (the stand-in) answers 403 quotaExceeded → ``publish_waiting``;
    once its time has come, a run of the ``publish-pending`` deployment publishes it: one
    video on the stand-in, our MP4's bytes."""
    youtube = FakeYouTube().start()
    youtube.uploads_left = 0  # [QU] the videos.insert bucket is empty for today
    env = {
        **stack.env, **{f"REELFLOW_{k}": v for k, v in youtube.env().items()},
        "REELFLOW_PUBLISHER": "youtube", "REELFLOW_YOUTUBE_BACKOFF_SECONDS": "0.01",
    }  # fmt: skip
    worker = stack.start(
        str(BIN / "prefect"), "worker", "start", "--pool", POOL, env=env, log="worker-6"
    )
    try:  # the plan of the first test: its items come from the cache, if it ran
        flow_run_id = submit(stack, str(TINY), "--channel", "e2e")
        stack.wait_for_state(flow_run_id, {"Suspended"}, timeout=180)
        video_id = _video_of(stack, flow_run_id)["video_id"]
        approved = stack.cli("review", "approve", str(video_id), env=env)
        assert approved.returncode == 0, approved.stderr
        stack.wait_for_state(flow_run_id, {"COMPLETED"}, timeout=120)
        waiting = json.loads(stack.cli("status", str(video_id), "--json").stdout)
        assert waiting["status"] == "publish_waiting", waiting
        assert "quota" in (waiting["error"] or ""), waiting
        assert not youtube.videos
        # Midnight Pacific: the bucket is full again, and the video's time has come.
        youtube.uploads_left = 100
        stack.query(
            "UPDATE videos SET next_attempt_at = now() - interval '1 second' "
            "WHERE id = $1 RETURNING id",
            video_id,
        )
        started = run_tool(stack, "prefect", "deployment", "run", "publish-pending/publish-pending")
        found = re.search(r"UUID: ([0-9a-f-]{36})", started)
        assert found, started
        pending = found.group(1)
        stack.wait_for_state(pending, {"COMPLETED"}, timeout=120)
        final = json.loads(stack.cli("status", str(video_id), "--json").stdout)
        assert final["status"] == "published", final
        [video] = youtube.videos.values()
        assert final["public_url"].endswith(video.id), final
        assert video.sha256 == sha256(Path(final["output"]))
    finally:
        kill_tree(worker, signal.SIGTERM)
        youtube.stop()


def test_every_scheduled_deployment_gets_its_runs_from_the_server(stack: Stack) -> None:
    """``recover``, ``expire-reviews``, ``publish-pending``, ``prune`` and the Notion passes
    run only because the server's scheduler makes their runs (with SQLAlchemy 2.1 under
    Prefect 3.8.8 it makes none, silently). No worker runs meanwhile, and the runs are
    deleted and the deployments paused again before the next test."""
    scheduled = pause_scheduled(stack.api, paused=False)
    assert set(scheduled.values()) >= {"recover", "expire-reviews", "publish-pending",
                                       "prune", "notion-intake"}  # fmt: skip
    only_scheduled = {"state": {"type": {"any_": ["SCHEDULED"]}}}
    with httpx.Client(base_url=stack.api, timeout=30) as client:
        waiting = dict(scheduled)
        try:
            deadline = time.monotonic() + 90
            while waiting:
                for deployment_id in list(waiting):
                    runs = client.post("/flow_runs/filter", json={
                        "deployments": {"id": {"any_": [deployment_id]}},
                        "flow_runs": only_scheduled,
                    }).json()  # fmt: skip
                    if runs:  # (earlier tests may have run some by hand: not those)
                        del waiting[deployment_id]
                assert time.monotonic() < deadline, f"no scheduled run of {waiting.values()}"
                time.sleep(1)
        finally:
            pause_scheduled(stack.api)
            runs = client.post("/flow_runs/filter", json={
                "deployments": {"id": {"any_": list(scheduled)}}, "limit": 200,
                "flow_runs": only_scheduled,
            }).json()  # fmt: skip
            for run in runs:
                client.delete(f"/flow_runs/{run['id']}")
