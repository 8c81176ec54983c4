"""What the offline extractor looks for in prose, and how it finds it fast and exactly.

The phrases (decisions stated, insights, why a failure happened, TODOs) are regexes over a
reply's first PROSE_CHARS. Most replies state none of them, and an IGNORECASE regex scan
costs ~30 ns a character, so each pattern comes with phrases one of which every match holds
and a reply is asked the regex only when its words (split once, in C) hold one of them. The
pre-checks can only say "maybe": the regexes decide, so output is as if they ran every time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from engram_ci.knowledge.prompts import clip

__all__ = [
    "CAUSE",
    "CAUSE_RE",
    "DECISION",
    "DECISION_RE",
    "INSIGHT",
    "INSIGHT_RE",
    "INTENT",
    "INTENT_RE",
    "PROSE_CHARS",
    "TODO",
    "TODO_RE",
    "Phrases",
    "Prose",
    "any_case",
    "folded",
    "iter_sentences",
    "may_contain",
    "may_have_todo",
    "may_hold",
    "one_line",
    "sentences",
]

LINE_CHARS = 200
#: how much of one text the sentence heuristics read: decisions and causes are stated early,
#: and a bound keeps a huge pasted reply from costing more than a typical one
PROSE_CHARS = 16 * 1024

_FENCE_RE = re.compile(r"```.*?(```|\Z)", re.DOTALL)
_LIST_MARK_RE = re.compile(r"^([-*+•]|\d+[.)])\s+")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\"'(])")

#: what Python's re, ignoring case, takes for an ASCII letter though lower() does not give
#: that letter: İ and ı match "i", ſ matches "s", the Kelvin sign "k"
_ODD_CASES = ("\u0130", "\u0131", "\u017f", "\u212a")


def folded(text: str) -> bytes | None:
    """`text` in UTF-8 with its ASCII capitals lowered, to look for ASCII words in any case
    with `in` at memchr speed (an IGNORECASE regex scan costs ~30 ns a character, and
    str.lower() on non-ASCII text 5): an ASCII word occurs in `text` in a case that
    re.IGNORECASE accepts only if its lowered bytes are in this. None when `text` holds one
    of _ODD_CASES, which lowering cannot fold: then only the regex can tell."""
    if not text.isascii() and any(odd in text for odd in _ODD_CASES):
        return None
    return text.encode("utf-8", "surrogatepass").lower()


def any_case(*words: str) -> tuple[bytes, ...]:
    """ASCII words to look for in a folded() text with may_contain()."""
    return tuple(word.lower().encode("ascii") for word in words)


def may_contain(folded_text: bytes | None, words: tuple[bytes, ...]) -> bool:
    """False only when none of `words` (from any_case) is in the folded text in any case."""
    return folded_text is None or any(word in folded_text for word in words)


#: bytes.translate table: ASCII capitals lowered, every byte but an ASCII word character
#: (re's \w: letters, digits, "_") made a space
_WORD_BYTES = b"0123456789_abcdefghijklmnopqrstuvwxyz"
_WORDS_ONLY = bytes(b + 32 if 65 <= b <= 90 else b if b in _WORD_BYTES else 32 for b in range(256))


class Held(NamedTuple):
    """Phrases one of which every match of a regex holds: each one's words, and each one as
    words_only() gives it."""

    needs: tuple[frozenset[bytes], ...]
    phrases: tuple[bytes, ...]


def words_only(text: str) -> bytes | None:
    """The ASCII words of `text`, lowered, spaces for everything else: its UTF-8 bytes
    translated (a character beyond ASCII is bytes beyond it), at memchr speed. A phrase of
    whole ASCII words that an IGNORECASE regex finds in `text` is in this too, translated the
    same way (held()), and each of its words is one of `words_only(text).split()`. None
    when `text` holds one of _ODD_CASES, which translating cannot fold."""
    if not text.isascii() and any(odd in text for odd in _ODD_CASES):
        return None
    return text.encode("utf-8", "surrogatepass").translate(_WORDS_ONLY)


def held(alternatives: str) -> Held:
    """ "a b|c d": phrases to look for with may_say()."""
    phrases = [phrase.encode("ascii").translate(_WORDS_ONLY) for phrase in alternatives.split("|")]
    return Held(tuple(frozenset(phrase.split()) for phrase in phrases), tuple(phrases))


def may_say(words: bytes | None, present: frozenset[bytes], said: Held) -> bool:
    """False only when no phrase of `said` is in a text, given its words_only() and which
    words of the phrases it holds (`present`, a set intersection with its words, made once
    for several questions): a phrase needs all its words present (most phrases are ruled out
    by that set lookup, all at once in C) and then to be there whole. Sound for a regex of
    whole ASCII words in any case when each of its matches holds one of the phrases, as
    whole words."""
    if words is None:
        return True
    if not any(map(present.issuperset, said.needs)):
        return False
    pairs = zip(said.needs, said.phrases, strict=True)
    return any(need <= present and phrase in words for need, phrase in pairs)


def one_line(text: str, limit: int = LINE_CHARS) -> str:
    return clip(" ".join(text.split()), limit)


def sentences(text: str, min_words: int = 4, min_chars: int = 15) -> list[str]:
    """Prose sentences of a markdown text (its first PROSE_CHARS): code fences, tables and
    headings dropped, and sentences shorter than that (an agent's "Done." says nothing; a
    human's "No, use X." does)."""
    return list(iter_sentences(text, min_words, min_chars))


def iter_sentences(text: str, min_words: int = 4, min_chars: int = 15) -> Iterator[str]:
    """sentences(), one at a time: a caller that wants the first few stops the split there
    (a 4 KB reply read for its opening two sentences splits its opening lines only)."""
    text = text[:PROSE_CHARS]
    if "```" in text:  # no fence can match without one: most texts skip the regex
        text = _FENCE_RE.sub("\n", text)
    for line in text.splitlines():
        line = line.strip()
        # what follows only removes and splits: a line already too short yields nothing
        if not line or len(line) < min_chars or line.startswith(("|", "#", ">", "<")):
            continue
        # the list-mark regex can only match a line opening with a mark, or with a digit
        # (isdigit() holds for every \d and more) when a "." or ")" follows somewhere: the
        # other lines skip a regex call each
        first = line[0]
        if first in "-*+•" or (first.isdigit() and ("." in line or ")" in line)):
            line = _LIST_MARK_RE.sub("", line)
        line = line.replace("**", "")
        # a sentence ends at . ! or ?: a line holding none is one piece, without a split()
        ends = "." in line or "!" in line or "?" in line
        for sentence in _SENTENCE_END_RE.split(line) if ends else (line,):
            sentence = sentence.strip()
            if len(sentence) >= min_chars and len(sentence.split()) >= min_words:
                yield sentence


def may_hold(text: str, *patterns: re.Pattern[str]) -> bool:
    """False only when no sentence of `text` can match any of `patterns`: one regex pass over
    the whole text instead of a Python loop over its lines, for the many turns that state
    nothing. Sound because sentences() only removes text (fences, markers, line breaks) and
    unwraps `**`, which is removed here too; the patterns used with it have no anchors.
    """
    window = prose_window(text)
    return any(pattern.search(window) for pattern in patterns)


def prose_window(text: str) -> str:
    """What may_hold scans of a text: its first PROSE_CHARS, `**` removed."""
    text = text[:PROSE_CHARS]
    return text.replace("**", "") if "**" in text else text


# ---------------------------------------------------------------- the phrases


class Phrases(NamedTuple):
    """A regex, and phrases one of which every match of it holds (may_say())."""

    regex: re.Pattern[str]
    held: Held


def whole_words(letters: str, alternatives: str, held_phrases: str) -> Phrases:
    """Any of `alternatives` as whole words, in any case. The look-ahead of their first
    `letters` lets Python's re jump between candidate letters instead of trying every
    position (2-3x faster). Keep the letters and the held phrases in step with the
    alternatives: tests/test_phrases.py checks both."""
    regex = re.compile(rf"(?=[{letters}])\b({alternatives})\b", re.IGNORECASE)
    return Phrases(regex, held(held_phrases))


DECISION = whole_words(
    "lidwrcogsp",
    r"let'?s (use|go with|keep|switch|stick|do|try|make|not)"
    r"|i'?ll (go with|use|switch)|we'?ll (use|go with|keep)|decided|decision|instead of"
    r"|rather than|we should"
    r"|chose|chosen|opt(ed)? for|going with|switch(ed|ing)? (to|from)|prefer",
    "let|lets|go with|use|switch|keep|decided|decision|instead of|rather than|we should"
    "|chose|chosen|opt for|opted for|going with|switched|switching|prefer",
)
INSIGHT = whole_words(
    "rthfcngk",
    r"root cause|the (issue|problem|bug|error|cause) (is|was)|turns out|the reason"
    r"|(happens|happened|fails|failed) because|caused by|note that|gotcha|key insight",
    "root cause|issue is|issue was|problem is|problem was|bug is|bug was|error is|error was"
    "|cause is|cause was|turns out|the reason|happens because|happened because"
    "|fails because|failed because|caused by|note that|gotcha|key insight",
)
#: why a failure happened, strongest wording first: a stated cause beats a stated intent
CAUSE = whole_words(
    "tbrcm",
    r"the (issue|problem|error|bug|cause)|because|root cause|caused by|missing",
    "the issue|the problem|the error|the bug|the cause|because|root cause|caused by|missing",
)
INTENT = whole_words(
    "fns",
    r"fix(ed|es)?|need(s|ed)? to|should|since",
    "fix|fixed|fixes|need to|needs to|needed to|should|since",
)
DECISION_RE, INSIGHT_RE, CAUSE_RE, INTENT_RE = (p.regex for p in (DECISION, INSIGHT, CAUSE, INTENT))
TODO_RE = re.compile(r"(?=[TFX])\b(TODO|FIXME|XXX)\b[:(\s]")
#: case-sensitive, but what it finds holds the words "todo", "fixme" or "xxx" in some case
TODO = Phrases(TODO_RE, held("todo|fixme|xxx"))
#: every word of the phrases above: a text is matched against these once, whatever it is asked
_VOCABULARY = frozenset(
    word for p in (DECISION, INSIGHT, CAUSE, INTENT, TODO) for need in p.held.needs for word in need
)


def may_have_todo(text: str) -> bool:
    """TODO_RE is case-sensitive: without one of its words (found at memchr speed) it can't
    match."""
    return "TODO" in text or "FIXME" in text or "XXX" in text


class Prose:
    """A text the patterns above read: split into sentences at most once, by whoever asks
    first, and into words once for their pre-checks."""

    __slots__ = ("_present", "_sentences", "_window", "_words", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._sentences: list[str] | None = None
        self._window: str | None = None
        self._words: bytes | None = None
        self._present: frozenset[bytes] = frozenset()

    def may_hold(self, *patterns: Phrases) -> bool:
        """may_hold(text, *their regexes), asking a regex only when the text holds one of the
        phrases every match of it holds."""
        if self._window is None:
            self._window = prose_window(self.text)
            self._words = words_only(self._window)
            if self._words is not None:
                self._present = _VOCABULARY.intersection(self._words.split())
        window, words, present = self._window, self._words, self._present
        return any(may_say(words, present, p.held) and p.regex.search(window) for p in patterns)

    def sentences(self) -> list[str]:
        if self._sentences is None:
            self._sentences = sentences(self.text)
        return self._sentences
