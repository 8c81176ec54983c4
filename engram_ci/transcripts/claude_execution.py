"""claude-code-action's execution file as a transcript source (registered as `claude-execution`).

claude-code-action writes `$RUNNER_TEMP/claude-execution-output.json` (its `execution_file`
output): ONE JSON array of the Agent SDK's messages, not Claude Code's JSONL transcript —
- `{"type":"system","subtype":"init","session_id","model","cwd","tools",...}` first,
- `{"type":"assistant","message":{id, model, content[], usage},"parent_tool_use_id"}`, one
  content block per message with the reply's `message.id` shared (merged like JSONL lines),
- `{"type":"user","message":{"content":[tool_result…]|str},"parent_tool_use_id"}`,
- `{"type":"result","subtype","is_error","num_turns","result",...}` last.
No timestamps, and the prompt itself is not in it (claude-code-action reads it from a file).
Messages with a `parent_tool_use_id` belong to a subagent (the Task call of that id).

The assistant/user messages have Claude Code's line shape, so claude_turns.Transcript
assembles the turns, exactly as for a JSONL transcript. The session id, model and cwd come
from system/init; the project is the cwd's last component, else the hint, else the
repository's name (GITHUB_REPOSITORY: the file only exists inside an Actions job), else the
session id. Roots are the execution files themselves or folders holding one (the runner's
temp folder, the default). A session also found by an earlier reader (the same run staged as
a JSONL transcript) is ingested once, from there (ingest: first reader wins).

A broken file is skipped with a warning, like any reader's; the Action checks a file the
user named with `read_messages` first, so that case is one error naming the input.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import orjson

from engram_ci.errors import FatalError, Fix
from engram_ci.transcripts.claude_turns import Transcript
from engram_ci.transcripts.lines import has_conversation, pick_project
from engram_ci.transcripts.model import ParseStats, Session, TranscriptGroup

__all__ = ["FILE_NAME", "MAX_BYTES", "SOURCE", "discover", "read_messages", "read_session"]

SOURCE: Final = "claude-execution"
FILE_NAME = "claude-execution-output.json"

log = logging.getLogger("engram_ci")

#: a longer agent run than any CI job makes; past it the file is refused, not loaded
MAX_BYTES = 256 * 1024 * 1024
_FIX = Fix(
    "point {option} at claude-code-action's execution_file output",
    flag="--claude-action-dir",
    input="execution-file",
)


def read_messages(path: Path) -> list[dict[str, Any]]:
    """The file's messages (objects only); FatalError when it is not a JSON array."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise FatalError(f"execution file {path} is {size} bytes, over {MAX_BYTES}", fix=_FIX)
        data = orjson.loads(path.read_bytes())
    except OSError as error:
        problem = f"cannot read execution file {path} ({error.strerror})"
        raise FatalError(problem, fix=_FIX) from None
    except orjson.JSONDecodeError as error:
        raise FatalError(f"execution file {path} is not JSON ({error})", fix=_FIX) from None
    if not isinstance(data, list):
        raise FatalError(f"execution file {path} is not a JSON array of messages", fix=_FIX)
    return [message for message in data if isinstance(message, dict)]


def _init_of(messages: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return next(
        (m for m in messages if m.get("type") == "system" and m.get("subtype") == "init"), {}
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _files(roots: Sequence[Path]) -> list[Path]:
    found = [root if root.is_file() else root / FILE_NAME for root in roots]
    return [path for path in dict.fromkeys(found) if path.is_file()]


def discover(roots: Sequence[Path]) -> list[TranscriptGroup]:
    groups = []
    for path in _files(roots):
        try:
            messages = read_messages(path)
        except FatalError as error:
            log.warning("skipping %s: %s", path, error.problem)
            continue
        session_id = _text(_init_of(messages).get("session_id")) or next(
            (s for m in messages if (s := _text(m.get("session_id")))), None
        )
        if session_id is None:
            log.warning("skipping %s: no message names a session_id", path)
            continue
        groups.append(TranscriptGroup(session_id, SOURCE, path, (path,), path.parent))
    return groups


def read_session(group: TranscriptGroup, *, project_hint: str | None = None) -> Session | None:
    try:
        messages = read_messages(group.main)
    except FatalError:
        return None  # changed since discovery into something unreadable: the next run sees it
    init = _init_of(messages)
    main = Transcript()
    agents: dict[str, Transcript] = {}
    stats = ParseStats(lines=len(messages), bytes=group.main.stat().st_size)
    for message in messages:
        kind = message.get("type")
        parent = _text(message.get("parent_tool_use_id"))
        target = main if parent is None else agents.setdefault(parent, Transcript())
        if kind == "assistant":
            ok = target.add_assistant(message)
        elif kind == "user":
            ok = target.add_user(message, stats)
        elif kind in ("system", "result"):
            continue  # init is read above; the result repeats the last reply
        else:
            stats.unknown_types[str(kind)] += 1
            continue
        if not ok:
            stats.malformed["bad_shape"] += 1
    subagents = [
        agent.to_session(group.session_id, "", [group.main], ParseStats(), agent_id=key)
        for key, agent in agents.items()
        if has_conversation(agent.turns)
    ]
    if not has_conversation(main.turns) and not subagents:
        return None
    cwd = _text(init.get("cwd"))
    repository = os.environ.get("GITHUB_REPOSITORY", "").rpartition("/")[2] or None
    project = pick_project(cwd, project_hint or repository, None, default=group.session_id)
    session = main.to_session(group.session_id, project, [group.main], stats)
    session.source = SOURCE
    session.cwd = cwd
    session.version = _text(init.get("claude_code_version"))
    model = _text(init.get("model"))
    if model and model not in session.models:
        session.models.insert(0, model)
    for agent in subagents:
        agent.project = project
        agent.source = SOURCE
    session.subagents = subagents
    return session
