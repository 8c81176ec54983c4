"""`[ttl:…]` on a block: how long it stays in context.md and in uploads (engram honours it).

A ttl counts from the block's own timestamp: `## Session: x (2025-06-01T10:00:00Z) [ttl:7d]`
is expired from 2025-06-08T10:00:00Z on. An expired block stays on disk (forget removes it
for good) but leaves the synthesised context and every upload. Durations are a number and a
unit — s, m, h, d, w (`30m`, `12h`, `7d`, `2w`). A ttl or timestamp we cannot read never
expires a block: forgetting by accident is worse than keeping a note a little long.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from engram_ci.knowledge.blocks import Block, KnowledgeFile

__all__ = [
    "TTL_TAG",
    "expires_at",
    "is_expired",
    "is_too_long",
    "parse_timestamp",
    "parse_ttl",
    "unexpired",
    "utc_stamp",
]

TTL_TAG = "ttl"
_DURATION = re.compile(r"\s*(\d{1,9})\s*([smhdw])\s*", re.IGNORECASE)
#: a duration in the right form with more digits than _DURATION counts
_TOO_LONG = re.compile(r"\s*\d{10,}\s*[smhdw]\s*", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
#: anything longer is as good as never (and keeps datetime arithmetic in range)
_MAX = timedelta(days=365 * 1000)


def parse_ttl(value: str) -> timedelta | None:
    """`7d` -> 7 days; None when `value` is not a duration we understand."""
    match = _DURATION.fullmatch(value)
    if not match:
        return None
    delta = timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})
    return min(delta, _MAX)


def is_too_long(value: str) -> bool:
    """Whether `value` is a duration parse_ttl refuses only for its length (so an error can
    say so instead of calling it unreadable)."""
    return _TOO_LONG.fullmatch(value) is not None


def parse_timestamp(stamp: str) -> datetime | None:
    """A block timestamp as an aware datetime (naive ones are UTC), or None."""
    try:
        when = datetime.fromisoformat(stamp.strip().replace(" UTC", "Z"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def utc_stamp(when: datetime) -> str:
    """engram's header form of a moment: 2025-06-01T10:00:00Z."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expires_at(block: Block) -> datetime | None:
    value = block.tag(TTL_TAG)
    ttl = parse_ttl(value) if value is not None else None
    start = parse_timestamp(block.timestamp) if ttl is not None else None
    if ttl is None or start is None:
        return None
    try:
        return start + ttl
    except OverflowError:
        return None


def is_expired(block: Block, now: datetime | None = None) -> bool:
    end = expires_at(block)
    return end is not None and end <= (now or datetime.now(UTC))


def unexpired(
    files: Mapping[str, KnowledgeFile], now: datetime | None = None
) -> dict[str, KnowledgeFile]:
    """The same files without their expired blocks (the others keep their exact order)."""
    now = now or datetime.now(UTC)
    kept: dict[str, KnowledgeFile] = {}
    for name, kf in files.items():
        blocks = tuple(b for b in kf.blocks if not is_expired(b, now))
        kept[name] = kf if len(blocks) == len(kf.blocks) else KnowledgeFile(kf.preamble, blocks)
    return kept
