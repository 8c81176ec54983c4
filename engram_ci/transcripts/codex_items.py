"""Codex's item shapes -> text: tool inputs and outputs, message texts, tool kinds.

Pure functions of one item, used by codex_rollout.Rollout. Tool outputs come in every shape
Codex has written over its versions (see output_text), and none may render as "(empty)".
"""

from __future__ import annotations

import re
from typing import Any, Final

import orjson

from engram_ci.transcripts.lines import clip, clip_input
from engram_ci.transcripts.model import ToolKind

__all__ = ["TOOL_KINDS", "call_input", "cwd_from_context", "output_text", "texts_of"]

#: Codex's tools (function names, or the item type for built-in calls) by common kind
TOOL_KINDS: Final[dict[str, ToolKind]] = {
    "shell": "shell",
    "shell_command": "shell",
    "exec_command": "shell",
    "local_shell": "shell",
    "local_shell_call": "shell",
    "container.exec": "shell",
    "unified_exec": "shell",
    "apply_patch": "edit",
    "read_file": "read",
    "view_image": "read",
    "list_dir": "search",
    "grep_files": "search",
    "web_search": "web",
    "web_search_call": "web",
    "spawn_agent": "task",
}
_EXIT_CODE = re.compile(r"^(?:Exit code:|Process exited with code) (-?\d+)", re.M)


_CONTEXT_CWD = re.compile(r"<cwd>(.*?)</cwd>|Current working directory: (.+)")


def cwd_from_context(text: str) -> str | None:
    match = _CONTEXT_CWD.search(text)
    return (match.group(1) or match.group(2)).strip() if match else None


def texts_of(content: Any) -> list[str]:
    """Text of input_text/output_text/summary_text/reasoning_text blocks (or a string)."""
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    return [b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)]


def call_input(item: dict[str, Any], limit: int) -> dict[str, Any]:
    """function_call arguments are a JSON string; custom tools send raw input (a patch)."""
    if item.get("type") in ("local_shell_call", "web_search_call"):
        action = item.get("action")
        return clip_input(action, limit) if isinstance(action, dict) else {}
    raw = item.get("arguments", item.get("input"))
    if isinstance(raw, str):
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            return dict(clip_input(parsed, limit))
        return {"input": clip(raw, limit)}
    return dict(clip_input(raw, limit)) if isinstance(raw, dict) else {}


def output_text(output: Any, limit: int) -> tuple[str, bool]:
    """(text, is_error) of a tool output in any of Codex's shapes over the versions.

    A string (plain, or older versions' JSON {"output", "metadata": {"exit_code"}}), a list
    of content items (input_text, input_image…), one such item, or {content, success}.
    Exec output reports failure as "Process exited with code N" (or "Exit code: N").
    """
    if isinstance(output, str) and output.startswith("{"):
        try:
            parsed = orjson.loads(output)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            output = parsed
    failed = False
    if isinstance(output, dict) and "type" not in output:
        metadata = output.get("metadata")
        code = metadata.get("exit_code") if isinstance(metadata, dict) else None
        failed = output.get("success") is False or (isinstance(code, int) and code != 0)
        output = output.get("output", output.get("content", output.get("content_items", "")))
    text = _items_text(output if isinstance(output, list) else [output], limit)
    code_match = _EXIT_CODE.search(text[:1000])
    return clip(text, limit), failed or bool(code_match and code_match.group(1) != "0")


def _items_text(items: list[Any], limit: int) -> str:
    parts: list[str] = []
    size = 0
    for item in items:
        if isinstance(item, dict):
            kind = item.get("type")
            text = item.get("text")
            piece = text if isinstance(text, str) else f"[{str(kind).removeprefix('input_')}]"
        else:
            piece = "" if item is None else str(item)
        parts.append(piece)
        size += len(piece)
        if size > limit:  # the rest would be cut anyway
            break
    return "\n".join(p for p in parts if p)
