"""Cline, Roo Code and Kilo Code tasks -> `Session`s (the three share Cline's task store).

`<editor>/User/globalStorage/<extension>/tasks/<taskId>/api_conversation_history.json` is the
message array sent to the model, in Anthropic's shapes; ui_messages.json and
task_metadata.json sit beside it. The task id is the epoch milliseconds it began.

What the reader has to know about it:
- The human's words come wrapped (`<task>…</task>` first, `<feedback>`/`<answer>` later);
  `<environment_details>` blocks, `[TASK RESUMPTION]` notes and tool results are the agent's
  own text, never prompts.
- The workspace is only stated inside the environment details ("# Current Working
  Directory (/path) Files" in Cline, "Workspace" in Roo Code).
- Tools are native tool_use blocks in newer versions and XML in the reply text in older
  ones (`<execute_command><command>npm test</command></execute_command>`), their results a
  user text block "[execute_command for 'npm test'] Result: …". Both are read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from engram_ci.transcripts.anthropic_blocks import add_message
from engram_ci.transcripts.chat_store import SessionBuilder, iso_from_millis, load_document
from engram_ci.transcripts.model import ParseStats, Session, TranscriptGroup

__all__ = [
    "HISTORY_FILE",
    "discover",
    "read_session",
]

SOURCE: Final = "cline"
HISTORY_FILE = "api_conversation_history.json"
_CWD = re.compile(r"# Current (?:Working|Workspace) Directory \((.+?)\)")
_WRAPPED = re.compile(r"<(task|feedback|answer|user_message)>\s*(.*?)\s*</\1>", re.S)
_RESULT = re.compile(r"^\[(\w+)(?: for '.*?')?\] Result:\s*", re.S)
_XML_TOOLS = (
    "execute_command|read_file|write_to_file|replace_in_file|apply_diff|insert_content|"
    "search_and_replace|search_files|list_files|list_code_definition_names|browser_action|"
    "use_mcp_tool|access_mcp_resource|ask_followup_question|attempt_completion|new_task|"
    "codebase_search|fetch_instructions|switch_mode"
)
_XML_CALL = re.compile(rf"<({_XML_TOOLS})>(.*?)</\1>", re.S)
_XML_PARAM = re.compile(r"<(\w+)>(.*?)</\1>", re.S)
_FAILED = re.compile(r"\[ERROR\]|Exit code: [1-9]|Command failed|The tool execution failed")


def discover(roots: Sequence[Path]) -> list[TranscriptGroup]:
    groups = []
    for root in roots:
        if not root.is_dir():
            continue
        for history in sorted(root.glob(f"*/{HISTORY_FILE}")):
            task = history.parent
            parts = [history, *(p for p in sorted(task.glob("*.json")) if p != history)]
            groups.append(TranscriptGroup(task.name, SOURCE, history, tuple(parts), task))
    return groups


def read_session(group: TranscriptGroup, *, project_hint: str | None = None) -> Session | None:
    stats = ParseStats()
    messages = load_document(group.main, stats)
    if not isinstance(messages, list):
        if messages is not None:
            stats.malformed["bad_shape"] += 1
        return None
    builder = SessionBuilder(SOURCE, stats)
    pending: list[tuple[str, str]] = []  # XML calls (name, id) awaiting their result text
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            stats.malformed["bad_shape"] += 1
            continue
        stamp = iso_from_millis(message.get("ts"))
        content = message.get("content")
        if message["role"] == "user":
            _user(builder, content, stamp, pending)
        else:
            add_message(builder, "assistant", content, stamp)
            _xml_calls(builder, pending)
    started = iso_from_millis(int(group.session_id)) if group.session_id.isdigit() else None
    return builder.build(group, group.session_id, project_hint=project_hint, started_at=started)


def _user(
    builder: SessionBuilder, content: Any, stamp: str | None, pending: list[tuple[str, str]]
) -> None:
    blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
    for block in blocks:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "tool_result":
            output = block.get("content")
            builder.result(block.get("tool_use_id"), output, is_error=bool(block.get("is_error")))
            continue
        text = block.get("text")
        if block.get("type") != "text" or not isinstance(text, str):
            continue
        if builder.cwd is None and (found := _CWD.search(text)):
            builder.cwd = found.group(1)
        if (result := _RESULT.match(text)) and pending:
            name = result.group(1)
            index = next((i for i, (n, _) in enumerate(pending) if n == name), 0)
            _, call_id = pending.pop(index)
            body = text[result.end() :]
            builder.result(call_id, body, is_error=bool(_FAILED.search(body[:2000])))
            continue
        wrapped = _WRAPPED.findall(text)
        if wrapped:
            for _, said in wrapped:
                builder.user(said, stamp)
        else:
            # environment details, resumption notes, errors: the agent's own context
            builder.user(text, stamp, injected=True)


def _xml_calls(builder: SessionBuilder, pending: list[tuple[str, str]]) -> None:
    """Older versions write tool calls as XML inside the reply: make them calls too."""
    turn = builder.turns[-1]
    if turn.tool_calls or "<" not in turn.text:
        return
    for name, body in _XML_CALL.findall(turn.text):
        params = {key: value.strip() for key, value in _XML_PARAM.findall(body)}
        call = builder.call(turn, None, name, params)
        pending.append((name, call.id))
