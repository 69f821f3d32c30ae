"""Item fan-out on a Dask cluster, started with the commands the README documents."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, Configure
from tests.factories import TINY, runs_by_label

pytestmark = pytest.mark.usefixtures("prefect_api")
distributed = pytest.importorskip("distributed")
BIN = Path(sys.executable).parent


@pytest.fixture
def dask_cluster(configure: Configure, tmp_path: Path) -> Iterator[str]:
    """`dask scheduler` and `dask worker` as their own processes, sharing our settings."""
    configure(scripts_dir=PROJECT_ROOT / "scripts", retry_delay_seconds="0.05")
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    logs = (tmp_path / "dask.log").open("wb")
    started = [
        subprocess.Popen(
            [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
             "--no-dashboard"],
            stdout=logs, stderr=subprocess.STDOUT, start_new_session=True,
        ),
        subprocess.Popen(
            [str(BIN / "dask"), "worker", address, "--nworkers", "1", "--nthreads", "2",
             "--no-dashboard"],
            stdout=logs, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT, env=dict(os.environ),
            start_new_session=True,
        ),
    ]  # fmt: skip
    try:
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for process in reversed(started):
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


async def test_items_run_on_the_dask_workers(dask_cluster: str) -> None:
    from prefect_dask.task_runners import DaskTaskRunner

    from flows.pipeline import produce_video
    from tests.factories import produce

    started = time.monotonic()
    result = await produce(TINY, flow=produce_video.with_options(
        task_runner=DaskTaskRunner(address=dask_cluster)
    ))  # fmt: skip
    assert Path(result["output"]).is_file()
    assert all(n == 1 for n in (await runs_by_label("completed")).values())
    with distributed.Client(dask_cluster, timeout=30) as client:
        prefixes = client.run_on_scheduler(
            lambda dask_scheduler: list(dask_scheduler.task_prefixes)
        )
    assert "make_item" in prefixes, prefixes
    assert time.monotonic() - started < 120
