"""The small readers the offline extractor is built from, one case per kind of output."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engram_ci import signals
from engram_ci.model import ToolCall
from engram_ci.signals import (
    Earliest,
    FirstDistinct,
    command_kind,
    command_of,
    dedupe,
    error_line,
    facts_of,
    failed,
    is_misuse,
    is_rejection,
    path_of,
    paths_of,
    rejection_reason,
    retry_matches,
    sentences,
    subject_of,
)


def bash(command: Any, result: str = "", *, error: bool = False) -> ToolCall:
    return ToolCall("t1", "Bash", {"command": command}, result=result, is_error=error)


@pytest.mark.parametrize(
    ("output", "line"),
    [
        (
            "Exit code 1\nTraceback (most recent call last):\n  File 'a'\nKeyError: 'x'",
            "KeyError: 'x'",
        ),
        (
            "error[E0425]: cannot find value `x`\n --> src/main.rs:2:5",
            "error[E0425]: cannot find value `x`",
        ),
        ("a.py::t PASSED\nb.py::u FAILED [ 50%]\n", "b.py::u FAILED [ 50%]"),
        (
            "WARN beta software, expect fatal errors\nnpm ERR! missing script: build",
            "npm ERR! missing script: build",
        ),
        ("Exit code 3\n===== test session starts =====\nplatform linux", "exit code 3"),
        ("<tool_use_error>File does not exist.</tool_use_error>", "File does not exist."),
        ("", ""),
    ],
)
def test_error_line_names_the_problem(output: str, line: str) -> None:
    assert error_line(output) == line


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


def test_sentences_skip_code_tables_and_headings() -> None:
    text = (
        "# Plan\n\n- **First** we switch to uv. Then we test it.\n"
        "```\nlet's use x instead of y\n```\n| a | b |"
    )
    assert sentences(text) == ["First we switch to uv.", "Then we test it."]


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


_FAIL_PIECES = ["FAILED ", "ERROR: ", " failed", " error", "s", "0", "1", "12", "\n", "x", " "]


@given(st.lists(st.sampled_from(_FAIL_PIECES), max_size=12))
def test_the_cheap_test_before_the_failure_summary_regex_loses_nothing(pieces: list[str]) -> None:
    output = "".join(pieces)
    assert failed(bash("pytest", output)) == bool(signals._FAIL_SUMMARY_RE.search(output))


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


def test_error_line_reads_like_before_on_mixed_output() -> None:
    output = (
        "Exit code 1\n=== test session starts ===\nsome noise\nE   assert 1 == 2\n"
        "FAILED t.py::a - x\nFAILED t.py::b - y\n"
    )
    assert error_line(output) == "FAILED t.py::a - x"
    assert error_line("Exit code 4\n") == "exit code 4"
    assert error_line("  \nwarning: x\n plain line \n") == "plain line"
    assert error_line("ValueError: a\nKeyError: b") == "KeyError: b"  # the last exception
