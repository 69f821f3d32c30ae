"""``execute_script``: the only code in Reelflow that starts a script process.

A run: look the script up in the registry, record it as running, start it in a process
group of its own with JSON on stdin, stream its output in batches, enforce its timeout and
output cap, record how it ended, and return the parsed result or raise a ScriptError.

The two records are written behind (``store.write_later``): queued, then committed in short
batched transactions off the script's critical path, the way seed 002 batches its log
writes. No transaction stays open while a script runs, and any session on the same loop
sees the records.

A script gets a minimal environment, never this process's whole one (which holds the
database URL and its password): the basics a program needs (``BASE_ENV``, ``LC_*``,
``PYTHON*``), the variables of the scripts' contract (``CONTRACT_ENV``), the names its
registry entry lists in ``env``, and what the caller passes (a channel's provider keys).

What is stored and logged is masked (``flows.core.redact`` has the rule); the parsed result
returned to the caller is the script's own.

The contract with scripts is in ``scripts/README.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import signal
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.core import executions
from flows.core.capture import Capture, LogSink
from flows.core.errors import (
    OutputLimitExceeded,
    ScriptCancelled,
    ScriptError,
    ScriptFailed,
    ScriptOutputError,
    ScriptTimeout,
)
from flows.core.process import Child
from flows.core.reaper import live_groups
from flows.core.redact import Redactor, is_secret_name
from flows.core.registry import ScriptSpec, load_registry
from flows.core.settings import OutputStrategy, Settings, get_settings
from flows.core.venvs import ensure_venv

__all__ = [
    "BASE_ENV",
    "CONTRACT_ENV",
    "RunContext",
    "ScriptResult",
    "check_timeout",
    "execute_script",
]

BASE_ENV = frozenset(
    {"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "LANGUAGE", "TZ", "TMPDIR",
     "TEMP", "TMP", "LD_LIBRARY_PATH", "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTP_PROXY",
     "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
     "no_proxy",
     "REELFLOW_TEST_SKIP_SLEEP"}  # the test suite's wrapped scripts (tests/factories.py)
)  # fmt: skip
BASE_PREFIXES = ("LC_", "PYTHON")  # the locale, how the interpreter runs
CONTRACT_ENV = frozenset(  # what every script may read (scripts/README.md, "environment")
    {"REELFLOW_FFMPEG", "REELFLOW_PRICES", "REELFLOW_HTTP_CONNECT_TIMEOUT",
     "REELFLOW_HTTP_READ_TIMEOUT"}
)  # fmt: skip
RESULT_LINE_LIMIT = 1024 * 1024  # bytes: a longer last line breaks the output contract


@dataclass(frozen=True)
class RunContext:
    """Where a run belongs, recorded with it in the execution log."""

    video_id: int | None = None
    label: str | None = None
    flow_run_id: str | None = None
    task_run_id: str | None = None
    requested_by: str | None = None  # who asked for a trial run (a person, or a creator)


@dataclass(frozen=True)
class ScriptResult:
    """A successful run. ``output`` is stdout's last non-empty line parsed as JSON (None when
    stdout was empty), exactly as the script wrote it; ``recorded_output`` is the same with
    secrets masked, as stored and logged. ``stdout`` and ``stderr`` are masked."""

    execution_id: str
    script: str
    exit_code: int
    output: Any
    stdout: str
    stderr: str
    duration_ms: float
    stdout_spill: Path | None = None
    stderr_spill: Path | None = None
    recorded_output: Any = None


def check_timeout(name: str, timeout: float | None) -> float | None:
    """``timeout`` if it is a positive, finite number of seconds (or None); else ScriptError."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise ScriptError(f"timeout must be a number of seconds, got {timeout!r}", script=name)
    if not math.isfinite(timeout) or timeout <= 0:
        raise ScriptError(
            f"timeout must be a positive number of seconds, got {timeout!r}", script=name
        )
    return float(timeout)


