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

from collections.abc import Iterable
from dataclasses import dataclass

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

CAPS = {
    "decisions": 8,
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

    def thread(self, agent: str | None, turns: Iterable[Turn], *, main: bool) -> None:
        """One agent's turns; the prose categories read the main thread's only."""
        self.bugs.start_thread(agent)
        for turn in turns:
            self._turn(turn, main)

    def _turn(self, turn: Turn, main: bool) -> None:
        prose = Prose(turn.text) if turn.role == "assistant" else None
        if main:
            self.main.turn(turn, prose)
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
    """Choices stated (the human's first), insights, open questions, the summary's text."""

    def __init__(self) -> None:
        self.human = FirstDistinct(CAPS["decisions"])  # stated or answered by the human
        self.assistant = FirstDistinct(CAPS["decisions"])
        self.insights = FirstDistinct(4)
        self.todos = FirstDistinct(QUESTIONS_CAP)
        self.prompts = 0
        self.first_prompt: str | None = None
        self.replies = 0
        self.last_text = ""  # the last reply with text: where the session ended
        # since the latest prompt: was it answered, and what the agent said last
        self.last_prompt = ""
        self.answered = False
        self.reply_since = ""

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
        elif turn.tool_calls:
            self.answered = True
        if not self.assistant.full and prose.may_hold(DECISION):
            self.assistant.extend(one_line(s) for s in prose.sentences() if _states_choice(s))
        if not self.insights.full and prose.may_hold(INSIGHT):
            self.insights.extend(
                one_line(s)
                for s in prose.sentences()
                if INSIGHT_RE.search(s) and not s.endswith("?")
            )
        if not self.todos.full and prose.may_hold(TODO):
            self.todos.extend(one_line(s) for s in prose.sentences() if TODO_RE.search(s))

    def _prompt(self, text: str) -> None:
        self.prompts += 1
        if self.first_prompt is None:
            self.first_prompt = text
        self.last_prompt, self.answered, self.reply_since = text, False, ""
        if not self.human.full and Prose(text).may_hold(DECISION):
            self.human.extend(f"User: {one_line(s)}" for s in sentences(text) if _states_choice(s))

    def call(self, call: ToolCall, facts: CallFacts) -> None:
        """A call of an assistant turn: the human's refusals, answers and approved plans."""
        if not self.human.full:
            self.human.extend(_choices_in_call(call, facts))

    def decisions(self) -> tuple[list[str], int]:
        """The bullets, and how many came from the human, the strongest evidence we have."""
        human = self.human.items
        return dedupe(human + self.assistant.items, CAPS["decisions"]), len(human)

    def open_ends(self) -> list[str]:
        """The last prompt left unanswered, and the questions the last reply asked."""
        found = []
        last = self.last_prompt
        if last and not self.answered and not last.startswith("!"):  # "!" ran a shell command
            found.append(f"Unanswered at the end: {one_line(last)}")
        if self.reply_since:
            found += [
                f"Asked the user: {one_line(s)}"
                for s in sentences(self.reply_since)
                if s.endswith("?")
            ]
        return found


def _states_choice(sentence: str) -> bool:
    # a sentence ending in "?" asks, one ending in ":" announces the code that follows
    return not sentence.endswith(("?", ":")) and bool(DECISION_RE.search(sentence))


def _choices_in_call(call: ToolCall, facts: CallFacts) -> list[str]:
    result = call.result or ""
    reason = facts.rejection
    if reason is not None:
        if reason:
            what = "the plan" if call.name == "ExitPlanMode" else code(subject_of(call, None))
            return [f"User stopped {what}: {one_line(reason)}"]
    elif call.name == "AskUserQuestion" and not call.is_error:
        return [
            f"Asked {one_line(q, 120)} → {one_line(a, 80)}" for q, a in ANSWER_RE.findall(result)
        ]
    elif call.name == "ExitPlanMode" and not call.is_error:
        plan = str(call.input.get("plan", "")).strip().splitlines()
        if plan:
            return [f"Plan approved: {one_line(plan[0].lstrip('# '))}"]
    return []


# ---------------------------------------------------------------- the whole session


def _assemble(session: Session, main: _MainThread, tally: Tally, bugs: Bugs) -> Digest:
    stated, from_human = main.decisions()
    solutions = bugs.solutions.items
    touches = tally.touches()
    insights = dedupe(main.insights.items, 4) + tally.session_shape()
    # one line of session shape: context.md digests these, so it must not crowd out knowledge
    shape = []
    if tally.calls:
        used = sorted(tally.tools.items(), key=lambda kv: (-kv[1], kv[0]))
        shape.append("tools " + ", ".join(f"{name} {n}" for name, n in used[:6]))
    if session.subagents:
        shape.append(f"{len(session.subagents)} subagent(s)")
    if session.models:
        shape.append(f"model {', '.join(session.models)}")
    if shape:
        insights.append("Session used " + "; ".join(shape))
    found = {
        "decisions": stated,
        "solutions": solutions,
        "patterns": _files_touched(touches),
        "bugs": bugs.bugs(),
        "insights": insights,
        "questions": dedupe(main.open_ends() + tally.asked.items + main.todos.items, QUESTIONS_CAP),
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
        lines.append(f"{code(path, 100)}: {', '.join(counts)}")
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
