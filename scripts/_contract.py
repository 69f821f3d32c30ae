"""The script contract (see README.md), shared by every Reelflow script. Standard library only.

Gives: the exit codes, the errors that map onto them (``BadInput`` → 2, ``Transient`` → 75,
``Failure`` → 1), the common command line, reading the JSON request, typed field readers
whose messages name the field, ``atomic_output`` (temp file in the same directory, renamed
onto the final path only when the block completes), ``run_tool`` (argument list, dies with
the script, stderr tail in the error) and ``serve``, which wires all of it around ``run``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import math
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_TEMPFAIL = 75  # EX_TEMPFAIL from sysexits.h: worth a retry

Request = dict[str, Any]
Result = dict[str, Any]
_MISSING: Any = object()


class ScriptError(Exception):
    """A failure with a short snake_case type, reported as the JSON error line."""

    exit_code = EXIT_FAILURE
    default_type = "failed"

    def __init__(
        self, message: str, *, type: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.type = type or self.default_type
        self.retry_after = retry_after


class Failure(ScriptError):
    """Permanent failure: retrying the same request will not help (exit 1)."""


class BadInput(ScriptError):
    """The request or the command line is wrong; the message names the field (exit 2)."""

    exit_code = EXIT_BAD_INPUT
    default_type = "bad_input"


class Transient(ScriptError):
    """Rate limit, upstream 5xx, network trouble, upstream timeout: retry later (exit 75)."""

    exit_code = EXIT_TEMPFAIL
    default_type = "transient"


class _Terminated(BaseException):
    """SIGTERM arrived: unwind so the temp files are removed."""


def log(message: str) -> None:
    """A diagnostic line on stderr (stdout is reserved for the result line)."""
    script = os.environ.get("REELFLOW_SCRIPT") or Path(sys.argv[0]).stem
    print(f"[{script}] {message}", file=sys.stderr, flush=True)


# --- command line and request ------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise BadInput(message, type="bad_arguments")


def parse_args(argv: Sequence[str] | None, description: str | None) -> argparse.Namespace:
    """The common arguments: ``--provider NAME`` (default local) and ``--model NAME``."""
    parser = _Parser(description=(description or "").split("\n\n")[0], add_help=True)
    parser.add_argument("--provider", default="local", help="who makes the media (default local)")
    parser.add_argument("--model", default=None, help="provider-specific model name")
    return parser.parse_args(argv)


def read_request(stream: Any = None) -> Request:
    """The JSON object on stdin; empty input is ``{}``."""
    text = (stream or sys.stdin).read()
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"stdin is not valid JSON: {exc}", type="invalid_json") from None
    if not isinstance(value, dict):
        raise BadInput("stdin must hold a JSON object", type="invalid_json")
    return value


def pick_provider(providers: Mapping[str, Callable[..., Any]], name: str) -> Callable[..., Any]:
    """The provider's implementation, or BadInput naming the known ones."""
    if name not in providers:
        known = ", ".join(sorted(providers))
        raise BadInput(f"unknown provider {name!r} (known: {known})", type="unknown_provider")
    return providers[name]


def check_model(model: str | None, *known: str) -> str:
    """The model to use: ``model`` if the provider knows it, its first model if None."""
    if model is None:
        return known[0]
    if model not in known:
        raise BadInput(
            f"unknown model {model!r} for this provider (known: {', '.join(known)})",
            type="unknown_model",
        )
    return model


# --- typed fields -----------------------------------------------------------------------


def get_str(request: Request, name: str, default: Any = _MISSING, *, empty: bool = False) -> Any:
    """A string field; blank strings are refused unless ``empty``."""
    value = request.get(name, default)
    if value is _MISSING:
        raise BadInput(f"missing field {name!r}", type="missing_field")
    if value is default and default is not _MISSING:
        return value
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise BadInput(f"field {name!r} must be a non-empty string", type="invalid_field")
    return value


def get_number(
    request: Request,
    name: str,
    default: Any = _MISSING,
    *,
    integer: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
) -> Any:
    """An int or float field (booleans refused) within [minimum, maximum]."""
    value = request.get(name, default)
    if value is _MISSING:
        raise BadInput(f"missing field {name!r}", type="missing_field")
    if value is default and default is not _MISSING:
        return value
    wrong_kind = isinstance(value, bool) or not isinstance(value, int if integer else int | float)
    if wrong_kind or not math.isfinite(value):
        kind = "an integer" if integer else "a number"
        raise BadInput(f"field {name!r} must be {kind}", type="invalid_field")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise BadInput(
            f"field {name!r} must be between {minimum} and {maximum}, got {value}",
            type="invalid_field",
        )
    return value if integer else float(value)


