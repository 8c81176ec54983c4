"""TurnLog: turns that spill to a temporary file read back exactly, in order and by index."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from engram_ci.errors import FatalError
from engram_ci.transcripts.model import ToolCall, Turn
from engram_ci.transcripts.turnlog import TurnLog


def numbered(n: int) -> Turn:
    call = ToolCall(f"t{n}", "Bash", {"command": f"echo {n}"}) if n % 3 == 0 else None
    return Turn("assistant" if n % 2 else "user", f"turn {n}", tool_calls=[call] if call else [])


def filled(count: int, *, spill_every: int, keep: int) -> tuple[TurnLog, list[Turn]]:
    log, expected = TurnLog(), []
    for n in range(count):
        turn = numbered(n)
        log.append(turn)
        expected.append(numbered(n))  # an equal copy: spilled turns are no longer `turn`
        if n % spill_every == spill_every - 1:
            log.spill(keep=keep)
    return log, expected


def test_a_log_that_never_spilled_hands_out_its_plain_list() -> None:
    log, expected = filled(5, spill_every=100, keep=2)
    assert log.to_sequence() is log.hot and log.hot == expected


@pytest.mark.parametrize(("spill_every", "keep"), [(1, 0), (7, 3), (50, 10)])
def test_spilled_turns_read_back_in_order_by_walk_and_index(spill_every: int, keep: int) -> None:
    log, expected = filled(203, spill_every=spill_every, keep=keep)
    assert log.to_sequence() is log and len(log.hot) <= max(keep, spill_every)
    assert len(log) == 203 and list(log) == expected and log == expected
    assert list(log) == expected  # a second walk reads the same turns again
    assert [log[i] for i in (0, 1, 57, 202, -1, -203)] == [
        expected[i] for i in (0, 1, 57, 202, -1, -203)
    ]
    assert list(log[10:150:7]) == expected[10:150:7] and list(log[::-1]) == expected[::-1]
    with pytest.raises(IndexError):
        log[203]
    assert log != expected[:-1] and log != [*expected[:-1], numbered(999)]


def test_spill_returns_the_moved_turns_and_keeps_the_newest() -> None:
    log = TurnLog()
    turns = [numbered(n) for n in range(10)]
    for turn in turns:
        log.append(turn)
    assert log.spill(keep=4) == turns[:6] and log.hot == turns[6:]
    assert log.spill(keep=4) == [] and log.spill(keep=10) == []


def test_a_late_result_reaches_a_call_that_already_spilled() -> None:
    log = TurnLog()
    log.append(numbered(0))  # holds call t0, no result yet
    log.append(numbered(1))
    log.spill(keep=1)
    assert log[0].tool_calls[0].result is None  # read (and cached) before the result came
    log.add_late_result("t0", "done", True)
    for call in (log[0].tool_calls[0], next(iter(log)).tool_calls[0]):
        assert (call.result, call.is_error) == ("done", True)


def test_the_temporary_file_is_closed_when_the_log_is_collected() -> None:
    log, _ = filled(20, spill_every=5, keep=1)
    spill_file = log._file
    assert spill_file is not None and not spill_file.closed
    del log
    gc.collect()
    assert spill_file.closed


def test_an_unwritable_temp_folder_is_one_clear_error(tmp_path: Path) -> None:
    log = TurnLog(spill_dir=tmp_path / "missing")
    for n in range(3):
        log.append(numbered(n))
    with pytest.raises(FatalError, match="set TMPDIR to a writable folder"):
        log.spill(keep=1)
    assert len(log) == 3 and log.hot == [numbered(n) for n in range(3)]  # nothing lost
