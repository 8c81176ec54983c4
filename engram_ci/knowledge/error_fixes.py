"""Errors met and what fixed them: the offline extractor's bugs and solutions.

A failed call stays open until a later call of its thread re-runs its subject and passes;
the edits and runs in between, and the first sentences since stating a cause or an intent,
say how it was fixed. Only a bounded set of the most recent failures waits for its fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from engram_ci.knowledge.bullets import (
    clean_markdown,
    is_agent_scratch,
    is_narration,
    strip_interjections,
    whole_sentences,
)
from engram_ci.knowledge.phrases import CAUSE, CAUSE_RE, INTENT, INTENT_RE, Prose
from engram_ci.knowledge.signals import (
    CallFacts,
    Earliest,
    FirstDistinct,
    code,
    command_kind,
    dedupe,
)
from engram_ci.knowledge.tool_output import error_line
from engram_ci.transcripts.model import Session

__all__ = ["BUGS_CAP", "OPEN_FAILURES_CAP", "SOLUTIONS_CAP", "Bugs"]

BUGS_CAP = 8
#: where a checker's message starts: `path:line:col - ` (pyright), `path:line:col: ` (ruff,
#: mypy, tsc's `path(line,col): `)
_LOCATION_RE = re.compile(r"^\S+?(?::\d+){1,2}(?: -|:)\s+|^\S+?\(\d+,\d+\):\s+")
#: a Fix bullet's length at most (short of paths longer than that)
FIX_CHARS = 380
SOLUTIONS_CAP = 8
#: failures of one agent thread still awaiting their fix, the most recent kept; and the bug
#: entries recorded per kind (shell, other). Either cap changes the output only for a thread
#: with more failures than that: an older failure dropped from the open set is never paired
#: with its fix, and failures past the entry cap get no bug line even if the first ones,
#: all alike, leave room in the category.
OPEN_FAILURES_CAP = 256
BUG_ENTRIES_CAP = 64


@dataclass(eq=False)
class Failure:
    """A failed call, and until its fix: what was edited, run and said in between."""

    order: int  # in the whole walk: solutions are listed in the order of their failures
    name: str
    subject: str
    #: command_kind(subject) == "Test": half of retry_matches(), worked out once
    test: bool
    entry: str
    #: the error line, short enough to show whole ("" when too long or absent)
    signature: str = ""
    fixed: bool = False
    edited: FirstDistinct = field(default_factory=lambda: FirstDistinct(4))
    ran: FirstDistinct = field(default_factory=lambda: FirstDistinct(2))
    #: the first sentence since the failure stating a cause, and the first stating an intent
    cause: str | None = None
    intent: str | None = None

    def between(self, facts: CallFacts) -> None:
        """A call after the failure, before its fix, that did not error."""
        if facts.tool == "edit" and not self.edited.full:
            self.edited.extend(p for p in facts.paths if not is_agent_scratch(p))
        if facts.command and facts.kind in ("Build", "Run"):
            self.ran.add(facts.command)

    def solution(self, rerun: str) -> str | None:
        if self.edited.items:
            how = "after editing " + ", ".join(code(p, 80) for p in self.edited.items)
        elif self.ran.items:
            how = "after running " + ", ".join(code(c, 80) for c in self.ran.items)
        else:
            how = "on a re-run"
        why = self.cause if self.cause is not None else self.intent
        why = whole_sentences(strip_interjections(clean_markdown(why or "")), 200)
        if is_narration(why):
            why = ""
        if how == "on a re-run" and not why:
            return None  # nothing changed that we can see: no knowledge in it
        fixed = f"passed {how}" if rerun == self.subject else f"{code(rerun)} passed {how}"
        # most detail first; a bullet stays one readable line, so detail goes before words
        for signature, reason in ((self.signature, why), (self.signature, ""), ("", why)):
            failed = f"{code(self.subject)} failed" + (f": {signature}" if signature else "")
            line = f"Fix: {failed} → {fixed}" + (f": {reason}" if reason else "")
            if len(line) <= FIX_CHARS:
                return line
        return f"Fix: {code(self.subject)} failed → {fixed}"


class Bugs:
    """Errors met, each paired with the later call of its thread that re-ran its subject and
    passed (the first such call; the earliest failure it fixes gets the solution)."""

    def __init__(self, session: Session) -> None:
        self.top_agent = session.agent_id
        self.shell: list[Failure] = []
        self.other: list[Failure] = []
        self.solutions = Earliest(SOLUTIONS_CAP)
        self.failures = 0
        self.open: list[Failure] = []  # of the current thread, oldest first
        self.where = ""

    def start_thread(self, agent: str | None) -> None:
        self.open = []  # a thread's failures are fixed in that thread or never
        self.where = "" if agent == self.top_agent else "(subagent) "

    def said(self, prose: Prose) -> None:
        """An assistant turn's text: open failures look in it for why they happened."""
        waiting = [f for f in self.open if f.cause is None]
        if not waiting:
            return
        # a pattern that cannot match the text matches none of its sentences: no need to look
        stated = prose.may_hold(CAUSE)
        intended = any(f.intent is None for f in waiting) and prose.may_hold(INTENT)
        if not (stated or intended):
            return
        # "I see the issue." names no cause: an explanation needs a few more words than that
        said = [s for s in prose.sentences() if len(s.split()) >= 6]
        cause = next((s for s in said if CAUSE_RE.search(s)), None) if stated else None
        intent = next((s for s in said if INTENT_RE.search(s)), None) if intended else None
        for failure in waiting:
            failure.cause = cause
            if failure.intent is None:
                failure.intent = intent

    def call(self, facts: CallFacts, result: str | None) -> None:
        if not facts.failed and facts.rejection is None:
            self._fix(facts)
        # only edits and runs are noted between a failure and its fix: ask no other call
        edit = facts.tool == "edit" and facts.paths
        if not facts.is_error and (edit or (facts.command and facts.kind in ("Build", "Run"))):
            for failure in self.open:
                failure.between(facts)
        if facts.failed and not facts.misuse:
            self._open(facts, result)

    def _fix(self, facts: CallFacts) -> None:
        name, subject = facts.name, facts.subject
        test = command_kind(subject) == "Test"
        # retry_matches(f.subject, subject), with the failure's half worked out when it opened
        fixed = [
            f for f in self.open if f.name == name and (f.subject == subject or (f.test and test))
        ]
        if not fixed:
            return
        for failure in fixed:
            failure.fixed = True
        self.open = [f for f in self.open if not f.fixed]
        solution = fixed[0].solution(facts.subject)
        if solution:
            self.solutions.add(fixed[0].order, solution.replace("Fix: ", "Fix: " + self.where, 1))

    def _open(self, facts: CallFacts, result: str | None) -> None:
        why = error_line(result)
        entry = f"{self.where}{code(facts.subject)} failed{': ' if why else ''}{why}"
        test = command_kind(facts.subject) == "Test"
        failure = Failure(self.failures, facts.name, facts.subject, test, entry, _signature(why))
        self.failures += 1
        entries = self.shell if facts.command else self.other
        if len(entries) < BUG_ENTRIES_CAP:
            entries.append(failure)
        self.open.append(failure)
        if len(self.open) > OPEN_FAILURES_CAP:
            del self.open[0]

    def bugs(self) -> list[str]:
        entries = [
            f.entry + (" — fixed later in the session" if f.fixed else "")
            for f in self.shell + self.other
        ]
        return dedupe(entries, BUGS_CAP)


def _signature(error: str) -> str:
    """An error line as a pitfall shows it: whole, or its first clause when that is short. A
    location a checker puts first (`/abs/path/x.py:184:17 - error: …`) goes when the line is
    too long with it: the message names the problem, the Fix names the file it edited."""
    if "…" not in error and len(error) <= 140:
        return error
    if located := _LOCATION_RE.match(error):
        error = error[located.end() :]
        if "…" not in error and len(error) <= 140:
            return error
    for cut in (": ", " - ", "; ", ". "):
        head = error.split(cut, 1)[0]
        if 20 <= len(head) <= 140 and "…" not in head:
            return head
    return ""
