"""Three-way merge of a project's file sets against the last-synced base.

The join of every side (memory/merge) loses nothing, which also means it can never delete:
a block removed by hand — or by upstream engram, which deletes without tombstones — comes
back from the other side. With the base (what the store held when this machine last synced)
a removal is visible: a block in the base that one side dropped and every other side still
holds unchanged stays dropped. A side that changed the block meanwhile keeps it (a change is
not lost to a deletion).

Redaction makes the store's copy of a block differ from the local one, so two texts count
as "the same block" when they are equal once redacted — and a block the store holds in
redacted form is replaced by the local original before merging, so the local copy is never
overwritten with the redacted one.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

from engram_ci.knowledge import blocks as knowledge
from engram_ci.knowledge.blocks import CONTEXT_FILE, Block, KnowledgeFile
from engram_ci.memory import merge as blockmerge
from engram_ci.memory.projectfiles import (
    FileSet,
    merge_filesets,
    parse_categories,
    with_context,
)
from engram_ci.sync import redact

__all__ = ["merge", "same_block", "with_local_originals"]


def _text(block: Block) -> str:
    return f"{block.header()}\n{block.body}"


def same_block(a: Block, b: Block) -> bool:
    """Equal, or equal once redacted (the store's copy of a local block)."""
    return a == b or redact.redact_text(_text(a)) == redact.redact_text(_text(b))


def with_local_originals(remote: Mapping[str, str], local: Mapping[str, str]) -> FileSet:
    """`remote` with every block that is the redacted form of a local one replaced by it."""
    local_cats = parse_categories(local)
    out: FileSet = dict(remote)
    for category, kf in parse_categories(remote).items():
        held = local_cats[category].blocks if category in local_cats else ()
        mine = {b.key: b for b in held}
        # a block keyed by its body (not written by our ingest) has another key once
        # redacted: look for its original among the local blocks of the same session
        by_session: dict[str, list[Block]] = {}
        for b in held:
            by_session.setdefault(b.session_id, []).append(b)
        swapped = False
        blocks = []
        for block in kf.blocks:
            candidates = (
                [mine[block.key]] if block.key in mine else by_session.get(block.session_id, [])
            )
            original = next((b for b in candidates if b != block and same_block(b, block)), None)
            if original is not None:
                block, swapped = original, True
            blocks.append(block)
        if swapped:
            out[f"{category}.md"] = knowledge.render(KnowledgeFile(kf.preamble, tuple(blocks)))
    return out


def merge(
    project: str,
    base: Mapping[str, str] | None,
    local: Mapping[str, str],
    remotes: Sequence[Mapping[str, str]],
) -> FileSet:
    """Merge local and remote file sets; with a base, what one side changed or removed wins
    over the others' unchanged copies (a restore, a deletion by hand)."""
    remotes = [with_local_originals(r, local) for r in remotes]
    joined = merge_filesets(project, local, *remotes)
    if base is None:
        return joined
    base_cats = parse_categories(base)
    sides = [parse_categories(s) for s in (local, *remotes)]
    categories: dict[str, KnowledgeFile] = {}
    for category, kf in parse_categories(joined).items():
        old = {b.key: b for b in base_cats[category].blocks} if category in base_cats else {}
        held = [{b.key: b for b in s[category].blocks} if category in s else {} for s in sides]
        kept = []
        for key in dict.fromkeys(b.key for b in kf.blocks):
            chosen = _pick(old.get(key), [side.get(key) for side in held])
            if chosen is not None:
                kept.append(chosen)
        categories[category] = blockmerge.canonical(kept, kf.preamble)
    result = with_context(project, categories)
    if not categories and CONTEXT_FILE in joined:
        result[CONTEXT_FILE] = joined[CONTEXT_FILE]
    return result


def _join(blocks: Sequence[Block]) -> Block:
    return functools.reduce(blockmerge.winner, blocks)


def _pick(original: Block | None, values: Sequence[Block | None]) -> Block | None:
    """One key's block: the sides' changes since the base win over unchanged copies; a
    removal wins only when nobody changed the block (a change is not lost to a deletion)."""
    present = [v for v in values if v is not None]
    if original is None or original.is_tombstone:
        return _join(present)
    changed = [v for v in present if not same_block(v, original)]
    if changed:
        return _join(changed)
    if len(present) < len(values):
        return None
    return _join(present)
