"""What a producing command (``run``, ``demo``) prints of Prefect's log while it runs.

Without ``-v`` the console shows warnings and errors, one line each and never a traceback:
Prefect's engine reports every failed task and flow with its traceback, several times over
(the item, the script under it, the step, the flow), where Reelflow's own lines already say
which scene and step failed. So in this process only, on console handlers only:

* an item that failed is one line, ``Task run 'assets/dawn/background' - failed:
  generate_asset: exited with code 75: …`` (an item's task run is named step/scene/slot);
* the engine's other failure reports (retries, "Finished in state Failed", the step's and
  the flow's exceptions) are left out, Reelflow's lines saying the same;
* any record still carrying a traceback is printed without it.

The Prefect API's handler is not touched: the run's logs in the UI keep every line and
every traceback. ``-v`` leaves the console as Prefect configured it.
"""

from __future__ import annotations

import copy
import logging
import re
from pathlib import Path

from prefect.logging.handlers import APILogHandler

__all__ = ["quiet_console"]

ENGINE_FILES = ("task_engine.py", "flow_engine.py")  # in the prefect package
ENGINE_FAILURES = (
    "Task run failed with",
    "Finished in state",
    "Encountered exception during execution",
    "Crash detected",
)
ITEM_TASK = "make-item"  # flows/steps.py: one task run per item, named by its label
_FAILED_STATE = re.compile(r"^Finished in state \w+\((['\"])(?P<message>.*)\1\)$", re.DOTALL)
_EXCEPTION_PREFIX = re.compile(r"^Task run encountered an exception \w+: ")


def quiet_console(*loggers: logging.Logger) -> None:
    """Console handlers of ``loggers`` (default Prefect's and the root's) show WARNING and
    up, one line per failure, no tracebacks."""
    for logger in loggers or (logging.getLogger("prefect"), logging.getLogger()):
        for handler in logger.handlers:
            if isinstance(handler, APILogHandler):
                continue
            handler.setLevel(logging.WARNING)
            if not any(isinstance(f, OneLineFailures) for f in handler.filters):
                handler.addFilter(OneLineFailures())
            if not isinstance(handler.formatter, OneLineFormatter):
                handler.setFormatter(OneLineFormatter(handler.formatter))


def console_record(record: logging.LogRecord) -> logging.LogRecord | None:
    """What the console shows of ``record``: None to leave it out, else the record or a
    changed copy (other handlers of the same record, the API's, see it unchanged)."""
    if _from_engine(record) and record.getMessage().startswith(ENGINE_FAILURES):
        match = _FAILED_STATE.match(record.getMessage())
        if getattr(record, "task_name", None) != ITEM_TASK or match is None:
            return None
        record = copy.copy(record)  # its line names the task run: step/scene/slot
        record.msg, record.args = "failed: %s", (_EXCEPTION_PREFIX.sub("", match["message"]),)
    if record.exc_info or record.exc_text or record.stack_info:
        record = copy.copy(record)
        record.exc_info, record.exc_text, record.stack_info = None, None, None
    return record


class OneLineFailures(logging.Filter):
    """Leaves out the engine's failure reports, but one line per failed item."""

    def filter(self, record: logging.LogRecord) -> bool:
        return console_record(record) is not None


class OneLineFormatter(logging.Formatter):
    """Formats what ``console_record`` makes of a record with ``inner``: no traceback."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        return self.inner.format(console_record(record) or record)


def _from_engine(record: logging.LogRecord) -> bool:
    path = Path(record.pathname)
    return path.name in ENGINE_FILES and path.parent.name == "prefect"