async def execute_script(
    name: str,
    *,
    input: Any = None,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
    log: LogSink | None = None,
    output_limit: int | None = None,
    output_strategy: OutputStrategy | None = None,
    context: RunContext | None = None,
    record: bool = True,
    settings: Settings | None = None,
    secrets: Sequence[str] = (),
) -> ScriptResult:
    """Run the registered script ``name`` and return its result.

    Raises ScriptNotFound, ScriptDisabled, ScriptEnvError, ScriptFailed (``transient`` when
    it exited 75), ScriptTimeout, OutputLimitExceeded or ScriptCancelled; asyncio
    cancellation kills the process group, records the run as cancelled and propagates.
    ``timeout`` must be positive and finite (ScriptError otherwise); ``secrets`` are more
    values to mask (Prefect's key from a profile).
    """
    timeout = check_timeout(name, timeout)
    settings = settings or get_settings()
    spec = load_registry(settings.scripts_dir).get(name)
    command = [*await _interpreter(spec, settings), str(spec.path), *args]
    run_env = _environment(spec, env)
    redactor = Redactor.for_run(
        run_env,
        args,
        input,
        credentials=[n for n in (*spec.env, *(env or {})) if is_secret_name(n)],
        ambient=os.environ,
        urls=(settings.database_url, settings.locks_url),
        extra=secrets,
    )
    payload = None if input is None else json.dumps(input).encode()
    limit = output_limit or settings.output_limit_bytes
    execution_id = str(uuid.uuid4())
    run_env["REELFLOW_EXECUTION_ID"] = execution_id
    context = context or RunContext()
    log_book = executions.execution_log(settings.database_url) if record else None
    if log_book is not None:
        await log_book.started(
            id=execution_id,
            script=name,
            input=executions.capped_input(redactor.data(input), limit),
            args=redactor.args(args),
            video_id=context.video_id,
            label=context.label,
            flow_run_id=context.flow_run_id,
            task_run_id=context.task_run_id,
            requested_by=context.requested_by,
        )
    run = _Run(spec, execution_id, redactor, settings, log, output_limit, output_strategy)
    outcome = await run.start(command, run_env, cwd, payload, timeout or spec.timeout)
    if log_book is not None:
        await log_book.finished(id=execution_id, **outcome.record)
    if outcome.error is not None:
        raise outcome.error
    if outcome.cancelled:
        raise asyncio.CancelledError
    return outcome.result()


async def _interpreter(spec: ScriptSpec, settings: Settings) -> list[str]:
    if spec.runtime == "shell":
        return ["bash"]
    if spec.runtime == "binary":
        return []
    if spec.requirements is not None:
        return [str(await ensure_venv(spec.name, spec.requirements, settings.venvs_dir))]
    return [str(settings.python or sys.executable)]


def _environment(spec: ScriptSpec, env: Mapping[str, str] | None) -> dict[str, str]:
    """The script's environment: the basics, the contract's, its entry's, the caller's."""
    run_env = {name: value for name, value in os.environ.items() if _passed(name, spec)}
    run_env.update(env or {})
    run_env["REELFLOW_SCRIPT"] = spec.name
    if spec.runtime == "python":
        run_env["PYTHONUNBUFFERED"] = "1"
    return run_env


def _passed(name: str, spec: ScriptSpec) -> bool:
    if name in BASE_ENV or name in CONTRACT_ENV or name in spec.env:
        return True
    return name.startswith(BASE_PREFIXES) and not is_secret_name(name)


@dataclass
class _Outcome:
    record: dict[str, Any]
    error: ScriptError | None = None
    cancelled: bool = False
    success: ScriptResult | None = None

    def result(self) -> ScriptResult:
        assert self.success is not None
        return self.success


