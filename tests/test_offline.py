"""The offline extractor's one walk: bounded state, and the shortcuts that make it fast are
the same as the long way round."""

from __future__ import annotations

import copy
import dataclasses
import gc
import weakref
from collections.abc import Iterator

from engram_ci.knowledge import offline
from engram_ci.transcripts.model import Turn
from tests.test_extract import fix_a_failing_test, session


class FreshTurns:
    """Hands out a fresh copy of each turn, as a TurnLog unpickles them from disk, and
    checks on every step that the walk let go of the turns (and their calls) two steps back:
    the one just handed over may still be bound to the walk's loop variables."""

    def __init__(self, turns: list[Turn]) -> None:
        self.turns = turns
        self.handed: list[list[weakref.ref[object]]] = []

    def __iter__(self) -> Iterator[Turn]:
        for turn in self.turns:
            kept = [ref for refs in self.handed[:-1] for ref in refs if ref() is not None]
            assert not kept, f"the walk still holds {kept[0]()!r:.80}"
            fresh = copy.deepcopy(turn)
            self.handed.append([weakref.ref(fresh), *map(weakref.ref, fresh.tool_calls)])
            yield fresh
            del fresh

    def all_released(self) -> bool:
        gc.collect()
        return all(ref() is None for refs in self.handed for ref in refs)


def test_the_walk_keeps_no_turn_or_call_behind() -> None:
    base = fix_a_failing_test()
    turns = [t for _ in range(5) for t in base.turns]  # failures open across many turns
    main, sub = FreshTurns(turns), FreshTurns(turns)
    subagent = session(agent_id="agent-1")
    subagent.turns = sub  # type: ignore[assignment]  # any iterable of turns will do
    s = dataclasses.replace(base, subagents=[subagent])
    s.turns = main  # type: ignore[assignment]
    found = offline.digest(s)
    assert main.all_released() and sub.all_released()
    plain = dataclasses.replace(base, turns=turns, subagents=[session(agent_id="agent-1")])
    plain.subagents[0].turns = turns
    assert found == offline.digest(plain)
    assert (
        "- Fix: (subagent) `uv run pytest -q` failed: FAILED tests/test_calc.py::test_add"
        " - assert 0 == 4 → passed after editing `src/calc.py`" in (found.entries["solutions"])
    )


def test_extract_and_render_summary_are_the_digest() -> None:
    s = fix_a_failing_test()
    found = offline.digest(s)
    assert offline.extract(s) == (found.entries, found.confidence)
    assert offline.render_summary(s) == found.summary()
    with_story = offline.render_summary(s, "Fixed add().")
    assert with_story == found.summary("Fixed add().")
    assert "\n\n## Summary\n\nFixed add().\n\n## Task\n\n" in with_story
