"""What a transcript reader produces and everything downstream consumes.

Readers (one module per agent, listed in registry.py) turn agent transcripts into `Session`s;
the archive, the extractors and the LLM prompt only ever see these types, never raw JSON
lines. A tool call carries its vendor's `name` and a common `kind` (ToolKind), so extraction
can ask "was this an edit?" without knowing any agent's tool names.
"""

from __future__ import annotations

import os
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from engram_ci.errors import FatalError

__all__ = [
    "TOOL_KINDS",
    "ParseStats",
    "Session",
    "ToolCall",
    "ToolKind",
    "TranscriptGroup",
    "Turn",
    "Usage",
    "check_project_name",
    "child_path",
]

Role = Literal["user", "assistant"]
#: what a tool call does, whatever the agent calls it (each reader maps its tool names):
#: shell = runs a command; edit = changes part of a file (incl. patches); write = writes a
#: whole file; read = reads a file or image; search = finds files or text (glob, grep, ls);
#: web = fetches or searches the web; task = delegates to a subagent; other = the rest
#: (plans, todos, questions, MCP tools)
ToolKind = Literal["shell", "edit", "write", "read", "search", "web", "task", "other"]
TOOL_KINDS: tuple[ToolKind, ...] = (
    "shell",
    "edit",
    "write",
    "read",
    "search",
    "web",
    "task",
    "other",
)


@dataclass
class ToolCall:
    """One tool call the agent made, with its result once paired."""

    id: str
    name: str
    input: dict[str, Any]
    #: the paired tool_result's text (truncated by the reader to keep memory bounded)
    result: str | None = None
    is_error: bool = False
    timestamp: str | None = None
    #: the common kind of `name` (see ToolKind), set by the reader
    kind: ToolKind = "other"


