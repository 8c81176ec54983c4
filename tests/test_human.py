"""The human's own words: preferences, corrections, what was asked, problems reported."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engram_ci.knowledge import human
from engram_ci.knowledge.phrases import sentences


@pytest.mark.parametrize(
    ("prompt", "wants"),
    [
        (
            "Please refactor it while keeping it simple and dependency free. Thanks!",
            ["Please refactor it while keeping it simple and dependency free."],
        ),
        ("I don't want to make assumptions about people's env.", None),
        ("We should run CI on every push, not only main.", None),
        ("This is annoying, maybe we should use the https repo address?", None),
        ("Let's use pnpm, never npm.", None),
        ("To be clear: don't use ClMail, use the builtin teams.", None),
        ("Important: never force-push to master.", None),
    ],
)
def test_preferences_are_the_humans_stated_wants(prompt: str, wants: list[str] | None) -> None:
    assert human.preferences(prompt) == (wants if wants is not None else [prompt])


@pytest.mark.parametrize(
    "prompt",
    [
        "Can you please add a GitHub Action to run the tests?",  # a task, not a preference
        "Would there be a cross-platform solution?",  # a question asks
        "They don't look that bad.",  # "don't" about something else
        "Find `// TODO: hide it instead` in timeline.html and fix it.",  # quoted, not said
        'summary="This session should be displayed in full when expanded",',  # pasted code
    ],
)
def test_requests_questions_and_pasted_code_are_not_preferences(prompt: str) -> None:
    assert human.preferences(prompt) == []


def test_a_want_at_the_end_of_a_long_task_is_read() -> None:
    # a task described at length, its constraint last: people put "to be clear" at the end
    task = "Research how the teammates feature handles a list of tasks in a worktree. " * 13
    prompt = task + "To be clear: don't use ClMail for communication."
    assert len(task) > 900
    assert human.preferences(prompt) == ["To be clear: don't use ClMail for communication."]


def test_a_paste_after_its_announcement_is_not_the_humans() -> None:
    prompt = (
        "We need a cleaner way to reinstall. Does this doc page help? "
        "For brevity, the documentation will mostly refer to uvx instead of uv tool run."
    )
    assert human.preferences(prompt) == ["We need a cleaner way to reinstall."]
    assert human.asked(prompt) == "We need a cleaner way to reinstall. Does this doc page help?"
    log = "Can you do something like:\nwe should never deploy on Fridays instead of Mondays."
    assert human.preferences(log) == []


def test_corrections_follow_a_refusal_or_push_back() -> None:
    assert human.correction("Use the vis library instead.", after_refusal=True) == (
        "Use the vis library instead."
    )
    assert human.correction("Use the vis library instead.", after_refusal=False) is None
    # the push back, its reason, and the ask that often rides along ("Also, fix …")
    said = "No, use X. It is faster. Also, would you fix the types? And more."
    assert human.correction(said, after_refusal=False) == (
        "No, use X. It is faster. Also, would you fix the types?"
    )
    assert human.correction("Wait, no. " + "Use it " * 40 + "now.", after_refusal=False) == (
        "Wait, no."  # whole sentences within the limit, never a clipped one
    )
    assert human.correction("Actually, keep the old name.", after_refusal=False) == (
        "Actually, keep the old name."
    )


def test_asked_is_whole_sentences_and_problems_are_found() -> None:
    long = "Please " + "really " * 60 + "fix it."
    assert human.asked(long) is None  # too long to say whole: say nothing
    assert human.asked("Fix the build. Then ship it. And more.") == "Fix the build. Then ship it."
    assert human.reports_problem("Thanks. The redirect still doesn't work :(") == (
        "The redirect still doesn't work :("
    )
    assert human.reports_problem("Add a button.") is None


def _said_as_before(text: str) -> tuple[str, ...]:
    """human._said before it remembered whether its last sentence announced a paste."""
    found: list[str] = []
    for sentence in sentences(text[: human._READ_CHARS], min_words=2, min_chars=6):
        sentence = human.clean_markdown(sentence).rstrip("\\ ")
        if sentence.endswith(":") or (found and human._PASTE_RE.search(found[-1])):
            break
        if (
            len(sentence) <= human._SENTENCE_CHARS
            and not sentence.endswith(",")
            and not human._CODE_RE.search(sentence)
        ):
            found.append(sentence)
    return tuple(found)


@given(
    st.lists(
        st.sampled_from(
            [
                "Here is the output of the logs. ",
                "Please fix it now. ",
                "x = 1; ",
                "Use this, ",
                "like:\n",
                "Does this doc page help? ",
                "Keep it simple please. ",
                "No, use uv instead. ",
                "\n",
            ]
        ),
        max_size=10,
    )
)
def test_said_answers_as_before(parts: list[str]) -> None:
    text = "".join(parts)
    assert human._said(text) == _said_as_before(text)


def _preferences_as_before(text: str) -> list[str]:
    """human.preferences with the code-span regex run on every sentence."""
    found = []
    for sentence in human._said(text):
        if not human._WANT_RE.search(human._CODE_SPAN_RE.sub("", sentence)):
            continue
        if sentence.endswith("?") and not human._PROPOSAL_RE.search(sentence):
            continue
        if human._REQUEST_RE.match(sentence) and not human._CONSTRAINT_RE.search(sentence):
            continue
        found.append(sentence)
    return found


_PREFERENCE_PIECES = ["I prefer `uv` ", "hide it `instead` ", "`", "we should ", "use pnpm"]
_PREFERENCE_PIECES += [". ", "? ", "Could you ", "keep it simple", " without tabs", "\n"]


@given(
    st.lists(
        st.sampled_from(_PREFERENCE_PIECES),
        max_size=12,
    )
)
def test_preferences_answer_as_before(parts: list[str]) -> None:
    text = "".join(parts)
    assert human.preferences(text) == _preferences_as_before(text)


_JUMPING = [human._WANT_RE, human._PASTE_RE, human._PROBLEM_RE]


def _plain(jumping: re.Pattern[str]) -> re.Pattern[str]:
    """The regex without _jumping's look-ahead: what it must answer as."""
    found = re.fullmatch(r"\(\?=\[[^\]]+\]\)\(\?:(.*)\)", jumping.pattern, re.DOTALL)
    assert found, jumping.pattern
    return re.compile(found.group(1), re.IGNORECASE)


