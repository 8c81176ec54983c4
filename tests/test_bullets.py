"""The bullet vocabulary: labels, whole sentences, narration."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engram_ci.knowledge import bullets


def test_labels_are_read_back_from_bullets() -> None:
    assert bullets.bullet_label("- Test: `pytest` (run 2×)") == ("Test", "`pytest` (run 2×)")
    assert bullets.bullet_label("- Left failing: `make`") == ("Left failing", "`make`")
    assert bullets.bullet_label("- Chose SQLite: it is local") == (
        None,
        "Chose SQLite: it is local",
    )
    assert all(section for section in bullets.LABELS.values())


def test_whole_sentences_say_less_rather_than_clip() -> None:
    text = "First sentence here. Second one is a little longer. Third."
    assert bullets.whole_sentences(text, 200) == text
    assert bullets.whole_sentences(text, 40) == "First sentence here."
    assert bullets.whole_sentences(text, 10) == ""
    assert bullets.whole_sentences("no end in sight " * 20, 50) == ""


@pytest.mark.parametrize(
    "sentence",
    [
        "I'll help you modify the TUI.",
        "Let me check the tests.",
        "Now let's run the build.",
        "Perfect! That works.",
        "You're absolutely right, it should.",
        "Looking at the code, it reads the cache.",
    ],
)
def test_narration_is_recognised(sentence: str) -> None:
    assert bullets.is_narration(sentence)


def test_statements_are_not_narration_and_interjections_go() -> None:
    assert not bullets.is_narration("The cache is rebuilt on every start.")
    assert not bullets.is_narration("I've switched the submodule to HTTPS.")
    assert bullets.strip_interjections("Perfect! ✅ The tests pass.") == "The tests pass."
    assert bullets.strip_interjections("You're right - Vercel has its own config.") == (
        "Vercel has its own config."
    )
    assert bullets.clean_markdown("**Fixed** [the link](http://x) *now*") == "Fixed the link now"


@given(
    st.lists(
        st.one_of(
            st.sampled_from(["[a](b)", "](", "[", "]", "(", ")", "**", "__", "*", "_", " ", "x"]),
            st.text(max_size=8),
        ),
        max_size=16,
    )
)
def test_clean_markdown_fast_paths_answer_as_the_regexes_do(parts: list[str]) -> None:
    text = "".join(parts)
    slow = bullets._EMPHASIS_RE.sub("", bullets._LINK_RE.sub(r"\1", text))
    assert bullets.clean_markdown(text) == " ".join(slow.split())
