"""Secrets never reach a log line or a stored record.

A secret is the value of an environment variable whose name contains KEY, TOKEN, SECRET or
PASSWORD, a value following ``--api-key``, ``--token``, ``--secret`` or ``--password`` on a
command line, or a JSON field whose name looks like one of those.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["MASK", "Redactor", "is_secret_name"]

MASK = "***"
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.IGNORECASE)
SECRET_FLAGS = ("--api-key", "--token", "--secret", "--password")
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary text


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


class Redactor:
    """Replaces known secret values with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, values))) if values else None

    @classmethod
    def for_run(cls, env: Mapping[str, str], args: Sequence[str], data: Any = None) -> Redactor:
        """Secrets of one run: from its environment, its arguments and its JSON input."""
        secrets = [value for name, value in env.items() if is_secret_name(name)]
        secrets.extend(_secret_fields(data))
        for i, arg in enumerate(args):
            flag, eq, value = arg.partition("=")
            if flag in SECRET_FLAGS:
                if eq:
                    secrets.append(value)
                elif i + 1 < len(args):
                    secrets.append(args[i + 1])
        return cls(secrets)

    def text(self, value: str) -> str:
        return self._pattern.sub(MASK, value) if self._pattern else value

    def args(self, args: Sequence[str]) -> list[str]:
        """Arguments with secret flag values masked (and any secret text inside others)."""
        masked: list[str] = []
        hide_next = False
        for arg in args:
            flag, eq, _ = arg.partition("=")
            if hide_next:
                masked.append(MASK)
                hide_next = False
            elif flag in SECRET_FLAGS and eq:
                masked.append(f"{flag}={MASK}")
            else:
                masked.append(self.text(arg))
                hide_next = arg in SECRET_FLAGS
        return masked

    def data(self, value: Any) -> Any:
        """A JSON-like value with secret-named fields and secret text masked."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {
                k: MASK if is_secret_name(str(k)) and isinstance(v, str) else self.data(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


def _secret_fields(value: Any) -> Iterable[str]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            if is_secret_name(str(k)) and isinstance(v, str):
                yield v
            else:
                yield from _secret_fields(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _secret_fields(v)
