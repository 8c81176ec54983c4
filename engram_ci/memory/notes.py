"""Memory the user edits by hand: `engram add` writes a note, `engram forget` a tombstone.

A note is an ordinary `## Session:` block whose id says what it is (`note-<UTC time>-<hash>`),
so engram, merges and sync carry it like any other. Forgetting replaces each matching block
with a tombstone (knowledge.blocks.tombstone): block merges let a tombstone beat the live
block (memory/merge.py) and ingest never writes over one, so a forgotten block stays forgotten
on every machine and remote — unlike deleting it, which the next merge would undo.

Both run under the memory lock (the one ingest and pulls hold), rewrite only the files they
change (atomically) and regenerate context.md. The Action and the CLI call the same functions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from engram_ci.errors import FatalError
from engram_ci.knowledge import blocks as knowledge
from engram_ci.knowledge import context
from engram_ci.knowledge.blocks import (
    CONTEXT_FILE,
    KNOWLEDGE_CATEGORIES,
    NOTE_PREFIX,
    Block,
    KnowledgeFile,
)
from engram_ci.knowledge.ttl import TTL_TAG, is_too_long, parse_ttl, utc_stamp
from engram_ci.memory import projectfiles
from engram_ci.memory.fsutil import file_lock
from engram_ci.memory.paths import MemoryLayout
from engram_ci.transcripts.model import check_project_name
from engram_ci.transcripts.private import strip_private

__all__ = ["DEFAULT_CATEGORY", "Forgotten", "NoteAdded", "add_note", "check_ttl", "forget"]

DEFAULT_CATEGORY = "insights"
#: a note is a digest line or a few, not a document
MAX_NOTE_CHARS = 10_000


@dataclass(frozen=True)
class NoteAdded:
    project: str
    category: str
    session_id: str
    timestamp: str
    ttl: str | None

    def to_json(self) -> dict[str, str | None]:
        return {
            "project": self.project,
            "category": self.category,
            "session_id": self.session_id,
            "timestamp": self.timestamp,
            "ttl": self.ttl,
        }


@dataclass(frozen=True)
class Forgotten:
    project: str
    #: (category, session id) of every block replaced by a tombstone
    blocks: tuple[tuple[str, str], ...]
    #: blocks that matched but were tombstones already
    already: int
    dry_run: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "project": self.project,
            "forgotten": [{"category": c, "session_id": s} for c, s in self.blocks],
            "already_forgotten": self.already,
            "dry_run": self.dry_run,
        }


def check_ttl(value: str | None) -> str | None:
    if value is not None and is_too_long(value):
        raise FatalError(
            f"ttl {value!r} is longer than a ttl can be (at most 9 digits): leave the ttl out"
            " to keep the note until it is forgotten",
            title="invalid ttl",
        )
    if value is not None and parse_ttl(value) is None:
        raise FatalError(
            f"unreadable ttl {value!r}: use a number and a unit s, m, h, d or w (e.g. 7d, 12h)",
            title="invalid ttl",
        )
    return value.strip().lower() if value is not None else None


def add_note(
    memory_dir: Path,
    project: str,
    text: str,
    *,
    category: str = DEFAULT_CATEGORY,
    ttl: str | None = None,
    now: datetime | None = None,
) -> NoteAdded:
    """Write `text` as a new block of `category` (a new project is fine: CI may start one)."""
    check_project_name(project)
    if category not in KNOWLEDGE_CATEGORIES:
        raise FatalError(
            f"unknown category {category!r}: use one of {', '.join(KNOWLEDGE_CATEGORIES)}",
            title="invalid category",
        )
    ttl = check_ttl(ttl)
    body = _note_body(text)
    when = now or datetime.now(UTC)
    stamp = utc_stamp(when)
    digest = hashlib.sha256(body.encode()).hexdigest()[:8]
    session_id = f"{NOTE_PREFIX}{when.astimezone(UTC):%Y%m%dT%H%M%SZ}-{digest}"
    block = Block(session_id, stamp, body, ((TTL_TAG, ttl),) if ttl else ())

    def change(categories: dict[str, KnowledgeFile]) -> set[str]:
        held = categories.get(category) or knowledge.empty_file(category)
        categories[category] = knowledge.replace_blocks(held, [block])
        return {category}

    _rewrite(MemoryLayout(memory_dir), project, change)
    return NoteAdded(project, category, session_id, stamp, ttl)


def _note_body(text: str) -> str:
    clean = strip_private(text).strip()
    if not clean:
        raise FatalError("the note is empty: pass its text, e.g. engram add P 'use pnpm'")
    if len(clean) > MAX_NOTE_CHARS:
        raise FatalError(
            f"the note is {len(clean):,} characters: keep it under {MAX_NOTE_CHARS:,} "
            "(memory is read by an agent with a budget)"
        )
    if "\n" not in clean and not clean.startswith(("- ", "* ")):
        clean = f"- {clean}"
    return knowledge.sanitize_body(clean)


def forget(
    memory_dir: Path,
    project: str,
    *,
    session_id: str | None = None,
    match: str | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> Forgotten:
    """Tombstone every block of `session_id`, or every block whose text contains `match`
    (case-insensitive), in every category of `project`."""
    if (session_id is None) == (match is None):
        raise FatalError("name what to forget: a SESSION id or --match TEXT (not both)")
    needle = (match or "").strip().casefold()
    if match is not None and not needle:
        raise FatalError("--match needs some text: an empty match would forget everything")
    layout = MemoryLayout(memory_dir)
    projectfiles.require_project(layout, project)
    deleted_at = utc_stamp(now or datetime.now(UTC))

    def selected(block: Block) -> bool:
        if session_id is not None:
            return block.session_id == session_id
        return needle in block.body.casefold() or needle in block.session_id.casefold()

    found: list[tuple[str, str]] = []
    already = 0

    def change(categories: dict[str, KnowledgeFile]) -> set[str]:
        nonlocal already
        changed = set()
        for category, kf in sorted(categories.items()):
            kept = []
            for block in kf.blocks:
                if selected(block) and block.is_tombstone:
                    already += 1
                elif selected(block):
                    found.append((category, block.session_id))
                    block = knowledge.tombstone(block.session_id, block.timestamp, deleted_at)
                    changed.add(category)
                kept.append(block)
            categories[category] = KnowledgeFile(kf.preamble, tuple(kept))
        return set() if dry_run else changed

    _rewrite(layout, project, change)
    if not found and not already:
        what = f"session {session_id!r}" if session_id is not None else f"text {match!r}"
        raise FatalError(
            f"no block of project {project!r} matches {what}: "
            f"`engram search {project} WORDS` lists blocks with their session ids",
            title="nothing to forget",
        )
    return Forgotten(project, tuple(found), already, dry_run)


def _rewrite(
    layout: MemoryLayout,
    project: str,
    change: Callable[[dict[str, KnowledgeFile]], set[str]],
) -> None:
    """Under the memory lock: read the project's categories, let `change` edit them in place
    and name the categories it changed, write those and a fresh context.md."""
    with file_lock(layout.lock_file):
        categories = projectfiles.parse_categories(projectfiles.read_local(layout, project))
        changed = change(categories)
        if not changed:
            return
        out = {f"{c}.md": knowledge.render(categories[c]) for c in sorted(changed)}
        out[CONTEXT_FILE] = context.synthesize(project, categories)
        projectfiles.write_local(layout, project, out, count_blocks=False)
