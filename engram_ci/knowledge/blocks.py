"""engram's knowledge file format: a preamble, then `## Session:` blocks.

    # Decisions

    ## Session: 3f1c... (2025-06-01T10:00:00Z) [ttl:7d] [confidence:high]

    - Chose SQLite over Postgres for the local cache.

A header only counts outside fenced code, so a transcript that quotes a knowledge file (or a
hostile one that forges headers inside ``` fences) cannot split or inject blocks — but a fence
that never closes ends at the next header, so one unbalanced block cannot swallow the rest.
Rendering is canonical: parse(render(f)) == f, and the same blocks always give the same bytes.

Tags are `[name:value]` or, as engram also writes, a bare `[name]` (kept with value "").
Identity: engram-ci's own blocks carry a `[source:...]` tag (the extractor that wrote them) and
are one per session per file, so they are keyed by session id; any other block — engram's LLM
blocks, hand-written ones, dated reflections that repeat a session id — is keyed by session id
AND timestamp, so two dated blocks of one session are both kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

__all__ = [
    "CONFIDENCE_TAG",
    "CONTEXT_FILE",
    "KNOWLEDGE_CATEGORIES",
    "NOTE_PREFIX",
    "OFFLINE_SOURCE",
    "SOURCE_TAG",
    "TOMBSTONE_TAG",
    "Block",
    "KnowledgeFile",
    "drop_own",
    "empty_file",
    "parse",
    "render",
    "render_tags",
    "replace_blocks",
    "sanitize_body",
    "sort_blocks",
    "title_for",
    "tombstone",
    "upsert_own",
]

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
_TAG_RE = re.compile(r"\[([^\[\]\n]*)\]")
_NAMED_TAG_RE = re.compile(r"([A-Za-z_][\w-]*):(.*)", re.DOTALL)
_FENCE_RE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})")
TOMBSTONE_TAG = "deleted"
#: which extractor wrote a block: "offline" or "<provider>:<model>"; only engram-ci writes it
SOURCE_TAG = "source"
CONFIDENCE_TAG = "confidence"
OFFLINE_SOURCE = "offline"
#: session ids of the notes a person wrote by hand (`engram add`): note-<UTC time>-<hash>
NOTE_PREFIX = "note-"


@dataclass(frozen=True)
class Block:
    """One `## Session:` block (see the module docstring for its identity, `key`)."""

    session_id: str
    timestamp: str
    body: str
    tags: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        if self.is_tombstone or self.is_own:
            return self.session_id
        # engram dates each block of a session (reflections, `[updated]` rewrites): the stamp
        # tells them apart, while a copy whose text changed (re-extracted, or redacted on its
        # way to a remote) stays the same block
        return f"{self.session_id} ({self.timestamp})"

    @property
    def is_own(self) -> bool:
        """Written by engram-ci's ingest (it tags every block with its source)."""
        return self.tag(SOURCE_TAG) is not None

    @property
    def is_offline(self) -> bool:
        return self.tag(SOURCE_TAG) == OFFLINE_SOURCE

    @property
    def is_tombstone(self) -> bool:
        return any(name == TOMBSTONE_TAG for name, _ in self.tags)

    def tag(self, name: str) -> str | None:
        return next((value for key, value in self.tags if key == name), None)

    def with_tag(self, name: str, value: str) -> Block:
        """The block with tag `name` set to `value`: in place when present, else appended."""
        if self.tag(name) is None:
            return replace(self, tags=(*self.tags, (name, value)))
        return replace(self, tags=tuple((k, value if k == name else v) for k, v in self.tags))

    def header(self) -> str:
        return f"## Session: {self.session_id} ({self.timestamp}){render_tags(self.tags)}"


def render_tags(tags: Iterable[tuple[str, str]]) -> str:
    """` [name:value]` each, or ` [name]` for a tag without a value (engram's `[updated]`)."""
    return "".join(f" [{name}:{value}]" if value else f" [{name}]" for name, value in tags)


def tombstone(session_id: str, timestamp: str, deleted_at: str) -> Block:
    """A deletion marker: merges carry it so a forgotten block is not resurrected."""
    return Block(session_id, timestamp, "", ((TOMBSTONE_TAG, deleted_at),))


@dataclass(frozen=True)
class KnowledgeFile:
    """A parsed knowledge file: the text before the first block, then its blocks in order."""

    preamble: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)

    def live_blocks(self) -> tuple[Block, ...]:
        return tuple(b for b in self.blocks if not b.is_tombstone)

    def get(self, session_id: str) -> Block | None:
        """The first block of `session_id` (a session may have several: see `key`)."""
        return next((b for b in self.blocks if b.session_id == session_id), None)

    def by_key(self, key: str) -> Block | None:
        return next((b for b in self.blocks if b.key == key), None)

    def is_tombstoned(self, session_id: str) -> bool:
        return any(b.is_tombstone and b.session_id == session_id for b in self.blocks)


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


class _Fences:
    """Plain CommonMark-ish fence tracking, a line at a time: every opening line opens a
    fence, and `opening` is the one still open. (Parsing a file asks more: see
    _iter_lines_outside_fences.)"""

    def __init__(self) -> None:
        self.opening: str | None = None

    def outside(self, line: str) -> bool:
        """Whether `line` stands outside a fence (an opening line does); then steps past it."""
        if self.opening is None:
            self.opening = _fence_of(line)
            return True
        if _closes(line, self.opening):
            self.opening = None
        return False


