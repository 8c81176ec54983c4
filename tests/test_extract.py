"""The offline extractor on hand-built sessions (exact entries) and on the real corpus."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from engram_ci.knowledge import extract
from engram_ci.knowledge.blocks import KNOWLEDGE_CATEGORIES
from engram_ci.knowledge.extract import Extraction, extract_knowledge, extract_offline
from engram_ci.transcripts.model import Session, ToolCall, Turn, Usage

CWD = "/home/dev/calc"

PYTEST_FAIL = """Exit code 1
============================= test session starts ==============================
platform linux -- Python 3.12.1, pytest-8.3.0, pluggy-1.5.0
rootdir: /home/dev/calc
collected 3 items

tests/test_calc.py .F.                                                   [100%]

=================================== FAILURES ===================================
___________________________________ test_add ___________________________________
>       assert add(2, 2) == 4
E       assert 0 == 4
FAILED tests/test_calc.py::test_add - assert 0 == 4
========================= 1 failed, 2 passed in 0.03s =========================="""

PYTEST_PASS = "============================= 3 passed in 0.02s ============================="


def user(text: str, **kw: Any) -> Turn:
    return Turn(role="user", text=text, **kw)


def assistant(text: str = "", *calls: ToolCall, model: str = "claude-sonnet-4-5") -> Turn:
    return Turn(role="assistant", text=text, tool_calls=list(calls), model=model)


_ids = iter(range(10_000))


def call(name: str, result: str = "", *, error: bool = False, **inputs: Any) -> ToolCall:
    return ToolCall(f"toolu_{next(_ids)}", name, inputs, result=result, is_error=error)


def bash(command: str, result: str = "", *, error: bool = False) -> ToolCall:
    return call("Bash", result, error=error, command=command, description="run it")


def session(*turns: Turn, **kw: Any) -> Session:
    fields: dict[str, Any] = {
        "session_id": "s-1",
        "source": "claude-code",
        "project": "calc",
        "transcripts": [Path("/tmp/s-1.jsonl")],
        "cwd": CWD,
        "git_branch": "main",
        "started_at": "2025-06-01T10:00:00Z",
        "ended_at": "2025-06-01T10:30:00Z",
        "models": ["claude-sonnet-4-5"],
        "usage": Usage(1200, 3400, 50_000, 900),
    }
    fields.update(kw)
    return Session(turns=list(turns), **fields)


def fix_a_failing_test() -> Session:
    return session(
        user("The add() test fails, please fix it. Let's use pytest for everything."),
        assistant("I'll run the tests first.", bash("uv run pytest -q", PYTEST_FAIL, error=True)),
        assistant(
            "The problem is that add() subtracts instead of adding.",
            call("Read", "def add(a, b): return a - b", file_path=f"{CWD}/src/calc.py"),
        ),
        assistant(
            "",
            call(
                "Edit",
                "ok",
                file_path=f"{CWD}/src/calc.py",
                old_string="a - b",
                new_string="a + b  # TODO: handle overflow",
            ),
        ),
        assistant("", bash("uv run pytest -q", PYTEST_PASS)),
        assistant("All tests pass now. Should I also add a test for negative numbers?"),
    )


def test_failing_test_then_edit_then_pass_gives_a_bug_and_its_solution() -> None:
    result = extract_offline(fix_a_failing_test())

    assert result.entries["bugs"] == (
        "- `uv run pytest -q` failed: FAILED tests/test_calc.py::test_add - assert 0 == 4"
        " — fixed later in the session"
    )
    assert result.entries["solutions"].splitlines() == [
        "- Fix: `uv run pytest -q` failed: FAILED tests/test_calc.py::test_add - assert 0 == 4"
        " → passed after editing `src/calc.py`: The problem is that add() subtracts instead of"
        " adding.",
        # the human reported the problem: the exchange's diagnosis and outcome are its fix
        "- Fix: The add() test fails, please fix it. → The problem is that add() subtracts"
        " instead of adding. All tests pass now.",
    ]
    assert result.confidence == "medium"
    assert result.source == "offline"


def test_decisions_procedures_files_and_questions() -> None:
    entries = extract_offline(fix_a_failing_test()).entries

    assert "decisions" not in entries  # "instead of" with no reason stated is no decision
    assert "- Test: `uv run pytest -q` (run 2×, last run passed)" in entries["procedures"]
    assert entries["patterns"].splitlines() == [
        "- Preference: Let's use pytest for everything.",  # the human's own words
        "- File: `src/calc.py` (edited 1×, read 1×)",
    ]
    questions = entries["questions"].splitlines()
    assert "- Asked the user: Should I also add a test for negative numbers?" in questions
    assert "- Open: TODO in `src/calc.py`: a + b # TODO: handle overflow" in questions
    assert entries["insights"].splitlines() == [
        "- Asked: The add() test fails, please fix it. Let's use pytest for everything.",
        "- Done: All tests pass now.",
        "- Cause: The problem is that add() subtracts instead of adding.",
    ]
    assert set(entries) <= set(KNOWLEDGE_CATEGORIES)


def test_summary_names_the_task_the_files_and_the_outcome() -> None:
    summary = extract_offline(fix_a_failing_test()).summary

    assert summary.startswith("# The add() test fails, please fix it.")
    assert "- Directory: `/home/dev/calc` (branch `main`)" in summary
    assert "- Files edited: `src/calc.py`" in summary
    assert "- Last test run: `uv run pytest -q` passed" in summary
    assert "## Outcome\n\nAll tests pass now." in summary


def test_extraction_is_deterministic() -> None:
    first = extract_offline(fix_a_failing_test())
    again = extract_offline(fix_a_failing_test())
    assert first == again
    assert dataclasses.is_dataclass(first)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.confidence = "high"  # type: ignore[misc]


def test_an_error_never_fixed_is_a_bug_without_a_solution() -> None:
    broken = session(
        user("build it"),
        assistant(
            "",
            bash(
                "cargo build",
                "Exit code 101\n   Compiling calc v0.1.0\nerror[E0308]: mismatched types\n"
                "  --> src/main.rs:3:5",
                error=True,
            ),
        ),
    )
    result = extract_offline(broken)
    assert result.entries["bugs"] == "- `cargo build` failed: error[E0308]: mismatched types"
    assert "solutions" not in result.entries
    assert result.confidence == "low"
    assert "- Build: `cargo build` (last run failed)" in result.entries["procedures"]


def test_traceback_reports_its_final_exception() -> None:
    traceback = (
        'Exit code 1\nTraceback (most recent call last):\n  File "x.py", line 3, in <module>\n'
        "    import yaml\nModuleNotFoundError: No module named 'yaml'"
    )
    broken = session(
        assistant("", bash("python x.py", traceback, error=True)),
        assistant("The module is missing, install it.", bash("pip install pyyaml", "ok")),
        assistant("", bash("python x.py", "done")),
    )
    entries = extract_offline(broken).entries
    assert entries["bugs"] == (
        "- `python x.py` failed: ModuleNotFoundError: No module named 'yaml'"
        " — fixed later in the session"
    )
    assert entries["solutions"] == (
        "- Fix: `python x.py` failed: ModuleNotFoundError: No module named 'yaml'"
        " → passed after running `pip install pyyaml`: The module is missing, install it."
    )


def test_rejections_and_answers_are_the_humans_decisions_not_bugs() -> None:
    s = session(
        user("Set up the project"),
        assistant(
            "",
            bash(
                "npm install",
                "The user doesn't want to proceed with this tool use. The tool use was rejected "
                "(eg. if it was a file edit, the new_string was NOT written to the file). "
                "The user provided the following reason for the rejection:  use pnpm",
                error=True,
            ),
            call(
                "AskUserQuestion",
                'User has answered your questions: "Which test runner?"="vitest". You can now '
                "continue with the user's answers in mind.",
                questions=[{"question": "Which test runner?", "options": []}],
            ),
            call("ExitPlanMode", "ok", plan="# Plan: migrate to pnpm\n\n1. ..."),
        ),
    )
    result = extract_offline(s)
    assert result.entries["decisions"].splitlines() == [
        "- Chosen: Which test runner? → vitest",
        "- Plan approved: Plan: migrate to pnpm",
    ]
    assert result.entries["patterns"] == "- Correction: use pnpm (stopped `npm install`)"
    assert "bugs" not in result.entries
    assert result.confidence == "medium"


def test_tool_mechanics_failures_are_not_project_bugs() -> None:
    s = session(
        assistant(
            "",
            call(
                "Edit",
                "<tool_use_error>String to replace not found in file.</tool_use_error>",
                error=True,
                file_path=f"{CWD}/a.py",
                old_string="x",
                new_string="y",
            ),
        ),
    )
    entries = extract_offline(s).entries
    assert "bugs" not in entries and "insights" not in entries  # nothing about the project


def test_subagent_errors_and_commands_are_included() -> None:
    sub = session(
        assistant("", bash("make test", "Exit code 2\nmake: *** [test] Error 2", error=True)),
        agent_id="agent-7",
        usage=Usage(),
    )
    parent = session(user("Delegate the tests"), assistant("Delegating."), subagents=[sub])
    entries = extract_offline(parent).entries
    assert entries["bugs"] == "- (subagent) `make test` failed: make: *** [test] Error 2"
    assert "- Test: `make test` (last run failed)" in entries["procedures"]
    assert "- Left failing: `make test`: make: *** [test] Error 2" in entries["questions"]


def test_unanswered_last_prompt_is_an_open_question() -> None:
    s = session(
        user("fix the bug"),
        assistant("Fixed."),
        user("Why does the cache grow without bound?"),
    )
    entries = extract_offline(s).entries
    assert entries["questions"] == (
        "- Unanswered at the end: Why does the cache grow without bound?"
    )


def test_empty_and_meta_only_sessions_give_no_entries() -> None:
    empty = extract_offline(session(models=[], usage=Usage()))
    assert empty.entries == {}
    assert empty.confidence == "low"
    assert empty.summary.startswith("# Session s-1\n")

    meta = session(
        user("<local-command-stdout>Set model to opus</local-command-stdout>", is_meta=True),
        user("/model opus", command="/model"),
        user("Caveat: The messages below were generated by the user while running commands."),
        models=[],
        usage=Usage(),
    )
    result = extract_offline(meta)
    assert result.entries == {}
    assert "0 prompt(s)" in result.summary


def test_noise_commands_are_not_procedures_and_long_lines_are_clipped() -> None:
    huge = "x" * 5000
    s = session(
        assistant(
            "",
            bash("ls -la", "a b c"),
            bash("git status", "clean"),
            bash(f"git commit -m '{huge}'", "ok"),
        ),
    )
    entries = extract_offline(s).entries
    (line,) = entries["procedures"].splitlines()
    assert line.startswith("- Git: `git commit -m 'xxx")
    assert len(line) < 200


def test_offline_provider_names_mean_offline() -> None:
    s = fix_a_failing_test()
    assert extract_knowledge(s) == extract_offline(s)
    assert extract_knowledge(s, provider="offline") == extract_offline(s)
    assert isinstance(extract_knowledge(s, provider=""), Extraction)


def test_unknown_provider_is_a_user_error() -> None:
    from engram_ci.errors import FatalError

    with pytest.raises(FatalError, match="unknown provider 'gpt'"):
        extract_knowledge(fix_a_failing_test(), provider="gpt")


def test_module_exports_the_fixed_interface() -> None:
    assert {"Extraction", "extract_offline", "extract_knowledge"} <= set(dir(extract))


def test_a_message_typed_instead_of_running_a_command_is_the_humans_word() -> None:
    s = session(
        assistant(
            "",
            bash("git push", "Wait, squash the commits first", error=True),
            bash("make", "Exit code 2\nmake: *** No rule to make target 'all'.  Stop.", error=True),
        ),
    )
    entries = extract_offline(s).entries
    assert (
        entries["patterns"] == "- Correction: Wait, squash the commits first (stopped `git push`)"
    )
    assert entries["bugs"] == "- `make` failed: make: *** No rule to make target 'all'. Stop."


# ---------------------------------------------------------------- one pass over the turns


class OnePass(Sequence[Turn]):
    """Turns that can be walked once, in order, and nothing else: a very large session's
    TurnLog reads its turns back from disk on every walk and on every index."""

    def __init__(self, turns: Sequence[Turn]) -> None:
        self._turns = list(turns)
        self.walked = False

    def __iter__(self) -> Iterator[Turn]:
        assert not self.walked, "the turns were walked twice"
        self.walked = True
        return iter(self._turns)

    def __getitem__(self, index: Any) -> Any:
        raise AssertionError(f"the turns were indexed: [{index}]")

    def __len__(self) -> int:
        raise AssertionError("the turns were counted")

    def __reversed__(self) -> Iterator[Turn]:
        raise AssertionError("the turns were walked backwards")


def one_pass(s: Session, walks: list[OnePass]) -> Session:
    turns = OnePass(s.turns)
    walks.append(turns)
    subagents = [one_pass(sub, walks) for sub in s.subagents]
    return dataclasses.replace(s, turns=turns, subagents=subagents)


def with_subagents() -> Session:
    inner = session(
        assistant("", bash("cargo build", "Exit code 101\nerror[E0425]: x", error=True)),
        assistant("The issue is that x was never declared in this scope.", bash("cargo build")),
        agent_id="agent-2",
    )
    sub = session(
        user("Run the tests"),
        assistant("", bash("make test", "Exit code 2\nmake: *** [test] Error 2", error=True)),
        agent_id="agent-1",
        subagents=[inner],
    )
    main = fix_a_failing_test()
    return dataclasses.replace(main, subagents=[sub])


def test_extraction_walks_each_thread_once_in_order(corpus_home: Path) -> None:
    built = [fix_a_failing_test(), with_subagents(), session()]
    for s in [*built, *corpus_sessions(corpus_home).values()]:
        walks: list[OnePass] = []
        assert extract_offline(one_pass(s, walks)) == extract_offline(s), s.session_id
        assert all(turns.walked for turns in walks)


# ---------------------------------------------------------------- the real corpus


def corpus_sessions(projects: Path) -> dict[str, Session]:
    from engram_ci.transcripts import claude

    found = {}
    for group in claude.discover([projects]):
        parsed = claude.read_session(group)
        if parsed is not None:
            found[parsed.session_id] = parsed
    return found


def test_every_corpus_session_extracts_cleanly(corpus_home: Path) -> None:
    from engram_ci.knowledge.blocks import sanitize_body

    sessions = corpus_sessions(corpus_home)
    assert len(sessions) >= 30
    with_entries = 0
    for s in sessions.values():
        result = extract_offline(s)
        assert result == extract_offline(s), s.session_id  # deterministic
        assert set(result.entries) <= set(KNOWLEDGE_CATEGORIES)
        assert result.confidence in ("low", "medium")
        for body in result.entries.values():
            assert body and sanitize_body(body) == body
            for line in body.splitlines():
                assert line.startswith("- ") and len(line) <= 400, line
        assert result.summary.startswith("# ") and result.summary.endswith("\n")
        with_entries += bool(result.entries)
    assert with_entries >= len(sessions) * 0.8


def test_corpus_errors_fixes_and_choices_are_found(corpus_home: Path) -> None:
    sessions = corpus_sessions(corpus_home)

    packaging = extract_offline(sessions["cb2e607c-c758-415a-8b45-c49e4631906a"]).entries
    assert (
        "- `uv tool install .` failed: ValueError: Unable to determine which files to ship"
        " — fixed later in the session"
    ) in packaging["bugs"].splitlines()
    assert (
        "- Fix: `uv tool install .` failed: ValueError: Unable to determine which files to ship"
        " → passed after editing `pyproject.toml`" in packaging["solutions"]
    )
    assert (
        "- Correction: Let's keep the name of the py file but change the pyproject script to"
        " reference it, otherwise gtg (stopped the plan)" in packaging["patterns"].splitlines()
    )

    recorder = extract_offline(sessions["7acd37a8-2745-4b58-a8a9-46164b22ad9e"]).entries
    assert "- Correction: use pnpm (stopped `npm install`)" in recorder["patterns"].splitlines()
    assert "- Build: `pnpm install`" in recorder["procedures"].splitlines()
    assert "- File: `CLAUDE.md` (edited 8×" in recorder["patterns"]

    typing = extract_offline(sessions["326189cf-5676-4237-8cde-1ce80aae4a9f"]).entries
    assert typing["bugs"].startswith("- `uv run ty check` failed: error[call-non-callable]")
    # the human ran it once ("! uv run ty check"), the agent three times
    assert (
        "- Lint: `uv run ty check` (run 4×, run by the user, last run passed)"
        in typing["procedures"]
    )


def test_codex_sessions_give_the_same_kinds_of_knowledge() -> None:
    from engram_ci.transcripts import codex

    samples = Path(__file__).parent / "codex_samples"
    if not samples.is_dir():
        pytest.skip("no Codex samples beside the tests")
    sessions = [s for g in codex.discover([samples]) if (s := codex.read_session(g))]
    weather = next(s for s in sessions if (s.cwd or "").endswith("weather-api"))
    entries = extract_offline(weather).entries
    assert entries["bugs"].startswith(
        "- `python -m pytest tests/test_cache.py -q` failed: FAILED tests/test_cache.py::"
        "test_expired_entry_is_dropped"
    )
    assert entries["solutions"].startswith(
        "- Fix: `python -m pytest tests/test_cache.py -q` failed: FAILED tests/test_cache.py::"
    )
    assert entries["solutions"].endswith("→ `make test` passed after editing `src/cache.py`")
    assert "- File: `tests/test_ttl_zero.py` (edited 1×)" in entries["patterns"].splitlines()
