"""execute_script with real processes: every behaviour of the runner's contract."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.core import executions, store
from flows.core.errors import (
    OutputLimitExceeded,
    ScriptDisabled,
    ScriptError,
    ScriptFailed,
    ScriptNotFound,
    ScriptOutputError,
    ScriptTimeout,
)
from flows.core.runner import RunContext, execute_script
from flows.core.settings import Settings
from tests.conftest import PROJECT_ROOT, Configure


async def _row(execution_id: str):
    async with store.session_scope() as session:
        return await executions.get_execution(session=session, id=execution_id)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def _wait_for_file(path: Path, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        await asyncio.sleep(0.05)
    return json.loads(path.read_text())


async def _gone(pids: list[int], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def test_json_in_and_out_with_args_env_and_cwd(settings: Settings, tmp_path: Path) -> None:
    result = await execute_script(
        "echo",
        input={"scene": 1, "text": "héllo"},
        args=["--flag", "value with spaces; rm -rf /"],
        env={"ECHO_CUSTOM": "custom-value"},
        cwd=tmp_path,
    )
    assert result.output["input"] == {"scene": 1, "text": "héllo"}
    assert result.output["args"] == ["--flag", "value with spaces; rm -rf /"]
    assert result.output["cwd"] == str(tmp_path)
    assert result.output["custom"] == "custom-value"
    assert result.output["script"] == "echo"
    assert result.output["execution_id"] == result.execution_id
    assert "echo starting" in result.stderr


async def test_each_run_is_recorded_in_the_execution_log(settings: Settings) -> None:
    context = RunContext(label="assets/scene-1", flow_run_id="f" * 36)
    result = await execute_script("echo", input={"a": 1}, args=["x"], context=context)
    row = await _row(result.execution_id)
    assert row.status == "completed"
    assert row.script == "echo"
    assert row.input == {"a": 1}
    assert row.args == ["x"]
    assert row.output == result.output
    assert row.exit_code == 0
    assert row.duration_ms > 0
    assert row.completed_at >= row.started_at
    assert row.label == "assets/scene-1"
    assert row.flow_run_id == "f" * 36
    assert '"execution_id"' in row.stdout


async def test_unknown_script_is_refused_and_names_the_known_ones(settings: Settings) -> None:
    with pytest.raises(ScriptNotFound, match="nope: not in the registry .registered: .*echo"):
        await execute_script("nope")


async def test_disabled_script_is_refused(settings: Settings) -> None:
    with pytest.raises(ScriptDisabled, match="disabled"):
        await execute_script("disabled")


async def test_permanent_failure_carries_exit_code_stderr_and_message(settings: Settings) -> None:
    with pytest.raises(ScriptFailed) as caught:
        await execute_script("fail", input={"code": 3, "message": "bad prompt"})
    error = caught.value
    assert (error.script, error.exit_code, error.transient) == ("fail", 3, False)
    assert "something went wrong on stderr" in error.stderr
    assert "bad prompt" in str(error)
    row = await _row(error.execution_id)
    assert (row.status, row.exit_code) == ("failed", 3)
    assert "bad prompt" in row.error


async def test_exit_75_is_a_transient_failure_with_retry_after(settings: Settings) -> None:
    with pytest.raises(ScriptFailed) as caught:
        await execute_script("fail", input={"code": 75, "message": "429", "retry_after": 12})
    assert caught.value.transient is True
    assert caught.value.retry_after == 12


async def test_shell_and_binary_runtimes(settings: Settings) -> None:
    shell = await execute_script("sleep", args=["0"])
    binary = await execute_script("hello", args=["a", "b"])
    assert shell.output == {"slept": True}
    assert binary.output == {"hello": True}
    assert "hello from a binary: a b" in binary.stdout


async def test_timeout_kills_the_whole_process_group(configure: Configure, tmp_path: Path) -> None:
    configure(kill_grace_seconds="0.5")
    pids_file = tmp_path / "pids.json"
    started = time.monotonic()
    with pytest.raises(ScriptTimeout) as caught:
        await execute_script("tree", input={"pids": str(pids_file)}, timeout=1.5)
    assert caught.value.transient is True
    assert time.monotonic() - started < 5
    pids = json.loads(pids_file.read_text())
    assert await _gone([pids["script"], pids["grandchild"]], timeout=2)
    assert (await _row(caught.value.execution_id)).status == "timeout"


async def test_cancelling_the_task_kills_the_group_and_records_it(
    configure: Configure, tmp_path: Path
) -> None:
    configure(kill_grace_seconds="0.5")
    pids_file = tmp_path / "pids.json"
    run = asyncio.create_task(execute_script("tree", input={"pids": str(pids_file)}))
    pids = await _wait_for_file(pids_file)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert await _gone([pids["script"], pids["grandchild"]], timeout=3)
    async with store.session_scope() as session:
        rows = await executions.list_executions(session=session, script="tree")
    assert rows[0].status == "cancelled"


async def test_fifty_thousand_lines_stream_in_batches(settings: Settings) -> None:
    records: list[tuple[str, str]] = []
    started = time.perf_counter()
    result = await execute_script(
        "lines", input={"count": 50_000}, log=lambda stream, text: records.append((stream, text))
    )
    elapsed = time.perf_counter() - started
    lines = [line for stream, text in records if stream == "stdout" for line in text.split("\n")]
    assert lines[0].startswith("line 0 ") and lines[49_999].startswith("line 49999 ")
    assert len(records) <= 60, "one record per line would be 50,000 records"
    assert result.output == {"count": 50_000}
    assert elapsed < 5


async def test_output_over_the_cap_is_truncated_with_a_marker(configure: Configure) -> None:
    configure(output_limit_bytes="10000")
    result = await execute_script("lines", input={"count": 2000})
    assert "[reelflow: output truncated" in result.stdout
    assert len(result.stdout.encode()) < 10_200
    assert result.output == {"count": 2000}, "the JSON result line survives the cap"


async def test_output_over_the_cap_fails_under_the_fail_strategy(configure: Configure) -> None:
    configure(output_limit_bytes="10000", output_strategy="fail")
    with pytest.raises(OutputLimitExceeded) as caught:
        await execute_script("lines", input={"count": 200_000})
    assert (await _row(caught.value.execution_id)).status == "failed"


async def test_output_over_the_cap_spills_the_rest_to_a_file(configure: Configure) -> None:
    configure(output_limit_bytes="10000", output_strategy="spill")
    result = await execute_script("lines", input={"count": 2000, "width": 10})
    assert result.stdout_spill is not None
    kept = result.stdout.split("\n[reelflow:")[0]
    whole = kept + result.stdout_spill.read_text()
    assert whole.count("\n") == 2001 and whole.startswith("line 0 ")
    assert (await _row(result.execution_id)).stdout_spill == str(result.stdout_spill)


async def test_bytes_that_are_not_utf8_are_replaced(settings: Settings) -> None:
    result = await execute_script("bytes")
    assert "caf\ufffd" in result.stdout
    assert "\ufffd\ufffd bad bytes" in result.stderr
    assert result.output == {"ok": True}


async def test_secrets_never_reach_logs_or_records(settings: Settings) -> None:
    secret, token = "sk-live-CANARY-123456", "tok-CANARY-abcdef"
    records: list[str] = []
    result = await execute_script(
        "echo",
        input={"api_key": "input-CANARY-999", "prompt": f"uses {secret}"},
        args=["--api-key", token, "--token=eq-CANARY-777"],
        env={"ECHO_API_KEY": secret},
        log=lambda stream, text: records.append(text),
    )
    row = await _row(result.execution_id)
    stored = json.dumps([row.input, row.args, row.output, row.stdout, row.stderr])
    for canary in (secret, token, "eq-CANARY-777", "input-CANARY-999"):
        assert canary not in "\n".join(records)
        assert canary not in stored
    assert row.args == ["--api-key", "***", "--token=***"]
    assert row.output["secret_seen"] == "***", "stored masked"
    assert result.output["secret_seen"] == secret, "the pipeline gets what the script said"
    assert result.recorded_output["secret_seen"] == "***"


async def test_fifty_concurrent_runs_overlap(configure: Configure, tmp_path: Path) -> None:
    """Each run checks in, waits until all 50 have (or a shared deadline passes), and reports
    when it started and ended: runs one at a time would never all meet. No wall-time bound;
    the timing is in bench/run_script.py."""
    scripts, arrived = tmp_path / "scripts", tmp_path / "arrived"
    scripts.mkdir()
    arrived.mkdir()
    (scripts / "registry.toml").write_text(
        '[scripts.meet]\nruntime = "python"\npath = "meet.py"\ntimeout = 60\n'
    )
    (scripts / "meet.py").write_text(
        "import json, os, sys, time\n"
        "start = time.time()\n"
        "folder, count, deadline = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])\n"
        "open(os.path.join(folder, str(os.getpid())), 'w').close()\n"
        "while len(os.listdir(folder)) < count and time.time() < deadline:\n"
        "    time.sleep(0.02)\n"
        "print(json.dumps({'start': start, 'end': time.time(), 'seen': len(os.listdir(folder))}))\n"
    )
    configure(scripts_dir=scripts)
    args = [str(arrived), "50", str(time.time() + 30)]  # serial runs: one 30 s wait, then fail
    results = await asyncio.gather(*(execute_script("meet", args=args) for _ in range(50)))
    assert [r.output["seen"] for r in results] == [50] * 50
    assert max(r.output["start"] for r in results) < min(r.output["end"] for r in results)
    assert len({r.execution_id for r in results}) == 50


async def test_python_venv_is_built_once_and_reused(settings: Settings) -> None:
    first, second = await asyncio.gather(execute_script("venv_probe"), execute_script("venv_probe"))
    venvs = [p for p in settings.venvs_dir.iterdir() if p.is_dir()]
    assert len(venvs) == 1
    assert first.output["prefix"] == second.output["prefix"] == str(venvs[0])
    assert first.output["prefix"] != sys.prefix


async def test_python_venv_is_rebuilt_when_requirements_change(
    configure: Configure, tmp_path: Path
) -> None:
    scripts = _copy_scripts(tmp_path)
    settings = configure(scripts_dir=scripts)
    requirements = scripts / "requirements" / "probe.txt"
    before = (await execute_script("venv_probe")).output["prefix"]
    requirements.write_text("# changed requirements\n")
    after = (await execute_script("venv_probe")).output["prefix"]
    assert before != after
    assert {Path(before).name, Path(after).name} <= {p.name for p in settings.venvs_dir.iterdir()}


async def test_a_failed_venv_build_reports_pip_output(configure: Configure, tmp_path: Path) -> None:
    scripts = _copy_scripts(tmp_path)
    configure(scripts_dir=scripts)
    (scripts / "requirements" / "probe.txt").write_text("this is not a requirement!!\n")
    with pytest.raises(Exception, match="could not build its virtualenv") as caught:
        await execute_script("venv_probe")
    assert "pip" in str(caught.value)


def _copy_scripts(tmp_path: Path) -> Path:
    import shutil

    from tests.conftest import TEST_SCRIPTS

    target = tmp_path / "scripts"
    shutil.copytree(TEST_SCRIPTS, target)
    return target


def _start_driver(pids_file: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "REELFLOW_KILL_GRACE_SECONDS": "0.5"}
    return subprocess.Popen(
        [
            sys.executable,
            str(PROJECT_ROOT / "tests/fixtures/drive_runner.py"),
            "tree",
            json.dumps({"pids": str(pids_file), "ignore_term": True}),
            *extra,
        ],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
    )


async def test_sigterm_to_the_process_kills_its_script_groups(
    settings: Settings, tmp_path: Path
) -> None:
    pids_file = tmp_path / "pids.json"
    driver = _start_driver(pids_file, "survive-sigterm")
    try:
        pids = await _wait_for_file(pids_file)
        driver.send_signal(signal.SIGTERM)
        assert await _gone([pids["script"], pids["grandchild"]], timeout=5)
        assert driver.poll() is None, "the groups died by the handler, not with the process"
        assert driver.stdout is not None
        reports = [json.loads(driver.stdout.readline()) for _ in range(2)]
        assert {"sigterm": True} in reports, "the previous handler was still called"
        assert any(r.get("error") == "ScriptCancelled" for r in reports)
    finally:
        driver.kill()
        driver.wait()


async def test_sigkill_of_the_process_still_kills_its_script_groups(
    settings: Settings, tmp_path: Path
) -> None:
    pids_file = tmp_path / "pids.json"
    driver = _start_driver(pids_file)
    pids = await _wait_for_file(pids_file)
    driver.kill()
    driver.wait(timeout=10)
    assert await _gone([pids["script"], pids["grandchild"]], timeout=5)


async def test_nul_in_a_scripts_output_is_stored_replaced(database_url: str) -> None:
    """Issue 11: PostgreSQL text and JSONB cannot hold NUL; the run still ends completed."""
    result = await execute_script("nul")
    assert "before\x00after" in result.stderr  # the caller gets what the script wrote
    row = await _row(result.execution_id)
    assert row.status == "completed"
    assert row.exit_code == 0
    assert "before\ufffdafter on stderr" in row.stderr
    assert "nul\ufffdon stdout" in row.stdout
    assert row.output == {"text": "a\ufffdb", "nested": [{"k\ufffd": "v\ufffd"}]}
    assert "\x00" not in row.stdout + row.stderr


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf")])
async def test_a_timeout_must_be_positive_and_finite(settings: Settings, timeout: float) -> None:
    with pytest.raises(ScriptError, match=f"positive number of seconds, got {timeout!r}"):
        await execute_script("echo", timeout=timeout)


async def test_exit_0_with_a_last_line_that_is_not_json_is_recorded_failed(
    configure: Configure, database_url: str, tmp_path: Path
) -> None:
    scripts = _copy_scripts(tmp_path)
    (scripts / "echo.py").write_text("print('{\"almost\": json')\n")
    configure(scripts_dir=scripts, database_url=database_url)
    with pytest.raises(ScriptOutputError, match="echo: broke the output contract: its last"):
        await execute_script("echo")
    async with store.session_scope() as session:
        [row] = await executions.list_executions(session=session, script="echo")
    assert (row.status, row.exit_code, row.output) == ("failed", 0, None)
    assert "is not JSON" in (row.error or "")


async def test_the_result_is_the_scripts_own_and_only_the_record_is_masked(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_KEY_PROFILE", "default")
    result = await execute_script("echo", input={"path": "out/default/a.png", "k": "sk-CANARY-42x"},
                                  args=["--key", "sk-CANARY-42x"])  # fmt: skip
    assert result.output["input"] == {"path": "out/default/a.png", "k": "sk-CANARY-42x"}
    row = await _row(result.execution_id)
    assert row.output["input"] == {"path": "out/default/a.png", "k": "***"}
    assert result.recorded_output == row.output and "sk-CANARY-42x" not in row.stdout
