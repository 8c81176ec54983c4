"""A session's turns that spill to disk, so reading a huge transcript needs flat memory.

A reader appends turns as the transcript goes by. Most sessions stay small and their turns
stay in memory (`to_sequence` then hands out a plain list). When a session's kept text grows
past what we hold in memory, the reader calls `spill`, and all but the newest turns move to
an anonymous temporary file as pickled chunks; iterating the log reads them back one chunk at
a time. Everything downstream (archive, extractors) walks turns in order, so a 1 GB
transcript costs one chunk of turns in memory, not the whole session.

Pickle is safe here: the file is unlinked, readable only by us (mode 0600), lives for one
ingest and holds only what this process wrote. It is removed when the log is collected.
"""

from __future__ import annotations

import bisect
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, overload

from engram_ci.errors import FatalError
from engram_ci.transcripts.model import ToolCall, Turn

__all__ = ["HOT_CHARS", "KEEP_OPEN", "TurnLog"]

#: kept text (chars) a reader holds in memory before older turns spill to disk, and how many
#: of the newest turns always stay in memory: a reply's later blocks and its tool results
#: arrive within a few lines, so only turns that can no longer change move out
HOT_CHARS = 1_000_000
MAX_HOT_TURNS = 2_000
KEEP_OPEN = 64


class TurnLog(Sequence[Turn]):
    """Turns in order: spilled chunks on disk first, then the newest ones in memory."""

    def __init__(self, hot_chars: int = HOT_CHARS, *, spill_dir: Path | None = None) -> None:
        self.hot_chars = hot_chars
        self._spill_dir = spill_dir  # None: the system's temp folder ($TMPDIR)
        self.hot: list[Turn] = []
        self._file: IO[bytes] | None = None
        #: (offset, size) of each pickled chunk, and the index of its first turn
        self._chunks: list[tuple[int, int]] = []
        self._starts: list[int] = []
        self._spilled = 0
        #: tool_use id -> (result, is_error) for results that arrived after their call spilled
        self._late_results: dict[str, tuple[str, bool]] = {}
        #: ids of spilled calls still waiting for their result
        self._unanswered: set[str] = set()
        #: the chunk indexing read last: neighbours are usually asked for together
        self._cached: tuple[int, list[Turn]] = (-1, [])

    # -- writing (the reader)

    def append(self, turn: Turn) -> None:
        self.hot.append(turn)

    def spill(self, keep: int) -> list[Turn]:
        """Move all but the newest `keep` turns to disk; return the turns that moved, so the
        reader can forget its indexes into them (they can no longer change)."""
        moving = self.hot[: max(0, len(self.hot) - keep)]
        if not moving:
            return []
        # imported here: only a session too big for memory needs them (start-up, issue 14)
        import pickle
        import tempfile

        data = pickle.dumps(moving, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            if self._file is None:
                # closed (and so deleted) when the log is collected, not at the end of a block
                self._file = tempfile.TemporaryFile(  # noqa: SIM115
                    prefix="engram-turns-", dir=self._spill_dir
                )
                weakref.finalize(self, self._file.close)
            offset = self._file.seek(0, 2)
            self._file.write(data)
        except OSError as error:
            where = self._spill_dir or tempfile.gettempdir()
            raise FatalError(
                f"cannot move a large session's turns to a temporary file in {where} "
                f"({error.strerror or error}): set TMPDIR to a writable folder with free space"
            ) from None
        self._chunks.append((offset, len(data)))
        self._starts.append(self._spilled)
        self._spilled += len(moving)
        del self.hot[: len(moving)]
        return moving

    def spill_if_large(self, kept_chars: int, calls: dict[str, ToolCall]) -> list[Turn]:
        """spill() when `kept_chars` (text kept since the last spill) passes HOT_CHARS or the
        turns in memory pass MAX_HOT_TURNS. The moved calls leave the reader's `calls` index
        (tool_use id -> call awaiting its result); give_result still reaches those that had
        no result yet. Returns the moved turns (empty when nothing moved)."""
        if kept_chars < self.hot_chars and len(self.hot) < MAX_HOT_TURNS:
            return []
        moved = self.spill(keep=KEEP_OPEN)
        for call in (call for turn in moved for call in turn.tool_calls):
            if calls.get(call.id) is call:
                del calls[call.id]
                if call.result is None:
                    self._unanswered.add(call.id)
        return moved

    def awaits_result(self, call_id: str, calls: dict[str, ToolCall]) -> bool:
        """Whether a call with this id was seen: in the reader's index, or spilled unanswered."""
        return call_id in calls or call_id in self._unanswered

    def give_result(
        self, call_id: str, calls: dict[str, ToolCall], result: str, is_error: bool
    ) -> None:
        """A tool result to its call (awaits_result said there is one), wherever it is now."""
        call = calls.get(call_id)
        if call is None:
            self.add_late_result(call_id, result, is_error)
        else:
            call.result, call.is_error = result, is_error

    def add_late_result(self, call_id: str, result: str, is_error: bool) -> None:
        """A tool result for a call that already moved to disk: applied when it is read."""
        self._late_results[call_id] = (result, is_error)
        self._cached = (-1, [])

    def to_sequence(self) -> Sequence[Turn]:
        """What a Session holds: the plain list when nothing spilled, else this log."""
        return self.hot if self._file is None else self

    # -- reading (everything downstream)

    def __len__(self) -> int:
        return self._spilled + len(self.hot)

    def __iter__(self) -> Iterator[Turn]:
        for number in range(len(self._chunks)):
            yield from self._load(number)
        yield from list(self.hot)  # a copy: a reader still appending must not disturb us

    @overload
    def __getitem__(self, index: int) -> Turn: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Turn]: ...
    def __getitem__(self, index: int | slice) -> Turn | Sequence[Turn]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("turn index out of range")
        if index >= self._spilled:
            return self.hot[index - self._spilled]
        number = bisect.bisect_right(self._starts, index) - 1
        if self._cached[0] != number:
            self._cached = (number, self._load(number))
        return self._cached[1][index - self._starts[number]]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def _load(self, number: int) -> list[Turn]:
        import pickle  # loaded by spill(), which wrote the chunk

        assert self._file is not None
        offset, size = self._chunks[number]
        self._file.seek(offset)
        # our own bytes, written above in this process (see the module docstring)
        turns: list[Turn] = pickle.loads(self._file.read(size))  # noqa: S301
        if self._late_results:
            for call in (call for turn in turns for call in turn.tool_calls):
                late = self._late_results.get(call.id)
                if late is not None:
                    call.result, call.is_error = late
        return turns
