"""Benchmark of the one script runner, against raw subprocesses and prefect-shell.

    .venv/bin/python bench/run_script.py [--repeat 200]

Prints one table measured in this run:
  per call (median, p95) for /bin/true and `python -c pass`: raw asyncio subprocess,
  execute_script (with its execution-log writes on SQLite), prefect-shell's
  ShellOperation.run(), a bare Prefect task running subprocess.run, and the run_script task;
  then 50,000 lines streamed: time until the last record is in the Prefect API and peak RSS
  growth, for raw capture, run_script and prefect-shell; then 50 concurrent execute_script
  runs of `sleep 0.2` against the same 50 run one after another.
Targets (as ratios): execute_script <= ShellOperation per call; run_script within 2 ms of the
bare task; 50,000 lines in < 2 s with < 50 MB RSS growth, >= 10x faster than prefect-shell;
50 concurrent runs >= 10x faster than serial (50x is the ceiling).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as h

LINES = 50_000
CONCURRENT, SLEEP = 50, "0.2"
LINES_SCRIPT = (
    "import sys\nw = sys.stdout.write\n"
    "for i in range({n}):\n    w(f'line {{i}} ' + 'x' * 40 + '\\n')\n"
)


def make_scripts(root: Path) -> Path:
    scripts = root / "bench-scripts"
    scripts.mkdir()
    shutil.copy("/bin/true", scripts / "true")
    (scripts / "pass.py").write_text("pass\n")
    (scripts / "lines.py").write_text(LINES_SCRIPT.format(n=LINES))
    (scripts / "sleep.sh").write_text('sleep "$1"\n')
    (scripts / "registry.toml").write_text(
        '[scripts.true]\nruntime = "binary"\npath = "true"\ntimeout = 30\n'
        '[scripts.pass]\nruntime = "python"\npath = "pass.py"\ntimeout = 30\n'
        '[scripts.lines]\nruntime = "python"\npath = "lines.py"\ntimeout = 120\n'
        '[scripts.sleep]\nruntime = "shell"\npath = "sleep.sh"\ntimeout = 30\n'
    )
    return scripts


async def per_call(scripts: Path, repeat: int) -> list[list[str]]:
    from prefect import flow, task
    from prefect.logging import disable_run_logger
    from prefect_shell import ShellOperation

    from flows.core.runner import execute_script
    from flows.scripts import run_script

    commands = {"true": [str(scripts / "true")], "pass": [sys.executable, str(scripts / "pass.py")]}

    @task
    async def bare_task(command: list[str]) -> int:
        return subprocess.run(command, capture_output=True, check=False).returncode

    @flow
    async def in_a_flow(name: str) -> dict[str, list[float]]:
        return {
            "bare Prefect task (subprocess.run)": await h.timed(
                lambda: bare_task(commands[name]), repeat
            ),
            "run_script task": await h.timed(lambda: run_script(name), repeat),
        }

    rows = []
    for name, command in commands.items():

        async def raw(command: list[str] = command) -> None:
            process = await asyncio.create_subprocess_exec(
                *command, stdout=-1, stderr=-1, stdin=subprocess.DEVNULL
            )
            await process.communicate()

        async def shell(command: list[str] = command) -> None:
            with disable_run_logger():
                await asyncio.to_thread(ShellOperation(commands=[" ".join(command)]).run)

        results = {
            "raw asyncio subprocess": await h.timed(raw, repeat),
            "execute_script (+ execution log, SQLite)": await h.timed(
                lambda name=name: execute_script(name), repeat
            ),
            "ShellOperation.run()": await h.timed(shell, repeat),
            **await in_a_flow(name),
        }
        base = h.median_p95(results["raw asyncio subprocess"])[0]
        shell_median = h.median_p95(results["ShellOperation.run()"])[0]
        bare_median = h.median_p95(results["bare Prefect task (subprocess.run)"])[0]
        for label, samples in results.items():
            median, p95 = h.median_p95(samples)
            note = ""
            if label.startswith("execute_script"):
                verdict = "PASS" if median <= shell_median else "MISS"
                note = f"{median / shell_median:.2f}x ShellOperation (target <= 1) {verdict}"
            elif label == "run_script task":
                gap = median - bare_median
                note = f"{gap:+.2f} ms vs bare task (target <= 2) {'PASS' if gap <= 2 else 'MISS'}"
            rows.append([name, label, f"{median:.2f}", f"{p95:.2f}", f"{median / base:.2f}", note])
    return rows


async def streaming(scripts: Path) -> list[list[str]]:
    from prefect import flow, get_run_logger
    from prefect.context import get_run_context
    from prefect_shell import ShellOperation

    from flows.scripts import run_script

    command = [sys.executable, str(scripts / "lines.py")]

    async def raw() -> None:
        process = await asyncio.create_subprocess_exec(*command, stdout=-1, stderr=-1)
        out, _ = await process.communicate()
        get_run_logger().info("%s", out.decode()[-200:])

    @flow
    async def ours() -> str:
        await run_script("lines")
        return str(get_run_context().flow_run.id)

    @flow
    async def raw_flow() -> str:
        await raw()
        return str(get_run_context().flow_run.id)

    @flow
    def prefect_shell_flow() -> str:
        ShellOperation(commands=[" ".join(command)], stream_output=True).run()
        return str(get_run_context().flow_run.id)

    variants: list[tuple[str, Any]] = [
        ("raw capture, logged once", raw_flow),
        ("run_script task (batched records)", ours),
        ("prefect-shell ShellOperation (a record per line)", prefect_shell_flow),
    ]
    measured: dict[str, tuple[float, int]] = {}
    for label, variant in variants:
        base_rss = h.reset_peak_rss()
        started = time.perf_counter()
        result = variant()
        flow_run_id = await result if asyncio.iscoroutine(result) else result
        await _until_last_line_logged(flow_run_id)
        measured[label] = (time.perf_counter() - started, h.rss() - base_rss)
    shell_time = measured[variants[2][0]][0]
    rows = []
    for label, (seconds, growth) in measured.items():
        note = ""
        if label.startswith("run_script"):
            ok = seconds < 2 and growth < 50 * 2**20 and shell_time / seconds >= 10
            note = (
                f"{shell_time / seconds:.1f}x faster than prefect-shell "
                f"(targets < 2 s, < 50 MB, >= 10x) {'PASS' if ok else 'MISS'}"
            )
        rows.append([label, f"{seconds:.2f}", f"{growth / 2**20:.1f}", note])
    return rows


async def _until_last_line_logged(flow_run_id: str, timeout: float = 300) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.client.schemas.sorting import LogSort

    deadline = time.monotonic() + timeout
    text = f"line {LINES - 1} "
    async with get_client() as client:
        while time.monotonic() < deadline:
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])),
                limit=20,
                offset=0,
                sort=LogSort.TIMESTAMP_DESC,
            )
            if any(text in log.message for log in logs):
                return
            await asyncio.sleep(0.05)
    raise TimeoutError("the last line never reached the Prefect API")


async def concurrent_runs() -> list[list[str]]:
    """50 runs of `sleep 0.2` at once, against the same 50 one after another (seconds)."""
    from flows.core.runner import execute_script

    await execute_script("sleep", args=["0"])  # warm-up: the execution log's database
    started = time.perf_counter()
    for _ in range(CONCURRENT):
        await execute_script("sleep", args=[SLEEP])
    serial = time.perf_counter() - started
    started = time.perf_counter()
    await asyncio.gather(*(execute_script("sleep", args=[SLEEP]) for _ in range(CONCURRENT)))
    concurrent = time.perf_counter() - started
    speedup = serial / concurrent
    verdict = "PASS" if speedup >= 10 else "MISS"
    return [
        [f"{CONCURRENT} runs one after another", f"{serial:.2f}", "1.0", "baseline"],
        [
            f"{CONCURRENT} concurrent runs",
            f"{concurrent:.2f}",
            f"{speedup:.1f}",
            f"{speedup:.1f}x faster than serial (target >= 10, ceiling {CONCURRENT}) {verdict}",
        ],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    root = h.isolate("run-script")
    scripts = make_scripts(root)
    import os

    os.environ["REELFLOW_SCRIPTS_DIR"] = str(scripts)
    with h.prefect_server(root):
        calls = asyncio.run(per_call(scripts, args.repeat))
        lines = asyncio.run(streaming(scripts))
        overlap = asyncio.run(concurrent_runs())
    print()
    print(
        h.table(
            f"Per call, {args.repeat} calls each (ms)",
            ["command", "path", "median", "p95", "x raw", "target"],
            calls,
        )
    )
    print()
    print(
        h.table(
            f"{LINES:,} lines streamed into the Prefect API",
            ["path", "seconds to last record", "peak RSS growth MB", "target"],
            lines,
        )
    )
    print()
    print(
        h.table(
            f"{CONCURRENT} concurrent runs of `sleep {SLEEP}` (execute_script, execution log on)",
            ["runs", "seconds", "x serial", "target"],
            overlap,
        )
    )


if __name__ == "__main__":
    main()
