"""`search`: blocks holding the query's words, ranked, tombstones never, expired flagged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engram_ci.errors import FatalError
from engram_ci.memory.paths import MemoryLayout
from engram_ci.memory.search import search

NOW = datetime(2025, 6, 10, tzinfo=UTC)


@pytest.fixture
def seeded(memory: MemoryLayout) -> MemoryLayout:
    directory = memory.knowledge_dir("app")
    directory.mkdir(parents=True)
    (directory / "procedures.md").write_text(
        "# Procedures\n"
        "\n\n## Session: s1 (2025-01-01T00:00:00Z)\n\n- run the tests with uv run pytest -m unit\n"
        "- lint with ruff\n"
        "\n\n## Session: s2 (2025-02-01T00:00:00Z)\n\n- pytest needs the DB fixture up\n"
        "\n\n## Session: s3 (2025-03-01T00:00:00Z) [deleted:2025-03-02T00:00:00Z]\n"
    )
    (directory / "insights.md").write_text(
        "# Insights\n"
        "\n\n## Session: s4 (2025-06-01T00:00:00Z) [ttl:1d]\n\n- uv run pytest is slow today\n"
        "\n\n## Session: s5 (2025-06-01T00:00:00Z)\n\n- pytester is not pytest\n"
    )
    return memory


def test_ranked_by_words_matched_then_phrase_then_recency(seeded: MemoryLayout) -> None:
    hits = search(seeded, "app", "uv run pytest", now=NOW)
    # s1 says "run" twice; s5 and s2 tie on one word: the newer first
    assert [h.session_id for h in hits] == ["s1", "s4", "s5", "s2"]
    first = hits[0]
    assert (first.category, first.timestamp) == ("procedures", "2025-01-01T00:00:00Z")
    assert first.lines == ("- run the tests with uv run pytest -m unit",)  # only matching lines
    assert [h.expired for h in hits] == [False, True, False, False]


def test_whole_words_only_and_case_insensitive(seeded: MemoryLayout) -> None:
    assert [h.session_id for h in search(seeded, "app", "PYTESTER", now=NOW)] == ["s5"]
    assert search(seeded, "app", "kubernetes") == []


def test_limit_and_bad_queries(seeded: MemoryLayout) -> None:
    assert len(search(seeded, "app", "pytest", limit=2)) == 2
    with pytest.raises(FatalError, match="no words"):
        search(seeded, "app", "  --  ")
    with pytest.raises(FatalError, match="unknown project"):
        search(seeded, "other", "pytest")
