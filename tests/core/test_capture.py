"""The output cap of a stream: head and tail kept by default, secrets masked before any cut."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flows.core import executions, store
from flows.core.capture import LOOKAHEAD, Capture
from flows.core.errors import OutputLimitExceeded
from flows.core.models import ScriptExecution
from flows.core.redact import Redactor
from flows.core.runner import execute_script
from flows.core.settings import OutputStrategy, Settings
from tests.conftest import Configure

SECRET = "QZ7-ghost-K3Y-9xq-CANARY"
MARKER = re.compile(
    r"\n\[reelflow: output truncated, (\d+) bytes cut here; kept the first (\d+) and the last "
    r"(\d+) bytes\]\n"
)


def _capture(
    tmp_path: Path,
    limit: int,
    strategy: OutputStrategy = "head_tail",
    *,
    secrets: tuple[str, ...] = (),
    sink: list[tuple[str, str]] | None = None,
) -> Capture:
    return Capture(
        "stdout",
        sink=None if sink is None else lambda stream, text: sink.append((stream, text)),
        redactor=Redactor(secrets),
        limit=limit,
        strategy=strategy,
        spill_path=tmp_path / "spill.log",
        batch_lines=1000,
        batch_seconds=0.5,
        on_exceeded=lambda: None,
    )


def _feed(capture: Capture, data: bytes, size: int) -> None:
    for start in range(0, len(data), size):
        capture.feed(data[start : start + size])
    capture.close()


def _lines_script_output(count: int, width: int = 40) -> bytes:
    pad = "x" * width
    body = "".join(f"line {i} {pad}\n" for i in range(count))
    return (body + f'{{"count": {count}}}\n').encode()


def test_head_tail_is_the_default_strategy(settings: Settings) -> None:
    assert settings.output_strategy == "head_tail"


async def test_a_big_output_keeps_its_first_and_last_half_and_says_how_much_was_cut(
    configure: Configure,
) -> None:
    configure(output_limit_bytes="10000")
    result = await execute_script("lines", input={"count": 2000})
    whole = _lines_script_output(2000)
    found = MARKER.search(result.stdout)
    assert found, result.stdout[4900:5200]
    cut, head, tail = map(int, found.groups())
    assert (head, tail) == (5000, 5000) and cut == len(whole) - 10_000
    before, after = result.stdout[: found.start()], result.stdout[found.end() :]
    assert before.encode() == whole[:5000]
    assert after.encode() == whole[-5000:]
    assert after.rstrip().endswith('{"count": 2000}') and "line 1999 " in after
    assert result.output == {"count": 2000}, "the JSON result line survives the cap"
    row = await _row(result.execution_id)
    assert row.stdout == result.stdout


async def test_stderr_keeps_its_tail_too_so_a_failure_shows_its_last_words(
    configure: Configure,
) -> None:
    configure(output_limit_bytes="4000")
    result = await execute_script("lines", input={"count": 3000, "stream": "stderr"})
    assert "line 0 " in result.stderr and "line 2999 " in result.stderr
    assert "line 1500 " not in result.stderr
    assert len(result.stderr.encode()) < 4000 + 200


async def test_truncate_fail_and_spill_still_behave(configure: Configure) -> None:
    configure(output_limit_bytes="10000", output_strategy="truncate")
    truncated = await execute_script("lines", input={"count": 2000})
    assert "bytes dropped]" in truncated.stdout and "line 1999 " not in truncated.stdout
    configure(output_limit_bytes="10000", output_strategy="spill")
    spilled = await execute_script("lines", input={"count": 2000, "width": 10})
    assert spilled.stdout_spill is not None
    kept = spilled.stdout.split("\n[reelflow:")[0]
    assert (kept + spilled.stdout_spill.read_text()).count("\n") == 2001
    configure(output_limit_bytes="10000", output_strategy="fail")
    with pytest.raises(OutputLimitExceeded):
        await execute_script("lines", input={"count": 200_000})


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_within_the_cap_everything_is_kept_whatever_the_chunks(tmp_path: Path, chunk: int) -> None:
    limit = 2 * LOOKAHEAD + 10_000  # past the head's look-ahead: the rest comes from the tail
    data = (b"0123456789abcdef\n" * (limit // 17))[:limit]
    capture = _capture(tmp_path, limit)
    _feed(capture, data, chunk)
    assert not capture.truncated and capture.text().encode() == data


@pytest.mark.parametrize("strategy", ["head_tail", "truncate"])
def test_a_secret_straddling_a_cut_is_masked_not_halved(
    tmp_path: Path, strategy: OutputStrategy
) -> None:
    limit = 1000
    head_cut = 500 if strategy == "head_tail" else 1000
    data = bytearray(b"a" * 5000)
    for cut in (head_cut, 5000 - 500):  # the head's end, and the tail's start
        at = cut - len(SECRET) // 2
        data[at : at + len(SECRET)] = SECRET.encode()
    capture = _capture(tmp_path, limit, strategy, secrets=(SECRET,))
    _feed(capture, bytes(data), 333)
    text = capture.text()
    pieces = {SECRET[i : i + 5] for i in range(len(SECRET) - 4)}
    assert not [p for p in pieces if p in text], text
    assert "*" in text


async def test_the_log_gets_the_head_a_marker_and_then_the_tail(tmp_path: Path) -> None:
    records: list[tuple[str, str]] = []
    capture = _capture(tmp_path, 1000, secrets=(SECRET,), sink=records)
    lines = [f"line {i} {SECRET if i == 199 else 'y' * 20}" for i in range(200)]
    data = ("\n".join(lines) + "\n").encode()
    _feed(capture, data, 64)
    logged = "\n".join(text for _, text in records)
    assert logged.startswith("line 0 ") and "passed 1000 bytes" in logged
    assert "bytes cut; its last 500 bytes:" in logged
    assert logged.rstrip().endswith("line 199 ***")
    assert SECRET not in logged


def test_a_cut_never_splits_a_character(tmp_path: Path) -> None:
    data = "é€😀".encode() * 2000
    capture = _capture(tmp_path, 1001)
    _feed(capture, data, 5)
    text = capture.text()
    assert "\ufffd" not in text
    found = MARKER.search(text)
    assert found is not None
    assert len(text[: found.start()].encode()) <= 500
    assert len(text[found.end() :].encode()) <= 501
    assert capture.last_line().endswith("😀")


async def _row(execution_id: str) -> ScriptExecution:
    async with store.session_scope() as session:
        return await executions.get_execution(session=session, id=execution_id)


# --- spill: the file is masked as it is written -------------------------------------------

SPILL_SCRIPT = """\
import os, sys, time
key = os.environ["PROVIDER_API_KEY"]
half = len(key) // 2
out = sys.stdout
for i in range(int(sys.argv[1])):
    out.write(f"row {i} key={key};\\n")
