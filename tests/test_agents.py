"""The chat-store agents' readers (Cursor, Cline/Roo, Copilot CLI, Gemini CLI, OpenCode, Amp)
on stores of our own (tests/agent_stores.py): each finds its store where the agent keeps it,
maps its tools to the common kinds, tells the human's words from injected text, and ingests
through the one pipeline with meta.json saying which agent wrote the session."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from engram_ci.ingest import IngestOptions, run_ingest
from engram_ci.transcripts.chat_store import tool_kind
from engram_ci.transcripts.model import Session
from engram_ci.transcripts.registry import get_reader, reader_names

from .agent_stores import CWD, DONE, PROJECT, PROMPT, STORES, opencode_db, the_session

CASES: dict[str, tuple[str, Callable[[Path], Path]]] = {
    **{name: (name, writer) for name, writer in STORES.items()},
    "opencode-sqlite": ("opencode", opencode_db),
}


def read_one(agent: str, home: Path) -> Session:
    session = the_session(agent, home)
    assert session is not None
    return session


def test_every_agent_is_registered() -> None:
    assert set(STORES) <= set(reader_names())


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_store_is_found_where_the_agent_keeps_it(case: str, tmp_path: Path) -> None:
    agent, write = CASES[case]
    root = write(tmp_path)
    reader = get_reader(agent)
    roots = reader.default_roots({}, tmp_path)
    assert any(root == r or r in root.parents or root in r.parents for r in roots), roots
    assert len(reader.discover(roots)) == 1


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_session_reads_as_the_same_story(case: str, tmp_path: Path) -> None:
    agent, write = CASES[case]
    write(tmp_path)
    session = read_one(agent, tmp_path)
    assert session.source == agent
    assert session.project == PROJECT
    # Cursor's transcripts state no cwd: the project comes from its (lossy) folder name
    assert session.cwd == (None if agent == "cursor" else CWD)
    assert session.prompts == [PROMPT]  # injected context and tool output are not prompts
    replies = [t.text for t in session.turns if t.role == "assistant" and t.text]
    assert replies[-1] == DONE
    calls = session.tool_calls
    kinds = [c.kind for c in calls]
    assert kinds == ["shell", "edit", "shell"], [(c.name, c.kind) for c in calls]
    first, _, last = calls
    assert first.is_error and "FAILED" in (first.result or "")
    assert not last.is_error and "12 passed" in (last.result or "")
    assert session.started_at


@pytest.mark.parametrize("case", sorted(CASES))
def test_ingest_names_the_agent(case: str, tmp_path: Path) -> None:
    agent, write = CASES[case]
    write(tmp_path / "home")
    roots = tuple(get_reader(agent).default_roots({}, tmp_path / "home"))
    memory = tmp_path / "memory"
    report = run_ingest(IngestOptions(memory_dir=memory, roots={agent: roots}, jobs=1))
    assert report.to_json()["sessions_ingested"] == 1
    (meta,) = (memory / "conversations" / PROJECT).glob("*/meta.json")
    assert json.loads(meta.read_text())["source"] == agent
    assert (memory / "knowledge" / PROJECT / "context.md").exists()


@pytest.mark.parametrize("agent", sorted(STORES))
def test_a_missing_store_is_silent(agent: str, tmp_path: Path) -> None:
    reader = get_reader(agent)
    assert reader.discover(reader.default_roots({}, tmp_path / "nobody")) == []


@pytest.mark.parametrize("agent", ["cline", "gemini", "amp"])
def test_a_broken_document_is_skipped_not_raised(agent: str, tmp_path: Path) -> None:
    STORES[agent](tmp_path)
    reader = get_reader(agent)
    (group,) = reader.discover(reader.default_roots({}, tmp_path))
    group.main.write_text('{"messages": [ {"broken": ')
    assert reader.read_session(group) is None


def test_malformed_lines_are_counted(tmp_path: Path) -> None:
    root = STORES["copilot"](tmp_path)
    (events,) = root.glob("*/events.jsonl")
    with events.open("a") as out:
        out.write("not json\n[1, 2]\n" + json.dumps({"type": "brand.new_event", "data": {}}) + "\n")
    session = read_one("copilot", tmp_path)
    assert session.stats.malformed["bad_json"] == 1
    assert session.stats.malformed["not_object"] == 1
    assert session.stats.unknown_types["brand.new_event"] == 1


def test_gemini_names_a_project_it_cannot_place_by_its_hash(tmp_path: Path) -> None:
    root = STORES["gemini"](tmp_path)
    (chat,) = root.glob("*/chats/*.json")
    document = json.loads(chat.read_text())
    for message in document["messages"]:
        for call in message.get("toolCalls", []):
            call["args"] = {"command": "pytest -q"}  # no path inside the project
    chat.write_text(json.dumps(document))
    session = read_one("gemini", tmp_path)
    assert session.cwd is None
    assert session.project == f"gemini-{document['projectHash'][:8]}"


def test_ingest_agent_selects_one_reader(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for write in STORES.values():
        write(home)
    roots = {a: tuple(get_reader(a).default_roots({}, home)) for a in STORES}
    memory = tmp_path / "memory"
    report = run_ingest(IngestOptions(memory_dir=memory, roots=roots, agents=("amp",), jobs=1))
    assert report.to_json()["sessions_ingested"] == 1


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("run_terminal_cmd", "shell"),
        ("execute_command", "shell"),
        ("run_shell_command", "shell"),
        ("Bash", "shell"),
        ("str_replace_editor", "edit"),
        ("replace_in_file", "edit"),
        ("apply_patch", "edit"),
        ("write_to_file", "write"),
        ("create_file", "write"),
        ("read_file", "read"),
        ("codebase_search", "search"),
        ("list_files", "search"),
        ("glob", "search"),
        ("web_fetch", "web"),
        ("google_web_search", "web"),
        ("new_task", "task"),
        ("ask_followup_question", "other"),
        ("todowrite", "other"),  # a plan, not a file
    ],
)
def test_vendor_tool_names_map_to_common_kinds(name: str, kind: str) -> None:
    assert tool_kind(name) == kind
