"""One output stream of a running script: decoded, batched into log records, capped.

Lines reach the log sink in batches (by count, by size and by time), never one record per
line. What is kept for the execution log stops at a byte cap, with a strategy for the rest:
``head_tail`` (the default) keeps the first and the last half of the cap with a marker of
how many bytes were cut in between, ``truncate`` keeps the head and a marker, ``spill``
writes the rest to a file, ``fail`` stops the script. The last non-empty line of stdout is
always available, whatever the cap, because it is the script's JSON result.

Secrets are masked before anything is cut: each kept part is redacted together with
``LOOKAHEAD`` bytes of the stream beyond its edge, then cut, so a secret that straddles a
cut is masked whole instead of showing half of itself. The spill file is masked too, as it
is written: a secret cut across two reads is held back until it is whole, and one that
straddles the cap is masked whole at the end of the kept head, the file going on after it,
so the record's head and the file together are the whole stream, masked.
"""

from __future__ import annotations

import asyncio
import codecs
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from flows.core.redact import Redactor, StreamRedactor
from flows.core.settings import OutputStrategy

__all__ = ["Capture", "LogSink"]

LogSink = Callable[[str, str], None]
"""Called with (stream name, a block of complete lines joined by newlines)."""

BATCH_BYTES = 64 * 1024
TAIL_BYTES = 1024 * 1024
LOOKAHEAD = 64 * 1024  # bytes of context redacted along with each cut edge: > any secret


