"""The offline extractor: knowledge read off a session's structure, no model, no key.

Facts come first because they are certain: commands run, their failures, the edit and re-run
that made a failure pass, files touched, answers the human gave. Sentence heuristics (stated
decisions, root causes) add what the prose says. Everything is ordered by appearance or by
explicit sort keys, so the same session always gives the same bytes.

`digest` reads a session in ONE pass, in order: the main thread's turns, then each
subagent's. A huge session's turns are read back from disk as they are iterated, so nothing
here indexes them, counts them or walks them twice, and nothing keeps a turn or a call once
the walk has moved on: each call's facts are worked out once when it is met (signals.facts_of)
and each category keeps only tallies, the few strings it will show, and capped lists.

This module walks and assembles, and reads the main thread's prose (choices, insights, open
questions); tally.py counts over every call, fixes.py pairs failures with their fixes, and
phrases.py holds the prose patterns and their fast pre-checks.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from engram_ci.knowledge import human, replies
from engram_ci.knowledge.bullets import (
    clean_markdown,
    is_narration,
    strip_interjections,
    whole_sentences,
)
from engram_ci.knowledge.error_fixes import BUGS_CAP, SOLUTIONS_CAP, Bugs
from engram_ci.knowledge.phrases import (
    DECISION,
    DECISION_RE,
    INSIGHT,
    INSIGHT_RE,
    TODO,
    TODO_RE,
    Prose,
    one_line,
    sentences,
)
from engram_ci.knowledge.prompts import clip
from engram_ci.knowledge.session_tally import QUESTIONS_CAP, Tally
from engram_ci.knowledge.signals import (
    ANSWER_RE,
    CallFacts,
    FirstDistinct,
    agents,
    code,
    dedupe,
    facts_of,
    human_text,
    subject_of,
)
from engram_ci.transcripts.model import Session, ToolCall, Turn

__all__ = ["digest", "extract", "render_summary"]

CAPS = {
    "decisions": 8,
    "corrections": 6,
    "fixes": 6,
    "outcomes": 5,
    "bugs": BUGS_CAP,
    "solutions": SOLUTIONS_CAP,
    "procedures": 12,
    "patterns": 10,
}


# ---------------------------------------------------------------- the one walk


@dataclass(frozen=True)
class Digest:
    """What one walk over a session found: its knowledge entries and its summary's parts."""

    #: category -> markdown bullets, only non-empty categories
    entries: dict[str, str]
    confidence: str
    #: the summary's title and facts, and the sections after where a narrative goes
    head: str
    tail: tuple[str, ...]

    def summary(self, narrative: str | None = None) -> str:
        """summaries/{project}/{session}.md: facts, the task, what happened, where it ended."""
        parts = [self.head]
        if narrative and narrative.strip():
            parts.append("## Summary\n\n" + clip(narrative, 2000))
        return "\n\n".join([*parts, *self.tail]) + "\n"


def digest(session: Session) -> Digest:
    """Entries, confidence and summary of a session, from one walk over its turns."""
    walk = _Walk(session)
    for number, (agent, turns) in enumerate(agents(session)):
        walk.thread(agent, turns, main=number == 0)
    return _assemble(session, walk.main, walk.tally, walk.bugs)


class _Walk:
    """Hands each turn and call to the categories that read it. Loop variables live in
    methods that return, so no turn or call outlives its step of the walk."""

    def __init__(self, session: Session) -> None:
        self.cwd = session.cwd
        self.main = _MainThread()
        self.tally = Tally()
        self.bugs = Bugs(session)
        #: the command the human just ran with "!", until the turn after it
        self.user_ran: str | None = None

    def thread(self, agent: str | None, turns: Iterable[Turn], *, main: bool) -> None:
        """One agent's turns; the prose categories read the main thread's only."""
        self.bugs.start_thread(agent)
        for turn in turns:
            self._turn(turn, main)

    def _turn(self, turn: Turn, main: bool) -> None:
        prose = Prose(turn.text) if turn.role == "assistant" else None
        if main:
            self.main.turn(turn, prose)
            ran, self.user_ran = self.user_ran, None
            if prose is None and turn.is_prompt and turn.text.startswith("!"):
                self.user_ran = self.tally.user_command(turn.text[1:])
            elif ran and prose is None and turn.is_meta:  # what the human's command printed
                self.tally.user_output(ran, turn.text)
        if prose is not None:
            self.bugs.said(prose)
        for call in turn.tool_calls:
            facts = facts_of(call, self.cwd)
            if main and prose is not None:
                self.main.call(call, facts)
            self.tally.call(call, facts)
            self.bugs.call(facts, call.result)


