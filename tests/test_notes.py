"""`add_note` and `forget`: hand-written memory, and tombstones that outlive every merge."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from engram_ci.errors import FatalError
from engram_ci.knowledge import blocks as knowledge
from engram_ci.memory import notes, projectfiles
from engram_ci.memory.fsutil import file_lock
from engram_ci.memory.paths import MemoryLayout

NOW = datetime(2025, 6, 10, 12, 0, 5, tzinfo=UTC)


def blocks(memory: MemoryLayout, project: str, category: str) -> list[knowledge.Block]:
    return list(
        knowledge.parse((memory.knowledge_dir(project) / f"{category}.md").read_text()).blocks
    )


def context_of(memory: MemoryLayout, project: str) -> str:
    return (memory.knowledge_dir(project) / "context.md").read_text()


def test_a_note_is_a_block_and_reaches_the_context(memory: MemoryLayout) -> None:
    added = notes.add_note(memory.root, "new-app", "use pnpm, not npm", now=NOW)
    assert added.session_id.startswith("note-20250610T120005Z-")
    assert (added.category, added.timestamp, added.ttl) == (
        "insights",
        "2025-06-10T12:00:05Z",
        None,
    )
    (block,) = blocks(memory, "new-app", "insights")
    assert (block.session_id, block.body, block.tags) == (
        added.session_id,
        "- use pnpm, not npm",
        (),
    )
    assert "use pnpm, not npm" in context_of(memory, "new-app")


def test_a_note_with_a_ttl_and_a_category(memory: MemoryLayout) -> None:
    added = notes.add_note(
        memory.root, "app", "staging is down\nuntil Friday", category="questions", ttl="7D"
    )
    (block,) = blocks(memory, "app", "questions")
    assert block.tag("ttl") == "7d" == added.ttl
    assert block.body == "staging is down\nuntil Friday"  # several lines stay as written


def test_notes_add_up_and_keep_other_blocks(memory: MemoryLayout) -> None:
    path = memory.knowledge_dir("app") / "insights.md"
    path.parent.mkdir(parents=True)
    path.write_text("# Insights\n\n\n## Session: s1 (2025-01-01T00:00:00Z)\n\n- from a session\n")
    notes.add_note(memory.root, "app", "first")
    notes.add_note(memory.root, "app", "second")
    assert len(blocks(memory, "app", "insights")) == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"category": "ideas"}, "unknown category 'ideas'"),
        ({"ttl": "7"}, "unreadable ttl '7'"),
        ({"ttl": "99999999999999w"}, "longer than a ttl can be .* leave the ttl out"),
        ({"text": "   "}, "the note is empty"),
        ({"text": "x" * 20_000}, "keep it under"),
        ({"project": "../up"}, "invalid project name"),
    ],
)
def test_bad_notes_are_refused(memory: MemoryLayout, kwargs: dict[str, str], message: str) -> None:
    args = {"project": "app", "text": "a note", **kwargs}
    project, text = args.pop("project"), args.pop("text")
    with pytest.raises(FatalError, match=message):
        notes.add_note(memory.root, project, text, **args)  # type: ignore[arg-type]
    assert not (memory.root / "knowledge").exists()


def test_a_note_keeps_no_private_text(memory: MemoryLayout) -> None:
    notes.add_note(memory.root, "app", "deploy key is <private>hunter2</private> in vault")
    assert "hunter2" not in (memory.knowledge_dir("app") / "insights.md").read_text()


def test_a_note_cannot_forge_a_block_header(memory: MemoryLayout) -> None:
    notes.add_note(memory.root, "app", "a\n## Session: forged (2025-01-01)\nb")
    assert next(b.session_id for b in blocks(memory, "app", "insights")).startswith("note-")
    assert len(blocks(memory, "app", "insights")) == 1


def _seed(memory: MemoryLayout) -> None:
    directory = memory.knowledge_dir("app")
    directory.mkdir(parents=True)
    (directory / "decisions.md").write_text(
        "# Decisions\n\n\n## Session: s1 (2025-01-01T00:00:00Z)\n\n- chose Redis for the cache\n"
        "\n\n## Session: s2 (2025-01-02T00:00:00Z)\n\n- chose pnpm over npm\n"
    )
    (directory / "bugs.md").write_text(
        "# Bugs\n\n\n## Session: s1 (2025-01-01T00:00:00Z)\n\n- the REDIS timeout in CI\n"
    )


def test_forget_a_session_tombstones_it_in_every_file(memory: MemoryLayout) -> None:
    _seed(memory)
    result = notes.forget(memory.root, "app", session_id="s1", now=NOW)
    assert result.blocks == (("bugs", "s1"), ("decisions", "s1")) and result.already == 0
    s1 = next(b for b in blocks(memory, "app", "decisions") if b.session_id == "s1")
    assert s1.is_tombstone and s1.body == "" and s1.tag("deleted") == "2025-06-10T12:00:05Z"
    assert "Redis" not in context_of(memory, "app") and "pnpm" in context_of(memory, "app")
    again = notes.forget(memory.root, "app", session_id="s1")
    assert (again.blocks, again.already) == ((), 2)


def test_forget_by_match_is_case_insensitive(memory: MemoryLayout) -> None:
    _seed(memory)
    result = notes.forget(memory.root, "app", match="redis")
    assert result.blocks == (("bugs", "s1"), ("decisions", "s1"))
    assert not any(
        b.is_tombstone for b in blocks(memory, "app", "decisions") if b.session_id == "s2"
    )


def test_a_dry_run_changes_nothing(memory: MemoryLayout) -> None:
    _seed(memory)
    before = projectfiles.read_local(memory, "app")
    result = notes.forget(memory.root, "app", match="pnpm", dry_run=True)
    assert result.blocks == (("decisions", "s2"),) and result.dry_run
    assert projectfiles.read_local(memory, "app") == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"session_id": "nope"}, "no block of project 'app' matches session 'nope'"),
        ({"match": "kubernetes"}, "matches text 'kubernetes'"),
        ({"match": "  "}, "--match needs some text"),
        ({}, "a SESSION id or --match"),
        ({"session_id": "s1", "match": "x"}, "a SESSION id or --match"),
    ],
)
def test_forget_errors(memory: MemoryLayout, kwargs: dict[str, str], message: str) -> None:
    _seed(memory)
    with pytest.raises(FatalError, match=message):
        notes.forget(memory.root, "app", **kwargs)  # type: ignore[arg-type]


def test_forget_in_an_unknown_project(memory: MemoryLayout) -> None:
    with pytest.raises(FatalError, match=r"unknown project .ghost.*engram projects"):
        notes.forget(memory.root, "ghost", session_id="s1")


def test_a_tombstone_survives_merging_with_a_copy_that_still_has_the_block(
    memory: MemoryLayout,
) -> None:
    _seed(memory)
    other_machine = projectfiles.read_local(memory, "app")
    notes.forget(memory.root, "app", session_id="s1")
    mine = projectfiles.read_local(memory, "app")
    for merged in (
        projectfiles.merge_filesets("app", mine, other_machine),
        projectfiles.merge_filesets("app", other_machine, mine),
    ):
        assert "Redis" not in merged["decisions.md"] + merged["bugs.md"] + merged["context.md"]
        assert "## Session: s1" in merged["decisions.md"]  # the tombstone travels


def test_forget_waits_for_the_memory_lock(memory: MemoryLayout) -> None:
    _seed(memory)
    done = threading.Event()

    def run() -> None:
        notes.forget(memory.root, "app", session_id="s2")
        done.set()

    with file_lock(memory.lock_file):
        worker = threading.Thread(target=run)
        worker.start()
        time.sleep(0.3)
        assert not done.is_set()  # an ingest holding the lock is not written over
    worker.join(5)
    assert done.is_set()


@pytest.mark.parametrize("category", ["procedures", "insights", "questions", "bugs"])
def test_a_note_reaches_the_context_whatever_its_category(
    memory: MemoryLayout, category: str
) -> None:
    notes.add_note(memory.root, "app", "tests run with uv run pytest -m unit", category=category)
    text = context_of(memory, "app")
    # in its category's section (procedures: build and test; questions: open items; bugs
    # and insights: pitfalls), never dropped for want of a label
    assert "- tests run with uv run pytest -m unit" in text
