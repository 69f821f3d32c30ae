"""``reelflow script`` and ``reelflow db`` from the command line."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli.main import app
from flows.core.settings import Settings
from tests.conftest import Configure, _truncate
from tests.postgres import run_async

ROOT = Path(__file__).resolve().parents[2]

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_list_shows_each_registered_script(settings: Settings) -> None:
    result = invoke("script", "list")
    assert result.exit_code == 0
    assert "echo" in result.stdout and "disabled" in result.stdout
    assert "shell" in result.stdout and "binary" in result.stdout


def test_run_prints_the_result_as_json(settings: Settings) -> None:
    result = invoke("script", "run", "echo", "--input", '{"a": 1}', "-q", "--", "x", "--y")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["output"]["input"] == {"a": 1}
    assert printed["output"]["args"] == ["x", "--y"]
    assert printed["exit_code"] == 0


def test_run_reads_input_from_a_file(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "in.json").write_text('{"from": "file"}')
    result = invoke("script", "run", "echo", "--input", f"@{tmp_path / 'in.json'}", "-q")
    assert json.loads(result.stdout)["output"]["input"] == {"from": "file"}


def test_run_refuses_input_that_is_not_json(settings: Settings) -> None:
    result = invoke("script", "run", "echo", "--input", "{nope")
    assert result.exit_code == 1
    assert "--input is not valid JSON" in result.stderr


def test_a_failing_script_is_one_clear_line_and_a_nonzero_exit(settings: Settings) -> None:
    result = invoke("script", "run", "fail", "-i", '{"code": 3, "message": "bad prompt"}', "-q")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: fail: exited with code 3: boom: bad prompt"
    )


def test_a_transient_failure_exits_75(settings: Settings) -> None:
    result = invoke("script", "run", "fail", "-i", '{"code": 75}', "-q")
    assert result.exit_code == 75


def test_an_unknown_script_is_named(settings: Settings) -> None:
    result = invoke("script", "run", "nope")
    assert result.exit_code == 1
    assert "nope: not in the registry" in result.stderr


def test_history_pages_and_show_finds_a_run_by_prefix(settings: Settings) -> None:
    for n in range(3):
        invoke("script", "run", "echo", "-i", json.dumps({"n": n}), "-q")
    invoke("script", "run", "hello", "-q")
    listed = invoke("script", "history", "echo", "--limit", "2").stdout.splitlines()
    assert len(listed) == 3 and all("echo" in line for line in listed[1:])
    second_page = invoke("script", "history", "echo", "--limit", "2", "--offset", "2")
    assert len(second_page.stdout.splitlines()) == 2
    prefix = listed[1].split()[0]
    shown = json.loads(invoke("script", "show", prefix).stdout)
    assert shown["script"] == "echo" and shown["status"] == "completed"
    assert shown["input"] == {"n": 2}


def test_db_upgrade_brings_the_database_to_the_newest_migration(settings: Settings) -> None:
    head = sorted(p.name for p in (ROOT / "migrations" / "versions").glob("0*.py"))[-1][:4]
    upgraded = invoke("db", "upgrade")
    assert upgraded.exit_code == 0 and f"is at revision {head}" in upgraded.stdout
    current = invoke("db", "current")
    assert f"database: {head}" in current.stdout and f"code:     {head}" in current.stdout


# --- hardening (issue 11): environment, masking, output contract, timeouts, process trees ----

ENVDUMP = """import json, os, sys
request = json.loads(sys.stdin.read() or "{}")
print("\\n".join(f"{k}={v}" for k, v in sorted(os.environ.items())), file=sys.stderr)
print(json.dumps({"env": dict(os.environ), "input": request, "output": request.get("path")}))
"""
BADOUT = """import json, sys
kind = json.loads(sys.stdin.read())["kind"]
out = sys.stdout.buffer
out.write(b"progress\\n")
if kind == "text":
    out.write(b"done, no JSON here\\n")
elif kind == "bytes":
    out.write(b'{"caf\\xe9": 1}\\n')
