"""Cursor CLI (cursor-agent) transcripts -> `Session`s.

`~/.cursor/projects/<project>/agent-transcripts/<session>.jsonl`: one `{role, message:
{content: [...]}}` line per message, content in Anthropic's block shapes, plus bookkeeping
records (`turn_ended`, …) that carry no conversation. The human's prompt is wrapped in
`<user_query>`; other user text (attached files, rules) is the agent's context, not a prompt.
The project folder is the workspace path with separators turned to '-', so its name is
lossy: the reader prefers a cwd any record states.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from engram_ci.transcripts.anthropic_blocks import add_message
from engram_ci.transcripts.chat_store import (
    SessionBuilder,
    iso_from_millis,
    jsonl_objects,
    text_or_none,
)
from engram_ci.transcripts.lines import project_from_folder, timestamp_of
from engram_ci.transcripts.model import ParseStats, Session, TranscriptGroup

__all__ = ["discover", "read_session"]

SOURCE: Final = "cursor"
_QUERY = re.compile(r"<user_query>\s*(.*?)\s*</user_query>", re.S)
_BOOKKEEPING = frozenset({"turn_ended", "turn_started", "summary", "checkpoint"})


def discover(roots: Sequence[Path]) -> list[TranscriptGroup]:
    groups = []
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.glob("*/agent-transcripts/*.jsonl")):
            groups.append(TranscriptGroup(path.stem, SOURCE, path, (path,), path.parent.parent))
    return groups


def _injected(text: str) -> bool:
    return "<user_query>" not in text and text.lstrip().startswith("<")


def _prompt(text: str) -> str:
    found = _QUERY.search(text)
    return found.group(1) if found else text


def read_session(group: TranscriptGroup, *, project_hint: str | None = None) -> Session | None:
    stats = ParseStats()
    builder = SessionBuilder(SOURCE, stats)
    for obj in jsonl_objects(group.main, stats):
        role = obj.get("role")
        if isinstance(obj.get("cwd"), str):
            builder.cwd = obj["cwd"]
        message = obj.get("message")
        if role in ("user", "assistant") and isinstance(message, dict):
            add_message(
                builder,
                role,
                message.get("content"),
                timestamp_of(obj),
                model=message.get("model") if isinstance(message.get("model"), str) else None,
                is_injected=_injected,
                clean_prompt=_prompt,
            )
        elif text_or_none(obj.get("type")) in _BOOKKEEPING:
            continue
        else:
            stats.unknown_types[str(obj.get("type") or role or "unknown")] += 1
    hint = project_hint or project_from_folder("-" + group.folder.name)
    return builder.build(group, group.session_id, project_hint=hint, started_at=_file_time(group))


def _file_time(group: TranscriptGroup) -> str | None:
    """Cursor's lines carry no time: the transcript's modification time stands in."""
    try:
        return iso_from_millis(group.main.stat().st_mtime * 1000)
    except OSError:
        return None
