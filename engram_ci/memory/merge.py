"""Block-level merging of knowledge files — pure functions, shared by gist and repo sync.

The merge of two files is the join of their block sets: every block key (blocks.Block.key)
from either side, and when both sides hold the same key with different content, one
deterministic winner:

- a tombstone beats a live block, and removes every live block of its session whatever its
  key (a forgotten session stays forgotten); among tombstones the latest deletion wins;
- among live blocks, the longer body wins (a re-ingested session only grows), then the larger
  text, then the larger tags, so the order is total;
- `[access:N]` is engram's read counter, not content: it takes no part in choosing the winner,
  which gets the largest count either side saw.

Picking the maximum of a total order makes the merge commutative, associative and idempotent,
so every machine converges on byte-identical files whatever order pushes arrive in.
context.md and metadata.json are derived files: regenerate them, never text-merge them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engram_ci.knowledge import blocks as knowledge
from engram_ci.knowledge.blocks import Block, KnowledgeFile

__all__ = [
    "BlockDiff",
    "canonical",
    "diff",
    "merge",
    "merge3",
    "merge_all",
    "merge_texts",
    "winner",
]

ACCESS_TAG = "access"


Rank = tuple[int, str, int, str, tuple[tuple[str, str], ...], str, int, tuple[tuple[str, str], ...]]


def _rank(block: Block) -> Rank:
    # Every field takes part, so two different blocks never tie: the order is total. The
    # access counter's value comes last: it only separates blocks that are otherwise equal.
    deleted_at = block.tag(knowledge.TOMBSTONE_TAG) or ""
    return (
        int(block.is_tombstone),
        deleted_at,
        len(block.body),
        block.body,
        tuple((k, "" if k == ACCESS_TAG else v) for k, v in block.tags),
        block.timestamp,
        _access(block),
        block.tags,
    )


def _access(block: Block) -> int:
    value = block.tag(ACCESS_TAG) or ""
    return int(value) if value.isdigit() else -1


def winner(a: Block, b: Block) -> Block:
    """The higher-ranked block, carrying the larger access count either side saw."""
    if a == b:
        return a
    chosen = max(a, b, key=_rank)
    count = max(_access(a), _access(b))
    if count >= 0 and not chosen.is_tombstone:
        chosen = chosen.with_tag(ACCESS_TAG, str(count))
    return chosen


def _preamble(a: str, b: str) -> str:
    return max(a.strip("\n"), b.strip("\n"), key=lambda p: (len(p), p))


def canonical(blocks: Iterable[Block], preamble: str) -> KnowledgeFile:
    chosen: dict[str, Block] = {}
    for block in blocks:
        held = chosen.get(block.key)
        chosen[block.key] = block if held is None else winner(held, block)
    forgotten = {b.session_id for b in chosen.values() if b.is_tombstone}
    kept = (b for b in chosen.values() if b.is_tombstone or b.session_id not in forgotten)
    return KnowledgeFile(preamble.strip("\n"), tuple(knowledge.sort_blocks(kept)))


def merge(a: KnowledgeFile, b: KnowledgeFile) -> KnowledgeFile:
    """Two-way join: no block from either side is lost."""
    return canonical([*a.blocks, *b.blocks], _preamble(a.preamble, b.preamble))


def merge_all(files: Iterable[KnowledgeFile]) -> KnowledgeFile:
    result: KnowledgeFile | None = None
    for kf in files:
        result = kf if result is None else merge(result, kf)
    if result is None:
        return KnowledgeFile("")
    return canonical(result.blocks, result.preamble)


def merge3(base: KnowledgeFile, ours: KnowledgeFile, theirs: KnowledgeFile) -> KnowledgeFile:
    """Three-way merge for git's merge driver.

    Like `merge`, except that a block present in the base and removed by hand on one side
    (without a tombstone) stays removed — unless the other side changed it meanwhile, because
    a change should not be lost to a deletion.
    """
    joined = merge(ours, theirs)
    base_blocks = {b.key: b for b in base.blocks}
    ours_keys = {b.key: b for b in ours.blocks}
    theirs_keys = {b.key: b for b in theirs.blocks}
    kept = []
    for block in joined.blocks:
        original = base_blocks.get(block.key)
        if original is not None:
            removed_by_us = block.key not in ours_keys and theirs_keys.get(block.key) == original
            removed_by_them = block.key not in theirs_keys and ours_keys.get(block.key) == original
            if removed_by_us or removed_by_them:
                continue
        kept.append(block)
    return KnowledgeFile(joined.preamble, tuple(kept))


def merge_texts(*texts: str) -> str:
    return knowledge.render(merge_all(knowledge.parse(t) for t in texts))


@dataclass(frozen=True)
class BlockDiff:
    """How many live blocks a write added, removed and changed."""

    added: int
    removed: int
    changed: int

    @property
    def any(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def diff(before: KnowledgeFile, after: KnowledgeFile) -> BlockDiff:
    """Count live blocks added, removed (incl. tombstoned) and changed from `before` to `after`."""
    old = {b.key: b for b in before.live_blocks()}
    new = {b.key: b for b in after.live_blocks()}
    return BlockDiff(
        added=len(new.keys() - old.keys()),
        removed=len(old.keys() - new.keys()),
        changed=sum(1 for k in old.keys() & new.keys() if old[k] != new[k]),
    )
