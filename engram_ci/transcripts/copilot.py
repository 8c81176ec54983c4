"""GitHub Copilot CLI sessions -> `Session`s.

`~/.copilot/session-state/<session uuid>/events.jsonl` (older versions: a flat
`<uuid>.jsonl` beside them): one event a line, `{type, id, timestamp, parentId, data}`.
- `session.start`: data.sessionId, data.copilotVersion, data.context {cwd, branch, …}.
- `user.message`: data.content, the human's prompt (data.transformedContent is what the model
  saw, with injected context: not the human's words).
- `assistant.message`: data.content and data.toolRequests [{toolCallId, name, arguments}].
- `tool.execution_start` / `tool.execution_complete` {toolCallId, success, result: {content},
  error}; `assistant.usage` {model, inputTokens, outputTokens, cacheReadTokens, …}.
Other events (session.info, assistant.turn_start, …) carry no conversation and are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from engram_ci.transcripts.chat_store import (
    SessionBuilder,
    count,
    jsonl_objects,
    mapping,
    records,
    text_or_none,
)
from engram_ci.transcripts.lines import timestamp_of
from engram_ci.transcripts.model import ParseStats, Session, TranscriptGroup, Usage

__all__ = ["discover", "read_session"]

SOURCE: Final = "copilot"
_QUIET = frozenset(
    {
        "session.info",
        "session.model_change",
        "session.resume",
        "session.error",
        "session.truncation",
        "session.compaction_start",
        "session.compaction_complete",
        "session.idle",
        "assistant.turn_start",
        "assistant.turn_end",
        "assistant.intent",
        "assistant.reasoning",
        "assistant.message_delta",
        "tool.execution_start",
        "tool.execution_partial_result",
        "tool.user_requested",
        "hook.start",
        "hook.end",
        "abort",
    }
)


def discover(roots: Sequence[Path]) -> list[TranscriptGroup]:
    groups = []
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.glob("*/events.jsonl")):
            groups.append(TranscriptGroup(path.parent.name, SOURCE, path, (path,), path.parent))
        for path in sorted(root.glob("*.jsonl")):
            groups.append(TranscriptGroup(path.stem, SOURCE, path, (path,), root))
    return groups


def read_session(group: TranscriptGroup, *, project_hint: str | None = None) -> Session | None:
    stats = ParseStats()
    builder = SessionBuilder(SOURCE, stats)
    session_id = group.session_id
    for event in jsonl_objects(group.main, stats):
        kind, data, stamp = event.get("type"), event.get("data"), timestamp_of(event)
        if not isinstance(data, dict):
            data = {}
        if kind == "session.start":
            session_id = str(data.get("sessionId") or session_id)
            builder.version = text_or_none(data.get("copilotVersion"))
            context = mapping(data.get("context"))
            builder.cwd = text_or_none(context.get("cwd")) or text_or_none(context.get("gitRoot"))
            builder.git_branch = text_or_none(context.get("branch"))
        elif kind == "user.message":
            builder.user(data.get("content"), stamp)
        elif kind == "assistant.message":
            turn = builder.assistant(data.get("content"), stamp)
            for request in records(data.get("toolRequests")):
                if isinstance(request, dict):
                    builder.call(
                        turn,
                        request.get("toolCallId"),
                        request.get("name"),
                        request.get("arguments"),
                        stamp,
                    )
        elif kind == "tool.execution_complete":
            result = mapping(data.get("result"))
            error = data.get("error")
            output: Any = result.get("content", error)
            builder.result(data.get("toolCallId"), output, is_error=data.get("success") is False)
        elif kind == "assistant.usage":
            model = text_or_none(data.get("model"))
            if model and model not in builder.models:
                builder.models.append(model)
            builder.usage.add(
                Usage(
                    input_tokens=count(data.get("inputTokens")),
                    output_tokens=count(data.get("outputTokens")),
                    cache_read_tokens=count(data.get("cacheReadTokens")),
                    cache_creation_tokens=count(data.get("cacheWriteTokens")),
                )
            )
        elif not isinstance(kind, str):
            stats.malformed["bad_shape"] += 1
        elif kind not in _QUIET:
            stats.unknown_types[kind] += 1
    return builder.build(group, session_id, project_hint=project_hint)
