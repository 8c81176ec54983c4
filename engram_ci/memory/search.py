"""`engram search P QUERY`: the project's knowledge blocks that mention the query, best first.

Plain word matching, no index (a project holds hundreds of blocks, not millions): a block
ranks by how many of the query's words it holds, then whether it holds the whole query as
written, then how often the words occur, then recency. Tombstones never match; expired
blocks do (flagged), so a user can find what to forget.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from engram_ci.errors import FatalError
from engram_ci.knowledge.blocks import KNOWLEDGE_CATEGORIES, Block
from engram_ci.knowledge.ttl import is_expired
from engram_ci.memory import projectfiles
from engram_ci.memory.paths import MemoryLayout

__all__ = ["Hit", "search"]

_WORD = re.compile(r"\w+")
#: lines of a block shown with a hit
SHOWN_LINES = 3
#: occurrences of one word counted at most (a block repeating a word is not more relevant)
_OCCURRENCE_CAP = 5


@dataclass(frozen=True)
class Hit:
    category: str
    session_id: str
    timestamp: str
    score: int
    #: the block's lines that hold a query word (at most SHOWN_LINES)
    lines: tuple[str, ...]
    expired: bool

    def to_json(self) -> dict[str, object]:
        return {
            "category": self.category,
            "session_id": self.session_id,
            "timestamp": self.timestamp,
            "score": self.score,
            "lines": list(self.lines),
            "expired": self.expired,
        }


def search(
    layout: MemoryLayout,
    project: str,
    query: str,
    *,
    limit: int = 20,
    now: datetime | None = None,
) -> list[Hit]:
    """Up to `limit` blocks of `project` matching `query`, best first."""
    projectfiles.require_project(layout, project)
    words = sorted({w.casefold() for w in _WORD.findall(query)})
    if not words:
        raise FatalError("the query has no words to look for: e.g. engram search P pytest")
    phrase = " ".join(query.casefold().split())
    now = now or datetime.now(UTC)
    categories = projectfiles.parse_categories(projectfiles.read_local(layout, project))
    hits = []
    for category in KNOWLEDGE_CATEGORIES:
        kf = categories.get(category)
        for block in kf.live_blocks() if kf else ():
            hit = _score(category, block, words, phrase, now)
            if hit is not None:
                hits.append(hit)
    hits.sort(key=lambda h: (-h.score, _reverse(h.timestamp), h.category, h.session_id))
    return hits[: max(0, limit)]


def _score(category: str, block: Block, words: list[str], phrase: str, now: datetime) -> Hit | None:
    text = f"{block.session_id}\n{block.body}".casefold()
    counts = {w: len(re.findall(rf"(?<!\w){re.escape(w)}(?!\w)", text)) for w in words}
    matched = sum(1 for n in counts.values() if n)
    if not matched:
        return None
    occurrences = sum(min(n, _OCCURRENCE_CAP) for n in counts.values())
    score = matched * 100 + (50 if phrase in " ".join(text.split()) else 0) + occurrences
    shown = tuple(
        line.strip()
        for line in block.body.split("\n")
        if line.strip() and any(w in line.casefold() for w in words)
    )[:SHOWN_LINES]
    return Hit(category, block.session_id, block.timestamp, score, shown, is_expired(block, now))


def _reverse(stamp: str) -> tuple[int, ...]:
    """Sorts newer timestamps first inside an ascending sort."""
    return tuple(-ord(ch) for ch in stamp)
