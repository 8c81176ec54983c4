"""Counts over every call of a session, subagents included: the offline extractor's
procedures (commands run, checks first), files touched, tools used, and the calls the
human refused or the agent fumbled.
"""

from __future__ import annotations

import re
from collections import Counter

from engram_ci.knowledge.bullets import is_agent_scratch
from engram_ci.knowledge.phrases import TODO_RE, may_have_todo
from engram_ci.knowledge.signals import (
    ANSWER_RE,
    KIND_ORDER,
    CallFacts,
    FirstDistinct,
    canonical_command,
    code,
    command_kind,
    denial,
    is_edit,
    is_outside_cwd,
)
from engram_ci.knowledge.tool_output import error_line, reports_failure_summary
from engram_ci.transcripts.model import ToolCall

__all__ = ["QUESTIONS_CAP", "Tally"]

PROCEDURES_CAP = 12
_CHECKS = ("Test", "Lint", "Build")
#: a TODO the code carries is a comment; "markdown TODO files" in prose is not one
_TODO_COMMENT_RE = re.compile(r"(#|//|/\*|\*|<!--|--|;)\s*(TODO|FIXME|XXX)\b")
#: open questions: the last prompt, the last reply's questions, tool questions, TODOs
QUESTIONS_CAP = 8
#: a test or lint run's summary of a green run: "7 passed", "All checks passed!"
_PASSED_RE = re.compile(r"\b[1-9]\d* passed\b|\bAll checks passed\b")
#: calls the permission settings refused, kept per session: the first few distinct ones
BLOCKED_CAP = 4


