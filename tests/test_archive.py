"""archive.py: conversation.md reads like the session; meta.json holds the numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engram_ci.memory import archive
from engram_ci.memory.paths import MemoryLayout
from engram_ci.transcripts.model import ParseStats, Session, ToolCall, Turn, Usage


def _session() -> Session:
    failing = ToolCall("t1", "Bash", {"command": "pytest -q"}, "E   NameError: x", True)
    passing = ToolCall("t2", "Bash", {"command": "pytest -q"}, "6 passed", False)
    fenced = ToolCall("t3", "Read", {"file_path": "README.md"}, "```py\nprint(1)\n```", False)
    agent = Session(
        session_id="s1",
        source="claude-code",
        project="demo",
        transcripts=[Path("/t/s1/subagents/agent-a1.jsonl")],
        agent_id="a1",
        title="Find callers",
        turns=[
            Turn("user", "Find callers of f"),
            Turn("assistant", "Found 2", tool_calls=[ToolCall("t4", "Grep", {"pattern": "f("})]),
        ],
    )
    return Session(
        session_id="s1",
        source="claude-code",
        project="demo",
        transcripts=[Path("/t/s1.jsonl")],
        cwd="/home/dev/demo",
        git_branch="main",
        version="2.1.20",
        started_at="2025-11-03T09:12:04Z",
        ended_at="2025-11-03T09:40:00Z",
        models=["claude-sonnet-4-5"],
        usage=Usage(10, 20, 30, 40),
        turns=[
            Turn("user", "<command-name>/init</command-name>", is_meta=True),
            Turn("user", "Add caching to /forecast", timestamp="2025-11-03T09:12:04Z"),
            Turn(
                "assistant",
                "Running the tests.",
                model="claude-sonnet-4-5",
                thinking="single worker, so in-process",
                tool_calls=[failing, passing, fenced],
                images=1,
            ),
        ],
        subagents=[agent],
        stats=ParseStats(lines=12),
    )


def test_conversation_shows_prompts_replies_tool_calls_errors_and_subagents() -> None:
    text = archive.render_conversation(_session())
    assert "## User · 2025-11-03T09:12:04Z\n\nAdd caching to /forecast" in text
    assert "## User (injected context)" in text
    assert "## Assistant · claude-sonnet-4-5" in text
    assert "**Tool call `Bash`** — **error**: `pytest -q`" in text
    assert "Error:\n\n```\nE   NameError: x\n```" in text
    assert "Result:\n\n```\n6 passed\n```" in text
    assert "<summary>Thinking</summary>" in text
    assert "_[1 image(s)]_" in text
    assert "## Subagent a1 · Find callers" in text
    assert "### User\n\nFind callers of f" in text
    assert "**Tool calls:** 3 (1 errors)" in text


def test_result_with_backticks_cannot_break_out_of_its_fence() -> None:
    text = archive.render_conversation(_session())
    assert "````\n```py\nprint(1)\n```\n````" in text


def test_meta_counts_own_and_subagent_calls() -> None:
    meta = archive.session_meta(_session())
    assert meta["turns"] == {"total": 3, "user": 2, "assistant": 1, "prompts": 1}
    assert meta["tool_calls"] == 3
    assert meta["tool_errors"] == 1
    assert meta["tool_calls_with_subagents"] == 4
    assert meta["tokens"]["total"] == 100
    assert meta["subagents"][0]["agent_id"] == "a1"
    assert meta["subagents"][0]["tool_calls"] == 1
    assert meta["cwd"] == "/home/dev/demo" and meta["git_branch"] == "main"
    assert meta["transcripts"] == ["/t/s1.jsonl"]
    assert meta["ingested_by"].startswith("engram-ci ")
    json.dumps(meta)  # serialisable


def test_write_session_writes_engram_layout_and_skips_identical_bytes(tmp_path: Path) -> None:
    layout = MemoryLayout(tmp_path / "memory")
    written = archive.write_session(layout, _session(), summary="# Summary\n\nCaching added.")
    conv = layout.conversation_dir("demo", "s1")
    assert set(written) == {
        conv / "conversation.md",
        conv / "meta.json",
        layout.summary_file("demo", "s1"),
    }
    assert json.loads((conv / "meta.json").read_text())["session_id"] == "s1"
    assert layout.summary_file("demo", "s1").read_text() == "# Summary\n\nCaching added.\n"
    mtimes = [p.stat().st_mtime_ns for p in written]
    assert archive.write_session(layout, _session(), summary="# Summary\n\nCaching added.") == []
    assert [p.stat().st_mtime_ns for p in written] == mtimes


def test_no_summary_means_no_summary_file(tmp_path: Path) -> None:
    layout = MemoryLayout(tmp_path / "memory")
    archive.write_session(layout, _session(), summary=None)
    assert not layout.summary_file("demo", "s1").exists()


def test_a_tool_input_with_a_huge_integer_is_still_archived() -> None:
    # JSON allows integers of any size (a transcript may hold one); orjson refuses past 64 bits
    call = ToolCall("t9", "Bash", {"command": "factor", "n": 2**70, "name": "ünïcode"}, "ok")
    session = _session()
    session.turns[-1].tool_calls.append(call)
    text = archive.render_conversation(session)
    expected = json.dumps(call.input, indent=2, ensure_ascii=False, sort_keys=True)
    assert expected in text
    assert str(2**70) in text


def test_the_archive_of_a_project_is_its_folders_and_their_readable_metas(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    layout = MemoryLayout(tmp_path)
    assert archive.read_archive(layout, "app") == archive.Archived(0, [])  # none yet
    base = tmp_path / "conversations" / "app"
    for session, started in (("s2", "2025-02-01"), ("s1", "2025-01-01")):
        (base / session).mkdir(parents=True)
        meta = {"session_id": session, "started_at": started}
        (base / session / archive.META_FILE).write_text(json.dumps(meta))
    (base / "damaged").mkdir()
    (base / "damaged" / archive.META_FILE).write_text("{not json")
    (base / "older-tool").mkdir()  # no meta.json at all: still a session
    (base / "notes.txt").write_text("a file, not a session")
    found = archive.read_archive(layout, "app")
    assert found.sessions == 4
    assert [m["session_id"] for m in found.metas] == ["s1", "s2"]  # oldest first
    assert "damaged" in caplog.text and "older-tool" not in caplog.text
    assert archive.archived_metas(layout, "app") == found.metas
