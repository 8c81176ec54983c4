"""One Codex thread's rollout lines -> turns (codex.py finds the files and groups threads).

A rollout line is `{timestamp, type, payload}`:
- session_meta: id, cwd, cli_version, git {branch}, and for a child thread forked_from_id or
  source.subagent.thread_spawn.parent_thread_id (codex.py groups children with their parent);
- turn_context: the model (and cwd) of each turn;
- response_item: the conversation — `message` (user/assistant/developer), `reasoning`
  (summary and content texts), `function_call` / `custom_tool_call` / `local_shell_call`
  and their outputs, `web_search_call`; unknown item types are counted on the reply;
- event_msg: `user_message` marks what the human typed; `token_count` carries usage; the
  rest repeat response_items and are skipped before parsing;
- compacted: the summary Codex wrote when it compacted the context -> Session.summaries.
Other line types (inter_agent_communication, world_state, token_usage_record, …) are known
and skipped; unknown ones are counted.

Who spoke: Codex injects context as user messages (AGENTS.md, <environment_context>,
<skill>, <user_shell_command>, <turn_aborted>, <subagents>…). Those are meta turns. Once a
rollout has shown an `event_msg user_message`, only user messages matching one count as
prompts; older rollouts without those events fall back to the fragment markers alone.
Usage: each token_count's `last_token_usage` is added once (a repeated event with the same
total adds nothing); events with only a cumulative total replace the running usage.
Older rollouts (before the payload wrapper) put the item at the top level; they are read too.
"""

from __future__ import annotations

import re
from typing import Any, Final

from engram_ci.transcripts.codex_items import (
    TOOL_KINDS,
    call_input,
    cwd_from_context,
    output_text,
    texts_of,
)
from engram_ci.transcripts.lines import (
    INPUT_VALUE_LIMIT,
    REPLY_FLOOR,
    RESULT_LIMIT,
    TEXT_LIMIT,
    THINKING_LIMIT,
    Budget,
    clip,
    join_paragraphs,
    timestamp_of,
)
from engram_ci.transcripts.model import ParseStats, ToolCall, Turn, Usage
from engram_ci.transcripts.private import strip_private
from engram_ci.transcripts.turnlog import HOT_CHARS, TurnLog

__all__ = ["ITEM_TYPES", "QUIET_TYPES", "SAFE_ID", "Rollout"]

SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
#: user-message openings that are Codex's injected context, never the human's words
INJECTED: Final = (
    "<environment_context>",
    "<user_instructions>",
    "<permissions instructions>",
    "# AGENTS.md instructions",
    "<turn_aborted>",
    "<skill>",
    "<user_shell_command>",
    "<subagents>",
    "<subagent_notification>",
    "<plugins>",
    "<apps>",
    "<collaboration_mode>",
    "<personality",
    "<model_switch>",
)
_READ_TYPES = frozenset({"session_meta", "turn_context", "response_item", "event_msg"})
#: line types with nothing to read: skipped, not counted
QUIET_TYPES = frozenset(
    {
        "inter_agent_communication",
        "inter_agent_communication_metadata",
        "token_usage_record",
        "world_state",
        "retained_context",
        "security_risk_score",
        "realtime_item",
    }
)
#: item types, which pre-wrapper rollouts wrote as lines of their own
ITEM_TYPES = frozenset(
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
_IGNORED_ITEMS = frozenset({"ghost_snapshot", "compaction", "compaction_summary", "other"})


class Rollout:
    """Accumulates one thread's rollout lines (of one file, or of its copies in turn)."""

    def __init__(self, hot_chars: int = HOT_CHARS) -> None:
        self.turns = TurnLog(hot_chars)
        self.session_id: str | None = None
        #: the thread's own session_meta was read (any later one is an ancestor's copy)
        self._met = False
        self.cwd: str | None = None
        self.git_branch: str | None = None
        self.version: str | None = None
        self.first_ts: str | None = None
        self.last_ts: str | None = None
        self.usage = Usage()
        self.models: dict[str, None] = {}
        self.summaries: dict[str, None] = {}
        #: a child thread's role ("fork", or the subagent's agent_role)
        self.role: str | None = None
        self._model: str | None = None
        self._last_total: dict[str, Any] | None = None
        self._calls: dict[str, ToolCall] = {}
        self._budget = Budget()
        self._reply: Turn | None = None  # the assistant turn being built since the last prompt
        self._spill_mark = self._budget.left
        #: user_message events seen: the human's prompts are known from them
        self._events = False
        #: user messages not yet matched with a user_message event, and event texts not yet
        #: matched with a message (either may come first)
        self._unconfirmed: list[Turn] = []
        self._event_texts: set[str] = set()

    def add_line(self, obj: dict[str, Any], stats: ParseStats) -> None:
        if "record_type" in obj:
            return  # a pre-wrapper rollout's state marker: nothing to read
        kind, payload = _unwrap(obj)
        if not isinstance(kind, str):
            stats.malformed["missing_type"] += 1
        elif kind == "compacted":
            message = payload.get("message") if isinstance(payload, dict) else None
            if isinstance(message, str) and message.strip():
                self.summaries[clip(message.strip(), TEXT_LIMIT)] = None
        elif kind not in _READ_TYPES:
            if kind not in QUIET_TYPES:
                stats.unknown_types[kind] += 1
        elif not isinstance(payload, dict):
            stats.malformed["bad_shape"] += 1
        elif kind == "session_meta":
            self._meta(payload)
        elif kind == "turn_context":
            self._turn_context(payload)
        elif kind == "event_msg":
            self._event(payload, timestamp_of(obj))
        elif not self._item(payload, timestamp_of(obj), stats):
            stats.malformed["bad_shape"] += 1

    def finish(self) -> None:
        """End of the thread: user messages no user_message event vouched for are context."""
        self._settle_prompts()

    # -- context lines

    def _meta(self, payload: dict[str, Any]) -> None:
        session_id, cwd = payload.get("id"), payload.get("cwd")
        if self._met:
            # a child's copy of its ancestors' metas: the first one is this thread's, even
            # when its id is missing or unsafe (the file name names it then, not a parent)
            return
        self._met = True
        if isinstance(session_id, str) and SAFE_ID.fullmatch(session_id):
            self.session_id = session_id
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
        self.role = _child_role(payload)

    def _turn_context(self, payload: dict[str, Any]) -> None:
        model, cwd = payload.get("model"), payload.get("cwd")
        if isinstance(model, str) and model:
            self._model = model
            self.models[model] = None
        if isinstance(cwd, str) and cwd and self.cwd is None:
            self.cwd = cwd

    def _event(self, payload: dict[str, Any], stamp: str | None) -> None:
        kind = payload.get("type")
        if kind == "user_message":
            self._user_event(payload, stamp)
        elif kind == "token_count":
            self._token_count(payload.get("info"))

    def _token_count(self, info: Any) -> None:
        if not isinstance(info, dict):
            return
        total, last = info.get("total_token_usage"), info.get("last_token_usage")
        if isinstance(total, dict):
            if total == self._last_total:
                return  # the same count reported again
            self._last_total = total
        if isinstance(last, dict):
            self.usage.add(_usage_of(last))
        elif isinstance(total, dict):
            self.usage = _usage_of(total)  # cumulative: the latest replaces the previous

    def _user_event(self, payload: dict[str, Any], stamp: str | None) -> None:
        """What the human typed (Codex writes it beside the user message item)."""
        self._events = True
        message = payload.get("message")
        # scrubbed as the message item's text was (lines.clip), or the two forms never match
        text = strip_private(message).strip() if isinstance(message, str) else ""
        for turn in self._unconfirmed:
            if turn.text == text:
                self._unconfirmed.remove(turn)
                return  # the message item came first: it is the prompt
        images = payload.get("images")
        count = len(images) if isinstance(images, list) else 0
        if text or count:
            self._event_texts.add(text)
            kept = self._budget.clip(text, TEXT_LIMIT, TEXT_LIMIT)
            self._prompt(Turn("user", kept, stamp, images=count))

    # -- conversation items

    def _item(self, item: dict[str, Any], stamp: str | None, stats: ParseStats) -> bool:
        kind = item.get("type")
        if kind == "message":
            return self._message(item, stamp)
        if kind == "reasoning":
            reply = self._assistant(stamp)
            texts = texts_of(item.get("summary")) or texts_of(item.get("content"))
            text = "\n\n".join(texts)
            limit = self._budget.limit(THINKING_LIMIT)
            if text and len(reply.thinking) < limit:
                reply.thinking = self._budget.clip(join_paragraphs(reply.thinking, text), limit)
            return True
        if kind in ("function_call", "custom_tool_call", "local_shell_call", "web_search_call"):
            return self._call(item, stamp)
        if kind in ("function_call_output", "custom_tool_call_output"):
            return self._output(item, stats)
        if not isinstance(kind, str):
            stats.malformed["bad_shape"] += 1  # an item whose type is a list or an object
        elif kind not in _IGNORED_ITEMS:
            self._assistant(stamp).unknown_blocks[kind] += 1
        return True

    def _message(self, item: dict[str, Any], stamp: str | None) -> bool:
        role, content = item.get("role"), item.get("content")
        if not isinstance(content, list | str):
            return False
        floor = REPLY_FLOOR if role == "assistant" else TEXT_LIMIT  # prompts are always kept
        texts = [self._budget.clip(t, TEXT_LIMIT, floor) for t in texts_of(content) if t.strip()]
        text = "\n\n".join(texts).strip()
        if role == "assistant":
            reply = self._assistant(stamp)
            if text:
                reply.text = join_paragraphs(reply.text, text)
            return True
        if role not in ("user", "developer", "system"):
            return False
        self._note_time(stamp)
        images = sum(1 for b in content if isinstance(b, dict) and b.get("type") == "input_image")
        if not text and not images:
            return True
        if text.startswith("<environment_context>") and self.cwd is None:
            self.cwd = cwd_from_context(text)  # old rollouts: the only place it is
        if role != "user" or text.startswith(INJECTED):
            self.turns.append(Turn("user", text, stamp, is_meta=True, images=images))
        elif text in self._event_texts:
            self._event_texts.discard(text)  # the event came first and made the prompt
        else:
            turn = Turn("user", text, stamp, images=images)
            self._prompt(turn)
            self._unconfirmed.append(turn)
        self._spill_if_large()
        return True

    def _prompt(self, turn: Turn) -> None:
        self._note_time(turn.timestamp)
        self.turns.append(turn)
        self._reply = None  # a new prompt: the next answer is a new turn
        self._spill_if_large()

    def _settle_prompts(self) -> None:
        if self._events:  # user_message events name the prompts: the rest was injected
            for turn in self._unconfirmed:
                turn.is_meta = True
        self._unconfirmed.clear()
        self._event_texts.clear()

    def _assistant(self, stamp: str | None) -> Turn:
        self._note_time(stamp)
        if self._reply is None:
            self._settle_prompts()  # the reply starts: its prompt's event has been seen
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
        kind = item.get("type")
        if kind == "web_search_call" and not isinstance(call_id, str):
            call_id = f"web-{len(self.turns)}-{stamp}"  # nothing answers it: any unique id
        if not isinstance(call_id, str):
            return False
        name = str(item.get("name") or ("web_search" if kind == "web_search_call" else kind))
        call = ToolCall(call_id, name, {}, timestamp=stamp, kind=TOOL_KINDS.get(name, "other"))
        call.input = call_input(item, self._budget.limit(INPUT_VALUE_LIMIT))
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
        result, is_error = output_text(item.get("output"), self._budget.limit(RESULT_LIMIT))
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


def _child_role(meta: dict[str, Any]) -> str | None:
    """ "fork", the spawned subagent's role, or None for a thread of its own."""
    source = meta.get("source")
    subagent = source.get("subagent") if isinstance(source, dict) else None
    if subagent is not None or meta.get("parent_thread_id"):
        spawn = subagent.get("thread_spawn") if isinstance(subagent, dict) else None
        role = spawn.get("agent_role") if isinstance(spawn, dict) else meta.get("agent_role")
        return role if isinstance(role, str) and role else "subagent"
    return "fork" if meta.get("forked_from_id") else None


def _unwrap(obj: dict[str, Any]) -> tuple[Any, Any]:
    """(type, payload) of a line, also for pre-wrapper rollouts that had no payload."""
    kind, payload = obj.get("type"), obj.get("payload")
    if payload is None and isinstance(kind, str) and kind in ITEM_TYPES:
        return "response_item", obj
    if payload is None and kind is None and "id" in obj and "timestamp" in obj:
        return "session_meta", obj  # the old first line: the session's own metadata
    return kind, payload


def _usage_of(raw: dict[str, Any]) -> Usage:
    cached = _int(raw.get("cached_input_tokens"))
    return Usage(
        input_tokens=max(_int(raw.get("input_tokens")) - cached, 0),
        output_tokens=_int(raw.get("output_tokens")),
        cache_read_tokens=cached,
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