class Tally:
    """Counts over all calls: commands run, checks left failing, files touched, tools used."""

    def __init__(self) -> None:
        self.calls = 0
        self.errors = 0
        self.tools: Counter[str] = Counter()
        #: command -> runs, in order of first run; and whether its latest run failed
        self.runs: Counter[str] = Counter()
        self.last_failed: dict[str, bool] = {}
        self.edits: Counter[str] = Counter()
        self.reads: Counter[str] = Counter()
        self.last_test: tuple[str, bool] | None = None
        #: per kind of check (Test, Lint, Build): its latest run, and the error if it failed
        self.last_check: dict[str, tuple[str, str | None]] = {}
        #: commands the human ran themselves ("! uv run pytest"): their outcome is unseen
        self.by_user: set[str] = set()
        self.by_user_runs: Counter[str] = Counter()
        #: ... unless their output was recorded with a verdict in it (user_output)
        self.by_user_seen: set[str] = set()
        #: questions asked through a tool and never answered, TODOs written into files
        self.asked = FirstDistinct(QUESTIONS_CAP)
        #: calls the agent's permission settings refused (signals.denial), one per subject
        self.blocked = FirstDistinct(BLOCKED_CAP)
        self._blocked_subjects: set[str] = set()

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
            if facts.kind in _CHECKS and facts.rejection is None:
                failure = error_line(call.result) if facts.failed else None
                self._checked(facts.kind, facts.command, failure)
        if not facts.is_error:
            for path in facts.paths:
                if is_agent_scratch(path):
                    continue  # the agent's plan, not a file of the project
                if facts.tool == "edit":
                    self.edits[path] += 1
                elif facts.tool == "read":
                    self.reads[path] += 1
        if (
            facts.misuse
            and facts.subject not in self._blocked_subjects
            and not self.blocked.full
            and (blocked := denial(call, facts))
        ):
            self._blocked_subjects.add(facts.subject)
            self.blocked.add(blocked)
        if not self.asked.full:
            self.asked.extend(_unanswered(call))
            self.asked.extend(_todos_written(call, facts))

    def user_command(self, text: str) -> str | None:
        """A command the human typed after "!": how they build and test, in their own hands.
        Returns the command as counted, for user_output() to read its outcome."""
        command = canonical_command(text)
        if command and command_kind(command):
            self.runs[command] += 1
            self.last_failed.setdefault(command, False)
            self.by_user.add(command)
            self.by_user_runs[command] += 1
            return command
        return None

    def user_output(self, command: str, output: str) -> None:
        """What the human's "!" command printed (Claude Code records it after the command):
        a test or lint run that reports failures failed, one that reports passes passed."""
        kind = command_kind(command)
        failed = reports_failure_summary(output)
        if not failed and not _PASSED_RE.search(output):
            return  # no verdict in the output: its outcome stays unseen
        self.by_user_seen.add(command)
        self.last_failed[command] = failed
        if kind in _CHECKS:
            self._checked(kind, command, error_line(output) if failed else None)

    def _checked(self, kind: str, command: str, failure: str | None) -> None:
        self.last_check[kind] = (command, failure)
        if kind == "Test" and failure is None:
            # a test run that passes builds the project: a build that failed before it is
            # not where the session left things (`cargo run -- x` panicked, then the code
            # was fixed and `cargo test` passed)
            self.last_check.pop("Build", None)

    def procedures(self) -> list[str]:
        """Commands run, tests and checks first, then the most repeated."""
        ranked = sorted(self.runs.items(), key=lambda kv: (KIND_ORDER[_kind(kv[0])], -kv[1]))
        lines = []
        for command, runs in ranked[:PROCEDURES_CAP]:
            kind = _kind(command)
            notes = [f"run {runs}×"] if runs > 1 else []
            if command in self.by_user:
                notes.append("run by the user")
            seen = command in self.by_user_seen
            if command in self.by_user and runs == self.by_user_runs[command] and not seen:
                pass  # only the human ran it: its outcome is theirs, not in the transcript
            elif kind in ("Test", "Lint") or self.last_failed[command]:
                notes.append("last run failed" if self.last_failed[command] else "last run passed")
            detail = f" ({', '.join(notes)})" if notes else ""
            lines.append(f"{kind}: {code(command)}{detail}")
        return lines

    def left_failing(self) -> list[str]:
        """The checks whose latest run failed: where the session left the build."""
        found = []
        for kind in _CHECKS:
            command, failure = self.last_check.get(kind, ("", None))
            if failure is not None:
                why = f": {failure}" if failure and "…" not in failure else ""
                found.append(f"Left failing: {code(command)}{why}")
        return found

    def touches(self) -> list[tuple[str, int, int]]:
        """(path, edits, reads) per file, most edited first; paths relative to the cwd.
        A file outside the session's directory that was only read (another repository an
        Explore agent looked through, a library's source) is not one of the project's."""
        edits, reads = self.edits, self.reads
        paths = sorted(
            (p for p in set(edits) | set(reads) if edits[p] or not is_outside_cwd(p)),
            key=lambda p: (-edits[p], -reads[p], p),
        )
        return [(path, edits[path], reads[path]) for path in paths]


def _kind(command: str) -> str:
    return command_kind(command) or "Run"


def _unanswered(call: ToolCall) -> list[str]:
    if call.name != "AskUserQuestion" or ANSWER_RE.search(call.result or ""):
        return []
    asked = call.input.get("questions")
    return [
        f"Open: unanswered question: {q['question']}"
        for q in (asked if isinstance(asked, list) else [])
        if isinstance(q, dict) and isinstance(q.get("question"), str)
    ]


def _todos_written(call: ToolCall, facts: CallFacts) -> list[str]:
    if not is_edit(call) or call.is_error:
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
        f"Open: {_todo_word(line)} in {code(path, 80)}: {' '.join(line.split())}"
        for text in texts
        if isinstance(text, str) and may_have_todo(text)
        for line in text.splitlines()
        if TODO_RE.search(line) and _TODO_COMMENT_RE.search(line) and len(line) <= 200
    ]


def _todo_word(line: str) -> str:
    match = TODO_RE.search(line)
    return match.group(1) if match else "TODO"
