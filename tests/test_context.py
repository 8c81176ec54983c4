from __future__ import annotations

from engram_ci.knowledge import blocks as knowledge
from engram_ci.knowledge import context
from engram_ci.knowledge.blocks import Block, KnowledgeFile


def test_context_digests_recent_entries_per_category() -> None:
    files = {
        "decisions": KnowledgeFile(
            "# Decisions",
            (Block("old", "2025-01-01", "- use make"), Block("new", "2025-02-01", "- use just")),
        ),
        "bugs": KnowledgeFile("# Bugs", (knowledge.tombstone("gone", "2025", "2025"),)),
    }
    text = context.synthesize("proj", files)
    assert text.startswith("# Project context: proj\n")
    assert "from 2 session(s); latest 2025-02-01" in text
    assert text.index("use just") < text.index("use make")
    assert "## Bugs" not in text  # only a tombstone: nothing to say


def test_context_is_deterministic_and_bounded() -> None:
    big = KnowledgeFile(
        "# Insights", tuple(Block(f"s{i}", f"2025-{i:04d}", "- " + "x" * 3000) for i in range(50))
    )
    first = context.synthesize("p", {"insights": big})
    assert first == context.synthesize("p", {"insights": big})
    assert len(first) <= context.MAX_CHARS + 200


def test_code_fences_and_headings_are_left_out() -> None:
    block = Block("s", "1", "plain line\n```\ncode\n```\n### heading")
    text = context.synthesize("p", {"patterns": KnowledgeFile("# Patterns", (block,))})
    assert "- plain line" in text and "code" not in text and "heading" not in text