def extract(session: Session) -> tuple[dict[str, str], str]:
    """Category bullets (only non-empty categories) and an honest confidence.

    Offline is never "high". It is "medium" when the session gave structural evidence (an
    error paired with the run that fixed it, or a choice the human stated or answered), and
    "low" when all we have are counts and heuristically picked sentences.
    """
    found = digest(session)
    return found.entries, found.confidence


def render_summary(session: Session, narrative: str | None = None) -> str:
    """summaries/{project}/{session}.md: facts, the task, what happened, where it ended."""
    return digest(session).summary(narrative)


# ---------------------------------------------------------------- the main thread's prose


class _MainThread:
    """The human's words (preferences, corrections, answers), the agent's stated decisions and
    causes, each exchange's outcome, open questions, and the summary's text."""

    def __init__(self) -> None:
        self.wants = FirstDistinct(human.PREFERENCE_CAP)  # the human's own words only
        self.corrections = FirstDistinct(CAPS["corrections"])
        self.chosen = FirstDistinct(CAPS["decisions"])  # answered or approved by the human
        self.assistant = FirstDistinct(CAPS["decisions"])  # stated with a reason
        self.insights = FirstDistinct(4)
        self.todos = FirstDistinct(QUESTIONS_CAP)
        self.fixes = FirstDistinct(CAPS["fixes"])  # a problem the human reported -> outcome
        self.outcomes: deque[str] = deque(maxlen=CAPS["outcomes"])
        self.prompts = 0
        self.first_prompt: str | None = None
        self.asked: str | None = None
        self.replies = 0
        self.last_text = ""  # the last reply with text: where the session ended
        # since the latest prompt: was it answered, what the agent said last, what broke
        self.last_prompt = ""
        self.answered = False
        self.reply_since = ""
        self.problem: str | None = None
        #: what the first replies after a reported problem said, and how many were read
        self.diagnosis: str | None = None
        self.looked = 0
        self.refused = False  # the human stopped a call without a word: the next prompt says why

    def turn(self, turn: Turn, prose: Prose | None) -> None:
        if prose is None:
            text = human_text(turn)
            if text:
                self._prompt(text)
            return
        self.replies += 1
        if turn.text.strip():
            self.last_text = self.reply_since = turn.text
            self.answered = True
            if self.problem and not self.diagnosis and self.looked < _DIAGNOSIS_REPLIES:
                self.looked += 1  # the first replies that say something name the cause
                self.diagnosis = replies.outcome(turn.text)
        elif turn.tool_calls:
            self.answered = True
        if not self.assistant.full and prose.may_hold(DECISION):
            self.assistant.extend(
                f"Decision: {_unlabelled(s, 'Decision')}"
                for s in map(_plain, filter(DECISION_RE.search, prose.sentences()))
                if _decided(s)
            )
        if not self.insights.full and prose.may_hold(INSIGHT):
            self.insights.extend(
                f"Cause: {_unlabelled(s, 'Cause')}"
                for s in map(_plain, filter(INSIGHT_RE.search, prose.sentences()))
                if s and _explains(s)
            )
        if not self.todos.full and prose.may_hold(TODO):
            self.todos.extend(
                f"Open: {s}"
                for s in map(_plain, filter(TODO_RE.search, prose.sentences()))
                if s and TODO_RE.search(s)
            )

    def _prompt(self, text: str) -> None:
        self.prompts += 1
        if self.first_prompt is None:
            self.first_prompt = text
        self.close_exchange()
        self.last_prompt, self.answered, self.reply_since = text, False, ""
        if text.startswith("!"):  # the human ran a shell command: procedures count it
            self.refused = False
            return
        if self.asked is None:
            self.asked = human.asked(text)
        said = human.correction(text, after_refusal=self.refused)
        if said:  # the prompt's opening says it; its wants are read from the rest
            self.corrections.add(f"Correction: {said}")
        wants = human.preferences(text)
        self.wants.extend(f"Preference: {s}" for s in wants if not said or s not in said)
        self.problem = human.reports_problem(text)
        self.refused = False

    def close_exchange(self) -> None:
        """A prompt's exchange ended: what the last reply says was done, and when the prompt
        reported a problem, that outcome is its fix."""
        outcome = replies.outcome(self.reply_since) if self.reply_since else None
        done = outcome and replies.with_highlights(outcome, self.reply_since)
        if done and done not in self.outcomes:
            self.outcomes.append(done)
        if self.problem and outcome:
            self.fixes.add(_fix(self.problem, self.diagnosis or "", outcome))
        self.problem, self.diagnosis, self.reply_since, self.looked = None, None, "", 0

    def call(self, call: ToolCall, facts: CallFacts) -> None:
        """A call of an assistant turn: the human's refusals, answers and approved plans."""
        if facts.rejection == "":
            self.refused = True
        elif facts.rejection:
            self.corrections.extend(_correction_of(call, facts.rejection))
        if not self.chosen.full:
            self.chosen.extend(_choices_in_call(call))

    def decisions(self) -> tuple[list[str], int]:
        """The bullets, and how many came from the human, the strongest evidence we have."""
        chosen = self.chosen.items
        from_human = len(chosen) + len(self.corrections.items) + len(self.wants.items)
        return dedupe(chosen + self.assistant.items, CAPS["decisions"]), from_human

    def open_ends(self) -> list[str]:
        """The last prompt left unanswered, and the questions the last reply asked."""
        found = []
        last = self.last_prompt
        if last and not self.answered and not last.startswith("!"):  # "!" ran a shell command
            said = human.asked(last)
            if said:
                found.append(f"Unanswered at the end: {said}")
        if self.reply_since:
            found += [
                f"Asked the user: {s}"
                for s in map(_plain, (s for s in sentences(self.reply_since) if s.endswith("?")))
                if s.endswith("?") and not is_narration(s)
            ]
        return found


