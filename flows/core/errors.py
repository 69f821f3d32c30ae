"""Every exception Reelflow raises, in one tree.

    ReelflowError
    ├── ConfigError              settings or a block that cannot be used
    │   └── SettingsError        a REELFLOW_* variable holds a value that cannot be used
    ├── RegistryError            scripts/registry.toml is invalid (names the script and field)
    ├── ManifestError            a video plan is invalid (names the scene and field)
    ├── StoreError               the database refused or is not migrated
    │   ├── NotFoundError        no such video / execution / channel
    │   └── StatusError          a status move the state machine refuses (core/statuses.py)
    ├── ScriptError              a script run did not succeed (always names the script)
    │   ├── ScriptNotFound       not in the registry
    │   ├── ScriptDisabled       registered with enabled = false
    │   ├── ScriptEnvError       its virtualenv could not be built (carries pip's output)
    │   ├── ScriptFailed         exited non-zero (exit 75 = transient)
    │   ├── ScriptTimeout        ran past its timeout; the process group was killed (transient)
    │   ├── ScriptCancelled      the task or flow was cancelled; the process group was killed
    │   ├── OutputLimitExceeded  produced more output than the cap under the "fail" strategy
    │   └── ScriptOutputError    exited 0 but broke the output contract
    ├── StepError                a pipeline step failed (names the step and its error status)
    ├── BudgetExceeded           a step (or the whole plan) would push a video past its budget
    ├── VideoBusy                another live run is producing this video (which, since when)
    ├── ReviewError              a review decision cannot be applied
    ├── PublishError             publishing cannot go on (a refused title, a revoked token)
    │   └── PublishWaiting       publishing must wait until ``until`` (quota, a transient error)
    └── NotionError              Notion answered with an error (status, code)

Foreign errors are translated where they enter: subprocess and OS errors in the runner,
IntegrityError in the store, pydantic's ValidationError in the manifest, registry and settings.
Every exception pickles with its fields, so Prefect can persist failed states.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = [
    "BudgetExceeded",
    "ConfigError",
    "ManifestError",
    "NotFoundError",
    "NotionError",
    "OutputLimitExceeded",
    "PublishError",
    "PublishWaiting",
    "ReelflowError",
    "RegistryError",
    "ReviewError",
    "ScriptCancelled",
    "ScriptDisabled",
    "ScriptEnvError",
    "ScriptError",
    "ScriptFailed",
    "ScriptNotFound",
    "ScriptOutputError",
    "ScriptTimeout",
    "SettingsError",
    "StatusError",
    "StepError",
    "StoreError",
    "VideoBusy",
    "is_transient",
]

EX_TEMPFAIL = 75


class ReelflowError(Exception):
    """Base of every Reelflow error. Keeps its keyword fields so it pickles."""

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self._fields = fields
        for name, value in fields.items():
            setattr(self, name, value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self._fields))

    def __str__(self) -> str:
        return self.message


def _rebuild(cls: type[ReelflowError], message: str, fields: dict[str, Any]) -> ReelflowError:
    error = cls.__new__(cls)
    ReelflowError.__init__(error, message, **fields)
    return error


class ConfigError(ReelflowError):
    """A setting, block or channel cannot be used as configured."""


class SettingsError(ConfigError):
    """A ``REELFLOW_*`` variable (or ``.env`` entry) holds a value that cannot be used: the
    message names each one, its value (passwords masked) and what is allowed."""


class RegistryError(ReelflowError):
    """The script registry is invalid."""

    def __init__(self, message: str, *, script: str | None = None) -> None:
        prefix = f"registry: script {script!r}: " if script else "registry: "
        super().__init__(prefix + message, script=script)


class ManifestError(ReelflowError):
    """A video plan is invalid; ``scene`` and ``field`` say where."""

    def __init__(self, message: str, *, scene: str | None = None, field: str | None = None) -> None:
        super().__init__(message, scene=scene, field=field)


class StoreError(ReelflowError):
    """The database refused an operation or is not at the expected schema."""


class NotFoundError(StoreError):
    """The requested row does not exist."""


class StatusError(StoreError):
    """A status change the state machine does not allow (``old`` → ``new``)."""


class VideoBusy(ReelflowError):
    """Another live run holds the video: ``holder`` (a flow run id) since ``since``."""

    video_id: int
    holder: str
    since: str | None

    def __init__(self, *, video_id: int, holder: str, since: str | None) -> None:
        when = f" since {since}" if since else ""
        super().__init__(
            f"video {video_id} is being produced by run {holder}{when}",
            video_id=video_id,
            holder=holder,
            since=since,
        )


class ScriptError(ReelflowError):
    """A script run did not succeed. ``transient`` says whether a retry may help."""

    transient: bool

    def __init__(
        self, message: str, *, script: str, transient: bool = False, **fields: Any
    ) -> None:
        super().__init__(f"{script}: {message}", script=script, transient=transient, **fields)


class ScriptNotFound(ScriptError):
    def __init__(self, script: str, *, known: list[str] | None = None) -> None:
        hint = f" (registered: {', '.join(sorted(known))})" if known else ""
        super().__init__(f"not in the registry{hint}", script=script)


class ScriptDisabled(ScriptError):
    def __init__(self, script: str) -> None:
        super().__init__("is disabled in the registry", script=script)


class ScriptEnvError(ScriptError):
    def __init__(self, script: str, *, detail: str) -> None:
        super().__init__(f"could not build its virtualenv:\n{detail}", script=script, detail=detail)


class ScriptFailed(ScriptError):
    """Non-zero exit. Exit code 75 (EX_TEMPFAIL) marks a transient failure."""

    exit_code: int
    stderr: str
    output: Any
    execution_id: str | None

    def __init__(
        self,
        script: str,
        exit_code: int,
        stderr: str,
        *,
        output: Any = None,
        execution_id: str | None = None,
    ) -> None:
        detail = _error_detail(output) or _last_line(stderr) or "no output"
        super().__init__(
            f"exited with code {exit_code}: {detail}",
            script=script,
            transient=exit_code == EX_TEMPFAIL,
            exit_code=exit_code,
            stderr=stderr,
            output=output,
            execution_id=execution_id,
        )

    @property
    def retry_after(self) -> float | None:
        """Seconds the script asked us to wait before retrying, if it said."""
        error = self.output.get("error") if isinstance(self.output, dict) else None
        value = error.get("retry_after") if isinstance(error, dict) else None
        return float(value) if isinstance(value, int | float) else None


class ScriptTimeout(ScriptError):
    timeout: float

    def __init__(self, script: str, timeout: float, *, execution_id: str | None = None) -> None:
        super().__init__(
            f"timed out after {timeout:g} s; its process group was killed",
            script=script,
            transient=True,
            timeout=timeout,
            execution_id=execution_id,
        )


class ScriptCancelled(ScriptError):
    def __init__(self, script: str, *, execution_id: str | None = None) -> None:
        super().__init__(
            "was cancelled; its process group was killed",
            script=script,
            execution_id=execution_id,
        )


class OutputLimitExceeded(ScriptError):
    def __init__(self, script: str, limit: int, *, execution_id: str | None = None) -> None:
        super().__init__(
            f"wrote more than {limit} bytes of output; stopped",
            script=script,
            limit=limit,
            execution_id=execution_id,
        )


class ScriptOutputError(ScriptError):
    def __init__(self, script: str, problem: str) -> None:
        super().__init__(f"broke the output contract: {problem}", script=script)


class StepError(ReelflowError):
    """A pipeline step failed; ``status`` is what the video became (its error status, or
    ``retry_scheduled``). The message says where: ``scene 'storm' (#3), video clip: …``."""

    def __init__(self, message: str, *, step: str, status: str) -> None:
        super().__init__(message, step=step, status=status)


class BudgetExceeded(ReelflowError):
    """A step (``step``), or everything left to make (``step="plan"``), would pass the budget."""

    def __init__(self, *, step: str, spent: float, estimate: float, budget: float) -> None:
        over = spent + estimate - budget
        what = "what is left to make" if step == "plan" else step
        hint = "; raise the budget, or pass --allow-partial to spend step by step" * (
            step == "plan"
        )
        super().__init__(
            f"{what} would cost about ${estimate:.2f} on top of ${spent:.2f} spent, "
            f"${over:.2f} over the ${budget:.2f} budget{hint}",
            step=step,
            spent=spent,
            estimate=estimate,
            budget=budget,
        )


class ReviewError(ReelflowError):
    """A review decision cannot be applied (no such run, not awaiting review, bad change)."""


class PublishError(ReelflowError):
    """Publishing cannot go on as things are (a refused title, a revoked token, a file gone)."""


class PublishWaiting(PublishError):
    """Publishing must wait until ``until`` (quota, or a failure a later try may fix)."""

    until: datetime

    def __init__(self, message: str, *, until: datetime) -> None:
        super().__init__(message, until=until)


class NotionError(ReelflowError):
    """Notion answered with an error body."""

    def __init__(self, message: str, *, status: int, code: str, transient: bool) -> None:
        super().__init__(
            f"Notion {status} {code}: {message}", status=status, code=code, transient=transient
        )


def is_transient(error: BaseException) -> bool:
    """Whether a retry may help: a transient script failure, or a network-level error."""
    if isinstance(error, ScriptError | NotionError):
        return bool(getattr(error, "transient", False))
    return isinstance(error, ConnectionError | TimeoutError)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""


def _error_detail(output: Any) -> str:
    error = output.get("error") if isinstance(output, dict) else None
    if isinstance(error, dict) and error.get("message"):
        kind = error.get("type")
        return f"{kind}: {error['message']}" if kind else str(error["message"])
    return ""
