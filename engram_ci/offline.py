"""The offline extractor: knowledge read off a session's structure, no model, no key.

Facts come first because they are certain: commands run, their failures, the edit and re-run
that made a failure pass, files touched, answers the human gave. Sentence heuristics (stated
decisions, root causes) add what the prose says. Everything is ordered by appearance or by
explicit sort keys, so the same session always gives the same bytes.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePosixPath

from engram_ci.model import Session, ToolCall, Turn
from engram_ci.prompts import clip

LINE_CHARS = 200
CAPS = {"decisions": 8, "bugs": 8, "solutions": 8, "procedures": 12, "patterns": 10}
DEFAULT_CAP = 6

EDIT_TOOLS = frozenset({"Edit", "MultiEdit", "Write", "NotebookEdit"})
READ_TOOLS = frozenset({"Read"})
SHELL_TOOLS = frozenset({"Bash", "shell", "exec_command", "local_shell"})
#: the agent's own bookkeeping: their failures say nothing about the project
HOUSEKEEPING_TOOLS = frozenset(
    {"KillShell", "BashOutput", "TodoWrite", "ToolSearch", "SendMessage"}
    | {"TaskCreate", "TaskUpdate", "TaskList", "TaskGet", "TaskOutput", "TaskStop"}
)

_DECISION_RE = re.compile(
    r"\b(let'?s (use|go with|keep|switch|stick|do|try|make|not)|i'?ll (go with|use|switch)"
    r"|we'?ll (use|go with|keep)|decided|decision|instead of|rather than|we should"
    r"|chose|chosen|opt(ed)? for|going with|switch(ed|ing)? (to|from)|prefer)\b",
    re.IGNORECASE,
)
_INSIGHT_RE = re.compile(
    r"\b(root cause|the (issue|problem|bug|error|cause) (is|was)|turns out|the reason"
    r"|(happens|happened|fails|failed) because|caused by|note that|gotcha|key insight)\b",
    re.IGNORECASE,
)
#: why a failure happened, strongest wording first: a stated cause beats a stated intent
_EXPLAIN_RES = (
    re.compile(
        r"\b(the (issue|problem|error|bug|cause)|because|root cause|caused by|missing)\b",
        re.IGNORECASE,
    ),
    re.compile(r"\b(fix(ed|es)?|need(s|ed)? to|should|since)\b", re.IGNORECASE),
)
_TODO_RE = re.compile(r"\b(TODO|FIXME|XXX)\b[:(\s]")
_REJECTED = ("the user doesn't want to", "tool use was rejected")
_REJECT_REASON_RE = re.compile(r"reason for the rejection:\s*(.+)", re.IGNORECASE | re.DOTALL)
_MISUSE_RE = re.compile(
    r"string to replace not found|found \d+ matches of the string|has not been read yet"
    r"|modified since read|<tool_use_error>|inputvalidationerror|requires approval|was blocked",
    re.IGNORECASE,
)
_ANSWER_RE = re.compile(r'"([^"]+)"="([^"]*)"')
_FAIL_SUMMARY_RE = re.compile(r"(?m)^(FAILED |ERROR: )|\b[1-9]\d* (failed|errors?)\b")
_EXCEPTION_RE = re.compile(r"^([\w.]+(Error|Exception|Exit|Interrupt|Failure)\b|error\[[\w-]+\])")
_ERROR_WORD_RE = re.compile(
    r"\b(error|fatal|failed|failure|not found|no such file|cannot|denied|panic)\b", re.I
)
#: lines that never name the problem: pytest's header, verbose passes, warnings, our cut marks
_BANNER_RE = re.compile(
    r"^(=+|-+|_+|\[… truncated|platform |rootdir:|configfile:|testpaths:|plugins:|cachedir:"
    r"|asyncio:|collect|test session starts|warn(ing)?\b)|\bPASSED\b",
    re.IGNORECASE,
)
_EXIT_RE = re.compile(r"^Exit code (\d+)")

COMMAND_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "Test",
        re.compile(
            r"\b(pytest|py\.test|tox|nox|jest|vitest|mocha|unittest|rspec|phpunit|ctest"
            r"|(go|cargo|npm|pnpm|yarn|bun|make|deno|mix|dotnet) (run )?test)\b"
        ),
    ),
    (
        "Lint",
        re.compile(
            r"\b(ruff|mypy|pyright|ty check|flake8|pylint|black|isort|eslint|prettier|tsc"
            r"|biome|clippy|cargo fmt|gofmt|golangci-lint|shellcheck|actionlint|zizmor)\b"
        ),
    ),
    (
        "Build",
        re.compile(
            r"\b(build|compile|make|install|cargo run|npm (ci|run)|pnpm (add|run)|yarn"
            r"|uv (sync|add)|poetry|docker|gradle|mvn|bundle|pip)\b"
        ),
    ),
    ("Git", re.compile(r"^(git|gh)\b")),
)
#: look-around commands: worth nothing as a procedure
_TRIVIAL_COMMANDS = frozenset(
    (  # noqa: SIM905 -- one word list reads better than fifty quoted lines
        "ls cat head tail grep rg find echo pwd wc which sed awk tree file stat du df sort uniq"
        " cd true sleep date whoami env printenv type diff less more open realpath basename"
        " dirname mkdir touch chmod cp mv rm kill pkill ps lsof curl"
    ).split()
)
_READONLY_GIT = frozenset(
    ("status", "diff", "log", "show", "branch", "remote", "rev-parse", "blame", "ls-files")
)


@dataclass(frozen=True)
class Step:
    """One tool call in its agent's order, with the turn it was made in."""

    index: int
    call: ToolCall
    turn: int
    agent: str | None


