"""Secrets never reach a log line or a stored record.

A secret is the value of an environment variable whose name contains KEY, TOKEN, SECRET or
PASSWORD, a value following ``--api-key``, ``--token``, ``--secret`` or ``--password`` on a
command line, or a JSON field whose name looks like one of those.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["MASK", "Redactor", "StreamRedactor", "is_secret_name"]

MASK = "***"
MASK_BYTES = MASK.encode()
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
        encoded = sorted({v.encode() for v in values}, key=len, reverse=True)
        self._bytes = re.compile(b"|".join(map(re.escape, encoded))) if encoded else None
        self._longest = len(encoded[0]) if encoded else 0

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

    @property
    def longest(self) -> int:
        """The length in bytes of the longest secret (0 without any)."""
        return self._longest

    def text_prefix(self, text: str, end: int) -> str:
        """``prefix`` for text: the first ``end`` characters, a secret starting there whole."""
        if self._pattern is None:
            return text[:end]
        out: list[str] = []
        pos = 0
        for found in self._pattern.finditer(text):
            if found.start() >= end:
                break
            out += [text[pos : found.start()], MASK]
            pos = found.end()
        out.append(text[pos:end])
        return "".join(out)

    def stream(self, skip: int = 0) -> StreamRedactor:
        """A redactor for raw bytes that come in chunks (see StreamRedactor)."""
        return StreamRedactor(self._bytes, self._longest, skip=skip)

    def prefix(self, data: bytes, end: int) -> bytes:
        """The redacted first ``end`` bytes of ``data``; a secret that starts before ``end``
        is masked whole. ``data`` must reach beyond ``end`` by the longest secret (or be the
        whole stream). ``stream(skip=end)`` gives exactly the rest."""
        out: list[bytes] = []
        pos = 0
        if self._bytes is not None:
            for found in self._bytes.finditer(data):
                if found.start() >= end:
                    break
                out += [data[pos : found.start()], MASK_BYTES]
                pos = found.end()
        out.append(data[pos:end])
        return b"".join(out)

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


class StreamRedactor:
    """Masks secrets in a byte stream fed in chunks, a secret cut across chunks included.

    The last ``len(longest secret) - 1`` bytes of each feed are held back until the next
    one (or ``finish``), so the output is exactly the redaction of the whole stream. The
    output for the first ``skip`` bytes of the stream is left out, and so is a secret that
    starts within them (``Redactor.prefix`` gives those bytes, that secret masked whole).
    """

    def __init__(self, pattern: re.Pattern[bytes] | None, longest: int, *, skip: int = 0) -> None:
        self._pattern = pattern
        self._hold = max(longest - 1, 0)
        self._skip = skip
        self._buffer = b""
        self._offset = 0  # the stream offset of _buffer[0]

    def feed(self, data: bytes) -> bytes:
        self._buffer += data
        return self._emit(len(self._buffer) - self._hold)

    def finish(self) -> bytes:
        return self._emit(len(self._buffer))

    def _emit(self, safe: int) -> bytes:
        """Output up to ``safe`` in the buffer: every secret starting there fits in it."""
        buffer, out, pos = self._buffer, [], 0
        if self._pattern is not None:
            for found in self._pattern.finditer(buffer):
                if found.start() >= safe:
                    break
                out.append(self._plain(pos, found.start()))
                if self._offset + found.start() >= self._skip:
                    out.append(MASK_BYTES)
                pos = found.end()
        cut = max(pos, safe)
        out.append(self._plain(pos, cut))
        self._buffer = buffer[cut:]
        self._offset += cut
        return b"".join(out)

    def _plain(self, start: int, end: int) -> bytes:
        start = max(start, self._skip - self._offset)
        return self._buffer[start:end] if start < end else b""


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
