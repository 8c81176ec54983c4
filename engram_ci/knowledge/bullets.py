"""The bullets a knowledge block holds: one fact a line, led by a label context.md sorts by.

The offline extractor writes engram's seven category files; context.md is their synthesis, so
each bullet says what kind of fact it is in words a reader understands too:

    - Preference: keep it dependency free            (patterns.md: what the human wants)
    - Correction: use pnpm (stopped `npm install`)   (patterns.md: the human said no)
    - Test: `uv run pytest` (run 3×, last run passed) (procedures.md; Lint/Build/Run/Git too)
    - Fix: `pytest` failed: … → passed after …         (solutions.md: error → what fixed it)
    - Cause: the submodule used an SSH URL.           (insights.md: why something broke)
    - Blocked: `claude -p …` needs approval in this setup  (bugs.md: what the agent's
      permission settings refused, which the next session meets again)
    - Decision: chose X because Y                    (decisions.md; Chosen/Plan approved too)
    - Asked: … / Done: …                             (insights.md: the task and its outcome)
    - Open: … / Left failing: …                      (questions.md: where the session ended)
    - File: `path` (edited 3×)                        (patterns.md: key files)

bugs.md keeps engram's plain "`cmd` failed: error" lines: context.md leaves them out, since a
failure worth a pitfall has its Fix, and one still failing at the end is Left failing.

A bullet without a label (engram's own, a model's) is still read, by its category.
This module also holds the text rules every bullet keeps: whole sentences only (say less
rather than clip), no assistant narration, no file of the agent's own as a file of the project.
"""

from __future__ import annotations

import functools
import re

__all__ = [
    "LABELS",
    "bullet_label",
    "clean_markdown",
    "is_agent_scratch",
    "is_narration",
    "strip_interjections",
    "whole_sentences",
]

#: label -> the context.md section it belongs to
LABELS: dict[str, str] = {
    "Preference": "wants",
    "Correction": "wants",
    "Test": "commands",
    "Lint": "commands",
    "Build": "commands",
    "Run": "commands",
    "Git": "commands",
    "Fix": "pitfalls",
    "Cause": "pitfalls",
    "Blocked": "pitfalls",
    "Decision": "decisions",
    "Chosen": "decisions",
    "Plan approved": "decisions",
    "Asked": "recent",
    "Done": "recent",
    "Open": "open",
    "Left failing": "open",
    "Unanswered at the end": "open",
    "Asked the user": "open",
    "File": "files",
}
_LABEL_RE = re.compile(r"^(" + "|".join(sorted(map(re.escape, LABELS), key=len)[::-1]) + r"): ")

_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\"'(\[*])")
#: what an agent says about its own process rather than the project (case-blind, see _compiled)
_NARRATION = (
    r"^(i'?ll|i will|i'?m (going|ready|now|about)|i am going|let me|let'?s (start|check|look|see"
    r"|first|now|run|try|verify|test)|now(,)? (i|let'?s|let me|we)|first(,)? (i|let)|i need to"
    r"|i see\b|i can see|i notice|i understand|i have (a good|enough|all)|looking at|based on"
    r"|here'?s (what|a|the|my)|you'?re (absolutely )?right|good (point|catch|question|idea)"
    r"|great (point|catch|question|idea|observation)|thank you|hello|hi\b|sure\b|okay\b"
    r"|ok\b|perfect|excellent|great|awesome|done[.!]|got it|ah[,! ]|oh[,! ]|hmm|wait"
    r"|actually,? (i|let)|everything (is|'s) (working|done|set|ready|in place)|all set\b)"
)
#: leading exclamations an answer opens with ("Perfect! The tests pass." -> "The tests pass.")
_INTERJECTION = (
    r"^((perfect|excellent|great|awesome|done|good|nice|exactly|yes|ah|oh|okay|ok|got it"
    r"|all done|success|fixed|ah yes|oh no)[!.,:]+\s*"
    r"|(you'?re (absolutely )?right|good (point|catch|observation|question)"
    r"|great (point|catch|observation|question))( -| —)?[!.,:]*\s+|[✅🎉✓✔️]+\s*)+"
)
_LINK_RE = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPHASIS_RE = re.compile(r"\*\*|__|(?<!\w)\*(?=\S)|(?<=\S)\*(?!\w)")


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """`pattern`, case-blind, compiled on first use: the two phrase tables above take ~2 ms to
    compile, which `engram ingest --help` and an unchanged re-ingest (they import this module
    but judge no text) do not pay."""
    return re.compile(pattern, re.IGNORECASE)


def bullet_label(line: str) -> tuple[str | None, str]:
    """("Test", "`pytest` (…)") for "- Test: `pytest` (…)"; (None, text) when unlabelled."""
    text = line.strip().removeprefix("- ").removeprefix("* ").strip()
    match = _LABEL_RE.match(text)
    if match:
        return match.group(1), text[match.end() :].strip()
    return None, text


def is_narration(sentence: str) -> bool:
    """An agent talking about what it will do or how it feels, not about the project."""
    return bool(_compiled(_NARRATION).match(sentence.strip().lstrip("*_#> ").strip()))


def strip_interjections(text: str) -> str:
    return _compiled(_INTERJECTION).sub("", text.strip())


def clean_markdown(text: str) -> str:
    """Links to their text, emphasis marks gone, whitespace folded: one plain line."""
    # each regex only when its text can match (a link holds "](", emphasis a "*" or "__"):
    # most sentences have neither, and a substring test is a tenth of a sub() call
    if "](" in text:
        text = _LINK_RE.sub(r"\1", text)
    if "*" in text or "__" in text:
        text = _EMPHASIS_RE.sub("", text)
    return " ".join(text.split())


def whole_sentences(text: str, limit: int) -> str:
    """The longest run of `text`'s leading whole sentences within `limit` characters, or ""
    when even the first is longer: a reader gets less rather than a clipped thought."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    kept = ""
    for sentence in _SENTENCE_END_RE.split(text):
        candidate = f"{kept} {sentence}" if kept else sentence
        if len(candidate) > limit:
            break
        kept = candidate
    return kept


def is_agent_scratch(path: str) -> bool:
    """A file the agent keeps for itself, not one of the project's: Claude Code's plan-mode
    plans (~/.claude/plans/<name>.md), which no bullet names as a key file or a fix."""
    return "/.claude/plans/" in path or path.startswith(".claude/plans/")
