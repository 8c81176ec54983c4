"""The line loop over one Claude Code transcript file: bytes in, Transcript calls out.

claude.py runs it over every file of a session; claude_turns.py turns the calls into turns.
Decisions worth knowing (each pinned by tests/test_claude.py):
- A line's type is read from its bytes when it is provably the top-level key (sniff_type):
  types that carry no conversation (progress, file-history-snapshot, attachments other than
  queued prompts, the ~50 small metadata types) and unknown ones are skipped without parsing
  (unknown ones counted). Lines whose type cannot be proven this way are parsed and sorted
  after parsing by the same rules.
- A uuid already seen (resumed sessions repeat lines; two copies of one history share them;
  a queue-operation, which has none, is known by its bytes) is skipped and counted in
  ParseStats.duplicates: the `seen` set is the caller's, so it spans every copy of a session.
- 1.0.x inline `isSidechain` lines go to one transcript per subagent run (Sidechains).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from engram_ci.transcripts.claude_turns import Transcript
from engram_ci.transcripts.lines import SeenHashes, iter_lines, parse_object, sniff_type
from engram_ci.transcripts.model import ParseStats

__all__ = ["SAFE_ID", "Sidechains", "read_lines"]

SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
#: line types turned into turns (or titles, summaries, queued prompts)
_READ_TYPES = frozenset(
    {"user", "assistant", "summary", "ai-title", "custom-title", "queue-operation", "attachment"}
)
#: line types we know and deliberately ignore (they carry no conversation): not counted
_IGNORED_TYPES = frozenset(
    {
        "system",
        "progress",
        "file-history-snapshot",
        "file-history-delta",
        "permission-mode",
        "mode",
        "last-prompt",
        "agent-name",
        "pr-link",
        "tag",
        "bridge-session",
        "atis-latch",
        "continued-in",
        "content-replacement",
        "fork-context-ref",
        "worktree-state",
    }
)
_READ_TYPES_B = frozenset(t.encode() for t in _READ_TYPES)
_IGNORED_TYPES_B = frozenset(t.encode() for t in _IGNORED_TYPES)
_QUEUED = b'"queued_command"'
_TOOL_USE_RESULT = b',"toolUseResult":'


def read_lines(
    path: Path,
    main: Transcript,
    stats: ParseStats,
    max_line_bytes: int,
    seen: SeenHashes,
    sidechains: Sidechains | None,
) -> None:
    """Feed every line of `path` to `main` (inline sidechains, when `sidechains` is given, to
    their own transcripts there)."""
    for line in iter_lines(path, stats, max_line_bytes):
        sniffed = sniff_type(line)
        if sniffed is not None and sniffed not in _READ_TYPES_B:
            if sniffed not in _IGNORED_TYPES_B:
                stats.unknown_types[sniffed.decode("utf-8", "replace")] += 1
            continue
        if sniffed == b"attachment" and line.find(_QUEUED) < 0:
            continue  # hook output, file contents…: only queued prompts matter
        obj = _parse_line(line, stats)
        if obj is None:
            continue
        kind = obj.get("type")
        if not isinstance(kind, str):
            stats.malformed["missing_type"] += 1
            continue
        uuid = obj.get("uuid")
        # queue operations carry no uuid: their bytes identify them across copies
        key = hash(uuid) if isinstance(uuid, str) else None
        if key is None and kind == "queue-operation":
            key = hash(line)
        if key is not None and key in seen:
            stats.duplicates += 1
            continue
        target = main
        if (
            sidechains is not None
            and obj.get("isSidechain") is True
            and kind in ("user", "assistant")
        ):
            target = sidechains.route(obj)
        if _apply(target, kind, obj, stats) and key is not None:
            seen.add(key)


def _parse_line(line: bytes, stats: ParseStats) -> dict[str, Any] | None:
    """parse_object, minus the tool output Claude Code repeats in `toolUseResult`.

    That value (a third of a typical transcript's bytes) duplicates the tool_result we read
    from `message`, so when it is the top-level key, parse only what comes before it. Sound
    for the same reason as lines.sniff_type: the key can only match unescaped, and a cut inside any
    nested value leaves brackets open, so the prefix fails to parse and the whole line is
    parsed instead; lines whose message (or uuid) follows the cut are parsed whole too.
    """
    cut = line.find(_TOOL_USE_RESULT)
    if cut > 0:
        try:
            head = orjson.loads(line[:cut] + b"}")
        except orjson.JSONDecodeError:
            head = None
        if isinstance(head, dict) and "message" in head and "uuid" in head:
            return head
    return parse_object(line, stats)


def _apply(target: Transcript, kind: str, obj: dict[str, Any], stats: ParseStats) -> bool:
    """Hand one parsed line to the transcript; False when its shape was wrong (counted)."""
    if kind == "user":
        ok = target.add_user(obj, stats)
    elif kind == "assistant":
        ok = target.add_assistant(obj)
    elif kind == "summary":
        ok = target.add_summary(obj)
    elif kind in ("ai-title", "custom-title"):
        ok = target.add_title(kind, obj)
    elif kind == "queue-operation":
        ok = obj.get("operation") != "enqueue" or target.add_queued(obj.get("content"), obj)
    elif kind == "attachment":
        attachment = obj.get("attachment")
        if not isinstance(attachment, dict) or attachment.get("type") != "queued_command":
            return True
        origin = attachment.get("origin", obj.get("origin"))
        ok = target.add_queued(attachment.get("prompt"), obj, origin)
    elif kind in _IGNORED_TYPES:
        target.note_context(obj)
        return True
    else:
        stats.unknown_types[kind] += 1
        return True
    if not ok:
        stats.malformed["bad_shape"] += 1
    return ok


class Sidechains:
    """Inline (1.0.x) subagent lines, grouped into one transcript per subagent run."""

    def __init__(self, hot_chars: int) -> None:
        self._hot_chars = hot_chars
        self._by_key: dict[str, Transcript] = {}
        self._owner: dict[str, str] = {}  # line uuid -> subagent key
        self._latest: str | None = None

    def route(self, obj: dict[str, Any]) -> Transcript:
        agent, uuid, parent = obj.get("agentId"), obj.get("uuid"), obj.get("parentUuid")
        if isinstance(agent, str) and SAFE_ID.fullmatch(agent):
            key = agent
        elif isinstance(parent, str) and parent in self._owner:
            key = self._owner[parent]
        elif parent is not None and self._latest is not None:
            key = self._latest  # its parent line is missing (cut): keep to the current run
        else:  # a new sidechain starts: its first line has no parent
            seed = re.sub(r"[^A-Za-z0-9]", "", uuid if isinstance(uuid, str) else "")
            key = f"sidechain-{seed[:8] or len(self._by_key) + 1}"
        if isinstance(uuid, str):
            self._owner[uuid] = key
        self._latest = key
        transcript = self._by_key.get(key)
        if transcript is None:
            transcript = self._by_key[key] = Transcript(self._hot_chars)
        return transcript

    def __iter__(self) -> Iterator[tuple[str, Transcript]]:
        return iter(self._by_key.items())
