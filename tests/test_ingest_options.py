"""engram_ci/ingest/options.py: which agents' roots a run reads, and what its flags let in."""

from __future__ import annotations

from pathlib import Path

from engram_ci.ingest import IngestOptions


def test_sources_join_the_shorthands_and_the_roots_in_order() -> None:
    options = IngestOptions(
        memory_dir=Path("m"),
        claude_roots=(Path("c1"),),
        roots={"claude-code": (Path("c2"),), "gemini": (Path("g"),), "cline": ()},
    )
    # an agent without roots is not read; the shorthand's roots come first
    assert options.sources() == [
        ("claude-code", (Path("c1"), Path("c2"))),
        ("gemini", (Path("g"),)),
    ]


def test_sources_keep_only_the_selected_agents() -> None:
    options = IngestOptions(
        memory_dir=Path("m"),
        claude_roots=(Path("c"),),
        codex_roots=(Path("x"),),
        agents=("codex",),
    )
    assert options.sources() == [("codex", (Path("x"),))]


def test_neither_a_dry_run_nor_skip_knowledge_extracts() -> None:
    assert IngestOptions(memory_dir=Path("m")).wants_knowledge()
    assert not IngestOptions(memory_dir=Path("m"), dry_run=True).wants_knowledge()
    assert not IngestOptions(memory_dir=Path("m"), skip_knowledge=True).wants_knowledge()


def test_project_lets_in_its_sessions_only() -> None:
    assert IngestOptions(memory_dir=Path("m")).wants_project("anything")
    only = IngestOptions(memory_dir=Path("m"), project="api")
    assert only.wants_project("api")
    assert not only.wants_project("web")
    assert not only.wants_project(None)
