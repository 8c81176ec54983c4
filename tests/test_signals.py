"""The small readers the offline extractor is built from, one case per kind of output."""

from __future__ import annotations

from typing import Any

import pytest

from engram_ci.model import ToolCall
from engram_ci.signals import (
    command_kind,
    command_of,
    error_line,
    failed,
    is_misuse,
    path_of,
    rejection_reason,
    retry_matches,
    sentences,
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
