"""Secrets never reach a log line or a stored record; the pipeline still gets the truth.

What is masked is only what is *stored or logged* (the execution log's input, args, output,
stdout, stderr and error; log records; spill files; exception messages). The parsed result a
script returns to the pipeline is never masked: a path that happens to contain a word that
is also some variable's value must still be the path.

The rule, for one run:

1. **Our own credentials, always** (when at least ``MIN_SECRET_LENGTH`` characters): the
   values of the secret-named variables the caller passes (provider keys from the channel's
   blocks), of the variables the script's registry entry declares (``env``) whose names say
   KEY, TOKEN, SECRET or PASSWORD, Prefect's ``PREFECT_API_KEY`` and
   ``PREFECT_API_AUTH_STRING`` (and the password part of ``user:password``), and any value
   given after a secret flag (``--key``, ``--api-key``, ``--token``, ``--secret``,
   ``--password``, ``--auth``, ``--access-token``, ``--client-secret``, … see
   ``is_secret_flag``).
2. **URL passwords, always**: the password of ``REELFLOW_DATABASE_URL``,
   ``REELFLOW_LOCKS_URL``, ``PREFECT_API_URL`` and of any environment value (ours or the
   script's) that parses as a URL with ``user:password@``. The password is masked wherever
   it appears; a password shorter than ``MIN_SECRET_LENGTH`` only inside its ``user:pw@``.
3. **Values that look like secrets**: any other variable (ours or the script's) or JSON input
   field whose name says KEY, TOKEN, SECRET, PASSWORD (or PASSWD, CREDENTIAL, AUTH) is a
   secret only if its value looks like one (``looks_like_secret``): at least
   ``MIN_LOOKS_LENGTH`` (8) characters, no whitespace, and either mixed character classes (a
   digit with letters or symbols, or lower, upper and symbols) or high entropy (at least 24
   characters and 3.5 bits per character). Short or common words (``default``, ``true``,
   ``profile``, ``production``) are never secrets, so ``AWS_KEY_PROFILE=default`` masks
   nothing.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = [
    "MASK",
    "Redactor",
    "StreamRedactor",
    "is_secret_flag",
    "is_secret_name",
    "looks_like_secret",
    "url_secrets",
]

MASK = "***"
MASK_BYTES = MASK.encode()
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.IGNORECASE)
SECRET_FLAG = re.compile(
    r"--(?:[a-z0-9]+[-_])*(?:key|apikey|token|secret|password|passwd|auth|credentials?)",
    re.IGNORECASE,
)
KNOWN_URLS = ("REELFLOW_DATABASE_URL", "REELFLOW_LOCKS_URL", "PREFECT_API_URL")
OUR_CREDENTIALS = ("PREFECT_API_KEY", "PREFECT_API_AUTH_STRING")
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary text
MIN_LOOKS_LENGTH = 8
HIGH_ENTROPY_LENGTH, HIGH_ENTROPY_BITS = 24, 3.5


def is_secret_name(name: str) -> bool:
    """A variable or field name that says it holds a credential."""
    return bool(SECRET_NAME.search(name))


def is_secret_flag(flag: str) -> bool:
    """``--key``, ``--api-key``, ``--access-token``, ``--client-secret``, ``--auth``, …"""
    return bool(SECRET_FLAG.fullmatch(flag))


def looks_like_secret(value: str) -> bool:
    """Long enough, no whitespace, and mixed character classes or high entropy (rule 3)."""
    if len(value) < MIN_LOOKS_LENGTH or any(c.isspace() for c in value):
        return False
    lower = any(c.islower() for c in value)
    upper = any(c.isupper() for c in value)
    digit = any(c.isdigit() for c in value)
    symbol = any(not c.isalnum() for c in value)
    if digit and (lower or upper or symbol):
        return True
    if lower and upper and symbol:
        return True
    if len(value) >= HIGH_ENTROPY_LENGTH:
        counts = Counter(value)
        bits = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
        return bits >= HIGH_ENTROPY_BITS
    return False


def url_secrets(value: str) -> dict[str, str]:
    """What to mask for a URL with a password: ``{text: replacement}`` (empty otherwise)."""
    if "://" not in value or "@" not in value:
        return {}
    try:
        parts = urlsplit(value.strip())
        password = parts.password
    except ValueError:
        return {}
    if not password:
        return {}
    found: dict[str, str] = {}
    user = parts.username or ""
    found[f"{user}:{password}@"] = f"{user}:{MASK}@"
    for form in {password, unquote(password)}:
        if len(form) >= MIN_SECRET_LENGTH:
            found[form] = MASK
    return found


class Redactor:
    """Replaces known secret values with ``***`` (a URL's ``user:pw@`` with ``user:***@``)."""

    def __init__(
        self, secrets: Iterable[str] = (), *, replacements: Mapping[str, str] | None = None
    ) -> None:
        mapping = {s: MASK for s in secrets if len(s) >= MIN_SECRET_LENGTH}
        mapping.update({k: v for k, v in (replacements or {}).items() if k})
        values = sorted(mapping, key=len, reverse=True)
        self._replace = mapping
        self._pattern = re.compile("|".join(map(re.escape, values))) if values else None
        encoded = {k.encode(): v.encode() for k, v in mapping.items()}
        self._replace_bytes = encoded
        keys = sorted(encoded, key=len, reverse=True)
        self._bytes = re.compile(b"|".join(map(re.escape, keys))) if keys else None
        self._longest = len(keys[0]) if keys else 0

    @classmethod
    def for_run(
        cls,
        env: Mapping[str, str],
        args: Sequence[str],
        data: Any = None,
        *,
        credentials: Iterable[str] = (),
        ambient: Mapping[str, str] | None = None,
        urls: Iterable[str | None] = (),
        extra: Iterable[str] = (),
    ) -> Redactor:
        """Secrets of one run, by the rule above.

        ``env`` is the script's environment, ``credentials`` the names in it whose values
        are ours whatever they look like, ``ambient`` this process's environment (its URL
        passwords and secret-looking values are masked though the script never gets them),
        ``urls`` more URLs whose passwords to mask (the configured database), ``extra``
        more credential values (Prefect's key when it comes from a profile).
        """
        ambient = ambient or {}
        secrets: list[str] = []
        replacements: dict[str, str] = {}
        known = set(credentials)
        for source in (ambient, env):
            for name, value in source.items():
                if not value:
                    continue
                replacements.update(url_secrets(value))
                if name in known or name in OUR_CREDENTIALS:
                    secrets.append(value)
                    if name == "PREFECT_API_AUTH_STRING" and ":" in value:
                        secrets.append(value.split(":", 1)[1])
                elif is_secret_name(name) and looks_like_secret(value):
                    secrets.append(value)
        for value in extra:
            secrets.append(value)
            if ":" in value:  # an auth string: user:password
                secrets.append(value.split(":", 1)[1])
        for url in urls:
            replacements.update(url_secrets(url or ""))
        secrets.extend(_secret_fields(data))
        secrets.extend(_flag_values(args))
        return cls(secrets, replacements=replacements)

    def text(self, value: str) -> str:
        if self._pattern is None:
            return value
        return self._pattern.sub(lambda found: self._replace[found[0]], value)

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
        return StreamRedactor(self._bytes, self._longest, skip=skip, replace=self._replace_bytes)

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
                out += [data[pos : found.start()], self._replace_bytes[found[0]]]
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
            elif eq and is_secret_flag(flag):
                masked.append(f"{flag}={MASK}")
            else:
                masked.append(self.text(arg))
                hide_next = is_secret_flag(arg)
        return masked

    def data(self, value: Any) -> Any:
        """A JSON-like value with secret-looking fields and secret text masked (a copy)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: MASK if _secret_field(k, v) else self.data(v) for k, v in value.items()}
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

    def __init__(
        self,
        pattern: re.Pattern[bytes] | None,
        longest: int,
        *,
        skip: int = 0,
        replace: Mapping[bytes, bytes] | None = None,
    ) -> None:
        self._pattern = pattern
        self._replace = replace or {}
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
                    out.append(self._replace.get(found[0], MASK_BYTES))
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
            if _secret_field(k, v):
                yield v
            else:
                yield from _secret_fields(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _secret_fields(v)


def _secret_field(name: object, value: object) -> bool:
    return isinstance(value, str) and is_secret_name(str(name)) and looks_like_secret(value)


def _flag_values(args: Sequence[str]) -> Iterable[str]:
    """Values given after secret flags: ``--key VALUE`` and ``--key=VALUE``."""
    for i, arg in enumerate(args):
        flag, eq, value = arg.partition("=")
        if eq and is_secret_flag(flag):
            yield value
        elif not eq and is_secret_flag(arg) and i + 1 < len(args):
            yield args[i + 1]
