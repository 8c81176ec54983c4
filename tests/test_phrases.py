"""Finding phrases in prose: the pre-checks that spare most regex scans answer as the
regexes would, whatever the case or the characters around."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engram_ci.knowledge import phrases
from engram_ci.knowledge.phrases import may_hold, sentences


def test_sentences_skip_code_tables_and_headings() -> None:
    text = (
        "# Plan\n\n- **First** we switch to uv. Then we test it.\n"
        "```\nlet's use x instead of y\n```\n| a | b |"
    )
    assert sentences(text) == ["First we switch to uv.", "Then we test it."]


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
_PATTERNS = (phrases.DECISION, phrases.INSIGHT, phrases.CAUSE, phrases.INTENT)


@given(st.lists(st.sampled_from(_PROSE_PIECES), max_size=30))
def test_the_pre_checks_answer_as_the_regexes_would(pieces: list[str]) -> None:
    text = "".join(pieces)
    groups = [(p,) for p in _PATTERNS] + [(phrases.CAUSE, phrases.INTENT)]
    prose = phrases.Prose(text)
    for group in groups:
        regexes = [p.regex for p in group]
        assert prose.may_hold(*group) == may_hold(text, *regexes), (group, text)


def _parts(pattern: phrases.Phrases) -> tuple[str, str]:
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
        assert phrases.Prose(text).may_hold(pattern) == may_hold(text, pattern.regex)


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
def test_every_phrase_of_a_prose_regex_passes_its_pre_check(pattern: phrases.Phrases) -> None:
    letters, alternatives = _parts(pattern)
    expansions = _expand(alternatives)
    assert len(expansions) > 5
    for phrase in expansions:
        assert phrase[0] in letters  # the look-ahead lets every phrase through
        for text in (phrase, f"So {phrase.upper()}, then.", f"→{phrase.title()}→"):
            assert pattern.regex.search(text), text
            assert phrases.Prose(text).may_hold(pattern), text


def _sentences_regex_always(text: str, min_words: int = 4, min_chars: int = 15) -> list[str]:
    """sentences() as it was before its fast paths: every regex on every text and line."""
    text = phrases._FENCE_RE.sub("\n", text[: phrases.PROSE_CHARS])
    found = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("|", "#", ">", "<")):
            continue
        line = phrases._LIST_MARK_RE.sub("", line).replace("**", "")
        for sentence in phrases._SENTENCE_END_RE.split(line):
            sentence = sentence.strip()
            if len(sentence) >= min_chars and len(sentence.split()) >= min_words:
                found.append(sentence)
    return found


_MARKDOWN_PIECES = st.sampled_from(
    ["```", "```py\n", "- ", "* ", "+ ", "• ", "1. ", "12) ", "٣. ", "²) ", "**", "\n", "  ", ". ",
     "? ", "! ", "Then ", "we switch to uv", "`x`", "| a |", "# H", "> q", "\u2028", "\x85"]
)  # fmt: skip


@given(st.lists(st.one_of(_MARKDOWN_PIECES, st.text(max_size=12)), max_size=20))
def test_sentences_fast_paths_answer_as_the_regexes_do(parts: list[str]) -> None:
    text = "".join(parts)
    assert sentences(text) == _sentences_regex_always(text)
    assert sentences(text, 2, 6) == _sentences_regex_always(text, 2, 6)


@given(
    st.lists(st.one_of(_MARKDOWN_PIECES, st.text(max_size=12)), max_size=20),
    st.integers(0, 4),
)
def test_iter_sentences_yields_what_sentences_returns_in_order(parts: list[str], n: int) -> None:
    # _outcome and human._said stop after their first few: those must be sentences()'s first few
    text = "".join(parts)
    assert list(phrases.iter_sentences(text)) == _sentences_regex_always(text)
    assert list(phrases.iter_sentences(text, 2, 6)) == _sentences_regex_always(text, 2, 6)
    assert list(itertools.islice(phrases.iter_sentences(text), n)) == sentences(text)[:n]
