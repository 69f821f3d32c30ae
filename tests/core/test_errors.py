"""The exception tree: exported, drawn in the module docstring, picklable with its fields."""

from __future__ import annotations

import inspect
import pickle

from flows.core import errors
from flows.core.errors import (
    BudgetExceeded,
    ReelflowError,
    ScriptFailed,
    ScriptTimeout,
    is_transient,
)


def _exception_classes() -> set[str]:
    return {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, ReelflowError)
    }


def test_every_exception_is_exported_and_drawn_in_the_tree() -> None:
    assert _exception_classes() <= set(errors.__all__)
    docstring = errors.__doc__ or ""
    assert all(name in docstring for name in _exception_classes())


def test_errors_pickle_with_their_fields() -> None:
    failed = ScriptFailed("job", 75, "stderr tail", output={"error": {"retry_after": 3}})
    again = pickle.loads(pickle.dumps(failed))
    assert (again.script, again.exit_code, again.transient, again.retry_after) == (
        "job",
        75,
        True,
        3,
    )
    assert str(again) == str(failed)
    budget = pickle.loads(pickle.dumps(BudgetExceeded(step="video", spent=1, estimate=5, budget=4)))
    assert budget.step == "video" and "$2.00 over the $4.00 budget" in str(budget)


def test_only_transient_failures_are_retryable() -> None:
    assert is_transient(ScriptTimeout("job", 5))
    assert is_transient(ScriptFailed("job", 75, ""))
    assert not is_transient(ScriptFailed("job", 1, ""))
    assert is_transient(ConnectionError())
    assert not is_transient(ValueError())
