"""The small readers the offline extractor is built from, one case per kind of output."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engram_ci.knowledge import signals
from engram_ci.knowledge import tool_output as outputs
from engram_ci.knowledge.signals import (
    Earliest,
    FirstDistinct,
    command_kind,
    command_of,
    dedupe,
    facts_of,
    failed,
    is_misuse,
    is_rejection,
    path_of,
    paths_of,
    rejection_reason,
    retry_matches,
    subject_of,
)
from engram_ci.transcripts.model import ToolCall


def bash(command: Any, result: str = "", *, error: bool = False) -> ToolCall:
    return ToolCall("t1", "Bash", {"command": command}, result=result, is_error=error)


def test_rejections_with_and_without_a_reason() -> None:
    boilerplate = "The user doesn't want to proceed with this tool use. The tool use was rejected."
    assert rejection_reason(bash("x", boilerplate, error=True)) == ""
    with_reason = boilerplate + " The user provided the following reason for the rejection: no"
    assert rejection_reason(bash("x", with_reason, error=True)) == "no"
    assert rejection_reason(bash("x", "use the staging db instead", error=True)) == (
        "use the staging db instead"
    )
    assert rejection_reason(bash("x", "Exit code 1\nboom", error=True)) is None
    assert rejection_reason(bash("x", "use the staging db instead")) is None  # not an error


def test_tool_mechanics_and_bookkeeping_are_misuse() -> None:
    stale = ToolCall("t", "Edit", {}, "String to replace not found in file.", is_error=True)
    shell = ToolCall("t", "KillShell", {}, "Shell 1 is not running", is_error=True)
    assert is_misuse(stale) and is_misuse(shell)
    assert not is_misuse(bash("make", "Exit code 2\nmake: *** Error 2", error=True))


def test_a_green_exit_with_failures_in_the_output_still_failed() -> None:
    assert failed(bash("pytest", "=== 2 failed, 3 passed ==="))
    assert not failed(bash("pytest", "=== 5 passed, 0 errors ==="))
    assert not failed(bash("cat log", "2 failed"))  # not a test run


def test_commands_are_normalised_and_classified() -> None:
    assert command_of(bash("cd /repo && cd sub && uv run  pytest -q")) == "uv run pytest -q"
    assert command_of(bash("git commit -F- <<EOF\nmsg\nEOF")) == "git commit -F- <<EOF …"
    assert command_of(bash(["bash", "-lc", "make test"])) == "make test"  # Codex argv
    assert command_of(bash(["cargo", "test", "--all"])) == "cargo test --all"
    assert command_of(ToolCall("t", "Read", {"command": "x"})) is None
    kinds = {c: command_kind(c) for c in ("npx vitest run", "ruff check .", "pnpm install")}
    assert kinds == {"npx vitest run": "Test", "ruff check .": "Lint", "pnpm install": "Build"}
    assert command_kind("git push origin main") == "Git"
    assert command_kind("git status") is None and command_kind("ls -la") is None
    assert command_kind("gh api --help | head -30") is None
    assert command_kind("./scripts/deploy.sh") == "Run"


def test_retry_matching_and_paths() -> None:
    assert retry_matches("uv run pytest tests/a.py -x", "uv run pytest")
    assert not retry_matches("cargo build", "cargo build --release")
    assert retry_matches("python -m pytest tests/a.py", "make test")  # the suite passed again
    assert not retry_matches("python -m pytest", "ruff check .")
    call = ToolCall("t", "Edit", {"file_path": "/w/proj/src/a.py"})
    assert path_of(call, "/w/proj") == "src/a.py"
    assert path_of(call, "/elsewhere") == "/w/proj/src/a.py"


# ---------------------------------------------------------------- what the one walk relies on

_CALLS = [
    bash("uv run pytest -q", "=== 1 failed, 2 passed ==="),
    bash("uv run pytest -q", "=== 3 passed ==="),
    bash("ruff check .", "ERROR: x.py:1:1 bad"),
    bash("make", "Exit code 2\nmake: *** Error 2", error=True),
    bash("git push", "Wait, squash the commits first", error=True),
    bash("npm i", "The user doesn't want to proceed with this tool use.", error=True),
    ToolCall("t", "Edit", {"file_path": "/w/a.py"}, "String to replace not found", True),
    ToolCall("t", "KillShell", {}, "Shell 1 is not running", is_error=True),
    ToolCall("t", "Read", {"file_path": "/w/b.py"}, "text"),
    ToolCall("t", "Read", {"file_path": " "}, "text"),
    ToolCall("t", "apply_patch", {"input": "*** Update File: /w/c.py\n"}, "ok"),
]


@pytest.mark.parametrize("call", _CALLS)
def test_call_facts_answer_as_each_question_would(call: ToolCall) -> None:
    facts = facts_of(call, "/w")
    command = command_of(call)
    assert facts.failed == failed(call)
    assert facts.misuse == is_misuse(call)
    assert facts.rejection == rejection_reason(call)
    assert (facts.rejection is not None) == is_rejection(call)
    assert facts.command == command
    assert facts.kind == (command_kind(command) if command else None)
    assert facts.subject == subject_of(call, "/w")
    assert list(facts.paths) == paths_of(call, "/w")


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/w/src/app.py", "src/app.py"),
        ("/w/.claude/worktrees/agent-a4ca7529/src/app.py", "src/app.py"),  # Claude Code's copy
        ("/w/.claude/worktrees/agent-a4ca7529", ".claude/worktrees/agent-a4ca7529"),
        ("/w/.claude/settings.json", ".claude/settings.json"),
        ("/w/worktrees/feature/src/app.py", "worktrees/feature/src/app.py"),  # the user's own
        ("/elsewhere/.claude/worktrees/x/a.py", "/elsewhere/.claude/worktrees/x/a.py"),
    ],
)
def test_a_file_in_an_agent_worktree_is_named_as_in_the_repository(path: str, named: str) -> None:
    assert paths_of(ToolCall("t", "Read", {"file_path": path}, "text"), "/w") == [named]


# what re.IGNORECASE takes for an ASCII letter beyond its two cases, and what lower() changes
_ODD = ["İ", "ı", "ſ", "\u212a", "ß", "→", "\ud800"]


@given(st.data())
def test_the_misuse_pre_check_loses_nothing(data: st.DataObject) -> None:
    phrases = signals._MISUSE_RE.pattern.split(")", 1)[1]  # without the look-ahead
    misuse = data.draw(st.from_regex(re.compile(phrases, re.I), fullmatch=True))
    text = "".join(data.draw(st.lists(st.sampled_from([misuse, *_ODD, "x", " "]), max_size=5)))
    assert signals.names_misuse(text) == bool(signals._MISUSE_RE.search(text))


_MISUSE_SAMPLES = [
    *["String to replace not found", "Found 3 matches of the string", "has not been read yet"],
    *["modified since read", "<tool_use_error>", "InputValidationError", "requires approval"],
    "was blocked",
    "haven't granted it yet",
]


@pytest.mark.parametrize("sample", _MISUSE_SAMPLES)
def test_misuse_is_found_in_any_case(sample: str) -> None:
    odd = sample.replace("s", "ſ", 1).replace("i", "ı", 1).replace("I", "İ", 1)
    for text in (sample, sample.upper(), f"→ {sample.title()}.", odd, f"K {odd}"):
        assert signals._MISUSE_RE.search(text)
        assert signals.names_misuse(text), text


@pytest.mark.parametrize(("phrase", "ours"), signals._DENIALS)
def test_every_denial_is_a_misuse_so_denial_is_asked_of_it(phrase: str, ours: str) -> None:
    # denial() reads only calls names_misuse() flagged: a phrase missing from _MISUSE_RE
    # would never be asked about, and its Blocked: pitfall silently lost
    refused = ToolCall("t", "Bash", {"command": "rm -rf build"}, f"Command {phrase}.", True)
    facts = signals.facts_of(refused, "/w")
    assert facts.misuse
    assert signals.denial(refused, facts) == f"Blocked: `rm -rf build` {ours}"


def _rejection_reason_before(call: ToolCall) -> str | None:
    """rejection_reason() before it lowered bytes instead of the str."""
    result = (call.result or "").strip()
    if not call.is_error or not result:
        return None
    if any(p in result.lower() for p in ("the user doesn't want to", "tool use was rejected")):
        reason = signals._REJECT_REASON_RE.search(result)
        return reason.group(1).strip() if reason else ""
    lines = result.splitlines()
    looks_human = (
        call.name in signals.SHELL_TOOLS
        and len(result) < 1000
        and not any(outputs.EXIT_RE.match(x) or outputs.EXCEPTION_RE.match(x) for x in lines)
        and not any(outputs.BANNER_RE.search(line) for line in lines)
        and not outputs.ERROR_WORD_RE.search(result)
        and not signals._MISUSE_RE.search(result)
    )
    return result if looks_human else None


_REJECT_PIECES = [
    *["The User Doesn'T want to", "TOOL USE WAS REJECTED", "tool uſe was rejected", " reason"],
    *["for the rejection: ", "use the staging db", "Exit code 1", "\n", *_ODD],
]


@given(st.lists(st.sampled_from(_REJECT_PIECES), max_size=8), st.sampled_from(["Bash", "Edit"]))
def test_rejections_read_as_before(pieces: list[str], name: str) -> None:
    call = ToolCall("t", name, {"command": "x"}, "".join(pieces), is_error=True)
    assert rejection_reason(call) == _rejection_reason_before(call)


def test_the_rejection_phrases_survive_lowering_bytes_instead_of_the_str() -> None:
    # str.lower() turns "İ" and "K" into ASCII letters, bytes.lower() does not
    assert not any(letter in b"".join(signals._REJECTED) for letter in (b"i", b"k"))


_ITEMS = st.lists(st.text(alphabet="ab .-", max_size=3), max_size=20)


@given(_ITEMS, _ITEMS, st.integers(1, 6))
def test_first_distinct_is_dedupe_as_items_arrive(a: list[str], b: list[str], cap: int) -> None:
    first, second = FirstDistinct(cap), FirstDistinct(cap)
    first.extend(a)
    second.extend(b)
    assert first.items == dedupe(a, cap)
    # what it drops can never reach a dedupe of several lists joined
    assert dedupe(first.items + second.items, cap) == dedupe(a + b, cap)


@given(_ITEMS, st.integers(1, 6), st.randoms(use_true_random=False))
def test_earliest_orders_items_that_arrive_out_of_order(
    items: list[str], cap: int, rnd: random.Random
) -> None:
    arrivals = list(enumerate(items))
    rnd.shuffle(arrivals)
    earliest = Earliest(cap)
    for order, item in arrivals:
        earliest.add(order, item)
    assert earliest.items == dedupe(items, cap)


def _canonical_regex_always(line: str) -> str:
    line = signals._CD_PREFIX_RE.sub("", line.strip())
    return " ".join(signals._PLUMBING_RE.sub("", line).split())


_COMMAND_PIECES = st.sampled_from(
    ["cd ", "cd x && ", "src", " && ", " 2>&1", "2>/dev/null", " 2>", "|", " | ", "head -20",
     "tail", "grep x", "wc -l", "less", " ", "\t", "\n", "pytest -q", "'a|b'", "make"]
)  # fmt: skip


@given(st.lists(st.one_of(_COMMAND_PIECES, st.text(max_size=4)), max_size=10))
def test_canonical_command_skips_only_regexes_that_cannot_match(parts: list[str]) -> None:
    line = "".join(parts)
    assert signals.canonical_command(line) == _canonical_regex_always(line)
