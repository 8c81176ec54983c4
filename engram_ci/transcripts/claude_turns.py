"""Claude Code's parsed lines -> one conversation's turns (claude.py reads the files).

Decisions worth knowing (each pinned by tests/test_claude.py):
- Assistant replies arrive one content block per line; lines sharing `message.id` merge into
  one Turn, even when tool results sit between them. Usage is counted once per message.id,
  from the line with the largest output count (later lines of a reply carry the grown one).
- A user line holding only tool_results is not a prompt: its results are attached to their
  tool calls. `isMeta` lines, command output (<local-command-stdout>, <bash-stdout>),
  "[Request interrupted…]" and blocks injected by the IDE (<ide_opened_file>, <ide_selection>,
  <system-reminder>) are kept as meta turns, never as the human's prompt.
- Who spoke: a user line's `origin.kind` / `promptSource` other than "human" (a peer agent,
  a task notification) makes it a meta turn, whatever its text says.
- Prompts typed while Claude was busy are queued: a `queue-operation` enqueue line and/or an
  `attachment` of type queued_command. The first sighting becomes a user turn where it was
  typed; a later sighting of the same text (the other form, or the user line written when
  the queue delivers it) only completes that turn, so each prompt counts once.
- Slash commands ARE typed by the human: they stay prompts, cleaned from Claude Code's
  "<command-name>/model</command-name><command-args>opus</command-args>" markup to
  "/model opus", with Turn.command = "/model". Shell escapes (<bash-input>) become "! cmd".
- Texts are clipped as they arrive (readers.Budget), and a long conversation's older turns
  move to disk (turnlog.py), so memory follows what we keep, not the file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Final

from engram_ci.transcripts.claude_text import classify_user_text
from engram_ci.transcripts.lines import (
    INPUT_VALUE_LIMIT,
    REPLY_FLOOR,
    RESULT_LIMIT,
    TEXT_LIMIT,
    THINKING_LIMIT,
    Budget,
    clip,
    clip_input,
    join_paragraphs,
    text_of,
    timestamp_of,
)
from engram_ci.transcripts.model import ParseStats, Session, ToolCall, ToolKind, Turn, Usage
from engram_ci.transcripts.turnlog import HOT_CHARS, TurnLog

__all__ = ["SOURCE", "TOOL_KINDS", "Transcript"]

SOURCE: Final = "claude-code"
#: Claude Code's tools by common kind; the rest (TodoWrite, AskUserQuestion, BashOutput,
#: MCP tools…) are "other"
TOOL_KINDS: Final[dict[str, ToolKind]] = {
    "Bash": "shell",
    "PowerShell": "shell",
    "Edit": "edit",
    "MultiEdit": "edit",
    "NotebookEdit": "edit",
    "Write": "write",
    "Read": "read",
    "NotebookRead": "read",
    "Glob": "search",
    "Grep": "search",
    "LS": "search",
    "WebFetch": "web",
    "WebSearch": "web",
    "web_search": "web",
    "web_fetch": "web",
    "Task": "task",
    "Agent": "task",
}


# ---------------------------------------------------------------- turn assembly


class Transcript:
    """Accumulates one conversation (a session or one subagent) line by line."""

    def __init__(self, hot_chars: int = HOT_CHARS) -> None:
        self.turns = TurnLog(hot_chars)
        self.hot_chars = hot_chars
        self.cwd: str | None = None
        self.git_branch: str | None = None
        self.version: str | None = None
        self.agent_id: str | None = None
        self.first_ts: str | None = None
        self.last_ts: str | None = None
        self._titles: dict[str, str] = {}
        self._models: dict[str, None] = {}  # an ordered set
        self._summaries: dict[str, None] = {}
        self._replies: dict[str, Turn] = {}  # message.id -> its merged Turn
        #: message.id -> its raw usage, counted once (made a Usage only at the end: most
        #: replies' lines each replace the previous one)
        self._usage: dict[str, dict[str, Any]] = {}
        self._calls: dict[str, ToolCall] = {}  # tool_use id -> call awaiting its result
        #: queued prompt text -> its turn, until the prompt's other form arrives
        self._queued: dict[str, Turn] = {}
        self._budget = Budget()
        # what the turns that moved to disk leave behind (see _spill)
        self._spill_mark = self._budget.left
        self._spilled_usage = Usage()

    # -- session context

    def note_context(self, obj: dict[str, Any]) -> None:
        cwd, branch, version = obj.get("cwd"), obj.get("gitBranch"), obj.get("version")
        if self.cwd is None and isinstance(cwd, str) and cwd:
            self.cwd = cwd  # the launch directory: the first one seen
        if isinstance(branch, str) and branch:
            self.git_branch = branch  # latest wins: where the session ended up
        if isinstance(version, str) and version:
            self.version = version
        agent = obj.get("agentId")
        if self.agent_id is None and isinstance(agent, str) and agent:
            self.agent_id = agent

    def _note_time(self, stamp: str | None) -> None:
        if stamp is None:
            return
        if self.first_ts is None or stamp < self.first_ts:
            self.first_ts = stamp
        if self.last_ts is None or stamp > self.last_ts:
            self.last_ts = stamp

    def add_summary(self, obj: dict[str, Any]) -> bool:
        text = obj.get("summary")
        if not isinstance(text, str):
            return False
        if text.strip():
            self._summaries[clip(text.strip(), TEXT_LIMIT)] = None
        return True

    def add_title(self, kind: str, obj: dict[str, Any]) -> bool:
        title = obj.get("customTitle" if kind == "custom-title" else "aiTitle", obj.get("title"))
        if not isinstance(title, str):
            return False
        if title.strip():
            self._titles[kind] = clip(title.strip(), 500)  # the latest of each kind wins
        return True

    # -- user lines

    def add_user(self, obj: dict[str, Any], stats: ParseStats) -> bool:
        content = _content_of(obj)
        if content is None:
            return False
        self.note_context(obj)
        stamp = timestamp_of(obj)
        self._note_time(stamp)
        texts: list[str] = []
        turn = Turn(role="user", text="", timestamp=stamp, uuid=_str_or_none(obj.get("uuid")))
        for block in content:
            self._user_block(block, texts, turn, stats)
        if not texts and not turn.images and not turn.unknown_blocks:
            return True  # tool results only: attached to their calls, not a prompt
        turn.text, turn.is_meta, turn.command = classify_user_text(texts, obj)
        turn.is_compact_summary = obj.get("isCompactSummary") is True
        queued = self._queued.pop(turn.text, None) if self._queued else None
        if queued is not None:  # the queue delivering a prompt we already hold
            queued.uuid, queued.command = turn.uuid, turn.command or queued.command
            queued.images += turn.images
            return True
        self.turns.append(turn)
        self._spill_if_large()
        return True

    def add_queued(self, content: Any, obj: dict[str, Any], origin: Any = None) -> bool:
        """A prompt typed while Claude was busy: a queue-operation enqueue's `content` or a
        queued_command attachment's `prompt` (a string or text blocks)."""
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list):
            return False
        texts = [
            self._budget.clip(b["text"], TEXT_LIMIT, floor=TEXT_LIMIT)
            for b in content
            if isinstance(b, dict) and isinstance(b.get("text"), str) and b["text"].strip()
        ]
        text, is_meta, command = classify_user_text(texts, {**obj, "origin": origin})
        if not text or text in self._queued:
            return True  # empty, or the same prompt in its other form
        stamp = timestamp_of(obj)
        self._note_time(stamp)
        turn = Turn("user", text, stamp, is_meta=is_meta, command=command)
        turn.images = sum(1 for b in content if isinstance(b, dict) and b.get("type") == "image")
        self._queued[text] = turn
        self.turns.append(turn)
        self._spill_if_large()
        return True

    def _user_block(self, block: Any, texts: list[str], turn: Turn, stats: ParseStats) -> None:
        if not isinstance(block, dict):
            turn.unknown_blocks["not_object"] += 1
            return
        kind = block.get("type")
        if kind == "text":
            text = block.get("text")
            if isinstance(text, str) and text.strip():
                texts.append(self._budget.clip(text, TEXT_LIMIT, floor=TEXT_LIMIT))
        elif kind == "tool_result":
            self._attach_result(block, stats)
        elif kind == "image":
            turn.images += 1
        else:
            turn.unknown_blocks[str(kind)] += 1

    def _attach_result(self, block: dict[str, Any], stats: ParseStats) -> None:
        tool_id = block.get("tool_use_id")
        if not isinstance(tool_id, str) or not self.turns.awaits_result(tool_id, self._calls):
            stats.orphan_results += 1
            return
        result = text_of(block.get("content"), self._budget.limit(RESULT_LIMIT))
        self._budget.left -= len(result)
        self.turns.give_result(tool_id, self._calls, result, block.get("is_error") is True)

    # -- memory

    def _spill_if_large(self) -> None:
        """Move older turns to disk once the kept text passes hot_chars (see turnlog.py).

        Only turns that can no longer change move: all but the newest KEEP_OPEN. The indexes
        into them go too; a line for one of them arriving later still lands (a late tool
        result is applied when the turn is read back), except two cases Claude Code never
        writes: a reply's block more than KEEP_OPEN turns after its reply (it starts a turn of
        its own) and a second result for a call (counted as an orphan).
        """
        kept = self._spill_mark - self._budget.left
        moved = self.turns.spill_if_large(kept, self._calls)
        if not moved:
            return
        self._spill_mark = self._budget.left
        for turn in moved:
            key = turn.message_id
            if key is not None and self._replies.get(key) is turn:
                del self._replies[key]
                usage = self._usage.pop(key, None)
                if usage is not None:
                    self._spilled_usage.add(_usage_of(usage))

    # -- assistant lines

    def add_assistant(self, obj: dict[str, Any]) -> bool:
        content = _content_of(obj)
        if content is None:
            return False
        self.note_context(obj)
        stamp = timestamp_of(obj)
        self._note_time(stamp)
        message: dict[str, Any] = obj["message"]
        uuid = _str_or_none(obj.get("uuid"))
        model = _str_or_none(message.get("model"))
        model = sys.intern(model) if model else None  # one copy for thousands of turns
        key = _str_or_none(message.get("id")) or uuid or f"#{len(self.turns)}"
        turn = self._replies.get(key)
        if turn is None:
            turn = Turn("assistant", "", stamp, uuid, message_id=key, model=model)
            self._replies[key] = turn
            self.turns.append(turn)
        for block in content:
            self._assistant_block(block, turn, stamp)
        usage = message.get("usage")
        if isinstance(usage, dict):  # keep the line with the grown output count
            known = self._usage.get(key)
            if known is None or _int(usage.get("output_tokens")) > _int(known.get("output_tokens")):
                self._usage[key] = usage
        if model and model != "<synthetic>":  # <synthetic>: Claude Code's own error notes
            self._models[model] = None
        self._spill_if_large()
        return True

    def _assistant_block(self, block: Any, turn: Turn, stamp: str | None) -> None:
        if not isinstance(block, dict):
            turn.unknown_blocks["not_object"] += 1
            return
        kind = block.get("type")
        if kind == "text":
            text = block.get("text")
            if isinstance(text, str) and text.strip():
                kept = self._budget.clip(text, TEXT_LIMIT, REPLY_FLOOR)
                turn.text = join_paragraphs(turn.text, kept)
        elif kind == "thinking":
            thinking = block.get("thinking")
            limit = self._budget.limit(THINKING_LIMIT)
            if isinstance(thinking, str) and len(turn.thinking) < limit:
                turn.thinking = self._budget.clip(join_paragraphs(turn.thinking, thinking), limit)
        elif kind in ("tool_use", "server_tool_use"):
            turn.tool_calls.append(self._new_call(block, stamp))
        elif isinstance(kind, str) and kind.endswith("_tool_result"):  # server tools' results
            self._attach_result(block, ParseStats())
        elif kind == "redacted_thinking":
            pass  # encrypted reasoning: nothing readable to keep
        elif kind == "image":
            turn.images += 1
        else:
            turn.unknown_blocks[str(kind)] += 1

    def _new_call(self, block: dict[str, Any], stamp: str | None) -> ToolCall:
        raw = block.get("input")
        limit = self._budget.limit(INPUT_VALUE_LIMIT)
        name = str(block.get("name") or "?")
        call = ToolCall(
            id=str(block.get("id") or ""),
            name=name,
            input=clip_input(raw, limit)
            if isinstance(raw, dict)
            else {"input": clip_input(raw, limit)},
            timestamp=stamp,
            kind=TOOL_KINDS.get(name, "other"),
        )
        if call.id:
            self._calls[call.id] = call
        return call

    # -- result

    def to_session(
        self,
        session_id: str,
        project: str,
        transcripts: list[Path],
        stats: ParseStats,
        *,
        agent_id: str | None = None,
    ) -> Session:
        usage = Usage()
        usage.add(self._spilled_usage)
        for part in self._usage.values():
            usage.add(_usage_of(part))
        return Session(
            session_id=session_id,
            source=SOURCE,
            project=project,
            transcripts=transcripts,
            cwd=self.cwd,
            git_branch=self.git_branch,
            version=self.version,
            title=self._titles.get("custom-title") or self._titles.get("ai-title"),
            started_at=self.first_ts,
            ended_at=self.last_ts,
            models=list(self._models),
            turns=self.turns.to_sequence(),
            usage=usage,
            summaries=list(self._summaries),
            agent_id=agent_id,
            stats=stats,
        )


# ---------------------------------------------------------------- small helpers


def _content_of(obj: dict[str, Any]) -> list[Any] | None:
    """message.content as a list of blocks (a plain string becomes one text block)."""
    message = obj.get("message")
    if not isinstance(message, dict):
        return None
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return content if isinstance(content, list) else None


def _usage_of(raw: dict[str, Any]) -> Usage:
    return Usage(
        input_tokens=_int(raw.get("input_tokens")),
        output_tokens=_int(raw.get("output_tokens")),
        cache_read_tokens=_int(raw.get("cache_read_input_tokens")),
        cache_creation_tokens=_int(raw.get("cache_creation_input_tokens")),
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