# ---------------------------------------------------------------- small text helpers


def one_line(text: str, limit: int = LINE_CHARS) -> str:
    return clip(" ".join(text.split()), limit)


def code(text: str, limit: int = 120) -> str:
    """Inline code that survives backticks inside the text."""
    text = one_line(text, limit).replace("`", "'")
    return f"`{text}`"


def sentences(text: str) -> list[str]:
    """Prose sentences of a markdown text: code fences, tables and headings dropped."""
    text = re.sub(r"```.*?(```|\Z)", "\n", text, flags=re.DOTALL)
    found = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("|", "#", ">", "<")):
            continue
        line = re.sub(r"^([-*+•]|\d+[.)])\s+", "", line).replace("**", "")
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z`\"'(])", line):
            sentence = sentence.strip()
            if len(sentence) >= 15 and len(sentence.split()) >= 4:
                found.append(sentence)
    return found


def _key(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def dedupe(items: list[str], cap: int) -> list[str]:
    seen: set[str] = set()
    kept = []
    for item in items:
        key = _key(item)
        if key and key not in seen:
            seen.add(key)
            kept.append(item)
    return kept[:cap]


def human_text(turn: Turn) -> str | None:
    """The human's words in a prompt, or None for slash commands, command output, interrupts."""
    text = turn.text.strip()
    if not turn.is_prompt or turn.command:
        return None
    if text.startswith(("<local-command", "[Request interrupted", "Caveat:")):
        return None
    if "<command-name>" in text:
        args = re.search(r"<command-args>(.*?)</command-args>", text, re.DOTALL)
        return args.group(1).strip() or None if args else None
    return text


# ---------------------------------------------------------------- what a call was


def command_of(call: ToolCall) -> str | None:
    value = call.input.get("command") if call.name in SHELL_TOOLS else None
    if isinstance(value, list):  # codex passes argv
        value = " ".join(str(part) for part in value)
    if not isinstance(value, str) or not value.strip():
        return None
    first = value.strip().splitlines()[0]
    first = re.sub(r"^(cd \S+ && )+", "", first).strip()
    return " ".join(first.split()) + (" …" if "\n" in value.strip() else "")


def path_of(call: ToolCall, cwd: str | None) -> str | None:
    value = call.input.get("file_path") or call.input.get("notebook_path")
    if not isinstance(value, str) or not value:
        return None
    if cwd:
        try:
            return str(PurePosixPath(value).relative_to(cwd))
        except ValueError:
            pass
    return value


def subject_of(call: ToolCall, cwd: str | None) -> str:
    return command_of(call) or path_of(call, cwd) or call.name


def is_rejection(call: ToolCall) -> bool:
    return rejection_reason(call) is not None


def rejection_reason(call: ToolCall) -> str | None:
    """Why the human stopped this call ("" when they gave no reason); None if they didn't.

    Claude Code words a refusal in boilerplate, but when the human stops a command by typing
    a message, that message alone is the tool's "error": short, with no exit code and none of
    an error's words.
    """
    result = (call.result or "").strip()
    if not call.is_error or not result:
        return None
    if any(phrase in result.lower() for phrase in _REJECTED):
        reason = _REJECT_REASON_RE.search(result)
        return reason.group(1).strip() if reason else ""
    lines = result.splitlines()
    looks_human = (
        call.name in SHELL_TOOLS
        and len(result) < 1000
        and not any(_EXIT_RE.match(line) or _EXCEPTION_RE.match(line) for line in lines)
        and not any(_BANNER_RE.search(line) for line in lines)  # a test run's output
        and not _ERROR_WORD_RE.search(result)
        and not _MISUSE_RE.search(result)
    )
    return result if looks_human else None


def is_misuse(call: ToolCall) -> bool:
    """A failure of how a tool was used (stale Edit, bookkeeping), not of the project."""
    if not call.is_error or is_rejection(call):
        return False
    return call.name in HOUSEKEEPING_TOOLS or bool(_MISUSE_RE.search(call.result or ""))


def command_kind(command: str) -> str | None:
    words = command.split()
    if not words or words[0] in _TRIVIAL_COMMANDS:
        return None
    if words[0] == "git" and len(words) > 1 and words[1] in _READONLY_GIT:
        return None
    return next((kind for kind, pattern in COMMAND_KINDS if pattern.search(command)), "Run")


def failed(call: ToolCall) -> bool:
    """An error result, or a test/lint run whose output reports failures though exit was 0."""
    if call.is_error:
        return not is_rejection(call)
    command = command_of(call)
    return bool(
        command
        and command_kind(command) in ("Test", "Lint")
        and _FAIL_SUMMARY_RE.search(call.result or "")
    )


def error_line(result: str | None) -> str:
    """The one line of an error output that names the problem ("" when none does)."""
    lines = [line.strip() for line in (result or "").splitlines() if line.strip()]
    exit_code = next((m.group(1) for line in lines if (m := _EXIT_RE.match(line))), None)
    lines = [line for line in lines if not _EXIT_RE.match(line) and not _BANNER_RE.search(line)]
    exceptions = [line for line in lines if _EXCEPTION_RE.match(line)]
    picks = (
        exceptions[-1:]  # a traceback ends with the exception that matters
        or [line for line in lines if line.startswith("FAILED ")][:1]  # names the test
        or [line for line in lines if line.startswith("E  ")][:1]
        or [line for line in lines if re.search(r" (FAILED|ERROR)\b", line)][:1]
        or [line for line in lines if _ERROR_WORD_RE.search(line)][:1]
        or lines[:1]
    )
    if picks:
        return one_line(picks[0].removeprefix("<tool_use_error>").removesuffix("</tool_use_error>"))
    return f"exit code {exit_code}" if exit_code else ""


# ---------------------------------------------------------------- session walk


def agents(session: Session) -> list[tuple[str | None, list[Turn]]]:
    """The main thread's turns, then each subagent's (depth first), in order."""
    found: list[tuple[str | None, list[Turn]]] = [(session.agent_id, session.turns)]
    for sub in session.subagents:
        found.extend((agent or sub.session_id, turns) for agent, turns in agents(sub))
    return found


def steps_of(turns: list[Turn], agent: str | None) -> list[Step]:
    calls = [(t, call) for t, turn in enumerate(turns) for call in turn.tool_calls]
    return [Step(i, call, t, agent) for i, (t, call) in enumerate(calls)]


def all_calls(session: Session) -> list[ToolCall]:
    return [call for _, turns in agents(session) for turn in turns for call in turn.tool_calls]


def retry_matches(failed_subject: str, later_subject: str) -> bool:
    """The later call re-runs the failed one: same command, or the same test runner."""
    if failed_subject == later_subject:
        return True
    runner = re.compile(r"^(.*?\b(pytest|jest|vitest|test|tox|cargo test|go test))\b")
    a, b = runner.match(failed_subject), runner.match(later_subject)
    return bool(a and b and a.group(1) == b.group(1))


def counter_lines(counter: Counter[str], limit: int) -> str:
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return ", ".join(f"{name} {count}" for name, count in ranked)


# ---------------------------------------------------------------- the categories


def decisions(session: Session) -> tuple[list[str], int]:
    """Choices stated in the main thread; the human's (and their answers) first.

    Returns the bullets and how many came from the human, the strongest evidence we have.
    """
    human: list[str] = []
    assistant: list[str] = []
    for turn in session.turns:
        if turn.role == "user":
            text = human_text(turn)
            human += [f"User: {one_line(s)}" for s in sentences(text or "") if _states_choice(s)]
            continue
        assistant += [one_line(s) for s in sentences(turn.text) if _states_choice(s)]
        for call in turn.tool_calls:
            human += _choices_in_call(call)
    human = dedupe(human, CAPS["decisions"])
    return dedupe(human + assistant, CAPS["decisions"]), len(human)


def _states_choice(sentence: str) -> bool:
    # a sentence ending in "?" asks, one ending in ":" announces the code that follows
    return not sentence.endswith(("?", ":")) and bool(_DECISION_RE.search(sentence))


def _choices_in_call(call: ToolCall) -> list[str]:
    result = call.result or ""
    reason = rejection_reason(call)
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


def bugs_and_solutions(session: Session) -> tuple[list[str], list[str]]:
    """Errors met, each paired with the later call that re-ran its subject and passed."""
    shell_bugs: list[str] = []
    other_bugs: list[str] = []
    solutions: list[str] = []
    for agent, turns in agents(session):
        steps = steps_of(turns, agent)
        fixed_by: set[int] = set()
        for step in steps:
            call = step.call
            if not failed(call) or is_misuse(call):
                continue
            subject = subject_of(call, session.cwd)
            later = [
                s
                for s in steps[step.index + 1 :]
                if s.call.name == call.name
                and retry_matches(subject, subject_of(s.call, session.cwd))
            ]
            fix = next((s for s in later if not failed(s.call) and not is_rejection(s.call)), None)
            where = "" if agent == session.agent_id else "(subagent) "
            outcome = " — fixed later in the session" if fix else ""
            why = error_line(call.result)
            entry = f"{where}{code(subject)} failed{': ' if why else ''}{why}{outcome}"
            (shell_bugs if command_of(call) else other_bugs).append(entry)
            if fix and fix.index not in fixed_by:
                fixed_by.add(fix.index)
                solution = _solution(session, turns, steps, step, fix, subject)
                solutions += [where + solution] if solution else []
    return dedupe(shell_bugs + other_bugs, CAPS["bugs"]), dedupe(solutions, CAPS["solutions"])


def _solution(
    session: Session, turns: list[Turn], steps: list[Step], broke: Step, fix: Step, subject: str
) -> str | None:
    between = [s.call for s in steps[broke.index + 1 : fix.index] if not s.call.is_error]
    edited = dedupe(
        [p for c in between if c.name in EDIT_TOOLS if (p := path_of(c, session.cwd))], 4
    )
    ran = dedupe(
        [
            c
            for c in (command_of(call) for call in between)
            if c and command_kind(c) in ("Build", "Run")
        ],
        2,
    )
    if edited:
        how = "after editing " + ", ".join(code(p, 80) for p in edited)
    elif ran:
        how = "after running " + ", ".join(code(c, 80) for c in ran)
    else:
        how = "on a re-run"
    said = [
        sentence
        for turn in turns[broke.turn + 1 : fix.turn + 1]
        if turn.role == "assistant"
        for sentence in sentences(turn.text)
    ]
    # "I see the issue." names no cause: an explanation needs a few more words than that
    said = [sentence for sentence in said if len(sentence.split()) >= 6]
    why = next((s for pattern in _EXPLAIN_RES for s in said if pattern.search(s)), None)
    if how == "on a re-run" and not why:
        return None  # nothing changed that we can see: no knowledge in it
    fixed = f"{code(subject)} passed {how}"
    return f"{fixed}: {one_line(why, 160)}" if why else fixed


_KIND_ORDER = {kind: rank for rank, kind in enumerate(["Test", "Lint", "Build", "Git", "Run"])}


def procedures(session: Session) -> list[str]:
    """Commands run, tests and checks first, then the most repeated."""
    runs: dict[str, list[ToolCall]] = {}
    for call in all_calls(session):
        command = command_of(call)
        if command and command_kind(command) and not is_rejection(call):
            runs.setdefault(command, []).append(call)
    ranked = sorted(
        runs.items(), key=lambda kv: (_KIND_ORDER[command_kind(kv[0]) or "Run"], -len(kv[1]))
    )
    lines = []
    for command, calls in ranked[: CAPS["procedures"]]:
        kind = command_kind(command) or "Run"
        times = f"run {len(calls)}×, " if len(calls) > 1 else ""
        last = "last run failed" if failed(calls[-1]) else "last run passed"
        detail = f" ({times}{last})" if kind in ("Test", "Lint") or failed(calls[-1]) else ""
        if times and not detail:
            detail = f" (run {len(calls)}×)"
        lines.append(f"{kind}: {code(command)}{detail}")
    return lines


def touch_counts(session: Session) -> list[tuple[str, int, int]]:
    """(path, edits, reads) per file, most edited first; paths relative to the session's cwd."""
    edits: Counter[str] = Counter()
    reads: Counter[str] = Counter()
    for call in all_calls(session):
        path = path_of(call, session.cwd)
        if path and not call.is_error:
            if call.name in EDIT_TOOLS:
                edits[path] += 1
            elif call.name in READ_TOOLS:
                reads[path] += 1
    paths = sorted(set(edits) | set(reads), key=lambda p: (-edits[p], -reads[p], p))
    return [(path, edits[path], reads[path]) for path in paths]


def files_touched(session: Session) -> list[str]:
    lines = []
    for path, edits, reads in touch_counts(session)[: CAPS["patterns"]]:
        counts = [f"{word} {n}×" for word, n in (("edited", edits), ("read", reads)) if n]
        lines.append(f"{code(path, 100)}: {', '.join(counts)}")
    return lines


def insights(session: Session) -> list[str]:
    found = [
        one_line(s)
        for turn in session.turns
        if turn.role == "assistant"
        for s in sentences(turn.text)
        if _INSIGHT_RE.search(s) and not s.endswith("?")
    ]
    found = dedupe(found, 4)
    calls = all_calls(session)
    misuse = [c for c in calls if is_misuse(c)]
    if misuse:
        example = error_line(misuse[0].result)
        found.append(f"{len(misuse)} tool call(s) failed on tool mechanics, e.g. {example}")
    declined = [c for c in calls if is_rejection(c)]
    if declined:
        shown = ", ".join(code(subject_of(c, session.cwd), 60) for c in declined[:3])
        found.append(f"The user declined {len(declined)} tool call(s): {shown}")
    if calls:
        found.append(f"Tools used: {counter_lines(Counter(c.name for c in calls), 8)}")
    if session.subagents:
        found.append(f"{len(session.subagents)} subagent(s) ran")
    if session.models or session.usage.total:
        found.append(f"Models: {', '.join(session.models) or 'unknown'}; {_tokens(session)}")
    return found


def _tokens(session: Session) -> str:
    u = session.usage
    return (
        f"tokens: {u.input_tokens:,} in, {u.output_tokens:,} out, "
        f"{u.cache_read_tokens:,} cache read, {u.cache_creation_tokens:,} cache write"
    )


def questions(session: Session) -> list[str]:
    found: list[str] = []
    turns = session.turns
    last_prompt = max((i for i, t in enumerate(turns) if human_text(t)), default=-1)
    answered = any(
        t.role == "assistant" and (t.text.strip() or t.tool_calls) for t in turns[last_prompt + 1 :]
    )
    last_words = (human_text(turns[last_prompt]) or "") if last_prompt >= 0 else ""
    if last_words and not answered and not last_words.startswith("!"):  # "!" ran a shell command
        found.append(f"Unanswered at the end: {one_line(last_words)}")
    last_reply = next(
        (t for t in reversed(turns[last_prompt + 1 :]) if t.role == "assistant" and t.text.strip()),
        None,
    )
    if last_reply:
        found += [
            f"Asked the user: {one_line(s)}" for s in sentences(last_reply.text) if s.endswith("?")
        ]
    for call in all_calls(session):
        if call.name == "AskUserQuestion" and not _ANSWER_RE.search(call.result or ""):
            asked = call.input.get("questions")
            for q in asked if isinstance(asked, list) else []:
                if isinstance(q, dict) and isinstance(q.get("question"), str):
                    found.append(f"Unanswered: {one_line(q['question'])}")
        found += _todos_written(call, session.cwd)
    found += [
        one_line(s)
        for t in turns
        if t.role == "assistant"
        for s in sentences(t.text)
        if _TODO_RE.search(s)
    ]
    return dedupe(found, DEFAULT_CAP + 2)


def _todos_written(call: ToolCall, cwd: str | None) -> list[str]:
    if call.name not in EDIT_TOOLS or call.is_error:
        return []
    edits = call.input.get("edits")
    texts = [call.input.get("new_string"), call.input.get("content")]
    texts += (
        [e.get("new_string") for e in edits if isinstance(e, dict)]
        if isinstance(edits, list)
        else []
    )
    path = path_of(call, cwd) or "?"
    return [
        f"{_todo_word(line)} in {code(path, 80)}: {one_line(line, 150)}"
        for text in texts
        if isinstance(text, str)
        for line in text.splitlines()
        if _TODO_RE.search(line)
    ]


def _todo_word(line: str) -> str:
    match = _TODO_RE.search(line)
    return match.group(1) if match else "TODO"


# ---------------------------------------------------------------- the whole session


def extract(session: Session) -> tuple[dict[str, str], str]:
    """Category bullets (only non-empty categories) and an honest confidence.

    Offline is never "high". It is "medium" when the session gave structural evidence (an
    error paired with the run that fixed it, or a choice the human stated or answered), and
    "low" when all we have are counts and heuristically picked sentences.
    """
    stated, from_human = decisions(session)
    bugs, solutions = bugs_and_solutions(session)
    found = {
        "decisions": stated,
        "solutions": solutions,
        "patterns": files_touched(session),
        "bugs": bugs,
        "insights": insights(session),
        "questions": questions(session),
        "procedures": procedures(session),
    }
    entries = {k: "\n".join(f"- {item}" for item in items) for k, items in found.items() if items}
    return entries, "medium" if solutions or from_human else "low"


def title_of(session: Session) -> str:
    if session.title and session.title.strip():
        return one_line(session.title, 100)
    first = next((text for t in session.turns if (text := human_text(t))), None)
    if first:
        return one_line(first.splitlines()[0], 100)
    if session.summaries:
        return one_line(session.summaries[-1], 100)
    return f"Session {session.session_id}"


def render_summary(session: Session, narrative: str | None = None) -> str:
    """summaries/{project}/{session}.md: facts, the task, what happened, where it ended."""
    calls = all_calls(session)
    prompts = [text for t in session.turns if (text := human_text(t))]
    replies = sum(1 for t in session.turns if t.role == "assistant")
    errors = sum(1 for c in calls if failed(c))
    facts = [f"- Project: {session.project} · session `{session.session_id}` ({session.source})"]
    if session.cwd:
        branch = f" (branch `{session.git_branch}`)" if session.git_branch else ""
        facts.append(f"- Directory: `{session.cwd}`{branch}")
    if session.started_at or session.ended_at:
        facts.append(f"- Time: {session.started_at or '?'} → {session.ended_at or '?'}")
    if session.models:
        facts.append(f"- Models: {', '.join(session.models)}; {_tokens(session)}")
    facts.append(
        f"- Activity: {len(prompts)} prompt(s), {replies} repl(ies), {len(calls)} tool call(s)"
        f" ({errors} failed), {len(session.subagents)} subagent(s)"
    )
    edited = [code(path, 100) for path, edits, _ in touch_counts(session) if edits][:5]
    if edited:
        facts.append(f"- Files edited: {', '.join(edited)}")
    tests = [c for c in calls if (cmd := command_of(c)) and command_kind(cmd) == "Test"]
    if tests:
        verdict = "failed" if failed(tests[-1]) else "passed"
        facts.append(f"- Last test run: {code(command_of(tests[-1]) or '')} {verdict}")
    parts = [f"# {title_of(session)}", "\n".join(facts)]
    if narrative and narrative.strip():
        parts.append("## Summary\n\n" + clip(narrative, 2000))
    if prompts:
        parts.append("## Task\n\n" + clip(prompts[0], 600))
    last = next(
        (t.text for t in reversed(session.turns) if t.role == "assistant" and t.text.strip()), ""
    )
    if last:
        parts.append("## Outcome\n\n" + clip(last, 800))
    return "\n\n".join(parts) + "\n"
