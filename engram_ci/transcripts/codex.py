"""OpenAI Codex CLI sessions (~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl) -> `Session`s.

Same interface as claude.py (discover, read_session). A rollout is one file per session,
lines `{timestamp, type, payload}`:
- session_meta: id, cwd, cli_version, git {branch, ...} -> the session's identity;
- turn_context: the model (and cwd) of each turn;
- response_item: the conversation itself — `message` (role user/assistant/developer, content
  [{type: input_text|output_text, text}]), `reasoning` (summary texts), `function_call`
  {name, arguments: JSON string, call_id} and `function_call_output` {call_id, output}, plus
  custom_tool_call / local_shell_call variants;
- event_msg: UI events that mostly repeat response_items; only token_count is used (its
  total_token_usage is cumulative, so the last one is the session's usage);
- compacted: the summary Codex wrote when it compacted the context -> Session.summaries.
Codex injects its context as user messages (<environment_context>, <user_instructions>,
AGENTS.md instructions) and as developer messages: those become meta turns, not prompts.
Older rollouts (before the payload wrapper) put the item at the top level; they are read too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import orjson

from engram_ci.transcripts.lines import (
    INPUT_VALUE_LIMIT,
    MAX_LINE_BYTES,
    REPLY_FLOOR,
    RESULT_LIMIT,
    TEXT_LIMIT,
    THINKING_LIMIT,
    Budget,
    clip,
    clip_input,
    has_conversation,
    iter_lines,
    parse_object,
    pick_project,
    timestamp_of,
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
from engram_ci.transcripts.registry import ReaderSpec
from engram_ci.transcripts.turnlog import HOT_CHARS, TurnLog

SOURCE: Final = "codex"
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_INJECTED = (
    "<environment_context>",
    "<user_instructions>",
    "<permissions instructions>",
    "# AGENTS.md instructions",
    "<turn_aborted>",
)
_KNOWN_TYPES = frozenset({"session_meta", "turn_context", "response_item", "event_msg"})
_ITEM_TYPES = frozenset(
    {
        "message",
        "reasoning",
        "function_call",
        "function_call_output",
        "custom_tool_call",
        "custom_tool_call_output",
        "local_shell_call",
    }
)
_IGNORED_ITEMS = frozenset({"web_search_call", "ghost_snapshot", "other"})
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
_EXIT_CODE = re.compile(r"^Exit code: (-?\d+)", re.M)


def default_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """$CODEX_HOME (else ~/.codex): its sessions/ and archived_sessions/."""
    explicit = env.get("CODEX_HOME", "").strip()
    codex_home = Path(explicit).expanduser() if explicit else home / ".codex"
    return [codex_home / "sessions", codex_home / "archived_sessions"]


def discover(roots: Sequence[Path]) -> list[TranscriptGroup]:
    """Every rollout file under `roots` (e.g. ~/.codex/sessions), one group each, sorted."""
    groups: dict[Path, TranscriptGroup] = {}
    for root in roots:
        if not root.is_dir():
            continue
        for path in root.rglob("rollout-*.jsonl"):
            if path.is_file():
                groups[path] = TranscriptGroup(
                    _session_id_from_name(path), SOURCE, path, (path,), path.parent
                )
    return [groups[p] for p in sorted(groups, key=str)]


def _session_id_from_name(path: Path) -> str:
    """rollout-2025-09-10T12-00-00-<uuid>.jsonl -> <uuid> (the id session_meta also holds)."""
    match = _UUID.search(path.stem)
    return match.group(0).lower() if match else path.stem


def read_session(
    group: TranscriptGroup,
    *,
    project_hint: str | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
    hot_chars: int = HOT_CHARS,
) -> Session | None:
    """The rollout's session, or None when it holds no conversation turn. A long one comes
    back with its turns in a TurnLog (see claude.read_session)."""
    stats = ParseStats()
    rollout = _Rollout(hot_chars)
    for line in iter_lines(group.main, stats, max_line_bytes):
        obj = parse_object(line, stats)
        if obj is not None:
            rollout.add_line(obj, stats)
    if not has_conversation(rollout.turns):
        return None
    return rollout.to_session(group, project_hint, stats)


class _Rollout:
    """Accumulates one rollout file line by line."""

    def __init__(self, hot_chars: int = HOT_CHARS) -> None:
        self.turns = TurnLog(hot_chars)
        self.session_id: str | None = None
        self.cwd: str | None = None
        self.git_branch: str | None = None
        self.version: str | None = None
        self.first_ts: str | None = None
        self.last_ts: str | None = None
        self.usage = Usage()
        self._model: str | None = None
        self._models: dict[str, None] = {}
        self._summaries: dict[str, None] = {}
        self._calls: dict[str, ToolCall] = {}
        self._budget = Budget()
        self._reply: Turn | None = None  # the assistant turn being built since the last prompt
        self._spill_mark = self._budget.left

    def add_line(self, obj: dict[str, Any], stats: ParseStats) -> None:
        if "record_type" in obj:
            return  # a pre-wrapper rollout's state marker: nothing to read
        kind, payload = _unwrap(obj)
        if not isinstance(kind, str):
            stats.malformed["missing_type"] += 1
        elif kind == "compacted":
            message = payload.get("message") if isinstance(payload, dict) else None
            if isinstance(message, str) and message.strip():
                self._summaries[clip(message.strip(), TEXT_LIMIT)] = None
        elif kind not in _KNOWN_TYPES:
            stats.unknown_types[kind] += 1
        elif not isinstance(payload, dict):
            stats.malformed["bad_shape"] += 1
        elif kind == "session_meta":
            self._meta(payload)
        elif kind == "turn_context":
            self._turn_context(payload)
        elif kind == "event_msg":
            self._event(payload)
        elif not self._item(payload, timestamp_of(obj), stats):
            stats.malformed["bad_shape"] += 1

    # -- context lines

    def _meta(self, payload: dict[str, Any]) -> None:
        session_id, cwd = payload.get("id"), payload.get("cwd")
        if isinstance(session_id, str) and _SAFE_ID.fullmatch(session_id):
            self.session_id = self.session_id or session_id
        if isinstance(cwd, str) and cwd:
            self.cwd = self.cwd or cwd
        self._note_time(timestamp_of(payload))
        version = payload.get("cli_version")
        if isinstance(version, str) and version:
            self.version = version
        git = payload.get("git")
        branch = git.get("branch") if isinstance(git, dict) else None
        if isinstance(branch, str) and branch:
            self.git_branch = branch

    def _turn_context(self, payload: dict[str, Any]) -> None:
        model, cwd = payload.get("model"), payload.get("cwd")
        if isinstance(model, str) and model:
            self._model = model
            self._models[model] = None
        if isinstance(cwd, str) and cwd and self.cwd is None:
            self.cwd = cwd

    def _event(self, payload: dict[str, Any]) -> None:
        if payload.get("type") != "token_count":
            return  # user_message, agent_message, agent_reasoning…: repeats of response_items
        info = payload.get("info")
        total = info.get("total_token_usage") if isinstance(info, dict) else None
        if isinstance(total, dict):
            cached = _int(total.get("cached_input_tokens"))
            self.usage = Usage(  # cumulative: the latest total replaces the previous one
                input_tokens=max(_int(total.get("input_tokens")) - cached, 0),
                output_tokens=_int(total.get("output_tokens")),
                cache_read_tokens=cached,
            )

    # -- conversation items

    def _item(self, item: dict[str, Any], stamp: str | None, stats: ParseStats) -> bool:
        kind = item.get("type")
        if kind == "message":
            return self._message(item, stamp)
        if kind == "reasoning":
            reply = self._assistant(stamp)
            text = "\n\n".join(_texts(item.get("summary")))
            limit = self._budget.limit(THINKING_LIMIT)
            if text and len(reply.thinking) < limit:
                reply.thinking = self._budget.clip(_join(reply.thinking, text), limit)
            return True
        if kind in ("function_call", "custom_tool_call", "local_shell_call"):
            return self._call(item, stamp)
        if kind in ("function_call_output", "custom_tool_call_output"):
            return self._output(item, stats)
        if kind not in _IGNORED_ITEMS:
            self._assistant(stamp).unknown_blocks[str(kind)] += 1
        return True

    def _message(self, item: dict[str, Any], stamp: str | None) -> bool:
        role, content = item.get("role"), item.get("content")
        if not isinstance(content, list | str):
            return False
        floor = REPLY_FLOOR if role == "assistant" else TEXT_LIMIT  # prompts are always kept
        texts = [self._budget.clip(t, TEXT_LIMIT, floor) for t in _texts(content) if t.strip()]
        text = "\n\n".join(texts).strip()
        if role == "assistant":
            reply = self._assistant(stamp)
            if text:
                reply.text = _join(reply.text, text)
            return True
        if role not in ("user", "developer", "system"):
            return False
        self._note_time(stamp)
        images = sum(1 for b in content if isinstance(b, dict) and b.get("type") == "input_image")
        if text or images:
            is_meta = role != "user" or text.startswith(_INJECTED)
            if text.startswith("<environment_context>") and self.cwd is None:
                self.cwd = _cwd_from_context(text)  # old rollouts: the only place it is
            self.turns.append(Turn("user", text, stamp, is_meta=is_meta, images=images))
            if not is_meta:
                self._reply = None  # a new prompt: the next answer is a new turn
            self._spill_if_large()
        return True

    def _assistant(self, stamp: str | None) -> Turn:
        self._note_time(stamp)
        if self._reply is None:
            self._spill_if_large()  # before the new reply: it stays in memory while it grows
            self._reply = Turn("assistant", "", stamp, model=self._model)
            self.turns.append(self._reply)
        return self._reply

    def _spill_if_large(self) -> None:
        """Older turns to disk once the kept text passes hot_chars (turnlog.py)."""
        kept = self._spill_mark - self._budget.left
        moved = self.turns.spill_if_large(kept, self._calls)
        if moved:
            self._spill_mark = self._budget.left
            if any(turn is self._reply for turn in moved):
                self._reply = None  # its later items start a reply of their own

    def _call(self, item: dict[str, Any], stamp: str | None) -> bool:
        call_id = item.get("call_id") or item.get("id")
        if not isinstance(call_id, str):
            return False
        name = str(item.get("name") or item.get("type"))
        call = ToolCall(call_id, name, {}, timestamp=stamp, kind=TOOL_KINDS.get(name, "other"))
        call.input = _call_input(item, self._budget.limit(INPUT_VALUE_LIMIT))
        self._assistant(stamp).tool_calls.append(call)
        self._calls[call_id] = call
        return True

    def _output(self, item: dict[str, Any], stats: ParseStats) -> bool:
        call_id = item.get("call_id")
        if not isinstance(call_id, str):
            return False
        if not self.turns.awaits_result(call_id, self._calls):
            stats.orphan_results += 1
            return True
        result, is_error = _output_text(item.get("output"), self._budget.limit(RESULT_LIMIT))
        self._budget.left -= len(result)
        self.turns.give_result(call_id, self._calls, result, is_error)
        return True

    def _note_time(self, stamp: str | None) -> None:
        if stamp is None:
            return
        if self.first_ts is None or stamp < self.first_ts:
            self.first_ts = stamp
        if self.last_ts is None or stamp > self.last_ts:
            self.last_ts = stamp

    def to_session(
        self, group: TranscriptGroup, project_hint: str | None, stats: ParseStats
    ) -> Session:
        session_id = group.session_id if _SAFE_ID.fullmatch(group.session_id) else None
        return Session(
            session_id=self.session_id or session_id or "codex-session",
            source=SOURCE,
            # Codex folders are dates: never a project name
            project=pick_project(self.cwd, project_hint, None, default="codex"),
            transcripts=[group.main],
            cwd=self.cwd,
            git_branch=self.git_branch,
            version=self.version,
            started_at=self.first_ts,
            ended_at=self.last_ts,
            models=list(self._models),
            turns=self.turns.to_sequence(),
            usage=self.usage,
            summaries=list(self._summaries),
            stats=stats,
        )


def _unwrap(obj: dict[str, Any]) -> tuple[Any, Any]:
    """(type, payload) of a line, also for pre-wrapper rollouts that had no payload."""
    kind, payload = obj.get("type"), obj.get("payload")
    if payload is None and kind in _ITEM_TYPES:
        return "response_item", obj
    if payload is None and kind is None and "id" in obj and "timestamp" in obj:
        return "session_meta", obj  # the old first line: the session's own metadata
    return kind, payload


_CONTEXT_CWD = re.compile(r"<cwd>(.*?)</cwd>|Current working directory: (.+)")


def _cwd_from_context(text: str) -> str | None:
    match = _CONTEXT_CWD.search(text)
    return (match.group(1) or match.group(2)).strip() if match else None


def _texts(content: Any) -> list[str]:
    """Text of input_text/output_text/summary_text blocks (or a plain string)."""
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    return [b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)]


def _call_input(item: dict[str, Any], limit: int) -> dict[str, Any]:
    """function_call arguments are a JSON string; custom tools send raw input (a patch)."""
    if item.get("type") == "local_shell_call":
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


def _output_text(output: Any, limit: int) -> tuple[str, bool]:
    """(text, is_error) of a tool output in any of Codex's shapes over the versions.

    Older: a JSON string {"output": ..., "metadata": {"exit_code": N}}; newer: plain text
    starting "Exit code: N"; some: an object {content, success}.
    """
    if isinstance(output, str) and output.startswith("{"):
        try:
            parsed = orjson.loads(output)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            output = parsed
    if isinstance(output, dict):
        text = output.get("output", output.get("content", ""))
        metadata = output.get("metadata")
        code = metadata.get("exit_code") if isinstance(metadata, dict) else None
        failed = output.get("success") is False or (isinstance(code, int) and code != 0)
        return clip(text if isinstance(text, str) else str(text), limit), failed
    if not isinstance(output, str):
        return "", False
    code_match = _EXIT_CODE.search(output[:200])
    return clip(output, limit), bool(code_match and code_match.group(1) != "0")


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _join(existing: str, more: str) -> str:
    return f"{existing}\n\n{more}" if existing else more


READER = ReaderSpec(
    name=SOURCE,
    option="codex-dir",
    store="$CODEX_HOME/sessions and archived_sessions, else ~/.codex/…",
    default_roots=default_roots,
    discover=discover,
    read_session=read_session,
)
