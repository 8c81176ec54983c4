"""engram_ci/ingest/project_knowledge.py: a project's blocks queued per session, then one write
that replaces only our own blocks and keeps everyone else's."""

from __future__ import annotations

from pathlib import Path

from engram_ci.ingest import IngestOptions
from engram_ci.ingest.per_session import Outcome
from engram_ci.ingest.project_knowledge import PendingKnowledge, write_project_knowledge
from engram_ci.knowledge import blocks as knowledge
from engram_ci.memory.fsutil import StagedWrites
from engram_ci.memory.manifest import Entry
from engram_ci.memory.paths import MemoryLayout

PRINT = (("t.jsonl", 1, 1),)
ENGRAMS = "## Session: by-engram (2026-01-01)\n\nwritten by engram itself\n"


def _outcome(session_id: str, **entries: str) -> Outcome:
    return Outcome(
        "ingested", project="api", session_id=session_id, stamp="2026-02-02", entries=entries
    )


def _write(memory: MemoryLayout, pending: PendingKnowledge, **kw: object) -> tuple[int, int]:
    staged = StagedWrites(lambda paths: None)
    options = IngestOptions(memory_dir=memory.root, **kw)  # type: ignore[arg-type]
    try:
        counts = write_project_knowledge(memory, "api", pending, staged, options)
        staged.commit(also_sync=[])
    finally:
        staged.discard()
    return counts


def _sessions(memory: MemoryLayout, category: str) -> list[str]:
    text = (memory.knowledge_dir("api") / f"{category}.md").read_text()
    return [block.session_id for block in knowledge.parse(text).blocks]


def test_queue_keeps_non_empty_categories_and_marks_what_went_stale() -> None:
    pending = PendingKnowledge()
    previous = Entry(PRINT, "ingested", "s1", "api", ("bugs", "decisions"))
    written = pending.queue(_outcome("s1", decisions="use X", bugs="  "), previous)
    assert written == ("decisions",)
    assert [b.session_id for b in pending.blocks["decisions"]] == ["s1"]
    assert "bugs" not in pending.blocks
    assert pending.stale == {"bugs": {"s1"}}
    assert pending.offline == {"s1"}  # its source is the offline extractor
    assert pending.legacy == {}  # the earlier blocks were tagged: recognised as ours anyway


def test_an_untagged_earlier_reading_is_ours_to_replace() -> None:
    pending = PendingKnowledge()
    previous = Entry(PRINT, "ingested", "s1", "api", ("decisions",), tagged=False)
    pending.queue(_outcome("s1", decisions="use X"), previous)
    assert pending.legacy == {"decisions": {"s1"}}


def test_the_write_upserts_ours_and_keeps_engrams(memory: MemoryLayout) -> None:
    folder = memory.knowledge_dir("api")
    folder.mkdir(parents=True)
    (folder / "decisions.md").write_text("# Decisions\n\n" + ENGRAMS)
    pending = PendingKnowledge()
    pending.queue(_outcome("s1", decisions="use X", bugs="a bug"), None)
    assert _write(memory, pending) == (2, 3)  # decisions.md, bugs.md, context.md
    assert _sessions(memory, "decisions") == ["by-engram", "s1"]

    again = PendingKnowledge()
    previous = Entry(PRINT, "ingested", "s1", "api", ("bugs", "decisions"))
    again.queue(_outcome("s1", decisions="use Y"), previous)
    _write(memory, again)
    assert _sessions(memory, "decisions") == ["by-engram", "s1"]
    assert "use Y" in (folder / "decisions.md").read_text()
    assert _sessions(memory, "bugs") == []  # its block no longer applies


def test_nothing_queued_writes_nothing_unless_forced(memory: MemoryLayout) -> None:
    assert _write(memory, PendingKnowledge()) == (0, 0)
    assert _write(memory, PendingKnowledge(), force=True) == (0, 1)  # context.md again
    assert Path(memory.knowledge_dir("api") / "context.md").exists()
