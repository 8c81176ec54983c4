"""export.py: projects summary, recall and the three export formats, read-only."""

from __future__ import annotations

import json
import logging

import pytest

from engram_ci import export
from engram_ci.errors import FatalError
from engram_ci.memory.archive import archived_metas
from engram_ci.memory.fsutil import atomic_write_text
from engram_ci.memory.paths import MemoryLayout

DECISIONS = """# Decisions

## Session: s1 (2025-11-03T09:12:04Z) [confidence:high]

- Use an in-process TTL cache instead of Redis <script>alert(1)</script>

## Session: s0 (2025-10-01T08:00:00Z) [deleted:2025-10-02]
"""
BUGS = """# Bugs

## Session: s2 (2025-11-05T14:40:18Z) [confidence:medium]

- DST: one fixed UTC offset applied to every hour
"""


@pytest.fixture
def filled(memory: MemoryLayout) -> MemoryLayout:
    kdir = memory.knowledge_dir("weather-api")
    atomic_write_text(kdir / "decisions.md", DECISIONS)
    atomic_write_text(kdir / "bugs.md", BUGS)
    for sid, start, end in (
        ("s1", "2025-11-03T09:12:04Z", "2025-11-03T09:40:00Z"),
        ("s2", "2025-11-05T14:40:18Z", "2025-11-05T15:02:00Z"),
    ):
        meta = {
            "session_id": sid,
            "started_at": start,
            "ended_at": end,
            "tool_calls": 3,
            "title": f"title {sid}",
        }
        atomic_write_text(
            memory.conversation_dir("weather-api", sid) / "meta.json", json.dumps(meta)
        )
    atomic_write_text(
        memory.conversation_dir("only-archive", "s9") / "meta.json",
        json.dumps({"session_id": "s9", "started_at": "2025-01-01T00:00:00Z"}),
    )
    return memory


def test_summarize_projects_counts_sessions_live_blocks_and_last_activity(
    filled: MemoryLayout,
) -> None:
    rows = {s.name: s for s in export.summarize_projects(filled)}
    assert rows["weather-api"].sessions == 2
    assert rows["weather-api"].blocks == 2  # the tombstone is not a block of knowledge
    assert rows["weather-api"].last_activity == "2025-11-05T15:02:00Z"
    assert rows["only-archive"].to_json() == {
        "project": "only-archive",
        "sessions": 1,
        "knowledge_blocks": 0,
        "last_activity": "2025-01-01T00:00:00Z",
        "agents": {"unknown": 1},  # an archive written before meta.json said its agent
    }


def test_recall_prefers_context_md_else_synthesizes(filled: MemoryLayout) -> None:
    synthesized = export.recall(filled, "weather-api")
    assert synthesized.startswith("# Project context: weather-api")
    assert "in-process TTL cache" in synthesized and "DST" in synthesized
    atomic_write_text(filled.knowledge_dir("weather-api") / "context.md", "# hand written\n")
    assert export.recall(filled, "weather-api") == "# hand written\n"


def test_unknown_or_hostile_project_is_a_fatal_error_naming_engram_projects(
    filled: MemoryLayout,
) -> None:
    with pytest.raises(FatalError, match="engram projects"):
        export.recall(filled, "nope")
    with pytest.raises(FatalError):
        export.collect(filled, "../etc")


def test_json_export_shape(filled: MemoryLayout) -> None:
    data = json.loads(export.render(export.collect(filled, "weather-api"), "json"))
    assert data["project"] == "weather-api"
    assert list(data["knowledge"]) == ["decisions", "bugs"]
    assert data["knowledge"]["decisions"] == [
        {
            "session": "s1",
            "timestamp": "2025-11-03T09:12:04Z",
            "tags": {"confidence": "high"},
            "body": "- Use an in-process TTL cache instead of Redis <script>alert(1)</script>",
        }
    ]
    assert [m["session_id"] for m in data["sessions"]] == ["s1", "s2"]
    assert data["context"].startswith("# Project context")


def test_markdown_export(filled: MemoryLayout) -> None:
    text = export.render(export.collect(filled, "weather-api"), "markdown")
    assert text.startswith("# Memory export: weather-api")
    assert "### s2 (2025-11-05T14:40:18Z) [confidence:medium]" in text
    assert "- `s1` 2025-11-03T09:12:04Z — 3 tool calls — title s1" in text


def test_html_export_is_self_contained_and_escaped(filled: MemoryLayout) -> None:
    page = export.render(export.collect(filled, "weather-api"), "html")
    assert page.startswith("<!DOCTYPE html>")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "src=" not in page and "href=" not in page  # nothing fetched from elsewhere


def test_unknown_format(filled: MemoryLayout) -> None:
    with pytest.raises(FatalError, match="json, markdown, html"):
        export.render(export.collect(filled, "weather-api"), "pdf")


def test_meta_json_written_by_upstream_engram_is_read_with_its_keys(
    filled: MemoryLayout,
) -> None:
    # engram's renderer writes start_time / end_time / model / tool_usage / turn_count
    upstream = {
        "session_id": "u1",
        "project": "weather-api",
        "model": "claude-x",
        "start_time": "2025-12-01T10:00:00Z",
        "end_time": "2025-12-01T11:00:00Z",
        "total_input_tokens": 10,
        "total_output_tokens": 5,
        "turn_count": 4,
        "tool_usage": {"Bash": 2, "Read": 1},
    }
    atomic_write_text(
        filled.conversation_dir("weather-api", "u1") / "meta.json", json.dumps(upstream)
    )
    metas = archived_metas(filled, "weather-api")
    assert [m["session_id"] for m in metas] == ["s1", "s2", "u1"]  # ordered by start
    mapped = metas[-1]
    assert mapped["started_at"] == "2025-12-01T10:00:00Z" and mapped["tool_calls"] == 3
    assert mapped["models"] == ["claude-x"] and mapped["tokens"]["total"] == 15
    rows = {s.name: s for s in export.summarize_projects(filled)}
    assert rows["weather-api"].last_activity == "2025-12-01T11:00:00Z"


def test_a_damaged_session_record_is_skipped_with_a_warning(
    filled: MemoryLayout, caplog: pytest.LogCaptureFixture
) -> None:
    atomic_write_text(filled.conversation_dir("weather-api", "s3") / "meta.json", "{half a reco")
    atomic_write_text(filled.conversation_dir("weather-api", "s4") / "meta.json", '["s4"]')
    with caplog.at_level(logging.WARNING, logger="engram_ci"):
        metas = archived_metas(filled, "weather-api")
    assert [m["session_id"] for m in metas] == ["s1", "s2"]
    assert "skipping" in caplog.text and "s3" in caplog.text
    assert archived_metas(filled, "no-archive-yet") == []