def get_bool(request: Request, name: str, default: bool) -> bool:
    value = request.get(name, default)
    if not isinstance(value, bool):
        raise BadInput(f"field {name!r} must be true or false", type="invalid_field")
    return value


def get_choice(request: Request, name: str, choices: Sequence[str], default: Any = _MISSING) -> Any:
    value = get_str(request, name, default)
    if value is not default and value not in choices:
        raise BadInput(f"field {name!r} must be one of {', '.join(choices)}", type="invalid_field")
    return value


def input_file(value: Any, name: str) -> Path:
    """An existing input file named by field ``name`` (which may be a path like scenes[2].clip)."""
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"field {name!r} must be a file path", type="invalid_field")
    path = Path(value).expanduser().absolute()
    if not path.is_file():
        raise BadInput(f"field {name!r}: no such file {value}", type="missing_input_file")
    return path


def output_path(request: Request, suffixes: Sequence[str]) -> Path:
    """The absolute ``output`` path; its extension must be one of ``suffixes``."""
    value = get_str(request, "output")
    path = Path(value).expanduser().absolute()
    if path.suffix.lower() not in suffixes:
        raise BadInput(
            f"field 'output' must end with {' or '.join(suffixes)}", type="invalid_field"
        )
    if path.is_dir():
        raise BadInput(f"field 'output' is a directory: {value}", type="invalid_field")
    return path


# --- atomic output ---------------------------------------------------------------------


def temp_path_for(final: Path) -> Path:
    """``.<stem>.tmp-<pid>-<rand><ext>`` beside ``final``: same filesystem, real extension last."""
    return final.with_name(f".{final.stem}.tmp-{os.getpid()}-{secrets.token_hex(4)}{final.suffix}")


@contextlib.contextmanager
def atomic_output(final: Path) -> Iterator[Path]:
    """Yield a temp path beside ``final``; rename it onto ``final`` if the block completes.

    On any exception (and on SIGTERM, see ``serve``) the temp file is removed and ``final``
    is left as it was. Creates the parent directory.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path_for(final)
    try:
        yield temp
        if not temp.is_file():
            raise Failure(f"nothing was written for {final.name}", type="no_output")
        temp.replace(final)  # atomic on one filesystem (os.replace)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


# --- child tools -----------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def run_tool(argv: Sequence[str], *, what: str | None = None, tail: int = 800) -> str:
    """Run ``argv`` (no shell), return its stderr; raise Failure with the stderr tail on error.

    On Linux the child gets PR_SET_PDEATHSIG=SIGKILL so it cannot outlive the script.
    """
    name = what or Path(argv[0]).name
    preexec = _die_with_parent if sys.platform.startswith("linux") else None
    try:
        done = subprocess.run(  # noqa: S603 - an argument list, never a shell
            list(argv), stdin=subprocess.DEVNULL, capture_output=True, preexec_fn=preexec
        )
    except OSError as exc:
        raise Failure(f"cannot run {name}: {exc}", type="tool_missing") from None
    stderr = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        last = " | ".join(line.strip() for line in stderr[-tail:].splitlines() if line.strip())
        raise Failure(f"{name} exited {done.returncode}: {last or 'no output'}", type="tool_failed")
    return stderr


# --- results and the main wrapper -------------------------------------------------------


def emit_result(result: Result) -> int:
    print(json.dumps(result, separators=(",", ":")), flush=True)
    return EXIT_OK


def emit_error(type: str, message: str, retry_after: float | None = None, code: int = 1) -> int:
    message = " ".join(str(message).split()) or type
    error = {"type": type, "message": message, "retry_after": retry_after}
    print(json.dumps({"error": error}, separators=(",", ":")), flush=True)
    return code


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated


def serve(
    run: Callable[[Request, str, str | None], Result],
    argv: Sequence[str] | None = None,
    description: str | None = None,
) -> int:
    """Parse argv, read stdin, call ``run``, print the one JSON line, return the exit code."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    execution = os.environ.get("REELFLOW_EXECUTION_ID")
    try:
        args = parse_args(argv, description)
        if execution:
            log(f"execution {execution}, provider {args.provider}")
        return emit_result(run(read_request(), args.provider, args.model))
    except ScriptError as exc:
        log(f"{exc.type}: {exc}")
        return emit_error(exc.type, str(exc), exc.retry_after, exc.exit_code)
    except _Terminated:
        return emit_error("terminated", "stopped by SIGTERM", None, 128 + signal.SIGTERM)
    except Exception as exc:  # anything unforeseen is a permanent failure, reported as JSON
        log(f"unexpected {type(exc).__name__}: {exc}")
        return emit_error("internal_error", f"{type(exc).__name__}: {exc}", None, EXIT_FAILURE)
