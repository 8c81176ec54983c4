"""`[ttl:…]`: a block leaves context.md once its ttl has run from its timestamp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engram_ci.knowledge import context, ttl
from engram_ci.knowledge.blocks import Block, KnowledgeFile

NOW = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7d", timedelta(days=7)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        ("45s", timedelta(seconds=45)),
        (" 2W ", timedelta(weeks=2)),
        ("7", None),
        ("d", None),
        ("-1d", None),
        ("1.5d", None),
        ("forever", None),
    ],
)
def test_parse_ttl(value: str, expected: timedelta | None) -> None:
    assert ttl.parse_ttl(value) == expected


@pytest.mark.parametrize(
    ("value", "too_long"),
    [
        ("9999999999d", True),
        (" 12345678901 W ", True),
        ("999999999d", False),
        ("99999999999", False),
    ],
)
def test_only_a_well_formed_duration_is_too_long(value: str, too_long: bool) -> None:
    assert ttl.is_too_long(value) is too_long
    assert ttl.parse_ttl(value) is None or not too_long


def block(stamp: str, value: str | None) -> Block:
    tags = (("ttl", value),) if value else ()
    return Block("s", stamp, "- note", tags)


@pytest.mark.parametrize(
    ("stamp", "value", "expired"),
    [
        ("2025-06-01T10:00:00Z", "7d", True),  # ended 2025-06-08
        ("2025-06-09T10:00:00Z", "7d", False),
        ("2025-06-10T11:30:00Z", "30m", True),  # exactly at its end: gone
        ("2025-06-10T11:31:00.250Z", "30m", False),
        ("2025-06-10 02:00:00", "12h", False),  # naive: read as UTC
        ("2025-06-10T01:00:00+02:00", "12h", True),  # 2025-06-09T23:00Z + 12h < now
        ("2025-06-01T10:00:00Z", None, False),
        ("unknown", "1s", False),  # a time we cannot read never expires a block
        ("2025-06-01T10:00:00Z", "soon", False),
        ("9999-12-31T00:00:00Z", "9999w", False),  # no overflow
    ],
)
def test_is_expired(stamp: str, value: str | None, expired: bool) -> None:
    assert ttl.is_expired(block(stamp, value), NOW) is expired


def test_unexpired_keeps_untouched_files_as_they_are() -> None:
    keep = KnowledgeFile("# Insights", (block("2025-06-09T00:00:00Z", "7d"),))
    mixed = KnowledgeFile(
        "# Bugs", (block("2025-06-01T00:00:00Z", "1d"), Block("t", "2025-06-02", "- stays"))
    )
    result = ttl.unexpired({"insights": keep, "bugs": mixed}, NOW)
    assert result["insights"] is keep
    assert [b.session_id for b in result["bugs"].blocks] == ["t"]


def test_expired_blocks_leave_the_context() -> None:
    stale = Block("old", "2020-01-01T00:00:00Z", "- staging is down this week", (("ttl", "7d"),))
    fresh = Block("new", "2020-01-01T00:00:00Z", "- use pnpm, not npm")
    text = context.synthesize("p", {"insights": KnowledgeFile("# Insights", (stale, fresh))})
    assert "use pnpm" in text and "staging is down" not in text
