"""Progress for long ingests: a one-line bar on a terminal, occasional plain lines elsewhere.

Deliberately tiny and dependency-free (no rich/tqdm): one line of text, redrawn in place with
a carriage return at most ~10 times a second, is all a terminal needs, and CI logs want a
plain line every few seconds instead (a redrawn bar there becomes thousands of lines).
The clock and the stream are injected so tests drive it without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TextIO

__all__ = ["MB", "NullProgress", "Progress", "ProgressSink"]

TTY_INTERVAL = 0.1  # seconds between redraws on a terminal (~10/s)
PLAIN_INTERVAL = 5.0  # seconds between plain lines; a shorter run prints none
BAR_WIDTH = 24
MB = 1024 * 1024


class ProgressSink(Protocol):
    """What ingest reports to; `NullProgress` when nobody watches."""

    def start(self, files: int, total_bytes: int) -> None: ...

    def advance(self, nbytes: int) -> None: ...

    def finish(self) -> None: ...


class NullProgress:
    def start(self, files: int, total_bytes: int) -> None:
        return None

    def advance(self, nbytes: int) -> None:
        return None

    def finish(self) -> None:
        return None


class Progress:
    """Counts transcripts and bytes done; draws a bar (TTY) or plain lines (not a TTY)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        is_tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        label: str = "ingest",
    ) -> None:
        self._stream = stream
        self._tty = stream.isatty() if is_tty is None else is_tty
        self._clock = clock
        self._label = label
        self._files = self._bytes = self._done_files = self._done_bytes = 0
        self._started = self._last_draw = 0.0
        self._drawn = False

    def start(self, files: int, total_bytes: int) -> None:
        self._files, self._bytes = files, total_bytes
        self._started = self._last_draw = self._clock()

    def advance(self, nbytes: int) -> None:
        self._done_files += 1
        self._done_bytes += nbytes
        now = self._clock()
        interval = TTY_INTERVAL if self._tty else PLAIN_INTERVAL
        if now - self._last_draw >= interval:
            self._last_draw = now
            self._draw(now)

    def finish(self) -> None:
        if self._tty and self._drawn:
            # clear the bar so the closing summary starts on a clean line
            self._stream.write("\r\x1b[K")
            self._stream.flush()

    def line(self, now: float) -> str:
        """The status text at time `now` (without the bar)."""
        elapsed = max(now - self._started, 1e-9)
        rate = self._done_bytes / MB / elapsed
        return (
            f"{self._done_files}/{self._files} transcripts  "
            f"{self._done_bytes / MB:.1f}/{self._bytes / MB:.1f} MB  {rate:.1f} MB/s"
        )

    def _draw(self, now: float) -> None:
        if self._tty:
            fraction = self._done_bytes / self._bytes if self._bytes else 1.0
            filled = round(BAR_WIDTH * min(fraction, 1.0))
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            text = f"\r{self._label} [{bar}] {fraction:4.0%}  {self.line(now)}\x1b[K"
        else:
            text = f"{self._label}: {self.line(now)}\n"
        self._stream.write(text)
        self._stream.flush()
        self._drawn = True
