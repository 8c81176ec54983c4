"""engram's knowledge file format: a preamble, then `## Session:` blocks.

    # Decisions

    ## Session: 3f1c... (2025-06-01T10:00:00Z) [ttl:7d] [confidence:high]

    - Chose SQLite over Postgres for the local cache.

A header only counts outside fenced code, so a transcript that quotes a knowledge file (or a
hostile one that forges headers inside ``` fences) cannot split or inject blocks. Rendering is
canonical: parse(render(f)) == f, and the same blocks always give the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

#: engram's seven knowledge files, in its order; context.md is their synthesis
KNOWLEDGE_CATEGORIES: tuple[str, ...] = (
    "decisions",
    "solutions",
    "patterns",
    "bugs",
    "insights",
    "questions",
    "procedures",
)
CONTEXT_FILE = "context.md"

HEADER_RE = re.compile(
    r"^## Session: (?P<id>\S(?:.*?\S)?) \((?P<ts>[^()\n]*)\)"
    r"(?P<tags>(?:[ \t]*\[[^\[\]\n]*\])*)[ \t]*$"
)
_TAG_RE = re.compile(r"\[([A-Za-z_][\w-]*):([^\[\]\n]*)\]")
_FENCE_RE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})")
TOMBSTONE_TAG = "deleted"
#: session ids of the notes a person wrote by hand (`engram add`): note-<UTC time>-<hash>
NOTE_PREFIX = "note-"


@dataclass(frozen=True)
class Block:
    """One `## Session:` block. Identity is the session id: a session has one block per file."""

    session_id: str
    timestamp: str
    body: str
    tags: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        return self.session_id

    @property
    def is_tombstone(self) -> bool:
        return any(name == TOMBSTONE_TAG for name, _ in self.tags)

    def tag(self, name: str) -> str | None:
        return next((value for key, value in self.tags if key == name), None)

    def with_tag(self, name: str, value: str) -> Block:
        others = tuple((k, v) for k, v in self.tags if k != name)
        return replace(self, tags=(*others, (name, value)))

    def header(self) -> str:
        tags = "".join(f" [{name}:{value}]" for name, value in self.tags)
        return f"## Session: {self.session_id} ({self.timestamp}){tags}"


def tombstone(session_id: str, timestamp: str, deleted_at: str) -> Block:
    """A deletion marker: merges carry it so a forgotten block is not resurrected."""
    return Block(session_id, timestamp, "", ((TOMBSTONE_TAG, deleted_at),))


@dataclass(frozen=True)
class KnowledgeFile:
    preamble: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)

    def live_blocks(self) -> tuple[Block, ...]:
        return tuple(b for b in self.blocks if not b.is_tombstone)

    def get(self, session_id: str) -> Block | None:
        return next((b for b in self.blocks if b.session_id == session_id), None)


def title_for(category: str) -> str:
    return category.replace("_", " ").capitalize()


def empty_file(category: str) -> KnowledgeFile:
    return KnowledgeFile(preamble=f"# {title_for(category)}")


def _fence_of(line: str) -> str | None:
    match = _FENCE_RE.match(line)
    return match.group("fence") if match else None


def _closes(line: str, opening: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(opening[0] * len(opening)) and set(stripped) == {opening[0]}


def _iter_lines_outside_fences(lines: list[str]) -> Iterator[tuple[int, str, bool]]:
    """Yield (index, line, outside_fence) with CommonMark-ish fence tracking."""
    opening: str | None = None
    for index, line in enumerate(lines):
        if opening is None:
            fence = _fence_of(line)
            yield index, line, True
            if fence:
                opening = fence
        else:
            yield index, line, False
            if _closes(line, opening):
                opening = None


def parse_tags(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((m.group(1), m.group(2).strip()) for m in _TAG_RE.finditer(text))


def parse(text: str) -> KnowledgeFile:
    """Parse a knowledge file. Never fails: text before the first header is the preamble."""
    lines = text.replace("\r\n", "\n").split("\n")
    starts: list[tuple[int, re.Match[str]]] = []
    for index, line, outside in _iter_lines_outside_fences(lines):
        if outside and (match := HEADER_RE.match(line)):
            starts.append((index, match))
    preamble_end = starts[0][0] if starts else len(lines)
    preamble = "\n".join(lines[:preamble_end]).strip("\n")
    blocks = []
    for position, (index, match) in enumerate(starts):
        end = starts[position + 1][0] if position + 1 < len(starts) else len(lines)
        body = "\n".join(lines[index + 1 : end]).strip("\n")
        blocks.append(
            Block(
                session_id=match.group("id"),
                timestamp=match.group("ts").strip(),
                body=_strip_trailing_space(body),
                tags=parse_tags(match.group("tags")),
            )
        )
    return KnowledgeFile(preamble=preamble, blocks=tuple(blocks))


def _strip_trailing_space(body: str) -> str:
    return "\n".join(line.rstrip() for line in body.split("\n")).strip("\n")


def sanitize_body(body: str) -> str:
    """Make arbitrary markdown safe to embed as a block body.

    Header-looking lines outside fences are escaped (`\\## Session:`), and an unclosed fence is
    closed, so the body can never split its own block or swallow the blocks after it.
    """
    lines = _strip_trailing_space(body.replace("\r\n", "\n")).split("\n")
    out: list[str] = []
    opening: str | None = None
    for line in lines:
        if opening is None:
            if HEADER_RE.match(line) or line.startswith("## Session:"):
                line = "\\" + line
            fence = _fence_of(line)
            if fence:
                opening = fence
        elif _closes(line, opening):
            opening = None
        out.append(line)
    if opening is not None:
        out.append(opening)
    return "\n".join(out).strip("\n")


def render(kf: KnowledgeFile) -> str:
    """engram's layout: preamble, then for each block a blank pair, header, blank, body."""
    parts = [kf.preamble.strip("\n") + "\n"]
    for block in kf.blocks:
        body = block.body.strip("\n")
        parts.append(f"\n\n{block.header()}\n\n{body}\n" if body else f"\n\n{block.header()}\n")
    return "".join(parts)


def replace_blocks(kf: KnowledgeFile, new_blocks: Iterable[Block]) -> KnowledgeFile:
    """Upsert by session id: a re-ingested session replaces its block, never duplicates it."""
    incoming = {b.key: b for b in new_blocks}
    kept = [incoming.pop(b.key, b) for b in kf.blocks]
    return KnowledgeFile(kf.preamble, tuple(sort_blocks([*kept, *incoming.values()])))


def sort_blocks(blocks: Iterable[Block]) -> list[Block]:
    """Canonical order: oldest first (engram appends), ties by session id."""
    return sorted(blocks, key=lambda b: (b.timestamp, b.session_id))
