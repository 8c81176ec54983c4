"""The offline extractor's one walk: bounded state, and the shortcuts that make it fast are
the same as the long way round."""

from __future__ import annotations

import copy
import dataclasses
import gc
import re
import weakref
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engram_ci import offline
from engram_ci.model import Turn
from engram_ci.signals import may_hold
from tests.test_extract import assistant, bash, call, fix_a_failing_test, session


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
        "(subagent) `uv run pytest -q` passed after editing `src/calc.py`"
        in (found.entries["solutions"])
    )


def test_extract_and_render_summary_are_the_digest() -> None:
    s = fix_a_failing_test()
    found = offline.digest(s)
    assert offline.extract(s) == (found.entries, found.confidence)
    assert offline.render_summary(s) == found.summary()
    with_story = offline.render_summary(s, "Fixed add().")
    assert with_story == found.summary("Fixed add().")
    assert "\n\n## Summary\n\nFixed add().\n\n## Task\n\n" in with_story


def test_failures_past_the_open_cap_are_never_paired_with_their_fix() -> None:
    # the bound that keeps a thread's state small: only the most recent failures await a fix
    cap = offline.OPEN_FAILURES_CAP
    failures = [bash(f"./step{i}.sh", "Exit code 1\nboom", error=True) for i in range(cap + 1)]
    s = session(
        assistant("", *failures),
        assistant("", call("Edit", "ok", file_path="/home/dev/calc/a.py")),
        assistant("", bash("./step0.sh", "ok"), bash("./step1.sh", "ok")),
    )
    solutions = offline.extract(s)[0]["solutions"]
    assert solutions == "- `./step1.sh` passed after editing `a.py`"


def test_a_fix_pairs_with_the_earliest_failure_and_solutions_keep_failure_order() -> None:
    s = session(
        assistant("", bash("./a.sh", "Exit code 1\nA broke", error=True)),
        assistant("", bash("./b.sh", "Exit code 1\nB broke", error=True)),
        assistant("", bash("./b.sh", "Exit code 1\nB broke again", error=True)),
        assistant("", call("Edit", "ok", file_path="/home/dev/calc/b.py")),
        assistant("The problem was a missing flag in the b script.", bash("./b.sh", "ok")),
        assistant("", call("Edit", "ok", file_path="/home/dev/calc/a.py")),
        assistant("", bash("./a.sh", "ok")),
    )
    entries = offline.extract(s)[0]
    assert entries["solutions"].splitlines() == [  # a's failure came first
        "- `./a.sh` passed after editing `b.py`, `a.py`: The problem was a missing flag in the"
        " b script.",
        "- `./b.sh` passed after editing `b.py`: The problem was a missing flag in the b script.",
    ]
    assert entries["bugs"].count("fixed later in the session") == 3


_PROSE_PIECES = [
    "we should",
    "instead of",
    "because",
    "the issue is",
    "Note that",
    "fixed",
    "needs to",
    "unfixed",
    "xbecause",
    "**",
    "ſhould",
    "İnstead of",
    "decıded",
    "\u212aey insight",
    "ROOT CAUSE",
    "Let's use",
    "I'll go with",
    "fails because",
    "the",
    "issue",
    "was",
    "```",
    " ",
    ". ",
    "'",
    "\n",
    "→",
    "word",
    "-",
]
_PATTERNS = (offline._DECISION, offline._INSIGHT, offline._CAUSE, offline._INTENT)


@given(st.lists(st.sampled_from(_PROSE_PIECES), max_size=30))
def test_the_pre_checks_answer_as_the_regexes_would(pieces: list[str]) -> None:
    text = "".join(pieces)
    groups = [(p,) for p in _PATTERNS] + [(offline._CAUSE, offline._INTENT)]
    prose = offline._Prose(text)
    for group in groups:
        regexes = [p.regex for p in group]
        assert prose.may_hold(*group) == may_hold(text, *regexes), (group, text)


def _parts(pattern: offline._Phrases) -> tuple[str, str]:
    """The letters and the alternatives, out of rf"(?=[{letters}])\\b({alternatives})\\b"."""
    found = re.fullmatch(r"\(\?=\[(\w+)\]\)\\b\((.*)\)\\b", pattern.regex.pattern)
    assert found
    return found[1], found[2]


@given(st.data())
def test_any_text_a_prose_regex_finds_something_in_passes_its_pre_check(
    data: st.DataObject,
) -> None:
    for pattern in _PATTERNS:
        phrase = data.draw(st.from_regex(re.compile(_parts(pattern)[1], re.I), fullmatch=True))
        text = data.draw(st.text(max_size=3)) + phrase + data.draw(st.text(max_size=3))
        assert offline._Prose(text).may_hold(pattern) == may_hold(text, pattern.regex)


def _expand(regex: str) -> list[str]:
    """Every string a regex of letters, (…|…) and ? after a letter or group matches."""

    def alternation(at: int) -> tuple[list[str], int]:
        found, at = sequence(at)
        while at < len(regex) and regex[at] == "|":
            more, at = sequence(at + 1)
            found += more
        return found, at

    def sequence(at: int) -> tuple[list[str], int]:
        found = [""]
        while at < len(regex) and regex[at] not in "|)":
            if regex[at] == "(":
                item, at = alternation(at + 1)
                at += 1  # ")"
            else:
                item, at = [regex[at]], at + 1
            if at < len(regex) and regex[at] == "?":
                item, at = [*item, ""], at + 1
            found = [head + tail for head in found for tail in item]
        return found, at

    return alternation(0)[0]


@pytest.mark.parametrize("pattern", _PATTERNS, ids=lambda p: p.regex.pattern[:20])
def test_every_phrase_of_a_prose_regex_passes_its_pre_check(pattern: offline._Phrases) -> None:
    letters, alternatives = _parts(pattern)
    phrases = _expand(alternatives)
    assert len(phrases) > 5
    for phrase in phrases:
        assert phrase[0] in letters  # the look-ahead lets every phrase through
        for text in (phrase, f"So {phrase.upper()}, then.", f"→{phrase.title()}→"):
            assert pattern.regex.search(text), text
            assert offline._Prose(text).may_hold(pattern), text
