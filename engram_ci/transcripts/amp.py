"""Amp threads -> `Session`s.

`~/.local/share/amp/threads/T-<uuid>.json` (under $XDG_DATA_HOME when set), one JSON document
per thread: `{id, created (epoch ms), title, env: {initial: {trees: [{uri: file:///…}]}},
messages: [{role, content: [blocks], meta: {sentAt}, usage: {model, inputTokens, …}}]}`.
Content blocks follow Anthropic's shapes, except that a tool_result names its call in
`toolUseID` and carries `run: {status, result | progress}`; status error, cancelled or
rejected-by-user is a failed call. The workspace is the first tree's file URI.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from engram_ci.transcripts.anthropic_blocks import add_message
from engram_ci.transcripts.chat_store import (
    SessionBuilder,
    count,
    iso_from_millis,
    load_document,
    mapping,
    path_from_uri,
    text_or_none,
)
from engram_ci.transcripts.model import ParseStats, Session, TranscriptGroup, Usage

__all__ = ["discover", "read_session"]

SOURCE: Final = "amp"
_FAILED = frozenset({"error", "cancelled", "rejected-by-user"})


def discover(roots: Sequence[Path]) -> list[TranscriptGroup]:
    groups = []
    for root in roots:
        if root.is_dir():
            for path in sorted(root.glob("T-*.json")):
                groups.append(TranscriptGroup(path.stem, SOURCE, path, (path,), root))
    return groups


def _result(block: dict[str, Any]) -> tuple[str | None, Any, bool]:
    run = mapping(block.get("run"))
    status = run.get("status")
    output = run.get("result", run.get("progress"))
    if output is None and status:
        output = f"[{status}]"
    call_id = block.get("toolUseID") or block.get("tool_use_id")
    return call_id, output, text_or_none(status) in _FAILED


def read_session(group: TranscriptGroup, *, project_hint: str | None = None) -> Session | None:
    stats = ParseStats()
    thread = load_document(group.main, stats)
    if not isinstance(thread, dict) or not isinstance(thread.get("messages"), list):
        if thread is not None:
            stats.malformed["bad_shape"] += 1
        return None
    builder = SessionBuilder(SOURCE, stats)
    builder.title = thread.get("title") if isinstance(thread.get("title"), str) else None
    initial = mapping(thread.get("env")).get("initial")
    if isinstance(initial, dict):
        trees = initial.get("trees") if isinstance(initial.get("trees"), list) else []
        first = trees[0] if trees and isinstance(trees[0], dict) else {}
        builder.cwd = (
            initial.get("cwd")
            if isinstance(initial.get("cwd"), str)
            else path_from_uri(first.get("uri"))
        )
    for message in thread["messages"]:
        if not isinstance(message, dict):
            stats.malformed["bad_shape"] += 1
            continue
        role = message.get("role")
        meta = mapping(message.get("meta"))
        usage = mapping(message.get("usage"))
        model = usage.get("model") if isinstance(usage.get("model"), str) else None
        if role in ("user", "assistant"):
            add_message(
                builder,
                role,
                message.get("content"),
                iso_from_millis(meta.get("sentAt")),
                model=model,
                result_fields=_result,
            )
            builder.usage.add(
                Usage(
                    input_tokens=count(usage.get("inputTokens")),
                    output_tokens=count(usage.get("outputTokens")),
                    cache_read_tokens=count(usage.get("cacheReadInputTokens")),
                    cache_creation_tokens=count(usage.get("cacheCreationInputTokens")),
                )
            )
        elif role != "info":
            stats.unknown_types[str(role)] += 1
    session_id = str(thread.get("id") or group.session_id)
    return builder.build(
        group,
        session_id,
        project_hint=project_hint,
        started_at=iso_from_millis(thread.get("created")),
    )
