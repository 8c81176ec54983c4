"""`memory_status`: per project sessions, blocks, sizes, expired blocks and syncs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from engram_ci import export
from engram_ci.memory import notes
from engram_ci.memory.paths import MemoryLayout
from engram_ci.memory.status import memory_status
from engram_ci.sync import reposync
from tests.repo_helpers import show


def test_an_empty_memory(memory: MemoryLayout) -> None:
    assert memory_status(memory).to_json() == {
        "memory_dir": str(memory.root),
        "projects": [],
        "expired_blocks": 0,
    }


def test_counts_sizes_and_syncs(memory: MemoryLayout, tmp_path: Path) -> None:
    notes.add_note(memory.root, "app", "keep me", now=datetime(2025, 1, 1, tzinfo=UTC))
    notes.add_note(
        memory.root, "app", "short-lived", ttl="1h", now=datetime(2025, 1, 1, tzinfo=UTC)
    )
    gone = notes.add_note(memory.root, "app", "forget me", now=datetime(2025, 1, 2, tzinfo=UTC))
    notes.forget(memory.root, "app", session_id=gone.session_id)
    conversation = memory.conversation_dir("app", "s1")
    conversation.mkdir(parents=True)
    (conversation / "conversation.md").write_text("x" * 100)
    kr = tmp_path / "kr"
    reposync.init_repo(kr)
    reposync.push_repo(memory.root, "app", kr)
    # an expired block stays on disk but is not pushed; a tombstone is
    pushed = show(kr, "HEAD", "app/insights.md")
    assert "short-lived" not in pushed and "keep me" in pushed and gone.session_id in pushed
    assert "short-lived" in (memory.knowledge_dir("app") / "insights.md").read_text()
    state = memory.state_dir / "gists"
    state.mkdir(parents=True)
    (state / "app.json").write_text(json.dumps({"gist_id": "g1", "url": "https://gist/g1"}))

    status = memory_status(memory, now=datetime(2025, 6, 1, tzinfo=UTC)).to_json()
    (app,) = cast("list[dict[str, Any]]", status["projects"])
    assert (app["sessions"], app["knowledge_blocks"], app["forgotten_blocks"]) == (1, 2, 1)
    assert app["expired_blocks"] == 1 == status["expired_blocks"]
    sizes = app["bytes"]
    assert sizes["conversations"] == 100 and sizes["knowledge"] > 0
    assert sizes["total"] == sizes["conversations"] + sizes["knowledge"] + sizes["summaries"]
    assert app["last_activity"] == "2025-01-01T00:00:00Z"
    kinds = {s["kind"]: s["target"] for s in app["syncs"]}
    assert kinds == {"repo": f"branch main of {kr.resolve()}", "gist": "https://gist/g1"}


def test_status_and_projects_agree_on_sessions_and_last_activity(memory: MemoryLayout) -> None:
    notes.add_note(memory.root, "app", "a note", now=datetime(2025, 1, 1, tzinfo=UTC))
    ended = {"session_id": "s1", "started_at": "2025-03-01T10:00:00Z"}
    ended["ended_at"] = "2025-03-01T12:30:00Z"  # later than any block's stamp (its start)
    for session, meta in [("s1", json.dumps(ended)), ("s2", "{damaged"), ("s3", None)]:
        folder = memory.conversation_dir("app", session)
        folder.mkdir(parents=True)
        if meta is not None:
            (folder / "meta.json").write_text(meta)
    (app,) = memory_status(memory).projects
    (row,) = export.summarize_projects(memory)
    assert (app.sessions, app.last_activity) == (3, "2025-03-01T12:30:00Z")
    assert (row.sessions, row.last_activity) == (app.sessions, app.last_activity)
