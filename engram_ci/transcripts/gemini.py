"""Gemini CLI chats -> `Session`s.

`~/.gemini/tmp/<project hash>/chats/session-<time>-<id>.json`: `{sessionId, projectHash,
startTime, lastUpdated, messages: [{id, timestamp, type, content, toolCalls, thoughts,
tokens, model}]}`; headless runs (0.40 and later) write the same records as JSON Lines (a
header line with sessionId/projectHash, then one message a line).
- type "user" is the human, "gemini" the model; "info", "error" and "warning" are the CLI's
  own notes. Content is a string or a list of parts ({text}).
- A tool call carries its result (function-response parts) and a status (success, error,
  cancelled) in the same record.
- The project is known only by the SHA-256 of its root path. The reader recovers the path
  when a tool call names a file inside it (the ancestor whose hash matches); otherwise the
  project is named after the hash (`gemini-1a2b3c4d`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, Final

from engram_ci.transcripts.chat_store import (
    SessionBuilder,
    as_text,
    count,
    jsonl_objects,
    load_document,
    mapping,
    records,
    text_or_none,
)
from engram_ci.transcripts.model import ParseStats, Session, TranscriptGroup, Usage

__all__ = ["discover", "read_session"]

SOURCE: Final = "gemini"
_HASH = re.compile(r"^[0-9a-f]{64}$")
_PATH_KEYS = ("absolute_path", "file_path", "path", "dir_path", "directory")
_NOTES = frozenset({"info", "error", "warning"})


def discover(roots: Sequence[Path]) -> list[TranscriptGroup]:
    groups = []
    for root in roots:
        if not root.is_dir():
            continue
        for pattern in ("*/chats/session-*.json", "*/chats/session-*.jsonl"):
            for path in sorted(root.glob(pattern)):
                session_id = path.name.split(".", 1)[0].removeprefix("session-")
                groups.append(
                    TranscriptGroup(session_id, SOURCE, path, (path,), path.parent.parent)
                )
    return groups


def _records(group: TranscriptGroup, stats: ParseStats) -> tuple[dict[str, Any], list[Any]]:
    """(the header fields, the message records) of a .json or .jsonl chat."""
    if group.main.suffix == ".jsonl":
        header: dict[str, Any] = {}
        messages: list[Any] = []
        for obj in jsonl_objects(group.main, stats):
            if "type" in obj and ("content" in obj or "toolCalls" in obj):
                messages.append(obj)
            else:
                header.update({k: v for k, v in obj.items() if k != "messages"})
                messages.extend(records(obj.get("messages")))
        return header, messages
    document = load_document(group.main, stats)
    if not isinstance(document, dict) or not isinstance(document.get("messages"), list):
        if document is not None:
            stats.malformed["bad_shape"] += 1
        return {}, []
    return document, document["messages"]


def read_session(group: TranscriptGroup, *, project_hint: str | None = None) -> Session | None:
    stats = ParseStats()
    header, messages = _records(group, stats)
    builder = SessionBuilder(SOURCE, stats)
    paths: list[str] = []
    for message in messages:
        if not isinstance(message, dict):
            stats.malformed["bad_shape"] += 1
            continue
        kind, stamp = message.get("type"), text_or_none(message.get("timestamp"))
        if kind == "user":
            builder.user(as_text(message.get("content")), stamp)
        elif kind == "gemini":
            _reply(builder, message, stamp, paths)
        elif not isinstance(kind, str):
            stats.malformed["bad_shape"] += 1
        elif kind not in _NOTES:
            stats.unknown_types[kind] += 1
    project_hash = text_or_none(header.get("projectHash")) or group.folder.name
    builder.cwd = _root_with_hash(project_hash, paths)
    hint = project_hint
    if builder.cwd is None and not hint:
        hint = f"gemini-{project_hash[:8]}" if _HASH.match(project_hash) else project_hash
    session_id = text_or_none(header.get("sessionId")) or group.session_id
    return builder.build(
        group, session_id, project_hint=hint, started_at=text_or_none(header.get("startTime"))
    )


def _reply(
    builder: SessionBuilder, message: dict[str, Any], stamp: str | None, paths: list[str]
) -> None:
    thoughts = [
        f"{t.get('subject', '')}: {t.get('description', '')}".strip(": ")
        for t in records(message.get("thoughts"))
        if isinstance(t, dict)
    ]
    turn = builder.assistant(
        as_text(message.get("content")),
        stamp,
        model=message.get("model"),
        thinking="\n".join(thoughts),
    )
    for call in records(message.get("toolCalls")):
        if not isinstance(call, dict):
            continue
        args = mapping(call.get("args"))
        paths += [v for k, v in args.items() if k in _PATH_KEYS and isinstance(v, str)]
        made = builder.call(turn, call.get("id"), call.get("name"), args, stamp)
        status = call.get("status")
        builder.result(
            made.id, _result_text(call.get("result")), is_error=status in ("error", "cancelled")
        )
    tokens = mapping(message.get("tokens"))
    builder.usage.add(
        Usage(
            input_tokens=count(tokens.get("input")),
            output_tokens=count(tokens.get("output")) + count(tokens.get("thoughts")),
            cache_read_tokens=count(tokens.get("cached")),
        )
    )


def _result_text(result: Any) -> Any:
    """The output of function-response parts, else the result as it is."""
    pieces: list[str] = []
    for part in result if isinstance(result, list) else [result]:
        response = part.get("functionResponse") if isinstance(part, dict) else None
        body = response.get("response") if isinstance(response, dict) else None
        if isinstance(body, dict):
            for key in ("output", "error", "llmContent"):
                if isinstance(body.get(key), str):
                    pieces.append(body[key])
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            pieces.append(part["text"])
    return "\n".join(pieces) if pieces else result


def _root_with_hash(project_hash: str, paths: list[str]) -> str | None:
    """The ancestor of a path the session touched whose SHA-256 is the project's hash."""
    import hashlib  # OpenSSL's start-up is paid only by Gemini sessions that need it

    if not _HASH.match(project_hash):
        return None
    for raw in paths:
        for candidate in _ancestors(raw):
            if hashlib.sha256(candidate.encode()).hexdigest() == project_hash:
                return candidate
    return None


def _ancestors(raw: str) -> Iterator[str]:
    path = PurePosixPath(raw)
    if path.is_absolute():
        yield str(path)
        yield from (str(parent) for parent in path.parents)