else:
    out.write(b'{"pad": "' + b"x" * (1024 * 1024 + 10) + b'"}\\n')
"""
DAEMON = """import json, os, signal, subprocess, sys, time
request = json.loads(sys.stdin.read())
ignore = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
direct = subprocess.Popen([sys.executable, "-c", ignore], start_new_session=True)
read, write = os.pipe()
if os.fork() == 0:  # a daemon: fork, setsid, fork again; init adopts the grandchild
    os.setsid()
    grandchild = os.fork()
    if grandchild == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(600)
    os.write(write, str(grandchild).encode())
    os._exit(0)
daemon = int(os.read(read, 32))
with open(request["pids"] + ".tmp", "w") as f:
    json.dump({"script": os.getpid(), "setsid_child": direct.pid, "daemon": daemon}, f)
os.replace(request["pids"] + ".tmp", request["pids"])
if request.get("exit"):
    print(json.dumps({"ok": True}))
    sys.exit(0)
time.sleep(600)
"""
REGISTRY = """
[scripts.envdump]
runtime = "python"
path = "envdump.py"
timeout = 30
env = ["SERVICE_URL", "SERVICE_API_KEY"]

[scripts.badout]
runtime = "python"
path = "badout.py"
timeout = 30

[scripts.daemon]
runtime = "python"
path = "daemon.py"
timeout = 30
"""


def _scripts(tmp_path: Path) -> Path:
    scripts = tmp_path / "scripts"
    scripts.mkdir(exist_ok=True)
    for name, body in (("envdump", ENVDUMP), ("badout", BADOUT), ("daemon", DAEMON)):
        (scripts / f"{name}.py").write_text(body)
    (scripts / "registry.toml").write_text(REGISTRY)
    return scripts


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_script_gets_a_minimal_environment_and_url_passwords_are_masked(
    configure: Configure, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = "CANARY-db-pw-4711"
    url = postgres_url.replace("://postgres@", f"://postgres:{password}@")
    assert password in url
    run_async(_truncate(postgres_url))
    configure(scripts_dir=_scripts(tmp_path), database_url=url)
    monkeypatch.setenv("UNDECLARED_TOKEN", "tok-CANARY-undeclared-1")
    monkeypatch.setenv("SERVICE_URL", "https://svc:svc-CANARY-pw-2@api.example/v1")
    monkeypatch.setenv("SERVICE_API_KEY", "plainword")  # declared: ours, whatever it looks like
    result = invoke("script", "run", "envdump", "-i", json.dumps({"note": f"uses {url}"}))
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    env = printed["output"]["env"]
    assert "REELFLOW_DATABASE_URL" not in env and "UNDECLARED_TOKEN" not in env
    assert env["PATH"] == os.environ["PATH"] and env["REELFLOW_SCRIPT"] == "envdump"
    assert env["SERVICE_URL"] == "https://svc:***@api.example/v1"
    assert env["SERVICE_API_KEY"] == "***"
    shown = invoke("script", "show", printed["execution_id"]).stdout
    for canary in (password, "svc-CANARY-pw-2", "plainword", "tok-CANARY-undeclared-1"):
        assert canary not in result.stdout + result.stderr, canary
        assert canary not in shown, canary
    assert "postgres:***@127.0.0.1" in shown


def test_masking_never_changes_what_the_pipeline_gets(
    configure: Configure, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(scripts_dir=_scripts(tmp_path))
    monkeypatch.setenv("AWS_KEY_PROFILE", "default")  # a short common word: not a secret
    monkeypatch.setenv("OTHER_API_KEY", "sk-CANARY-looks-like-a-key-9")
    path = str(tmp_path / "output" / "default" / "tiny" / "assets" / "a.png")
    request = {"path": path, "echo": "sk-CANARY-looks-like-a-key-9"}
    result = invoke("script", "run", "envdump", "-q", "-i", json.dumps(request))
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["output"]["output"] == path, "'default' is not masked"
    assert printed["output"]["input"]["echo"] == "***", "a value that looks like a key is"
    shown = json.loads(invoke("script", "show", printed["execution_id"]).stdout)
    assert shown["output"]["output"] == path and shown["status"] == "completed"
    assert "sk-CANARY" not in json.dumps(shown)


def test_key_and_peer_flags_are_masked(settings: Settings) -> None:
    args = ["--key", "k-CANARY-1", "--auth=a-CANARY-2", "--client-secret", "c-CANARY-3",
            "--access-token=t-CANARY-4", "--model", "m1"]  # fmt: skip
    result = invoke("script", "run", "echo", "-q", "--", *args)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    shown = json.loads(invoke("script", "show", printed["execution_id"]).stdout)
    assert shown["args"] == ["--key", "***", "--auth=***", "--client-secret", "***",
                             "--access-token=***", "--model", "m1"]  # fmt: skip
    for canary in ("k-CANARY-1", "a-CANARY-2", "c-CANARY-3", "t-CANARY-4"):
        assert canary not in result.stdout and canary not in json.dumps(shown)


@pytest.mark.parametrize(
    ("kind", "problem"),
    [("text", "is not JSON: 'done, no JSON here'"), ("bytes", "is not UTF-8 (byte 5)"),
     ("huge", "is over 1048576 bytes")],
)  # fmt: skip
def test_a_last_line_that_breaks_the_contract_is_a_script_output_error(
    configure: Configure, tmp_path: Path, kind: str, problem: str
) -> None:
    configure(scripts_dir=_scripts(tmp_path))
    result = invoke("script", "run", "badout", "-q", "-i", json.dumps({"kind": kind}))
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: badout: broke the output contract: its last stdout line {problem}"
    )
    history = invoke("script", "history", "badout").stdout.splitlines()
    assert len(history) == 2 and " failed " in history[1]


def test_stored_input_is_capped_but_the_script_gets_all_of_it(
    configure: Configure, tmp_path: Path
) -> None:
    configure(output_limit_bytes="10000")
    (tmp_path / "big.json").write_text(json.dumps({"text": "x" * 50_000}))
    result = invoke("script", "run", "echo", "-q", "-i", f"@{tmp_path / 'big.json'}")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["output"]["input"] == {"text": "x" * 50_000}, "the script got all of it"
    shown = json.loads(invoke("script", "show", printed["execution_id"]).stdout)
    stored = shown["input"]
    assert isinstance(stored, str) and stored.startswith('{"text": "xxx')
    assert stored.endswith(
        "\n[reelflow: input truncated, 40012 bytes cut; kept the first 10000 of 50012 bytes "
        "of its JSON]"
    )


@pytest.mark.parametrize("value", ["-1", "nan", "0", "inf", "-inf"])
def test_a_timeout_that_is_not_a_positive_finite_number_is_refused(
    settings: Settings, value: str
) -> None:
    result = invoke("script", "run", "echo", "-q", "--timeout", value)
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines() == [
        "error: --timeout: echo: timeout must be a positive number of seconds, "
        f"got {float(value)!r}"
    ]
    assert len(invoke("script", "history").stdout.splitlines()) == 1, "nothing ran"


@pytest.mark.parametrize("exits", [False, True], ids=["timeout", "script-exits"])
def test_setsid_children_and_daemons_do_not_outlive_the_run(
    configure: Configure, tmp_path: Path, exits: bool
) -> None:
    configure(scripts_dir=_scripts(tmp_path), kill_grace_seconds="0.3")
    pids_file = tmp_path / "pids.json"
    request = json.dumps({"pids": str(pids_file), "exit": exits})
    result = invoke("script", "run", "daemon", "-q", "--timeout", "3", "-i", request)
    assert result.exit_code == (0 if exits else 75), result.output
    pids = json.loads(pids_file.read_text())
    deadline = time.monotonic() + 3
    while any(_alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [name for name, pid in pids.items() if _alive(pid)], "survivors"