class Capture:
    """Takes one stream's chunks as they arrive; ``on_exceeded`` fires under ``fail``."""

    def __init__(
        self,
        name: str,
        *,
        sink: LogSink | None,
        redactor: Redactor,
        limit: int,
        strategy: OutputStrategy,
        spill_path: Path,
        batch_lines: int,
        batch_seconds: float,
        on_exceeded: Callable[[], None],
    ) -> None:
        self.name = name
        self._sink = sink
        self._redactor = redactor
        self._limit = limit
        self._strategy = strategy
        self._spill_path = spill_path
        self._batch_lines = batch_lines
        self._batch_seconds = batch_seconds
        self._on_exceeded = on_exceeded
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._head_cap = limit // 2 if strategy == "head_tail" else limit
        self._tail_cap = limit - self._head_cap if strategy == "head_tail" else 0
        self._head = bytearray()  # the first head_cap + LOOKAHEAD bytes
        self._recent = _Recent(max(TAIL_BYTES, self._tail_cap) + LOOKAHEAD)
        self._seen = 0
        self._dropped_bytes = 0
        self._pending: list[str] = []
        self._partial = ""
        self._pending_bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._spill: BinaryIO | None = None
        self._spill_redactor: StreamRedactor | None = None
        self._edge = bytearray()  # the stream's first bytes past the cap, for the log's cut
        self._cut = limit  # where the head ends and the spill file starts (a character start)
        self.spilled: Path | None = None
        self._closed = False

    def feed(self, chunk: bytes) -> None:
        self._take(chunk)

    def close(self) -> None:
        """The stream ended (or we stopped listening): flush what is pending."""
        self._finish()

    @property
    def truncated(self) -> bool:
        return self._dropped_bytes > 0

    def text(self) -> str:
        """What was kept, decoded and redacted, with a marker if something was cut."""
        if not self._dropped_bytes:
            return self._redactor.text(_decode(self._whole()))
        dropped = self._dropped_bytes
        if self.spilled is not None:  # the head ends exactly where the spill file starts
            head = _decode(self._redactor.prefix(bytes(self._head), self._cut))
            return head + f"\n[reelflow: {dropped} more bytes in {self.spilled}]"
        head = _first(self._redactor.text(_decode(self._head)), self._head_cap)
        if self._strategy == "head_tail":
            return (
                f"{head}\n[reelflow: output truncated, {dropped} bytes cut here; kept the "
                f"first {self._head_cap} and the last {self._tail_cap} bytes]\n{self._tail()}"
            )
        return head + f"\n[reelflow: output truncated, {dropped} bytes dropped]"

    def last_line(self) -> str:
        """The last non-empty line of the whole stream (not only of what was kept)."""
        text = _decode(self._recent.last(TAIL_BYTES)).rstrip()
        return text.rsplit("\n", 1)[-1].strip()

    def result_line(self, limit: int = TAIL_BYTES) -> bytes | None:
        """The last non-empty line of the whole stream, raw and stripped (b"" without one),
        or None when it is longer than ``limit`` bytes (at most TAIL_BYTES)."""
        limit = min(limit, TAIL_BYTES)
        window = self._recent.last(limit + LOOKAHEAD)
        data = window.rstrip()
        start = data.rfind(b"\n") + 1
        if start == 0 and len(window) < self._seen:
            return None  # no line start within reach: the line is longer still
        line = data[start:].strip()
        return None if len(line) > limit else line

    # --- internals ------------------------------------------------------------------

    def _take(self, chunk: bytes) -> None:
        self._recent.add(chunk)
        wanted = self._head_cap + LOOKAHEAD - len(self._head)
        if wanted > 0:
            self._head += chunk[:wanted]
        room = self._limit - self._seen
        self._seen += len(chunk)
        if room >= len(chunk):
            self._keep(chunk)
            return
        if room > 0:
            self._keep(chunk[:room])
        self._overflow(chunk[max(room, 0) :])

    def _whole(self) -> bytes:
        """The whole stream, when it stayed within the cap (the head, then the rest)."""
        missing = self._seen - len(self._head)
        return bytes(self._head) + (self._recent.last(missing) if missing > 0 else b"")

    def _tail(self) -> str:
        """The last tail_cap bytes, redacted with the LOOKAHEAD bytes before them."""
        text = self._redactor.text(_decode(self._recent.last(self._tail_cap + LOOKAHEAD)))
        return text.encode()[-self._tail_cap :].decode("utf-8", errors="ignore")

    def _keep(self, chunk: bytes) -> None:
        if self._sink is not None:
            self._buffer(self._decoder.decode(chunk))

    def _overflow(self, rest: bytes) -> None:
        first = self._dropped_bytes == 0
        self._dropped_bytes += len(rest)
        if self._sink is not None and len(self._edge) < self._redactor.longest:
            self._edge += rest[: self._redactor.longest - len(self._edge)]
        if self._strategy == "spill":
            if self._spill is None:
                self._start_spill()
            assert self._spill is not None and self._spill_redactor is not None
            self._spill.write(self._spill_redactor.feed(rest))
        elif self._strategy == "fail":
            self._on_exceeded()
        if first and self._sink is not None:
            self._flush()
            where = {
                "spill": f"; the rest goes to {self._spill_path}",
                "head_tail": f"; its last {self._tail_cap} bytes follow when it ends",
            }.get(self._strategy, "")
            self._sink(self.name, f"[reelflow: {self.name} passed {self._limit} bytes{where}]")

    def _start_spill(self) -> None:
        """Open the spill file; its redactor reads the stream from the start (the head holds
        the first limit + LOOKAHEAD bytes) so that it masks exactly what a whole-stream
        redaction would, but writes only from the cut on."""
        head = self._head
        self._cut = self._limit
        while 0 < self._cut < len(head) and head[self._cut] & 0xC0 == 0x80:
            self._cut -= 1  # never cut a character in two
        self._spill_redactor = self._redactor.stream(skip=self._cut)
        self._spill_path.parent.mkdir(parents=True, exist_ok=True)
        self._spill = self._spill_path.open("wb")
        self.spilled = self._spill_path
        self._spill.write(self._spill_redactor.feed(bytes(head[: self._limit])))

    def _buffer(self, text: str) -> None:
        text = self._partial + text
        lines = text.split("\n")
        self._partial = lines.pop()
        if not lines:
            return
        self._pending.extend(lines)
        self._pending_bytes += len(text) - len(self._partial)
        if len(self._pending) >= self._batch_lines or self._pending_bytes >= BATCH_BYTES:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._batch_seconds, self._flush)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending and self._sink is not None:
            block = "\n".join(self._pending)
            self._sink(self.name, self._redactor.text(block))
        self._pending = []
        self._pending_bytes = 0

    def _finish(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._sink is not None:
            self._partial += self._decoder.decode(b"", final=True)
            if self._dropped_bytes and self._partial:  # a secret across the cap: masked whole
                ahead = self._partial + _decode(self._edge)
                self._partial = self._redactor.text_prefix(ahead, len(self._partial))
            if self._partial:
                self._pending.append(self._partial)
                self._partial = ""
            self._flush()
            if self._strategy == "head_tail" and self._dropped_bytes:
                self._sink(
                    self.name,
                    f"[reelflow: {self.name}: {self._dropped_bytes} bytes cut; "
                    f"its last {self._tail_cap} bytes:]",
                )
                for block in _blocks(self._tail()):
                    self._sink(self.name, block)
        if self._spill is not None:
            if self._spill_redactor is not None:
                self._spill.write(self._spill_redactor.finish())
            self._spill.close()


class _Recent:
    """The last ``size`` (or a few more) bytes of a stream, kept as the chunks that came."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._chunks: deque[bytes] = deque()
        self._bytes = 0

    def add(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self._bytes += len(chunk)
        while self._bytes - len(self._chunks[0]) >= self._size:
            self._bytes -= len(self._chunks.popleft())

    def last(self, count: int) -> bytes:
        data = b"".join(self._chunks)
        return data[-count:] if 0 < count < len(data) else data if count > 0 else b""


def _decode(data: bytes | bytearray) -> str:
    return bytes(data).decode("utf-8", errors="replace")


def _first(text: str, size: int) -> str:
    """The longest start of ``text`` within ``size`` bytes (no character cut in two)."""
    return text.encode()[:size].decode("utf-8", errors="ignore")


def _blocks(text: str) -> Iterator[str]:
    """``text`` in log records of about BATCH_BYTES, split at line ends where it has some."""
    start = 0
    while start < len(text):
        end = min(start + BATCH_BYTES, len(text))
        if end < len(text):
            newline = text.rfind("\n", start, end)
            end = newline if newline > start else end
        yield text[start:end]
        start = end + 1 if text.startswith("\n", end) else end
