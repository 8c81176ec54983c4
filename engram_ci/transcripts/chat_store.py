"""What the readers of chat-store agents share (Cursor, Cline, Copilot CLI, Gemini CLI,
OpenCode, Amp).

These agents keep a session as a JSON document, a small JSONL event log or database rows,
not the long append-only streams of Claude Code and Codex, so their readers are small: each
maps its own records onto a `SessionBuilder`, which pairs tool calls with their results,
clips every text the way lines.py does (dropping `<private>` parts), and gives each call a
common ToolKind from its vendor name (`tool_kind`), so extraction never sees vendor names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from engram_ci.transcripts.lines import (
    RESULT_LIMIT,
    TEXT_LIMIT,
    THINKING_LIMIT,
    clip,
    clip_input,
    has_conversation,
    iter_lines,
    parse_object,
    pick_project,
    text_of,
)
from engram_ci.transcripts.model import (
    ParseStats,
    Session,
    ToolCall,
    ToolKind,
    TranscriptGroup,
    Turn,
    Usage,
)

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "SessionBuilder",
    "as_text",
    "count",
    "iso_from_millis",
    "jsonl_objects",
    "load_document",
    "mapping",
    "path_from_uri",
    "records",
    "text_or_none",
    "tool_kind",
]

#: a session document larger than this is skipped (counted) rather than read whole
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024

#: vendor tool names by the words in them; the first rule whose words all occur wins
_KIND_RULES: tuple[tuple[ToolKind, tuple[str, ...]], ...] = (
    ("task", ("subagent",)),
    ("task", ("task",)),
    ("task", ("agent",)),
    ("web", ("web",)),
    ("web", ("fetch",)),
    ("web", ("browser",)),
    ("web", ("url",)),
    ("shell", ("shell",)),
    ("shell", ("bash",)),
    ("shell", ("terminal",)),
    ("shell", ("command",)),
    ("shell", ("exec",)),
    ("shell", ("run",)),
    ("shell", ("powershell",)),
    ("edit", ("patch",)),
    ("edit", ("replace",)),
    ("edit", ("edit",)),
    ("edit", ("diff",)),
    ("write", ("write",)),
    ("write", ("create", "file")),
    ("write", ("save",)),
    ("search", ("grep",)),
    ("search", ("glob",)),
    ("search", ("search",)),
    ("search", ("find",)),
    ("search", ("list",)),
    ("search", ("ls",)),
    ("read", ("read",)),
    ("read", ("view",)),
    ("read", ("cat",)),
    ("read", ("open",)),
)
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def tool_kind(name: str) -> ToolKind:
    """The common kind of a vendor tool name: `run_terminal_cmd` → shell, `str_replace` →
    edit, `write_to_file` → write, `read_file` → read, `codebase_search` → search."""
    words = {w.lower() for w in _WORD.findall(name)}
    for kind, needed in _KIND_RULES:
        if all(word in words for word in needed):
            return kind
    return "other"


def load_document(path: Path, stats: ParseStats) -> Any:
    """A whole JSON file, or None with the reason counted (missing, too large, bad JSON)."""
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            stats.malformed["too_long"] += 1
            return None
        data = path.read_bytes()
    except OSError:
        stats.malformed["unreadable"] += 1
        return None
    stats.lines += 1
    stats.bytes += len(data)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        stats.malformed["bad_json"] += 1
        return None


def jsonl_objects(path: Path, stats: ParseStats) -> Iterator[dict[str, Any]]:
    """Every line of a JSONL file that is a JSON object (the rest counted in stats)."""
    for line in iter_lines(path, stats):
        obj = parse_object(line, stats)
        if obj is not None:
            yield obj


def iso_from_millis(value: Any) -> str | None:
    """Epoch milliseconds (or an ISO string already) as an ISO 8601 UTC timestamp."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        try:
            moment = datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return None
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return None


def path_from_uri(uri: Any) -> str | None:
    """`file:///home/me/app` → /home/me/app; a plain path is returned as it is."""
    if not isinstance(uri, str) or not uri:
        return None
    if uri.startswith("file:"):
        parts = urlsplit(uri)
        return unquote(parts.path) or None
    return uri