for i in range(int(sys.argv[2])):  # the key cut across two reads of the pipe
    out.write(f"split {i} key={key[:half]}")
    out.flush()
    time.sleep(0.05)
    out.write(f"{key[half:]};\\n")
    out.flush()
print('{"done": true}')
"""


def _spill_expected(whole: int, split: int) -> str:
    rows = "".join(f"row {i} key={SECRET};\n" for i in range(whole))
    splits = "".join(f"split {i} key={SECRET};\n" for i in range(split))
    return rows + splits + '{"done": true}\n'


def _pieces_of(secret: str) -> set[str]:
    return {secret[i : i + 8] for i in range(len(secret) - 7)}


async def test_a_spill_file_masks_a_secret_even_cut_across_reads(
    configure: Configure, tmp_path: Path
) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "registry.toml").write_text(
        '[scripts.leaky]\nruntime = "python"\npath = "leaky.py"\ntimeout = 60\n'
    )
    (scripts / "leaky.py").write_text(SPILL_SCRIPT)
    configure(scripts_dir=scripts, output_limit_bytes="2000", output_strategy="spill")
    records: list[str] = []
    result = await execute_script(
        "leaky",
        args=["2000", "6"],
        env={"PROVIDER_API_KEY": SECRET},
        log=lambda stream, text: records.append(text),
    )
    assert result.output == {"done": True} and result.stdout_spill is not None
    spilled = result.stdout_spill.read_bytes().decode()
    assert "key=***;" in spilled and "split 5 key=***;\n" in spilled
    for piece in _pieces_of(SECRET):
        assert piece not in spilled
        assert piece not in result.stdout and piece not in "\n".join(records)
    kept = result.stdout.split("\n[reelflow:")[0]
    assert kept + spilled == _spill_expected(2000, 6).replace(SECRET, "***")
    row = await _row(result.execution_id)
    assert row.stdout == result.stdout and SECRET not in row.stdout


@pytest.mark.parametrize("chunk", [1, 7, 333, 1 << 16])
@pytest.mark.parametrize("offset", [0, 1, len(SECRET) // 2, len(SECRET) - 1, len(SECRET)])
def test_a_spill_file_and_its_head_are_the_whole_stream_masked(
    tmp_path: Path, chunk: int, offset: int
) -> None:
    """Secrets everywhere, one straddling the cap by ``offset`` bytes, whatever the chunks."""
    limit = 1000
    filler = "é-text-" * 40  # multi-byte characters at the cut, too
    before = filler.encode()[: limit - offset - 3].decode("utf-8", errors="ignore")
    head = f"{SECRET}:" + before[len(SECRET) + 1 :]
    at_cap = head + "." * (limit - offset - len(head.encode()))
    data = at_cap + SECRET + "".join(f"\n{i} {SECRET}{SECRET} {filler}" for i in range(300))
    assert data.encode()[limit - offset : limit - offset + len(SECRET)] == SECRET.encode()
    capture = _capture(tmp_path, limit, "spill", secrets=(SECRET,))
    _feed(capture, data.encode(), chunk)
    assert capture.spilled is not None
    spilled = capture.spilled.read_bytes()
    kept = capture.text().split("\n[reelflow:")[0]
    assert (kept.encode() + spilled).decode() == data.replace(SECRET, "***")
    for piece in _pieces_of(SECRET):
        assert piece.encode() not in spilled and piece not in kept
    assert len(kept.encode()) <= limit


def test_a_spill_cut_never_splits_a_character(tmp_path: Path) -> None:
    data = "é€😀".encode() * 2000
    capture = _capture(tmp_path, 1001, "spill")
    _feed(capture, data, 5)
    assert capture.spilled is not None
    kept = capture.text().split("\n[reelflow:")[0]
    assert "\ufffd" not in kept and len(kept.encode()) <= 1001
    assert kept.encode() + capture.spilled.read_bytes() == data


@pytest.mark.parametrize("strategy", ["head_tail", "truncate", "spill", "fail"])
async def test_the_log_masks_a_secret_straddling_the_cap_whole(
    tmp_path: Path, strategy: OutputStrategy
) -> None:
    records: list[tuple[str, str]] = []
    capture = _capture(tmp_path, 1000, strategy, secrets=(SECRET,), sink=records)
    data = ("a" * 990 + SECRET + "\n" + "b" * 3000).encode()
    _feed(capture, data, 7)
    logged = "\n".join(text for _, text in records)
    assert not [p for p in _pieces_of(SECRET) if p in logged], logged
    assert ("a" * 990 + "***") in logged
