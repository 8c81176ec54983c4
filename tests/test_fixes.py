"""Failures paired with their fixes: bounded, and in the order the failures came."""

from __future__ import annotations

from engram_ci.knowledge import error_fixes as fixes
from engram_ci.knowledge import offline
from tests.test_extract import assistant, bash, call, session


def test_failures_past_the_open_cap_are_never_paired_with_their_fix() -> None:
    # the bound that keeps a thread's state small: only the most recent failures await a fix
    cap = fixes.OPEN_FAILURES_CAP
    failures = [bash(f"./step{i}.sh", "Exit code 1\nboom", error=True) for i in range(cap + 1)]
    s = session(
        assistant("", *failures),
        assistant("", call("Edit", "ok", file_path="/home/dev/calc/a.py")),
        assistant("", bash("./step0.sh", "ok"), bash("./step1.sh", "ok")),
    )
    solutions = offline.extract(s)[0]["solutions"]
    assert solutions == "- Fix: `./step1.sh` failed: boom → passed after editing `a.py`"


def test_a_fix_pairs_with_the_earliest_failure_and_solutions_keep_failure_order() -> None:
    s = session(
        assistant("", bash("./a.sh", "Exit code 1\nA broke", error=True)),
        assistant("", bash("./b.sh", "Exit code 1\nB broke", error=True)),
        assistant("", bash("./b.sh", "Exit code 1\nB broke again", error=True)),
        assistant("", call("Edit", "ok", file_path="/home/dev/calc/b.py")),
        assistant("The problem was a missing flag in the b script.", bash("./b.sh", "ok")),
        assistant("", call("Edit", "ok", file_path="/home/dev/calc/a.py")),
        assistant("", bash("./a.sh", "ok")),
    )
    entries = offline.extract(s)[0]
    assert entries["solutions"].splitlines() == [  # a's failure came first
        "- Fix: `./a.sh` failed: A broke → passed after editing `b.py`, `a.py`: The problem was"
        " a missing flag in the b script.",
        "- Fix: `./b.sh` failed: B broke → passed after editing `b.py`: The problem was a missing"
        " flag in the b script.",
    ]
    assert entries["bugs"].count("fixed later in the session") == 3


def test_the_agents_plan_file_is_not_what_fixed_a_failure() -> None:
    s = session(
        assistant("", bash("ruff check", "Exit code 1\nFound 1 error.", error=True)),
        assistant("", call("Write", "ok", file_path="/home/dev/.claude/plans/quiet-wolf.md")),
        assistant("", call("Edit", "ok", file_path="/home/dev/calc/a.py")),
        assistant("", bash("ruff check", "All checks passed!")),
    )
    entries = offline.extract(s)[0]
    assert entries["solutions"] == (
        "- Fix: `ruff check` failed: Found 1 error. → passed after editing `a.py`"
    )
    assert "quiet-wolf" not in "".join(entries.values())  # not a key file either


def test_a_checker_message_too_long_with_its_location_is_shown_without_it() -> None:
    where = "/Users/dev/workspace/claude-code-log/claude_code_log/converter.py:184:17"
    message = 'error: Type of "text_value" is unknown (reportUnknownVariableType)'
    s = session(
        assistant("", bash("uv run pyright", f"Exit code 1\n{where} - {message}", error=True)),
        assistant("", call("Edit", "ok", file_path="/home/dev/calc/converter.py")),
        assistant("", bash("uv run pyright", "0 errors")),
    )
    assert offline.extract(s)[0]["solutions"] == (
        f"- Fix: `uv run pyright` failed: {message} → passed after editing `converter.py`"
    )
    assert fixes._signature("src/a.py:3:1: F401 `os` imported but unused") == (
        "src/a.py:3:1: F401 `os` imported but unused"  # short enough whole: kept whole
    )
    long_tsc = "src/" + "deep/" * 20 + "index.tsx(3,5): error TS2322: Type 'string' is wrong"
    assert fixes._signature(long_tsc) == "error TS2322: Type 'string' is wrong"
