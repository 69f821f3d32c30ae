"""One output stream of a running script: decoded, batched into log records, capped.

Lines reach the log sink in batches (by count, by size and by time), never one record per
line. What is kept for the execution log stops at a byte cap, with a strategy for the rest:
``truncate`` keeps a marker, ``spill`` writes the rest to a file, ``fail`` stops the script.
The last non-empty line of stdout is always available, whatever the cap, because it is the
script's JSON result.
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from flows.core.redact import Redactor
from flows.core.settings import OutputStrategy

__all__ = ["Capture", "LogSink"]

LogSink = Callable[[str, str], None]
"""Called with (stream name, a block of complete lines joined by newlines)."""

BATCH_BYTES = 64 * 1024
TAIL_BYTES = 1024 * 1024


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
        self._kept: list[bytes] = []
        self._kept_bytes = 0
        self._dropped_bytes = 0
        self._tail = bytearray()
        self._pending: list[str] = []
        self._partial = ""
        self._pending_bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._spill: BinaryIO | None = None
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
        kept = self._redactor.text(b"".join(self._kept).decode("utf-8", errors="replace"))
        if self.spilled is not None:
            return kept + f"\n[reelflow: {self._dropped_bytes} more bytes in {self.spilled}]"
        if self._dropped_bytes:
            return kept + f"\n[reelflow: output truncated, {self._dropped_bytes} bytes dropped]"
        return kept

    def last_line(self) -> str:
        """The last non-empty line of the whole stream (not only of what was kept)."""
        text = self._tail.decode("utf-8", errors="replace").rstrip()
        return text.rsplit("\n", 1)[-1].strip()

    # --- internals ------------------------------------------------------------------

    def _take(self, chunk: bytes) -> None:
        self._tail += chunk
        if len(self._tail) > TAIL_BYTES:
            del self._tail[: len(self._tail) - TAIL_BYTES]
        room = self._limit - self._kept_bytes
        if room >= len(chunk):
            self._keep(chunk)
            return
        if room > 0:
            self._keep(chunk[:room])
        self._overflow(chunk[max(room, 0) :])

    def _keep(self, chunk: bytes) -> None:
        self._kept.append(chunk)
        self._kept_bytes += len(chunk)
        if self._sink is not None:
            self._buffer(self._decoder.decode(chunk))

    def _overflow(self, rest: bytes) -> None:
        first = self._dropped_bytes == 0
        self._dropped_bytes += len(rest)
        if self._strategy == "spill":
            if self._spill is None:
                self._spill_path.parent.mkdir(parents=True, exist_ok=True)
                self._spill = self._spill_path.open("wb")
                self.spilled = self._spill_path
            self._spill.write(rest)
        elif self._strategy == "fail":
            self._on_exceeded()
        if first and self._sink is not None:
            self._flush()
            where = f"; the rest goes to {self._spill_path}" if self._strategy == "spill" else ""
            self._sink(self.name, f"[reelflow: {self.name} passed {self._limit} bytes{where}]")

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
            if self._partial:
                self._pending.append(self._partial)
                self._partial = ""
            self._flush()
        if self._spill is not None:
            self._spill.close()
