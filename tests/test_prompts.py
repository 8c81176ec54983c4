"""The session rendering the model reads: cut to a budget in one bounded pass."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engram_ci.knowledge import prompts


def cut_the_simple_way(lines: list[str], budget: int) -> str:
    """The rule written with the whole list in hand: everything if it fits, else the start up
    to HEAD_SHARE of the budget, a note, and as much of the end as the rest allows."""
    if len("\n".join(lines)) <= budget:
        return "\n".join(lines)
    head: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > budget * prompts.HEAD_SHARE:
            break
        head.append(line)
        used += len(line) + 1
    tail: list[str] = []
    for line in reversed(lines[len(head) :]):
        if used + len(line) + 1 > budget:
            break
        tail.append(line)
        used += len(line) + 1
    omitted = len(lines) - len(head) - len(tail)
    return "\n".join([*head, f"[... {omitted} lines omitted ...]", *reversed(tail)])


@given(st.lists(st.text(max_size=40), max_size=80), st.integers(min_value=1, max_value=400))
def test_the_one_pass_cut_matches_the_whole_list_rule(lines: list[str], budget: int) -> None:
    assert prompts._fit(iter(lines), budget) == cut_the_simple_way(lines, budget)


def test_a_long_session_keeps_its_start_and_end() -> None:
    lines = [f"line {n:05d}" for n in range(10_000)]
    text = prompts._fit(iter(lines), 1_000)
    assert text.startswith("line 00000\n") and text.endswith("line 09999")
    assert "lines omitted ...]" in text and len(text) <= 1_000 + 40
