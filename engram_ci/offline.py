"""The offline extractor: knowledge read off a session's structure, no model, no key.

Facts come first because they are certain: commands run, their failures, the edit and re-run
that made a failure pass, files touched, answers the human gave. Sentence heuristics (stated
decisions, root causes) add what the prose says. Everything is ordered by appearance or by
explicit sort keys, so the same session always gives the same bytes.
"""

from __future__ import annotations

import re
from collections import Counter

from engram_ci.model import Session, ToolCall, Turn
from engram_ci.prompts import clip
from engram_ci.signals import (
    EDIT_TOOLS,
    KIND_ORDER,
    READ_TOOLS,
    Step,
    agents,
    all_calls,
    code,
    command_kind,
    command_of,
    dedupe,
    error_line,
    failed,
    human_text,
    is_misuse,
    is_rejection,
    may_hold,
    one_line,
    path_of,
    paths_of,
    rejection_reason,
    retry_matches,
    sentences,
    steps_of,
    subject_of,
)

CAPS = {"decisions": 8, "bugs": 8, "solutions": 8, "procedures": 12, "patterns": 10}
DEFAULT_CAP = 6

# Each pattern that runs over every turn opens with a look-ahead of its alternatives' first
# letters: Python's re then jumps between candidate letters instead of trying every position
# (2-3x faster; keep the letters in step with the alternatives).
_DECISION_RE = re.compile(
    r"(?=[lidwrcogsp])\b(let'?s (use|go with|keep|switch|stick|do|try|make|not)"
    r"|i'?ll (go with|use|switch)|we'?ll (use|go with|keep)|decided|decision|instead of"
    r"|rather than|we should"
    r"|chose|chosen|opt(ed)? for|going with|switch(ed|ing)? (to|from)|prefer)\b",
    re.IGNORECASE,
)
_INSIGHT_RE = re.compile(
    r"(?=[rthfcngk])\b(root cause|the (issue|problem|bug|error|cause) (is|was)|turns out|the reason"
    r"|(happens|happened|fails|failed) because|caused by|note that|gotcha|key insight)\b",
    re.IGNORECASE,
)
#: why a failure happened, strongest wording first: a stated cause beats a stated intent
_EXPLAIN_RES = (
    re.compile(
        r"(?=[tbrcm])\b(the (issue|problem|error|bug|cause)|because|root cause|caused by"
        r"|missing)\b",
        re.IGNORECASE,
    ),
    re.compile(r"(?=[fns])\b(fix(ed|es)?|need(s|ed)? to|should|since)\b", re.IGNORECASE),
)
_TODO_RE = re.compile(r"(?=[TFX])\b(TODO|FIXME|XXX)\b[:(\s]")
_ANSWER_RE = re.compile(r'"([^"]+)"="([^"]*)"')


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
            if text and may_hold(text, _DECISION_RE):
                human += [f"User: {one_line(s)}" for s in sentences(text) if _states_choice(s)]
            continue
        if may_hold(turn.text, _DECISION_RE):
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
        steps = steps_of(turns)
        # each step's facts once: the pairing below compares every failure with later steps
        subjects = [subject_of(s.call, session.cwd) for s in steps]
        failing = [failed(s.call) for s in steps]
        fixed_by: set[int] = set()
        for step in steps:
            call = step.call
            if not failing[step.index] or is_misuse(call):
                continue
            subject = subjects[step.index]
            later = (
                s
                for s in steps[step.index + 1 :]
                if s.call.name == call.name and retry_matches(subject, subjects[s.index])
            )
            fix = next(
                (s for s in later if not failing[s.index] and not is_rejection(s.call)), None
            )
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
        [p for c in between if c.name in EDIT_TOOLS for p in paths_of(c, session.cwd)], 4
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
        if turn.role == "assistant" and may_hold(turn.text, *_EXPLAIN_RES)
        for sentence in sentences(turn.text)
    ]
    # "I see the issue." names no cause: an explanation needs a few more words than that
    said = [sentence for sentence in said if len(sentence.split()) >= 6]
    why = next((s for pattern in _EXPLAIN_RES for s in said if pattern.search(s)), None)
    if how == "on a re-run" and not why:
        return None  # nothing changed that we can see: no knowledge in it
    rerun = subject_of(fix.call, session.cwd)
    fixed = f"{code(subject)} passed {how}"
    if rerun != subject:
        fixed = f"{code(subject)} fixed: {code(rerun)} passed {how}"
    return f"{fixed}: {one_line(why, 160)}" if why else fixed


def procedures(session: Session) -> list[str]:
    """Commands run, tests and checks first, then the most repeated."""
    runs: dict[str, list[ToolCall]] = {}
    for call in all_calls(session):
        command = command_of(call)
        if command and command_kind(command) and not is_rejection(call):
            runs.setdefault(command, []).append(call)
    ranked = sorted(
        runs.items(), key=lambda kv: (KIND_ORDER[command_kind(kv[0]) or "Run"], -len(kv[1]))
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
        if call.is_error:
            continue
        for path in paths_of(call, session.cwd):
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
        if turn.role == "assistant" and may_hold(turn.text, _INSIGHT_RE)
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
    # one line of session shape: context.md digests these, so it must not crowd out knowledge
    shape = []
    if calls:
        used = sorted(Counter(c.name for c in calls).items(), key=lambda kv: (-kv[1], kv[0]))
        shape.append("tools " + ", ".join(f"{name} {n}" for name, n in used[:6]))
    if session.subagents:
        shape.append(f"{len(session.subagents)} subagent(s)")
    if session.models:
        shape.append(f"model {', '.join(session.models)}")
    if shape:
        found.append("Session used " + "; ".join(shape))
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
        if t.role == "assistant" and may_hold(t.text, _TODO_RE)
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
