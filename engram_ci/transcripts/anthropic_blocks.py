"""Anthropic-style message content (text, thinking, tool_use, tool_result blocks), which
Cursor's agent transcripts, Cline / Roo Code task histories and Amp threads all store.

`add_message` maps one `{role, content}` message onto a SessionBuilder; each agent's reader
says how its own tool_result blocks name their call and carry their output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engram_ci.transcripts.chat_store import SessionBuilder, as_text

__all__ = ["ResultFields", "add_message", "anthropic_result"]

#: (call id, output, is_error) of a tool_result block, or None when it is not one
ResultFields = Callable[[dict[str, Any]], tuple[str | None, Any, bool]]


def anthropic_result(block: dict[str, Any]) -> tuple[str | None, Any, bool]:
    return block.get("tool_use_id"), block.get("content"), bool(block.get("is_error"))


def add_message(
    builder: SessionBuilder,
    role: Any,
    content: Any,
    timestamp: str | None = None,
    *,
    model: str | None = None,
    result_fields: ResultFields = anthropic_result,
    is_injected: Callable[[str], bool] = lambda text: False,
    clean_prompt: Callable[[str], str] = lambda text: text,
) -> None:
    """One message. User text is the human's prompt unless `is_injected` says the agent
    wrote it (environment details, reminders); `clean_prompt` unwraps an agent's markup."""
    blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
    if role == "assistant":
        turn = builder.assistant("", timestamp, model=model)
        texts: list[str] = []
        thinking: list[str] = []
        for block in blocks:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text" and isinstance(block.get("text"), str):
                texts.append(block["text"])
            elif kind in ("thinking", "reasoning") and isinstance(block.get("thinking"), str):
                thinking.append(block["thinking"])
            elif kind == "tool_use":
                builder.call(
                    turn, block.get("id"), str(block.get("name") or ""), block.get("input")
                )
            elif kind == "tool_result":  # some agents keep results beside their calls
                call_id, output, failed = result_fields(block)
                builder.result(call_id, output, is_error=failed)
        turn.text = as_text("\n".join(texts))
        turn.thinking = as_text("\n".join(thinking)) if thinking else ""
        return
    if role != "user":
        return
    texts = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "tool_result":
            call_id, output, failed = result_fields(block)
            builder.result(call_id, output, is_error=failed)
        elif kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
    for text in texts:
        if is_injected(text):
            builder.user(text, timestamp, injected=True)
        else:
            builder.user(clean_prompt(text), timestamp)
