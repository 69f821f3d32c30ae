"""The contract every script shares (scripts/_contract.py): exit codes, the one JSON line,
atomic output, child processes that cannot outlive the script, SIGTERM cleanup."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.scripts.conftest import SCRIPTS, leftovers, load_script

contract = load_script("_contract")


def _serve(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    run: Any,
    stdin: str = "{}",
    argv: list[str] | None = None,
) -> tuple[int, dict[str, Any]]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = contract.serve(run, argv or [], "test")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    return code, json.loads(lines[0])


@pytest.mark.parametrize(
    ("error", "code", "kind", "retry_after"),
    [
        (contract.Transient("upstream 503", retry_after=30), 75, "transient", 30),
        (contract.BadInput("missing field 'x'", type="missing_field"), 2, "missing_field", None),
        (contract.Failure("no luck"), 1, "failed", None),
        (RuntimeError("bug\nwith two lines"), 1, "internal_error", None),
    ],
)
def test_errors_map_to_their_exit_code_and_one_json_error_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: Exception,
    code: int,
    kind: str,
    retry_after: float | None,
) -> None:
    def run(request: dict[str, Any], provider: str, model: str | None) -> dict[str, Any]:
        raise error

    exit_code, line = _serve(monkeypatch, capsys, run)
    assert exit_code == code
    assert line["error"]["type"] == kind and line["error"]["retry_after"] == retry_after
    assert "\n" not in line["error"]["message"]


def test_success_prints_the_result_and_passes_provider_and_model(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(request: dict[str, Any], provider: str, model: str | None) -> dict[str, Any]:
        return {"got": request, "provider": provider, "model": model}

    code, line = _serve(monkeypatch, capsys, run, '{"a": 1}', ["--provider", "x", "--model", "m"])
    assert (code, line) == (0, {"got": {"a": 1}, "provider": "x", "model": "m"})


def test_atomic_output_renames_only_when_the_block_completes(tmp_path: Path) -> None:
    final = tmp_path / "sub" / "out.wav"
    with contract.atomic_output(final) as temp:
        assert temp.parent == final.parent and temp.suffix == ".wav" and ".tmp-" in temp.name
        temp.write_bytes(b"done")
    assert final.read_bytes() == b"done"
    with pytest.raises(RuntimeError), contract.atomic_output(final) as temp:
        temp.write_bytes(b"half")
        raise RuntimeError("failed half way")
    assert final.read_bytes() == b"done", "the previous file is untouched"
    assert leftovers(final.parent) == []


def test_run_tool_gives_the_child_a_parent_death_signal_and_reports_stderr() -> None:
    probe = (
        "import ctypes, sys; v = ctypes.c_int(); "
        "ctypes.CDLL(None).prctl(2, ctypes.byref(v)); sys.stderr.write(str(v.value))"
    )
    assert contract.run_tool([sys.executable, "-c", probe]) == str(int(signal.SIGKILL))
    failing = "import sys; sys.stderr.write('first\\nthe real reason\\n'); sys.exit(3)"
    with pytest.raises(contract.Failure, match="exited 3: first | the real reason"):
        contract.run_tool([sys.executable, "-c", failing], what="tool")


def test_sigterm_stops_the_script_and_its_ffmpeg_and_removes_the_temp_file(
    tmp_path: Path,
) -> None:
    from PIL import Image

    image = tmp_path / "still.png"
    Image.new("RGB", (64, 36), (90, 120, 200)).save(image)
    request = {
        "image": str(image),
        "motion": "zoom in",
        "duration": 120,
        "width": 1280,
        "height": 720,
        "fps": 30,
        "output": str(tmp_path / "long.mp4"),
    }
    process = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "generate_video.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps(request))
    process.stdin.close()
    deadline = time.monotonic() + 20
    while not leftovers(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert leftovers(tmp_path), "ffmpeg started writing its temp file"
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)
    assert process.stdout is not None
    out = process.stdout.read()
    assert process.returncode == 128 + signal.SIGTERM
    assert json.loads(out.strip().splitlines()[-1])["error"]["type"] == "terminated"
    assert leftovers(tmp_path) == [] and not (tmp_path / "long.mp4").exists()