def mapping(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one (records' optional fields)."""
    return value if isinstance(value, dict) else {}


def records(value: Any) -> list[Any]:
    """`value` when it is a JSON array, else an empty one (a list field that holds something
    else, which a damaged or foreign document may: each item is still checked by its reader)."""
    return value if isinstance(value, list) else []


def text_or_none(value: Any) -> str | None:
    """A non-empty string field, else None."""
    return value if isinstance(value, str) and value else None


def count(value: Any) -> int:
    """A token count field: a positive int, else 0 (missing, null, negative, a bool)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def as_text(value: Any, limit: int = TEXT_LIMIT) -> str:
    """Text of a message's content: a string, or a list of text blocks/strings."""
    if isinstance(value, str):
        return clip(value, limit)
    if isinstance(value, list):
        pieces = []
        for item in value:
            if isinstance(item, str):
                pieces.append(item)
            elif isinstance(item, dict) and isinstance(item.get("text"), str):
                pieces.append(item["text"])
        return clip("\n".join(pieces), limit)
    return ""


class SessionBuilder:
    """Collects one session's turns in order and makes the `Session`."""

    def __init__(self, source: str, stats: ParseStats | None = None) -> None:
        self.source = source
        self.stats = stats or ParseStats()
        self.turns: list[Turn] = []
        self.usage = Usage()
        self.models: list[str] = []
        self.cwd: str | None = None
        self.git_branch: str | None = None
        self.title: str | None = None
        self.version: str | None = None
        self._calls: dict[str, ToolCall] = {}
        self._stamps: list[str] = []

    # -- turns -------------------------------------------------------------------------------

    # The records' fields reach these methods as the document holds them: each checks its
    # own (an id, a name, a stamp that is a list or an object is dropped, not trusted), so one
    # damaged field costs that field, never the session.

    def user(self, text: object, timestamp: object = None, *, injected: bool = False) -> None:
        """A user turn: the human's prompt, or (`injected`) text the agent put there."""
        said, stamp = text if isinstance(text, str) else "", text_or_none(timestamp)
        if said.strip():
            self.turns.append(Turn("user", clip(said, TEXT_LIMIT), stamp, is_meta=injected))
            self._stamp(stamp)

    def assistant(
        self,
        text: object = "",
        timestamp: object = None,
        *,
        model: object = None,
        thinking: object = "",
    ) -> Turn:
        """An assistant turn; tool calls made in it go through `call`."""
        said, stamp = text if isinstance(text, str) else "", text_or_none(timestamp)
        named, thought = text_or_none(model), thinking if isinstance(thinking, str) else ""
        turn = Turn(
            "assistant",
            clip(said, TEXT_LIMIT),
            stamp,
            model=named,
            thinking=clip(thought, THINKING_LIMIT) if thought else "",
        )
        self.turns.append(turn)
        self._stamp(stamp)
        if named and named not in self.models:
            self.models.append(named)
        return turn

    def call(
        self,
        turn: Turn,
        call_id: object,
        name: object,
        arguments: Any,
        timestamp: object = None,
    ) -> ToolCall:
        if isinstance(arguments, str):  # some agents keep arguments as a JSON string
            try:
                arguments = orjson.loads(arguments)
            except orjson.JSONDecodeError:
                arguments = {"input": arguments}
        arguments = arguments if isinstance(arguments, dict) else {"input": arguments}
        ident = text_or_none(call_id) or f"call-{len(self._calls)}"
        tool = text_or_none(name)
        call = ToolCall(
            ident,
            tool or "unknown",
            clip_input(arguments),
            timestamp=text_or_none(timestamp),
            kind=tool_kind(tool or ""),
        )
        turn.tool_calls.append(call)
        self._calls[ident] = call
        return call

    def result(self, call_id: object, output: Any, *, is_error: bool = False) -> None:
        """The result of an earlier call (an unknown id is counted as an orphan)."""
        call = self._calls.get(text_or_none(call_id) or "")
        if call is None:
            self.stats.orphan_results += 1
            return
        call.result = (
            text_of(output, RESULT_LIMIT)
            if not isinstance(output, dict)
            else (clip(orjson.dumps(output).decode(), RESULT_LIMIT))
        )
        call.is_error = call.is_error or is_error

    def _stamp(self, timestamp: str | None) -> None:
        if timestamp:
            self._stamps.append(timestamp)

    # -- the session -------------------------------------------------------------------------

    def build(
        self,
        group: TranscriptGroup,
        session_id: str,
        *,
        project_hint: str | None = None,
        default_project: str | None = None,
        started_at: str | None = None,
    ) -> Session | None:
        """The Session, or None when it holds no conversation."""
        turns = [t for t in self.turns if t.role == "user" or t.text or t.tool_calls or t.thinking]
        if not has_conversation(turns):
            return None
        stamps = sorted(self._stamps)
        return Session(
            session_id=session_id,
            source=self.source,
            project=pick_project(self.cwd, project_hint, None, default_project or self.source),
            transcripts=list(group.parts),
            cwd=self.cwd,
            git_branch=self.git_branch,
            version=self.version,
            title=self.title,
            started_at=started_at or (stamps[0] if stamps else None),
            ended_at=stamps[-1] if stamps else None,
            models=self.models,
            turns=turns,
            usage=self.usage,
            stats=self.stats,
        )