#: a decision says why: "because", "since", "so that", "to avoid", "which means", "—"
_REASON_RE = re.compile(
    r"\b(because|since|so that|so (it|we|the|you)|to (avoid|keep|prevent|make|allow|ensure)"
    r"|which (is|means|makes|keeps|avoids)|as (it|this|that) |for (better|simpler|consistency))\b",
    re.IGNORECASE,
)
_DECISION_CHARS = 260


def _plain(sentence: str) -> str:
    """A sentence as a bullet shows it: plain, whole, or "" when too long to keep whole."""
    return whole_sentences(strip_interjections(clean_markdown(sentence)), _DECISION_CHARS)


#: an agent talking about its own debugging: "I'm calling…", "we can see…", "my test…"
_FIRST_PERSON_RE = re.compile(r"\b(i|i'm|i've|my|me|we can see|let me|let's)\b", re.IGNORECASE)
_PARENTHESES_RE = re.compile(r"\([^()]*\)")
#: a cause the agent guesses at ("the issue is likely that…") before it has looked: the next
#: session would read a guess as a finding
_HEDGE_RE = re.compile(
    r"\b(likely|probably|possibly|perhaps|might|may be|could be|seems?|appears? to|suspect)\b",
    re.IGNORECASE,
)


def _explains(sentence: str) -> bool:
    """A cause worth keeping: a statement about the project, not the agent's own steps."""
    return (
        not sentence.endswith(("?", ":"))
        and not is_narration(sentence)
        and not _FIRST_PERSON_RE.search(sentence)
        # a hedge in an aside ("returns HTML (probably a 404 page)") leaves the claim standing
        and not _HEDGE_RE.search(_PARENTHESES_RE.sub("", sentence))
        and len(sentence.split()) >= 8
    )


def _decided(sentence: str) -> bool:
    # a sentence ending in "?" asks, one ending in ":" announces the code that follows
    return (
        bool(sentence)
        and not sentence.endswith(("?", ":"))
        and not is_narration(sentence)
        and bool(DECISION_RE.search(sentence))
        and bool(_REASON_RE.search(sentence))
    )


#: replies read for a reported problem's diagnosis ("I'll run the tests first." says none)
_DIAGNOSIS_REPLIES = 3


def _fix(problem: str, diagnosis: str, outcome: str) -> str:
    """A problem the human reported, what the first reply found, and how the exchange ended."""
    said = whole_sentences(problem, 160) or "A problem was reported"
    first = whole_sentences(diagnosis, 200)
    last = whole_sentences(outcome, 160)
    if first and last and first != last and len(said) + len(first) + len(last) <= 340:
        return f"Fix: {said} → {first} {last}"
    return f"Fix: {said} → {first or last}"


def _correction_of(call: ToolCall, reason: str) -> list[str]:
    subject = subject_of(call, None)
    if subject.endswith(" …"):  # a multi-line script: its first words say what it was
        subject = " ".join(subject.split()[:2])
    what = "the plan" if call.name == "ExitPlanMode" else code(subject, 80)
    said = whole_sentences(clean_markdown(reason), 260)
    return [f"Correction: {said} (stopped {what})"] if said else []