def _first_chars(items: Any) -> tuple[set[str], bool]:
    """The characters a match of parsed regex `items` can start with, and whether it can be
    empty (only the constructs these regexes use: anything else fails the test)."""
    chars: set[str] = set()
    for op, arg in items:
        name = str(op)
        if name in ("AT", "ASSERT"):  # \b, ^, (?<=: ): zero-width
            continue
        if name == "LITERAL":
            return chars | {chr(arg)}, False
        if name == "SUBPATTERN":
            found, empty = _first_chars(arg[-1])
        elif name == "BRANCH":
            found, empty = set(), False
            for branch in arg[1]:
                more, may_be_empty = _first_chars(branch)
                found, empty = found | more, empty or may_be_empty
        elif name in ("MAX_REPEAT", "MIN_REPEAT"):
            found, empty = _first_chars(arg[2])
            empty = empty or arg[0] == 0
        else:
            raise AssertionError(f"{name} opens a match: extend _first_chars")
        chars |= found
        if not empty:
            return chars, False
    return chars, True


@pytest.mark.parametrize("jumping", _JUMPING)
def test_the_look_ahead_holds_every_letter_a_match_can_start_with(
    jumping: re.Pattern[str],
) -> None:
    letters = re.fullmatch(r"\(\?=\[([^\]]+)\]\).*", jumping.pattern, re.DOTALL)
    assert letters
    starts, may_be_empty = _first_chars(re._parser.parse(_plain(jumping).pattern))  # type: ignore[attr-defined]
    assert not may_be_empty
    assert starts <= set(letters.group(1))


@pytest.mark.parametrize("jumping", _JUMPING)
@given(data=st.data())
def test_the_look_ahead_letters_match_as_the_plain_regex_does(
    jumping: re.Pattern[str], data: st.DataObject
) -> None:
    # a match of the plain regex somewhere in any text (odd cases such as "İ", "ſ" and the
    # Kelvin sign included): the fast one finds the same span
    plain = _plain(jumping)
    around = st.text(alphabet=st.sampled_from("aZ .:(İıſ\u212a\n'"), max_size=6)
    text = data.draw(around) + data.draw(st.from_regex(plain)) + data.draw(around)
    expected, found = plain.search(text), jumping.search(text)
    assert (found and found.span()) == (expected and expected.span())


@given(
    st.lists(
        st.one_of(
            st.text(alphabet=st.sampled_from("a1_ {};=(:).\t'\"é٣\u2028"), max_size=4),
            st.from_regex(human._CODE_RE),
        ),
        max_size=5,
    )
)
def test_looks_like_code_answers_as_the_regex_does(parts: list[str]) -> None:
    text = "".join(parts)
    assert human._looks_like_code(text) == bool(human._CODE_RE.search(text))
