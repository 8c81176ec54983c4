"""Knowledge reads what a call does from ToolCall.kind, so any agent's tools work unchanged."""

from __future__ import annotations

from engram_ci.knowledge.signals import command_of, facts_of, is_edit, paths_of, rejection_reason
from engram_ci.transcripts.claude_turns import TOOL_KINDS as CLAUDE_KINDS
from engram_ci.transcripts.codex_items import TOOL_KINDS as CODEX_KINDS
from engram_ci.transcripts.model import TOOL_KINDS, ToolCall, ToolKind


def test_every_reader_table_maps_to_the_common_kinds() -> None:
    assert set(CLAUDE_KINDS.values()) | set(CODEX_KINDS.values()) <= set(TOOL_KINDS)
    assert (CLAUDE_KINDS["Bash"], CLAUDE_KINDS["MultiEdit"], CLAUDE_KINDS["Grep"]) == (
        "shell",
        "edit",
        "search",
    )
    assert (CODEX_KINDS["exec_command"], CODEX_KINDS["apply_patch"]) == ("shell", "edit")


def test_an_unknown_agents_shell_call_is_read_by_its_kind() -> None:
    call = ToolCall("1", "run_shell_command", {"command": "pytest -q"}, kind="shell")
    assert command_of(call) == "pytest -q"
    # Codex's unified exec names its command `cmd`
    assert command_of(ToolCall("2", "exec_command", {"cmd": "make test"}, kind="shell")) == (
        "make test"
    )
    # a short refusal of a shell call reads as the human's words, whatever the tool's name
    refused = ToolCall("3", "run_shell_command", {"command": "rm -rf x"}, "no, keep it", True)
    refused.kind = "shell"
    assert rejection_reason(refused) == "no, keep it"


def test_file_paths_come_from_any_file_tool_but_never_from_a_search() -> None:
    write = ToolCall("1", "write_file", {"file_path": "/p/a.py"}, kind="write")
    edit = ToolCall("2", "replace", {"path": "/p/b.py"}, kind="edit")
    search = ToolCall("3", "search_files", {"path": "/p/src"}, kind="search")
    patch = ToolCall("4", "edit_files", {"input": "*** Update File: c.py\n"}, kind="edit")
    assert [paths_of(c, "/p") for c in (write, edit, search, patch)] == [
        ["a.py"],
        ["b.py"],
        [],
        ["c.py"],
    ]
    assert is_edit(write) and facts_of(edit, "/p").tool == "edit"
    # calls built without a kind still work from Claude Code's and Codex's names
    assert facts_of(ToolCall("5", "Edit", {"file_path": "/p/d.py"}), "/p").tool == "edit"


def test_the_extractor_reads_another_agents_tools_exactly_as_claude_codes() -> None:
    """The same session with Gemini-style tool names and kinds yields the same knowledge."""
    from engram_ci.knowledge.extract import extract_offline
    from tests.test_extract import fix_a_failing_test

    renamed: dict[str, tuple[str, ToolKind]] = {
        "Read": ("read_file", "read"),
        "Edit": ("replace", "edit"),
    }
    renamed["Bash"] = ("run_shell_command", "shell")
    original, other = fix_a_failing_test(), fix_a_failing_test()
    for turn in other.turns:
        for call in turn.tool_calls:
            call.name, call.kind = renamed[call.name]
    assert extract_offline(other).entries == extract_offline(original).entries