def _choices_in_call(call: ToolCall) -> list[str]:
    if call.is_error:
        return []
    result = call.result or ""
    if call.name == "AskUserQuestion":
        found = []
        for question, answer in ANSWER_RE.findall(result):
            q, a = whole_sentences(question, 160), whole_sentences(answer, 100)
            if q and a:
                found.append(f"Chosen: {q} → {a}")
        return found
    if call.name == "ExitPlanMode":
        for line in str(call.input.get("plan", "")).strip().splitlines():
            title = whole_sentences(clean_markdown(line.lstrip("# ")), 160)
            if title:  # "Refactoring Plan" says nothing: a title worth keeping names its aim
                return [f"Plan approved: {title}"] if len(title.split()) >= 4 else []
    return []


# ---------------------------------------------------------------- the whole session


def _assemble(session: Session, main: _MainThread, tally: Tally, bugs: Bugs) -> Digest:
    open_ends = main.open_ends()  # before the last exchange closes: it reads the last reply
    main.close_exchange()
    outcomes = list(main.outcomes)
    stated, from_human = main.decisions()
    solutions = bugs.solutions.items + main.fixes.items
    touches = tally.touches()
    recent = [f"Asked: {main.asked}"] if main.asked else []
    recent += [f"Done: {outcome}" for outcome in outcomes]
    found = {
        "decisions": stated,
        "solutions": solutions,
        "patterns": main.wants.items + main.corrections.items + _files_touched(touches),
        "bugs": tally.blocked.items + bugs.bugs(),
        "insights": recent + dedupe(main.insights.items, 4),
        "questions": dedupe(
            open_ends + tally.left_failing() + tally.asked.items + main.todos.items,
            QUESTIONS_CAP,
        ),
        "procedures": tally.procedures(),
    }
    entries = {k: "\n".join(f"- {item}" for item in items) for k, items in found.items() if items}
    confidence = "medium" if solutions or from_human else "low"
    head = f"# {_title(session, main.first_prompt)}\n\n" + "\n".join(
        _facts(session, main, tally, touches)
    )
    tail = []
    if main.first_prompt:
        tail.append("## Task\n\n" + clip(main.first_prompt, 600))
    if main.last_text:
        tail.append("## Outcome\n\n" + clip(main.last_text, 800))
    return Digest(entries, confidence, head, tuple(tail))


def _files_touched(touches: list[tuple[str, int, int]]) -> list[str]:
    lines = []
    for path, edits, reads in touches[: CAPS["patterns"]]:
        counts = [f"{word} {n}×" for word, n in (("edited", edits), ("read", reads)) if n]
        lines.append(f"File: {code(path, 100)} ({', '.join(counts)})")
    return lines


def _title(session: Session, first_prompt: str | None) -> str:
    if session.title and session.title.strip():
        return one_line(session.title, 100)
    if first_prompt:
        return one_line(first_prompt.splitlines()[0], 100)
    if session.summaries:
        return one_line(session.summaries[-1], 100)
    return f"Session {session.session_id}"


def _facts(
    session: Session, main: _MainThread, tally: Tally, touches: list[tuple[str, int, int]]
) -> list[str]:
    facts = [f"- Project: {session.project} · session `{session.session_id}` ({session.source})"]
    if session.cwd:
        branch = f" (branch `{session.git_branch}`)" if session.git_branch else ""
        facts.append(f"- Directory: `{session.cwd}`{branch}")
    if session.started_at or session.ended_at:
        facts.append(f"- Time: {session.started_at or '?'} → {session.ended_at or '?'}")
    if session.models:
        facts.append(f"- Models: {', '.join(session.models)}; {_tokens(session)}")
    facts.append(
        f"- Activity: {main.prompts} prompt(s), {main.replies} repl(ies), {tally.calls} tool"
        f" call(s) ({tally.errors} failed), {len(session.subagents)} subagent(s)"
    )
    edited = [code(path, 100) for path, edits, _ in touches if edits][:5]
    if edited:
        facts.append(f"- Files edited: {', '.join(edited)}")
    if tally.last_test:
        command, failed = tally.last_test
        facts.append(f"- Last test run: {code(command)} {'failed' if failed else 'passed'}")
    return facts


def _tokens(session: Session) -> str:
    u = session.usage
    return (
        f"tokens: {u.input_tokens:,} in, {u.output_tokens:,} out, "
        f"{u.cache_read_tokens:,} cache read, {u.cache_creation_tokens:,} cache write"
    )


def _unlabelled(sentence: str, label: str) -> str:
    """`sentence` without the label the agent already wrote ("Decision: use X…"): the bullet
    adds its own, and "Decision: Decision:" reads as noise."""
    head, sep, rest = sentence.partition(":")
    return (
        rest.strip() if sep and head.strip().lower() == label.lower() and rest.strip() else sentence
    )