@dataclass
class Usage:
    """Model tokens used: input, output, and prompt-cache reads and writes."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_creation_tokens += other.cache_creation_tokens

    @property
    def total(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_creation_tokens
        )


@dataclass
class Turn:
    """One user prompt or one (merged) assistant reply."""

    role: Role
    text: str
    timestamp: str | None = None
    uuid: str | None = None
    message_id: str | None = None
    model: str | None = None
    thinking: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    #: injected text (isMeta): hook output, command caveats — not the human's words
    is_meta: bool = False
    #: the continuation summary written after /compact
    is_compact_summary: bool = False
    images: int = 0
    unknown_blocks: Counter[str] = field(default_factory=Counter)
    #: the slash command a user line ran ("/clear", "/model"); its text reads "/model opus"
    command: str | None = None

    @property
    def is_prompt(self) -> bool:
        """A real human prompt: user text that is neither injected nor a compact summary."""
        return (
            self.role == "user"
            and not self.is_meta
            and not self.is_compact_summary
            and bool(self.text.strip())
        )


@dataclass
class ParseStats:
    """What reading a transcript met: lines, bytes, and what was skipped and why."""

    lines: int = 0
    bytes: int = 0
    #: reason -> count: bad_json, invalid_utf8, not_object, missing_type, bad_shape, too_long
    malformed: Counter[str] = field(default_factory=Counter)
    #: line types we don't know yet (they keep appearing): skipped and counted
    unknown_types: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    #: tool results whose tool call was never seen (cut-off or rewound transcripts)
    orphan_results: int = 0

    def merge(self, other: ParseStats) -> None:
        self.lines += other.lines
        self.bytes += other.bytes
        self.malformed.update(other.malformed)
        self.unknown_types.update(other.unknown_types)
        self.duplicates += other.duplicates
        self.orphan_results += other.orphan_results


@dataclass
class Session:
    """One agent session as every reader gives it: metadata, turns, subagents, stats."""

    session_id: str
    #: the agent that wrote it: its reader's name in registry.py ("claude-code", "codex", …)
    source: str
    project: str
    transcripts: list[Path]
    cwd: str | None = None
    git_branch: str | None = None
    version: str | None = None
    title: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    models: list[str] = field(default_factory=list)
    #: in order; a plain list, or for a very large session a turnlog.TurnLog read back from
    #: disk (walk it in order: indexing it reads a chunk each time)
    turns: Sequence[Turn] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    #: Claude Code's own `summary` lines (titles of compacted conversations)
    summaries: list[str] = field(default_factory=list)
    subagents: list[Session] = field(default_factory=list)
    #: set on subagent sessions only (their session_id is the parent's)
    agent_id: str | None = None
    #: a subagent's kind ("general-purpose", "Explore") when its transcript says so
    agent_type: str | None = None
    #: this session's own file only (inline sidechains count in the file they sit in); a
    #: group's totals are this plus every subagent's stats
    stats: ParseStats = field(default_factory=ParseStats)

    @property
    def prompts(self) -> list[str]:
        return [t.text for t in self.turns if t.is_prompt]

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [call for turn in self.turns for call in turn.tool_calls]


class TranscriptGroup:
    """The files of one session as discovered on disk: the main transcript plus every file
    that belongs to it (subagent transcripts, their .meta.json). The manifest keys on these
    (paths are absolute: ingest resolves the roots before discovery).

    Held as strings, handed out as Paths: an unchanged re-ingest only stats each file and
    compares its name with the manifest's, and in CPython building a Path costs more than
    that stat. A Path is made when a reader asks for one (a group it reads)."""

    __slots__ = ("folder_path", "main_path", "part_paths", "session_id", "source")

    session_id: str
    #: the reader's name (registry.py)
    source: str
    main_path: str
    #: every file of the session, main first; a change to any of them re-ingests the session.
    #: Groups that share a session id are merged (registry.merge_groups): a part may then be
    #: a second copy of the main transcript, and the reader dedupes what repeats
    part_paths: tuple[str, ...]
    #: the folder the transcript was found in (Claude Code: the encoded-cwd folder)
    folder_path: str

    def __init__(
        self,
        session_id: str,
        source: str,
        main: str | os.PathLike[str],
        parts: Iterable[str | os.PathLike[str]],
        folder: str | os.PathLike[str],
    ) -> None:
        # a string is taken as the path it names, spelled as str(Path(...)) would spell it
        # (the discoverers that pass strings build them so); the manifest keys on it
        init = object.__setattr__  # immutable after this: groups are hashed and shared
        init(self, "session_id", session_id)
        init(self, "source", source)
        init(self, "main_path", os.fspath(main))
        init(self, "part_paths", tuple(map(os.fspath, parts)))
        init(self, "folder_path", os.fspath(folder))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"TranscriptGroup is immutable (tried to set {name})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"TranscriptGroup is immutable (tried to delete {name})")

    def __reduce__(
        self,
    ) -> tuple[type[TranscriptGroup], tuple[str, str, str, tuple[str, ...], str]]:
        return TranscriptGroup, self._key()  # rebuilt through __init__ (no setattr)

    @property
    def main(self) -> Path:
        return Path(self.main_path)

    @property
    def parts(self) -> tuple[Path, ...]:
        return tuple(map(Path, self.part_paths))

    @property
    def folder(self) -> Path:
        return Path(self.folder_path)

    def with_parts(self, parts: Iterable[str | os.PathLike[str]]) -> TranscriptGroup:
        return TranscriptGroup(
            self.session_id, self.source, self.main_path, parts, self.folder_path
        )

    def _key(self) -> tuple[str, str, str, tuple[str, ...], str]:
        return (self.session_id, self.source, self.main_path, self.part_paths, self.folder_path)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TranscriptGroup):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"TranscriptGroup(session_id={self.session_id!r}, source={self.source!r}, "
            f"main={self.main_path!r}, parts={self.part_paths!r}, folder={self.folder_path!r})"
        )


def child_path(folder: str, name: str) -> str:
    """`folder`/`name` spelled as str(Path(folder) / name) spells it, for a `name` that is
    one component from a directory listing (the discoverers build TranscriptGroup's strings
    with it; plain concatenation, where os.path.join costs a few µs a file)."""
    if folder == ".":
        return name
    return folder + name if folder.endswith(os.sep) else f"{folder}{os.sep}{name}"


def check_project_name(name: str) -> str:
    """Return `name` if it is safe as one path component, else raise FatalError.

    Project names come from users, transcripts' cwd and remote content, so they are hostile
    input: no separators, no '.'/'..', no control characters, no leading dot.
    """
    normalized = unicodedata.normalize("NFC", name)
    bad = (
        not normalized
        or normalized in {".", ".."}
        or normalized.startswith(".")
        or any(ch in normalized for ch in "/\\\0")
        or any(unicodedata.category(ch).startswith("C") for ch in normalized)
        or len(normalized.encode()) > 200
    )
    if bad:
        raise FatalError(
            f"invalid project name {name!r}: use one plain folder name "
            "(no '/', '\\', leading '.', or control characters; at most 200 bytes)"
        )
    return normalized
