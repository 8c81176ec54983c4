"""Sync records: one per remote, credentials cut out, newest first."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from engram_ci.memory.paths import MemoryLayout
from engram_ci.memory.syncstate import SyncRecord, last_syncs, record_sync


def test_one_record_per_remote_newest_first(memory: MemoryLayout) -> None:
    record_sync(
        memory, "app", "gist", "https://gist.example/abc", now=datetime(2025, 1, 1, tzinfo=UTC)
    )
    record_sync(memory, "app", "repo", "/srv/kr", now=datetime(2025, 1, 3, tzinfo=UTC))
    record_sync(
        memory, "app", "gist", "https://gist.example/abc", now=datetime(2025, 1, 5, tzinfo=UTC)
    )
    assert last_syncs(memory, "app") == [
        SyncRecord("gist", "https://gist.example/abc", "2025-01-05T00:00:00Z"),
        SyncRecord("repo", "/srv/kr", "2025-01-03T00:00:00Z"),
    ]
    assert last_syncs(memory, "other") == []


def test_credentials_never_reach_the_record(memory: MemoryLayout) -> None:
    record_sync(memory, "app", "repo", "https://x-access-token:ghs_secret@git.example/o/r.git")
    (record,) = last_syncs(memory, "app")
    assert record.target == "https://git.example/o/r.git"
    stored = "".join(p.read_text() for p in (memory.state_dir / "syncs").rglob("*.json"))
    assert "ghs_secret" not in stored


def test_an_unreadable_record_is_skipped(memory: MemoryLayout) -> None:
    record_sync(memory, "app", "repo", "/srv/kr")
    (memory.state_dir / "syncs" / "app" / "junk.json").write_text("{not json")
    assert [r.target for r in last_syncs(memory, "app")] == ["/srv/kr"]


def test_a_record_that_cannot_be_written_is_a_warning_not_a_failed_sync(
    memory: MemoryLayout, caplog: pytest.LogCaptureFixture
) -> None:
    memory.state_dir.mkdir(parents=True)
    (memory.state_dir / "syncs").write_text("a file where the folder should be")
    with caplog.at_level(logging.WARNING, logger="engram_ci"):
        record_sync(memory, "app", "repo", "/srv/kr")  # the sync itself succeeded: no raise
    assert "could not record the sync time" in caplog.text
    assert last_syncs(memory, "app") == []