def _closer_runs(lines: list[str]) -> dict[str, list[int]]:
    """For each fence character, the longest closing run at or after each line (suffix max),
    so `is a fence opened here ever closed?` costs O(1) and hostile files stay linear."""
    runs = {"`": [0] * (len(lines) + 1), "~": [0] * (len(lines) + 1)}
    for index in range(len(lines) - 1, -1, -1):
        stripped = lines[index].strip()
        for char, suffix in runs.items():
            own = len(stripped) if len(stripped) >= 3 and set(stripped) == {char} else 0
            suffix[index] = max(own, suffix[index + 1])
    return runs


def _iter_lines_outside_fences(lines: list[str]) -> Iterator[tuple[int, str, bool]]:
    """Yield (index, line, outside_fence) with CommonMark-ish fence tracking, except that a
    fence with no closing line anywhere after it is no fence: it ends at the next header."""
    closers = _closer_runs(lines)
    opening: str | None = None
    for index, line in enumerate(lines):
        if opening is None:
            fence = _fence_of(line)
            yield index, line, True
            if fence and closers[fence[0]][index + 1] >= len(fence):
                opening = fence
        else:
            yield index, line, False
            if _closes(line, opening):
                opening = None


def parse_tags(text: str) -> tuple[tuple[str, str], ...]:
    """Every `[...]` of a header: `[name:value]` -> (name, value), `[word]` -> (word, "")."""
    tags = []
    for match in _TAG_RE.finditer(text):
        inner = match.group(1).strip()
        named = _NAMED_TAG_RE.fullmatch(inner)
        tags.append((named.group(1), named.group(2).strip()) if named else (inner, ""))
    return tuple(tags)


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
    fences = _Fences()
    for line in lines:
        if fences.outside(line) and (HEADER_RE.match(line) or line.startswith("## Session:")):
            line = "\\" + line
        out.append(line)
    if fences.opening is not None:
        out.append(fences.opening)
    return "\n".join(out).strip("\n")


def render(kf: KnowledgeFile) -> str:
    """engram's layout: preamble, then for each block a blank pair, header, blank, body.

    Each piece is written with its fences closed. In the file it was parsed from, a fence
    that nothing closed was no fence; next to blocks from elsewhere (a merge, a pull) the
    next block's closing line would close it, and every header in between would become
    code: those blocks would be gone at the next read.
    """
    parts = [_fences_closed(kf.preamble.strip("\n")) + "\n"]
    for block in kf.blocks:
        body = _fences_closed(block.body.strip("\n"))
        parts.append(f"\n\n{block.header()}\n\n{body}\n" if body else f"\n\n{block.header()}\n")
    return "".join(parts)


def _fences_closed(text: str) -> str:
    """`text`, with a closing line added when it ends inside a fence."""
    if "```" not in text and "~~~" not in text:
        return text  # most bodies: no line loop
    fences = _Fences()
    for line in text.split("\n"):
        fences.outside(line)
    return text if fences.opening is None else f"{text}\n{fences.opening}"


def replace_blocks(kf: KnowledgeFile, new_blocks: Iterable[Block]) -> KnowledgeFile:
    """Upsert by key: a block replaces the one with its key (an own block: its session's)."""
    incoming = {b.key: b for b in new_blocks}
    kept = [incoming.pop(b.key, b) for b in kf.blocks]
    return KnowledgeFile(kf.preamble, tuple(sort_blocks([*kept, *incoming.values()])))


def sort_blocks(blocks: Iterable[Block]) -> list[Block]:
    """Canonical order: oldest first (engram appends), ties by session id, then key."""
    return sorted(blocks, key=lambda b: (b.timestamp, b.session_id, b.key))


def _ours(block: Block, legacy: frozenset[str]) -> bool:
    # `legacy`: sessions whose untagged block an earlier engram-ci wrote (its manifest says so)
    return not block.is_tombstone and (block.is_own or block.session_id in legacy)


def upsert_own(
    kf: KnowledgeFile, new_blocks: Iterable[Block], *, legacy: frozenset[str] = frozenset()
) -> tuple[KnowledgeFile, int]:
    """Ingest's write: each new (own, source-tagged) block replaces its session's earlier own
    block — never another tool's, which stays beside it. An offline block never replaces or
    joins a block a model (ours or another tool's) wrote for that session, and a tombstoned
    session stays forgotten. Returns the file and how many new blocks were written."""
    blocks = list(kf.blocks)
    written = 0
    for new in new_blocks:
        held = [b for b in blocks if b.session_id == new.session_id]
        if any(b.is_tombstone for b in held):
            continue
        by_model_or_other_tool = [
            b for b in held if not _ours(b, legacy) or (b.is_own and not b.is_offline)
        ]
        if new.is_offline and by_model_or_other_tool:
            continue  # a model's (or another tool's) reading of the session stands
        blocks = [b for b in blocks if not (b.session_id == new.session_id and _ours(b, legacy))]
        blocks.append(new)
        written += 1
    return KnowledgeFile(kf.preamble, tuple(sort_blocks(blocks))), written


def drop_own(
    kf: KnowledgeFile,
    session_ids: set[str],
    *,
    legacy: frozenset[str] = frozenset(),
    offline: bool = True,
) -> KnowledgeFile:
    """Remove our own blocks of sessions that no longer produce this category. Another tool's
    blocks stay, and an `offline` re-read does not remove what a model wrote."""

    def stale(b: Block) -> bool:
        model_written = b.is_own and not b.is_offline
        return b.session_id in session_ids and _ours(b, legacy) and not (offline and model_written)

    return KnowledgeFile(kf.preamble, tuple(b for b in kf.blocks if not stale(b)))
