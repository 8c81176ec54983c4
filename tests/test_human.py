"""The human's own words: preferences, corrections, what was asked, problems reported."""

from __future__ import annotations

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
    assert human.correction("No, use X. It is faster. And more.", after_refusal=False) == (
        "No, use X. It is faster."
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
