"""OpenCode sessions -> `Session`s, from either of its stores.

- 1.3 and earlier: JSON files under `~/.local/share/opencode/storage/` —
  `session/<project id>/<session id>.json` {id, directory, parentID, title, time},
  `message/<session id>/<message id>.json` {role, time.created, modelID, tokens, path.cwd},
  `part/<message id>/<part id>.json` {type: text | reasoning | tool | …, text, tool, callID,
  state: {status, input, output, error}}.
- 1.4 and later: the same records in SQLite, `~/.local/share/opencode/opencode.db`: tables
  session, message and part, a message's and a part's fields in a JSON `data` column.
A session whose parentID names another (a `task` tool's child) is read as that session's
subagent. Parts are ordered by id (OpenCode's ids sort by creation time).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import orjson

from engram_ci.transcripts.chat_store import (
    SessionBuilder,
    as_text,
    count,
    iso_from_millis,
    load_document,
    mapping,
    text_or_none,
)
from engram_ci.transcripts.lines import THINKING_LIMIT
from engram_ci.transcripts.model import ParseStats, Session, TranscriptGroup, Usage

__all__ = ["discover", "read_session"]

SOURCE: Final = "opencode"
DB_FILE = "opencode.db"
_SEPARATOR = "#"  # a database session's group is `<db>#<session id>`


@dataclass
class _Record:
    """One session as either store holds it."""

    info: dict[str, Any]
    messages: list[tuple[dict[str, Any], list[dict[str, Any]]]] = field(default_factory=list)


def discover(roots: Sequence[Path]) -> list[TranscriptGroup]:
    groups: list[TranscriptGroup] = []
    for root in roots:
        if (root / "storage" / "session").is_dir():
            groups += _discover_files(root / "storage")
        if (root / DB_FILE).is_file():
            groups += _discover_db(root / DB_FILE)
    return groups


def _discover_files(storage: Path) -> list[TranscriptGroup]:
    infos: dict[str, Path] = {}
    parent_of: dict[str, str] = {}
    for path in sorted(storage.glob("session/*/*.json")):
        infos[path.stem] = path
        info = load_document(path, ParseStats())
        if isinstance(info, dict) and isinstance(info.get("parentID"), str):
            parent_of[path.stem] = info["parentID"]
    members: dict[str, list[str]] = defaultdict(list)
    for sid in infos:
        root, above = sid, {sid}
        while root in parent_of and parent_of[root] in infos:
            root = parent_of[root]
            if root in above:  # the parents loop (a damaged store): read it on its own
                root = sid
                break
            above.add(root)
        members[root].append(sid)
    groups = []
    for root, sids in members.items():
        parts: list[Path] = [infos[root]]
        for sid in sids:
            if sid != root:
                parts.append(infos[sid])
            for message in sorted((storage / "message" / sid).glob("*.json")):
                parts.append(message)
                parts += sorted((storage / "part" / message.stem).glob("*.json"))
        groups.append(TranscriptGroup(root, SOURCE, infos[root], tuple(parts), storage))
    return groups


def _discover_db(db: Path) -> list[TranscriptGroup]:
    parts = tuple(p for p in (db, db.with_name(DB_FILE + "-wal")) if p.exists())
    with _connect(db) as conn:
        if conn is None:
            return []
        try:
            rows = conn.execute(
                "SELECT id FROM session WHERE parent_id IS NULL ORDER BY id"
            ).fetchall()
        except sqlite3.Error:
            return []
    return [
        TranscriptGroup(str(sid), SOURCE, Path(f"{db}{_SEPARATOR}{sid}"), parts, db.parent)
        for (sid,) in rows
    ]


@contextlib.contextmanager
def _connect(db: Path) -> Iterator[sqlite3.Connection | None]:
    try:
        # quoted: a `#`, `?` or `%` in the path would end or change the URI's path
        conn = sqlite3.connect(f"file:{quote(str(db))}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        yield None
        return
    try:
        yield conn
    finally:
        conn.close()


def read_session(group: TranscriptGroup, *, project_hint: str | None = None) -> Session | None:
    stats = ParseStats()
    if _SEPARATOR in group.main.name and group.main.name.split(_SEPARATOR)[0] == DB_FILE:
        records = _read_db(Path(str(group.main).rsplit(_SEPARATOR, 1)[0]), group.session_id, stats)
    else:
        records = _read_files(group, stats)
    if not records:
        return None
    sessions = [
        _to_session(group, r, stats if i == 0 else ParseStats(), project_hint)
        for i, r in enumerate(records)
    ]
    main = sessions[0]
    if main is None:
        return None
    for child in sessions[1:]:
        if child is not None:
            child.agent_id, child.agent_type = child.session_id, "task"
            child.session_id, child.project = main.session_id, main.project
            main.subagents.append(child)
    return main


def _read_files(group: TranscriptGroup, stats: ParseStats) -> list[_Record]:
    storage = group.folder
    records = []
    for info_path in (p for p in group.parts if p.parent.parent.name == "session"):
        info = load_document(info_path, stats)
        if not isinstance(info, dict):
            continue
        record = _Record(info)
        for message_path in sorted((storage / "message" / info_path.stem).glob("*.json")):
            message = load_document(message_path, stats)
            if not isinstance(message, dict):
                continue
            part_docs = [
                load_document(p, stats)
                for p in sorted((storage / "part" / message_path.stem).glob("*.json"))
            ]
            record.messages.append((message, [p for p in part_docs if isinstance(p, dict)]))
        records.append(record)
    return records


def _read_db(db: Path, session_id: str, stats: ParseStats) -> list[_Record]:
    with _connect(db) as conn:
        if conn is None:
            stats.malformed["unreadable"] += 1
            return []
        conn.row_factory = sqlite3.Row
        try:
            ids = [session_id] + [
                r["id"]
                for r in conn.execute(
                    "SELECT id FROM session WHERE parent_id = ? ORDER BY id", (session_id,)
                )
            ]
            records = []
            for sid in ids:
                row = conn.execute("SELECT * FROM session WHERE id = ?", (sid,)).fetchone()
                if row is None:
                    continue
                # sqlite3.Row iterates its values: its keys() are the column names
                record = _Record({k: row[k] for k in row.keys()})  # noqa: SIM118
                parts: dict[str, list[dict[str, Any]]] = defaultdict(list)
                for part in conn.execute(
                    "SELECT message_id, data FROM part WHERE session_id = ? ORDER BY id", (sid,)
                ):
                    if (data := _json(part["data"], stats)) is not None:
                        parts[part["message_id"]].append(data)
                for message in conn.execute(
                    "SELECT id, data FROM message WHERE session_id = ? ORDER BY id", (sid,)
                ):
                    if (data := _json(message["data"], stats)) is not None:
                        record.messages.append((data, parts.get(message["id"], [])))
                records.append(record)
        except sqlite3.Error:
            stats.malformed["unreadable"] += 1
            return []
    return records


def _json(raw: Any, stats: ParseStats) -> dict[str, Any] | None:
    stats.lines += 1
    try:
        value = orjson.loads(raw)
    except (orjson.JSONDecodeError, TypeError):
        stats.malformed["bad_json"] += 1
        return None
    if not isinstance(value, dict):
        stats.malformed["not_object"] += 1
        return None
    return value


def _to_session(
    group: TranscriptGroup, record: _Record, stats: ParseStats, project_hint: str | None
) -> Session | None:
    info = record.info
    builder = SessionBuilder(SOURCE, stats)
    builder.cwd = text_or_none(info.get("directory"))
    builder.title = text_or_none(info.get("title"))
    builder.version = text_or_none(info.get("version"))
    for message, parts in record.messages:
        role = message.get("role")
        time = mapping(message.get("time"))
        stamp = iso_from_millis(time.get("created"))
        if builder.cwd is None and isinstance(message.get("path"), dict):
            builder.cwd = text_or_none(message["path"].get("cwd"))
        if role == "user":
            for part in parts:
                if part.get("type") == "text" and not part.get("synthetic"):
                    builder.user(part.get("text"), stamp)
        elif role == "assistant":
            _assistant(builder, message, parts, stamp)
        else:
            stats.unknown_types[str(role)] += 1
    time = mapping(info.get("time"))
    started = iso_from_millis(time.get("created") or info.get("time_created"))
    sid = text_or_none(info.get("id")) or group.session_id
    return builder.build(group, sid, project_hint=project_hint, started_at=started)


def _assistant(
    builder: SessionBuilder, message: dict[str, Any], parts: list[dict[str, Any]], stamp: str | None
) -> None:
    model = text_or_none(message.get("modelID"))
    turn = builder.assistant("", stamp, model=model)
    for part in parts:
        kind = part.get("type")
        text = part.get("text") if isinstance(part.get("text"), str) else None
        if kind == "text" and text:
            if turn.tool_calls:  # text after tool calls: the reply goes on in a new turn
                turn = builder.assistant("", stamp, model=model)
            turn.text = as_text(f"{turn.text}\n{text}" if turn.text else text)
        elif kind == "reasoning" and text:
            turn.thinking = as_text(
                f"{turn.thinking}\n{text}" if turn.thinking else text, THINKING_LIMIT
            )
        elif kind == "tool":
            state = mapping(part.get("state"))
            call = builder.call(
                turn, part.get("callID"), part.get("tool"), state.get("input"), stamp
            )
            output = state.get("output", state.get("error"))
            if output is not None:
                builder.result(call.id, output, is_error=state.get("status") == "error")
    tokens = mapping(message.get("tokens"))
    cache = mapping(tokens.get("cache"))
    builder.usage.add(
        Usage(
            input_tokens=count(tokens.get("input")),
            output_tokens=count(tokens.get("output")) + count(tokens.get("reasoning")),
            cache_read_tokens=count(cache.get("read")),
            cache_creation_tokens=count(cache.get("write")),
        )
    )