class _Run:
    """One process: start, stream, wait, stop; turns how it ended into an _Outcome."""

    def __init__(
        self,
        spec: ScriptSpec,
        execution_id: str,
        redactor: Redactor,
        settings: Settings,
        log: LogSink | None,
        limit: int | None,
        strategy: OutputStrategy | None,
    ) -> None:
        self.spec = spec
        self.execution_id = execution_id
        self.redactor = redactor
        self.grace = settings.kill_grace_seconds
        self.limit = limit or settings.output_limit_bytes
        self.strategy: OutputStrategy = strategy or settings.output_strategy
        self.limit_hit: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.captures = {
            stream: Capture(
                stream,
                sink=log,
                redactor=redactor,
                limit=self.limit,
                strategy=self.strategy,
                spill_path=settings.spill_dir / f"{execution_id}.{stream}.log",
                batch_lines=settings.log_batch_lines,
                batch_seconds=settings.log_batch_seconds,
                on_exceeded=self._exceeded,
            )
            for stream in ("stdout", "stderr")
        }

    def _exceeded(self) -> None:
        if not self.limit_hit.done():
            self.limit_hit.set_result(None)

    async def start(
        self,
        command: list[str],
        env: dict[str, str],
        cwd: Path | None,
        payload: bytes | None,
        timeout: float,
    ) -> _Outcome:
        started = time.perf_counter()
        try:
            child = Child(
                command,
                env=env,
                cwd=cwd,
                payload=payload,
                on_stdout=self.captures["stdout"].feed,
                on_stderr=self.captures["stderr"].feed,
                marker=f"REELFLOW_EXECUTION_ID={self.execution_id}",
            )
        except OSError as exc:
            error = ScriptFailed(self.spec.name, -1, f"could not start: {exc}")
            return self._ended("failed", None, started, error)
        live_groups.add(child.pid, self.grace)
        try:
            return await self._supervise(child, timeout, started)
        finally:
            child.signal_group(signal.SIGKILL)  # nothing of the group outlives the run
            live_groups.discard(child.pid)
            child.release()
            for capture in self.captures.values():
                capture.close()

    async def _supervise(self, child: Child, timeout: float, started: float) -> _Outcome:
        either: asyncio.Future[asyncio.Future[Any]] = asyncio.get_running_loop().create_future()

        def first(future: asyncio.Future[Any]) -> None:
            if not either.done():
                either.set_result(future)

        child.exited.add_done_callback(first)
        self.limit_hit.add_done_callback(first)
        try:
            which = await asyncio.wait_for(either, timeout)
        except TimeoutError:
            await self._stop(child)
            error: ScriptError = ScriptTimeout(
                self.spec.name, timeout, execution_id=self.execution_id
            )
            return self._ended("timeout", child.exited.result(), started, error)
        except asyncio.CancelledError:
            await asyncio.shield(self._stop(child))
            return self._ended("cancelled", child.exited.result(), started, None, cancelled=True)
        if which is self.limit_hit:
            await self._stop(child)
            error = OutputLimitExceeded(self.spec.name, self.limit, execution_id=self.execution_id)
            return self._ended("failed", child.exited.result(), started, error)
        child.signal_group(signal.SIGKILL)  # stragglers holding our pipes
        await _closed(child, wait=0.1)
        if not child.closed.done():  # held by a process outside the group
            child.signal_tree(signal.SIGKILL)
            await _closed(child)
        return self._exited(child.exited.result(), started)

    async def _stop(self, child: Child) -> None:
        """SIGTERM the group and every descendant found, wait up to the grace period for the
        script, then SIGKILL all of them (those started meanwhile too)."""
        child.signal_tree(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(child.exited), self.grace)
        child.signal_tree(signal.SIGKILL)
        await child.exited
        await _closed(child)

    def _exited(self, code: int, started: float) -> _Outcome:
        output, problem = _parse(self.captures["stdout"].result_line(RESULT_LINE_LIMIT))
        if live_groups.terminating and code < 0:
            error: ScriptError = ScriptCancelled(self.spec.name, execution_id=self.execution_id)
            return self._ended("cancelled", code, started, error, output=output)
        if code != 0:
            error = ScriptFailed(
                self.spec.name,
                code,
                _tail(self.captures["stderr"].text()),
                output=self.redactor.data(output),
                execution_id=self.execution_id,
            )
            return self._ended("failed", code, started, error, output=output)
        if problem is not None:
            error = ScriptOutputError(self.spec.name, self.redactor.text(problem))
            return self._ended("failed", code, started, error)
        return self._ended("completed", code, started, None, output=output)

    def _ended(
        self,
        status: str,
        code: int | None,
        started: float,
        error: ScriptError | None,
        *,
        output: Any = None,
        cancelled: bool = False,
    ) -> _Outcome:
        duration_ms = (time.perf_counter() - started) * 1000
        out, err = self.captures["stdout"], self.captures["stderr"]
        stdout, stderr = out.text(), err.text()
        recorded = self.redactor.data(output)
        message = self.redactor.text(str(error)) if error else ("cancelled" if cancelled else None)
        outcome = _Outcome(
            record={
                "status": status,
                "exit_code": code,
                "output": recorded,
                "stdout": stdout,
                "stderr": stderr,
                "stdout_spill": str(out.spilled) if out.spilled else None,
                "stderr_spill": str(err.spilled) if err.spilled else None,
                "duration_ms": duration_ms,
                "error": message,
            },
            error=error,
            cancelled=cancelled,
        )
        if error is None and not cancelled:
            outcome.success = ScriptResult(
                execution_id=self.execution_id,
                script=self.spec.name,
                exit_code=code or 0,
                output=output,
                stdout=stdout,
                stderr=stderr,
                duration_ms=duration_ms,
                stdout_spill=out.spilled,
                stderr_spill=err.spilled,
                recorded_output=recorded,
            )
        return outcome


async def _closed(child: Child, wait: float = 2.0) -> None:
    """Let the pipes reach EOF; after a kill, give up on pipes held by escaped processes."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(child.closed), wait)


def _parse(line: bytes | None) -> tuple[Any, str | None]:
    """stdout's last line as JSON, and what is wrong with it (None: nothing; no line: null)."""
    if line is None:
        return None, f"its last stdout line is over {RESULT_LINE_LIMIT} bytes"
    if not line:
        return None, None
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"its last stdout line is not UTF-8 (byte {exc.start})"
    try:
        return json.loads(text), None
    except ValueError:
        shown = text if len(text) <= 80 else text[:77] + "..."
        return None, f"its last stdout line is not JSON: {shown!r}"


def _tail(text: str, limit: int = 4000) -> str:
    return text[-limit:]
