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
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from engram_ci.model import Session, ToolCall, Turn
from engram_ci.prompts import clip
from engram_ci.signals import (
    EDIT_TOOLS,
    KIND_ORDER,
    READ_TOOLS,
    CallFacts,
    Earliest,
    FirstDistinct,
    Held,
    agents,
    code,
    command_kind,
    dedupe,
    error_line,
    facts_of,
    held,
    human_text,
    may_say,
    one_line,
    prose_window,
    sentences,
    subject_of,
    words_only,
)

CAPS = {"decisions": 8, "bugs": 8, "solutions": 8, "procedures": 12, "patterns": 10}
DEFAULT_CAP = 6
QUESTIONS_CAP = DEFAULT_CAP + 2
#: failures of one agent thread still awaiting their fix, the most recent kept; and the bug
#: entries recorded per kind (shell, other). Either cap changes the output only for a thread
#: with more failures than that: an older failure dropped from the open set is never paired
#: with its fix, and failures past the entry cap get no bug line even if the first ones,
#: all alike, leave room in the category.
OPEN_FAILURES_CAP = 256
BUG_ENTRIES_CAP = 64


class _Phrases(NamedTuple):
    """Any of some phrases as whole words, in any case, and shorter phrases one of which
    every match holds: signals.may_say() rules out most texts with set lookups, where the
    regex costs ~30 ns a character."""

    regex: re.Pattern[str]
    held: Held


def _phrases(letters: str, alternatives: str, phrases: str) -> _Phrases:
    """The look-ahead of the alternatives' first letters lets Python's re jump between
    candidate letters instead of trying every position (2-3x faster). Keep the letters and
    the held phrases in step with the alternatives: tests/test_offline.py checks both."""
    regex = re.compile(rf"(?=[{letters}])\b({alternatives})\b", re.IGNORECASE)
    return _Phrases(regex, held(phrases))


_DECISION = _phrases(
    "lidwrcogsp",
    r"let'?s (use|go with|keep|switch|stick|do|try|make|not)"
    r"|i'?ll (go with|use|switch)|we'?ll (use|go with|keep)|decided|decision|instead of"
    r"|rather than|we should"
    r"|chose|chosen|opt(ed)? for|going with|switch(ed|ing)? (to|from)|prefer",
    "let|lets|go with|use|switch|keep|decided|decision|instead of|rather than|we should"
    "|chose|chosen|opt for|opted for|going with|switched|switching|prefer",
)
_INSIGHT = _phrases(
    "rthfcngk",
    r"root cause|the (issue|problem|bug|error|cause) (is|was)|turns out|the reason"
    r"|(happens|happened|fails|failed) because|caused by|note that|gotcha|key insight",
    "root cause|issue is|issue was|problem is|problem was|bug is|bug was|error is|error was"
    "|cause is|cause was|turns out|the reason|happens because|happened because"
    "|fails because|failed because|caused by|note that|gotcha|key insight",
)
#: why a failure happened, strongest wording first: a stated cause beats a stated intent
_CAUSE = _phrases(
    "tbrcm",
    r"the (issue|problem|error|bug|cause)|because|root cause|caused by|missing",
    "the issue|the problem|the error|the bug|the cause|because|root cause|caused by|missing",
)
_INTENT = _phrases(
    "fns",
    r"fix(ed|es)?|need(s|ed)? to|should|since",
    "fix|fixed|fixes|need to|needs to|needed to|should|since",
)
_DECISION_RE, _INSIGHT_RE, _CAUSE_RE, _INTENT_RE = (
    p.regex for p in (_DECISION, _INSIGHT, _CAUSE, _INTENT)
)
_TODO_RE = re.compile(r"(?=[TFX])\b(TODO|FIXME|XXX)\b[:(\s]")
#: case-sensitive, but what it finds holds the words "todo", "fixme" or "xxx" in some case
_TODO = _Phrases(_TODO_RE, held("todo|fixme|xxx"))
#: every word of the phrases above: a text is matched against these once, whatever it is asked
_PHRASE_WORDS = frozenset(
    word
    for p in (_DECISION, _INSIGHT, _CAUSE, _INTENT, _TODO)
    for need in p.held.needs
    for word in need
)
_ANSWER_RE = re.compile(r'"([^"]+)"="([^"]*)"')


