"""What the human said, read from their own typed prompts only: preferences, corrections, the
task they asked for, and the problems they reported.

Memory is data: only text the human typed can become a preference. Callers pass the main
thread's prompts as signals.human_text() gives them (no injected isMeta lines, no slash-command
output, no tool results, no subagent prompts, which the parent agent wrote); nothing here is
ever fed tool output, file contents or issue bodies.
"""

from __future__ import annotations

import re
from functools import lru_cache

from engram_ci.knowledge.bullets import clean_markdown, whole_sentences
from engram_ci.knowledge.phrases import iter_sentences

__all__ = [
    "PREFERENCE_CAP",
    "asked",
    "clean_markdown",
    "correction",
    "preferences",
    "reports_problem",
]

PREFERENCE_CAP = 8


def _jumping(letters: str, pattern: str) -> re.Pattern[str]:
    """`pattern`, ignoring case, behind a look-ahead of the `letters` its matches can start
    with: Python's re then skips to those letters instead of trying every alternative at
    every position (about twice as fast on prompts). The same matches: keep the letters in
    step with the alternatives (tests/test_human.py checks them)."""
    return re.compile(f"(?=[{letters}])(?:{pattern})", re.IGNORECASE)


#: how much of a prompt is the human's own: a task told at length may end with its constraint
#: ("To be clear: don't use X") at ~1,000 characters; past that, prompts go on with pasted
#: logs, docs and code (which _said also stops at when a sentence announces them)
_READ_CHARS = 1_600
_SENTENCE_CHARS = 260
#: a want, a convention, a constraint: "I'd like", "don't", "keep it", "use X instead";
#: an imperative opens the sentence or follows a lead-in ("To be clear: don't use ClMail")
_WANT_RE = _jumping(
    "ilpwydnaskmor",
    r"\b(i'?d (love|prefer|rather)|i'?d like (to|it|the|a|an)\b|i (want|prefer|like)\b"
    r"|i don'?t (want|like|need|think)|(^|(?<=: ))(please )?(don'?t|do not|never|always|avoid)"
    r"|(please|we|you) (don'?t|do not|never|always)|we (should|shouldn'?t|need|don'?t need|want"
    r"|must)|should (we|be|use|run|not|only|also)|let'?s (use|keep|do|go|not|make|stick|switch"
    r"|change|first|just)|instead|rather than|no need|keep(ing)? (it|the|them|this|that)"
    r"|make sure|must|prefer|only (use|run|work))\b",
)
#: what a request needs besides its ask to state a lasting want: a constraint
_CONSTRAINT_RE = re.compile(
    r"\b(keep(ing)? (it|the|them|this|that)|without|instead|rather than|don'?t|do not|never"
    r"|always|only|free)\b",
    re.IGNORECASE,
)
#: a sentence announcing pasted material (docs, logs, output): the sentences after it are not
#: the human's words
_PASTE_RE = _jumping(
    "tbhm",
    r"\b(this|these|the following|below|here'?s|here is|man page)\b.*\b(docs?|page|output|logs?"
    r"|errors?|trace|diff|patch|har|messages?|snippet)\b",
)
_CODE_SPAN_RE = re.compile(r"`[^`]*`")
_REQUEST_RE = re.compile(r"^(hey \w+, )?(can|could|would|will) you\b|^please\b", re.IGNORECASE)
#: pasted code, logs and markup: not a sentence the human typed
_CODE_RE = re.compile(
    r"[{};]|\w=|=\s*[\"'\d]|\w\([^)\s]|\)\.\w|^\W|\s(at|in) \S+:\d+|\d\d:\d\d:\d\d"
)
_NON_WORD_RE = re.compile(r"\W")
#: a question only counts when it proposes something ("maybe we should use https?")
_PROPOSAL_RE = re.compile(
    r"\b(we should|should we|let'?s|instead|rather than|don'?t|no need|do we (even )?need"
    r"|maybe (we|use|move|just)|could we|can we just)\b",
    re.IGNORECASE,
)
#: a prompt that pushes back on what the agent just did
_PUSHBACK_RE = re.compile(
    r"^(no\b|nope|not\b|actually|wait|don'?t|stop|instead|never mind|that'?s (not|wrong)"
    r"|i don'?t think|you can (just|set|use)|why (not|did))",
    re.IGNORECASE,
)
#: a prompt reporting that something broke: the reply that follows is a fix
_PROBLEM_RE = _jumping(
    "dinsefbclmuh:",
    r"(doesn'?t|does not|didn'?t|isn'?t|is not|still( doesn'?t)?|not) work|\b(error|errors|failed"
    r"|fails|failing|broken|blocked|crash(es|ed)?|lost|missing|unhappy|mysterious|stuck|hangs?"
    r"|hanging|nothing happens)\b|:\(",
)


