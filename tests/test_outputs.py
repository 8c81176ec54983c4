"""Reading a command's output: the line naming its problem, failures a green run reports.
The fast readers are pinned to the long way round: the regex, or the code before."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engram_ci.knowledge import tool_output as outputs
from engram_ci.knowledge.phrases import one_line
from engram_ci.knowledge.tool_output import error_line


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
        (  # a linter says which rule: better than the count below it
            "Exit code 1\nSIM115 Use a context manager for opening files\n --> a.py:3:9\n"
            "Found 1 error.",
            "SIM115 Use a context manager for opening files",
        ),
        (
            "a.py:1:1: F401 'os' imported but unused\nFound 1 error.",
            "a.py:1:1: F401 'os' imported but unused",
        ),
        (
            "m.py:1:0: C0114: Missing module docstring\nYour code has been rated",
            "m.py:1:0: C0114: Missing module docstring",
        ),
        ("", ""),
    ],
)
def test_error_line_names_the_problem(output: str, line: str) -> None:
    assert error_line(output) == line


# \d is str.isdecimal(), \w str.isalnum() or "_": "١" is both, "²" and "é" only \w
_FAIL_PIECES = [
    *["FAILED ", "ERROR: ", " failed", " error", "s", "ed", "_", "x", "é", " ", "\n", "\r"],
    *["0", "1", "9", "12", "١", "²", "-"],
]


@settings(max_examples=500)
@given(st.lists(st.sampled_from(_FAIL_PIECES), max_size=12))
@example(["1", "²", "1", " failed"])
@example(["_", "1", " failed"])
@example(["x", "12", " error", "s", "\n"])
@example(["12", " error", "s", "ed"])
@example(["12", " error", "s"])
@example(["0", " failed"])
def test_the_failure_summary_scan_is_the_regex(pieces: list[str]) -> None:
    output = "".join(pieces)
    expected = bool(outputs._FAIL_SUMMARY_RE.search(output))
    assert outputs.reports_failure_summary(output) == expected


def _error_line_before(result: str | None) -> str:
    """error_line() before it asked _BANNER_RE of candidate lines only."""
    exit_code, lines = None, []
    for line in (result or "").splitlines():
        line = line.strip()
        if line and line.startswith("Exit code") and (found := outputs.EXIT_RE.match(line)):
            exit_code = exit_code or found.group(1)
        elif line and not outputs.BANNER_RE.search(line):
            lines.append(line)
    pick = (
        next((x for x in reversed(lines) if outputs.EXCEPTION_RE.match(x)), None)
        or next((x for x in lines if x.startswith("FAILED ")), None)
        or next((x for x in lines if x.startswith("E  ")), None)
        or next((x for x in lines if outputs._FAILED_OR_ERROR_RE.search(x)), None)
        or next((x for x in lines if outputs.LINT_RE.match(x)), None)
        or next((x for x in lines if outputs.ERROR_WORD_RE.search(x)), None)
        or next(iter(lines), None)
    )
    if pick:
        tag = "<tool_use_error>"
        return one_line(pick.removeprefix(tag).removesuffix("</tool_use_error>"))
    return f"exit code {exit_code}" if exit_code else ""


_LINE_PIECES = [
    *["Exit code 2", "KeyError: x", "error[E1]: y", "FAILED t::a", "E   assert", "E  x"],
    " x FAILED",
    *[" ERROR y", "no such file", "PASSED", "====", "warning: w", "plain", "  ", "\n", "\r\n"],
    *["<tool_use_error>", "SystemExit", "KeyboardInterrupt", "\u2028"],
    *["E501 long", "a.py:1:2: F401 x", "Found 1 error.", "HTTP404"],
]


@settings(max_examples=500)
@given(st.lists(st.sampled_from(_LINE_PIECES), max_size=14))
@example(["plain", "\n", "SystemExit"])
@example(["plain", "\n", "E  x"])
@example(["plain", "\n", "error[E1]: y", "\n", "PASSED"])
def test_error_line_reads_as_before(pieces: list[str]) -> None:
    output = "".join(pieces)
    assert error_line(output) == _error_line_before(output)


def test_error_line_reads_like_before_on_mixed_output() -> None:
    output = (
        "Exit code 1\n=== test session starts ===\nsome noise\nE   assert 1 == 2\n"
        "FAILED t.py::a - x\nFAILED t.py::b - y\n"
    )
    assert error_line(output) == "FAILED t.py::a - x"
    assert error_line("Exit code 4\n") == "exit code 4"
    assert error_line("  \nwarning: x\n plain line \n") == "plain line"
    assert error_line("ValueError: a\nKeyError: b") == "KeyError: b"  # the last exception