def _may_have_todo(text: str) -> bool:
    # _TODO_RE is case-sensitive: without one of its words (found at memchr speed) it can't match
    return "TODO" in text or "FIXME" in text or "XXX" in text


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
        self.tally = _Tally()
        self.bugs = _Bugs(session)

    def thread(self, agent: str | None, turns: Iterable[Turn], *, main: bool) -> None:
        """One agent's turns; the prose categories read the main thread's only."""
        self.bugs.start_thread(agent)
        for turn in turns:
            self._turn(turn, main)

    def _turn(self, turn: Turn, main: bool) -> None:
        prose = _Prose(turn.text) if turn.role == "assistant" else None
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


class _Prose:
    """A text the prose patterns read: split into sentences at most once, by whoever asks
    first, and folded once for their cheap pre-checks."""

    __slots__ = ("_present", "_sentences", "_window", "_words", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._sentences: list[str] | None = None
        self._window: str | None = None
        self._words: bytes | None = None
        self._present: frozenset[bytes] = frozenset()

    def may_hold(self, *patterns: _Phrases) -> bool:
        """signals.may_hold(text, *their regexes), asking a regex only when the text holds
        one of the phrases every match of it holds."""
        if self._window is None:
            self._window = prose_window(self.text)
            self._words = words_only(self._window)
            if self._words is not None:
                self._present = _PHRASE_WORDS.intersection(self._words.split())
        window, words, present = self._window, self._words, self._present
        return any(may_say(words, present, p.held) and p.regex.search(window) for p in patterns)

    def sentences(self) -> list[str]:
        if self._sentences is None:
            self._sentences = sentences(self.text)
        return self._sentences


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

    def turn(self, turn: Turn, prose: _Prose | None) -> None:
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
        if not self.assistant.full and prose.may_hold(_DECISION):
            self.assistant.extend(one_line(s) for s in prose.sentences() if _states_choice(s))
        if not self.insights.full and prose.may_hold(_INSIGHT):
            self.insights.extend(
                one_line(s)
                for s in prose.sentences()
                if _INSIGHT_RE.search(s) and not s.endswith("?")
            )
        if not self.todos.full and prose.may_hold(_TODO):
            self.todos.extend(one_line(s) for s in prose.sentences() if _TODO_RE.search(s))

    def _prompt(self, text: str) -> None:
        self.prompts += 1
        if self.first_prompt is None:
            self.first_prompt = text
        self.last_prompt, self.answered, self.reply_since = text, False, ""
        if not self.human.full and _Prose(text).may_hold(_DECISION):
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
    return not sentence.endswith(("?", ":")) and bool(_DECISION_RE.search(sentence))


def _choices_in_call(call: ToolCall, facts: CallFacts) -> list[str]:
    result = call.result or ""
    reason = facts.rejection
    if reason is not None:
        if reason:
            what = "the plan" if call.name == "ExitPlanMode" else code(subject_of(call, None))
            return [f"User stopped {what}: {one_line(reason)}"]
    elif call.name == "AskUserQuestion" and not call.is_error:
        return [
            f"Asked {one_line(q, 120)} → {one_line(a, 80)}" for q, a in _ANSWER_RE.findall(result)
        ]
    elif call.name == "ExitPlanMode" and not call.is_error:
        plan = str(call.input.get("plan", "")).strip().splitlines()
        if plan:
            return [f"Plan approved: {one_line(plan[0].lstrip('# '))}"]
    return []


# ---------------------------------------------------------------- every call, every thread


class _Tally:
    """Counts over all calls: commands run, files touched, tools used, refusals, fumbles."""

    def __init__(self) -> None:
        self.calls = 0
        self.errors = 0
        self.tools: Counter[str] = Counter()
        #: command -> runs, in order of first run; and whether its latest run failed
        self.runs: Counter[str] = Counter()
        self.last_failed: dict[str, bool] = {}
        self.edits: Counter[str] = Counter()
        self.reads: Counter[str] = Counter()
        self.misuse = 0
        self.misuse_example = ""
        self.declined = 0
        self.declined_shown: list[str] = []
        self.last_test: tuple[str, bool] | None = None
        #: questions asked through a tool and never answered, TODOs written into files
        self.asked = FirstDistinct(QUESTIONS_CAP)

    def call(self, call: ToolCall, facts: CallFacts) -> None:
        self.calls += 1
        self.errors += facts.failed
        self.tools[facts.name] += 1
        if facts.command and facts.kind:
            if facts.rejection is None:
                self.runs[facts.command] += 1
                self.last_failed[facts.command] = facts.failed
            if facts.kind == "Test":
                self.last_test = (facts.command, facts.failed)
        if not facts.is_error:
            for path in facts.paths:
                if facts.name in EDIT_TOOLS:
                    self.edits[path] += 1
                elif facts.name in READ_TOOLS:
                    self.reads[path] += 1
        if facts.misuse:
            self.misuse += 1
            if self.misuse == 1:
                self.misuse_example = error_line(call.result)
        if facts.rejection is not None:
            self.declined += 1
            if len(self.declined_shown) < 3:
                self.declined_shown.append(code(facts.subject, 60))
        if not self.asked.full:
            self.asked.extend(_unanswered(call))
            self.asked.extend(_todos_written(call, facts))

    def procedures(self) -> list[str]:
        """Commands run, tests and checks first, then the most repeated."""
        ranked = sorted(self.runs.items(), key=lambda kv: (KIND_ORDER[_kind(kv[0])], -kv[1]))
        lines = []
        for command, runs in ranked[: CAPS["procedures"]]:
            kind = _kind(command)
            failed = self.last_failed[command]
            times = f"run {runs}×, " if runs > 1 else ""
            last = "last run failed" if failed else "last run passed"
            detail = f" ({times}{last})" if kind in ("Test", "Lint") or failed else ""
            if times and not detail:
                detail = f" (run {runs}×)"
            lines.append(f"{kind}: {code(command)}{detail}")
        return lines

    def touches(self) -> list[tuple[str, int, int]]:
        """(path, edits, reads) per file, most edited first; paths relative to the cwd."""
        edits, reads = self.edits, self.reads
        paths = sorted(set(edits) | set(reads), key=lambda p: (-edits[p], -reads[p], p))
        return [(path, edits[path], reads[path]) for path in paths]

    def session_shape(self) -> list[str]:
        """Fumbles, refusals and which tools ran: insights about how the session went."""
        found = []
        if self.misuse:
            found.append(
                f"{self.misuse} tool call(s) failed on tool mechanics, e.g. {self.misuse_example}"
            )
        if self.declined:
            shown = ", ".join(self.declined_shown)
            found.append(f"The user declined {self.declined} tool call(s): {shown}")
        return found


def _kind(command: str) -> str:
    return command_kind(command) or "Run"


def _unanswered(call: ToolCall) -> list[str]:
    if call.name != "AskUserQuestion" or _ANSWER_RE.search(call.result or ""):
        return []
    asked = call.input.get("questions")
    return [
        f"Unanswered: {one_line(q['question'])}"
        for q in (asked if isinstance(asked, list) else [])
        if isinstance(q, dict) and isinstance(q.get("question"), str)
    ]


def _todos_written(call: ToolCall, facts: CallFacts) -> list[str]:
    if call.name not in EDIT_TOOLS or call.is_error:
        return []
    edits = call.input.get("edits")
    texts = [call.input.get("new_string"), call.input.get("content")]
    texts += (
        [e.get("new_string") for e in edits if isinstance(e, dict)]
        if isinstance(edits, list)
        else []
    )
    path = (facts.paths[0] if facts.paths else None) or "?"
    return [
        f"{_todo_word(line)} in {code(path, 80)}: {one_line(line, 150)}"
        for text in texts
        if isinstance(text, str) and _may_have_todo(text)
        for line in text.splitlines()
        if _TODO_RE.search(line)
    ]


def _todo_word(line: str) -> str:
    match = _TODO_RE.search(line)
    return match.group(1) if match else "TODO"


# ---------------------------------------------------------------- failures and their fixes


@dataclass(eq=False)
class _Failure:
    """A failed call, and until its fix: what was edited, run and said in between."""

    order: int  # in the whole walk: solutions are listed in the order of their failures
    name: str
    subject: str
    #: command_kind(subject) == "Test": half of retry_matches(), worked out once
    test: bool
    entry: str
    fixed: bool = False
    edited: FirstDistinct = field(default_factory=lambda: FirstDistinct(4))
    ran: FirstDistinct = field(default_factory=lambda: FirstDistinct(2))
    #: the first sentence since the failure stating a cause, and the first stating an intent
    cause: str | None = None
    intent: str | None = None

    def between(self, facts: CallFacts) -> None:
        """A call after the failure, before its fix, that did not error."""
        if facts.name in EDIT_TOOLS and not self.edited.full:
            self.edited.extend(facts.paths)
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
        if how == "on a re-run" and not why:
            return None  # nothing changed that we can see: no knowledge in it
        fixed = f"{code(self.subject)} passed {how}"
        if rerun != self.subject:
            fixed = f"{code(self.subject)} fixed: {code(rerun)} passed {how}"
        return f"{fixed}: {one_line(why, 160)}" if why else fixed


class _Bugs:
    """Errors met, each paired with the later call of its thread that re-ran its subject and
    passed (the first such call; the earliest failure it fixes gets the solution)."""

    def __init__(self, session: Session) -> None:
        self.top_agent = session.agent_id
        self.shell: list[_Failure] = []
        self.other: list[_Failure] = []
        self.solutions = Earliest(CAPS["solutions"])
        self.failures = 0
        self.open: list[_Failure] = []  # of the current thread, oldest first
        self.where = ""

    def start_thread(self, agent: str | None) -> None:
        self.open = []  # a thread's failures are fixed in that thread or never
        self.where = "" if agent == self.top_agent else "(subagent) "

    def said(self, prose: _Prose) -> None:
        """An assistant turn's text: open failures look in it for why they happened."""
        waiting = [f for f in self.open if f.cause is None]
        if not waiting or not prose.may_hold(_CAUSE, _INTENT):
            return
        # "I see the issue." names no cause: an explanation needs a few more words than that
        said = [s for s in prose.sentences() if len(s.split()) >= 6]
        cause = next((s for s in said if _CAUSE_RE.search(s)), None)
        intent = None
        if any(f.intent is None for f in waiting):
            intent = next((s for s in said if _INTENT_RE.search(s)), None)
        for failure in waiting:
            failure.cause = cause
            if failure.intent is None:
                failure.intent = intent

    def call(self, facts: CallFacts, result: str | None) -> None:
        if not facts.failed and facts.rejection is None:
            self._fix(facts)
        # only edits and runs are noted between a failure and its fix: ask no other call
        edit = facts.name in EDIT_TOOLS and facts.paths
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
            self.solutions.add(fixed[0].order, self.where + solution)

    def _open(self, facts: CallFacts, result: str | None) -> None:
        why = error_line(result)
        entry = f"{self.where}{code(facts.subject)} failed{': ' if why else ''}{why}"
        test = command_kind(facts.subject) == "Test"
        failure = _Failure(self.failures, facts.name, facts.subject, test, entry)
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
        return dedupe(entries, CAPS["bugs"])


# ---------------------------------------------------------------- the whole session


def _assemble(session: Session, main: _MainThread, tally: _Tally, bugs: _Bugs) -> Digest:
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
    session: Session, main: _MainThread, tally: _Tally, touches: list[tuple[str, int, int]]
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