@lru_cache(maxsize=4)  # each prompt is asked for its wants, correction, task and problem
def _said(text: str) -> tuple[str, ...]:
    """The human's sentences, markdown folded, long pastes left out."""
    found: list[str] = []
    paste_follows = False  # _PASTE_RE on found[-1], asked once per sentence kept
    for sentence in iter_sentences(text[:_READ_CHARS], min_words=2, min_chars=6):
        sentence = clean_markdown(sentence).rstrip("\\ ")  # "\\" ends a line in Claude Code
        if sentence.endswith(":") or paste_follows:
            break  # "…do something like:", "does this doc page help?": a paste follows
        if (
            len(sentence) <= _SENTENCE_CHARS
            and not sentence.endswith(",")
            and not _looks_like_code(sentence)
        ):
            found.append(sentence)
            paste_follows = bool(_PASTE_RE.search(sentence))
    return tuple(found)


def _looks_like_code(sentence: str) -> bool:
    """bool(_CODE_RE.search(sentence)), faster: each of its alternatives but `^\\W` needs one
    of { } ; = ( : or ")." (the sentence opening with a non-word character), and most prose
    holds none of them, which `in` tells at memchr speed (tests/test_human.py checks it)."""
    if (
        "{" in sentence
        or "}" in sentence
        or ";" in sentence
        or "=" in sentence
        or "(" in sentence
        or ":" in sentence
        or ")." in sentence
    ):
        return _CODE_RE.search(sentence) is not None
    return _NON_WORD_RE.match(sentence) is not None


def preferences(text: str) -> list[str]:
    """Sentences of a prompt that state what the human wants, in their words."""
    found = []
    for sentence in _said(text):
        # (a code span needs a backtick: most sentences skip the sub() call)
        unquoted = _CODE_SPAN_RE.sub("", sentence) if "`" in sentence else sentence
        if not _WANT_RE.search(unquoted):
            continue  # "instead" inside `// TODO: hide it instead` is quoted, not said
        if sentence.endswith("?") and not _PROPOSAL_RE.search(sentence):
            continue  # a question asks; it does not state a want
        if _REQUEST_RE.match(sentence) and not _CONSTRAINT_RE.search(sentence):
            continue  # a task: what was asked, not how the human wants things done
        found.append(sentence)
    return found


def correction(text: str, *, after_refusal: bool) -> str | None:
    """The prompt as a correction: it followed a refused tool call, or it opens by pushing back
    ("no, use X", "actually…"). Its first whole sentences, or None."""
    said = _said(text)
    if not said or not (after_refusal or _PUSHBACK_RE.match(said[0])):
        return None
    return whole_sentences(" ".join(said[:3]), _SENTENCE_CHARS) or None


def asked(text: str) -> str | None:
    """What a prompt asked for, in its first whole sentences."""
    said = _said(text)
    if not said:
        return None
    return whole_sentences(" ".join(said[:2]), 240) or whole_sentences(said[0], 300) or None


def reports_problem(text: str) -> str | None:
    """The sentence of a prompt that reports something broken, or None."""
    return next((s for s in _said(text) if len(s) <= 160 and _PROBLEM_RE.search(s)), None)
