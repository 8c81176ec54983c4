"""What an agent's reply says was done: the outcome of an exchange, in the reply's own first
sentences, and the done items it lists. A reply that proposes ("Let's…", "I should…", "The
best approach would be…") says nothing was done yet.
"""

from __future__ import annotations

import re

from engram_ci.knowledge.bullets import (
    clean_markdown,
    is_narration,
    strip_interjections,
    whole_sentences,
)
from engram_ci.knowledge.phrases import iter_sentences

__all__ = ["DONE_CHARS", "outcome", "with_highlights"]

#: what a reply says it did, it says first: its opening is enough to read
_OUTCOME_CHARS = 4096
#: what a reply proposes or means to do, which is not what was done
_PROPOSAL_RE = re.compile(
    r"(let'?s|i should|we (should|could)|i'?d (suggest|recommend)|you (could|might|should)"
    r"|the (\S+ ){0,3}(approach|option|way|solution|fix|plan) (would|could|might) be)\b",
    re.IGNORECASE,
)
#: a list item's bold lead: "- **Share button** - copies the URL", "1. **Fixed X**: …"
_LEAD_RE = re.compile(r"(?m)^[ \t]*(?:[-*]|\d+\.)[ \t]+\*\*([^*\n]{3,80}?)\*\*")
#: a Done bullet at most, highlights included (context.md keeps items of 320 characters)
DONE_CHARS = 320
#: a lead that says what was done: a verb in the past tense, then what it was done to
_DONE_LEAD_RE = re.compile(
    r"(?:[A-Z][a-z]+ed|Made|Built|Wrote|Rewrote|Set up|Split|Kept|Put|Moved|Ran|Took|Brought)"
    r" \S"
)


def outcome(reply: str) -> str | None:
    """What a reply says was done: its first sentences that are neither narration, questions
    nor announcements, whole."""
    said: list[str] = []
    for sentence in iter_sentences(reply[:_OUTCOME_CHARS]):  # stops at the second kept
        if sentence[-1] not in ".!)`*_":  # a list item's fragment, a heading, a question
            continue
        sentence = strip_interjections(clean_markdown(sentence))
        if (
            len(sentence.split()) < 4
            or not sentence.endswith((".", "!"))  # a list item's fragment, a heading, a question
            or is_narration(sentence)
        ):
            continue
        if _PROPOSAL_RE.match(sentence):
            if not said:
                return None  # the reply proposes ("Let's modernise it", "I should…"): not done
            break
        said.append(sentence)
        if len(said) == 2:
            break
    return whole_sentences(" ".join(said), 240) or None


def with_highlights(done: str, reply: str) -> str:
    """`done` (a reply's outcome), and when the reply goes on to list what it did under bold
    leads that say so ("- **Switched to Hatchling** - …", "- **Added file mapping**: …"),
    those leads, as many as fit: "I completed the refactoring." alone says nothing a later
    session can use. Leads that are not done things (pros and cons, "**Regular update**",
    "**New files**") do not open with a verb in the past tense, and are left out."""
    if "**" not in reply:
        return done
    leads = []
    for lead in _LEAD_RE.findall(reply[:_OUTCOME_CHARS]):
        lead = clean_markdown(lead).strip(" :-")
        if _DONE_LEAD_RE.match(lead) and lead not in leads and lead.lower() not in done.lower():
            leads.append(lead)
    kept = ""
    for lead in leads:
        more = f"{kept}; {lead}" if kept else lead
        if len(done) + len(more) + len(" Among the changes: .") > DONE_CHARS:
            break
        kept = more
    return f"{done} Among the changes: {kept}." if kept.count(";") >= 1 else done
