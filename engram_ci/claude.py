"""Claude Code transcripts (~/.claude/projects/<encoded cwd>/*.jsonl) -> `Session`s.

Reading is one streaming pass per file (readers.iter_lines): nothing keeps raw lines, long
texts are clipped, so memory follows the size of what we keep, not the size of the file.

Decisions worth knowing (each pinned by tests/test_claude.py):
- Assistant replies arrive one content block per line; lines sharing `message.id` merge into
  one Turn, even when tool results sit between them. Usage is counted once per message.id,
  from the line with the largest output count (later lines of a reply carry the grown one).
- A user line holding only tool_results is not a prompt: its results are attached to their
  tool calls. `isMeta` lines, command output (<local-command-stdout>, <bash-stdout>),
  "[Request interrupted…]" and blocks injected by the IDE (<ide_opened_file>, <ide_selection>,
  <system-reminder>) are kept as meta turns, never as the human's prompt.
- Slash commands ARE typed by the human: they stay prompts, cleaned from Claude Code's
  "<command-name>/model</command-name><command-args>opus</command-args>" markup to
  "/model opus", with Turn.command = "/model". Shell escapes (<bash-input>) become "! cmd".
- A uuid seen before in the same file (resumed sessions repeat lines) is skipped and counted
  in ParseStats.duplicates. Forks (rewinds) are kept in file order: an abandoned branch still
  holds the human's words.
- Subagents, all attached to the parent's Session.subagents: 1.0.x inline `isSidechain` lines
  (grouped by agentId, else by following parentUuid to the sidechain's first line); 2.0.x flat
  `agent-<id>.jsonl` files (their lines name the parent's sessionId); 2.1.x
  `<session>/subagents/agent-<id>.jsonl` with `.meta.json` (agentType, description -> title).
- An agent file whose parent transcript is missing is kept, in a group of its own named after
  the parent's session id (the work it records is real). An agent file naming no sessionId
  at all is skipped with a warning. A parent with no turns of its own is a session only when
  a subagent did real work; Claude Code's cache-warming "Warmup" agents don't count.
- Session.project is the last component of the session's own cwd (exact), else the
  project_hint, else a guess from the encoded folder name (see readers.pick_project).
"""

from __future__ import annotations

import logging
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

import orjson

from engram_ci.model import ParseStats, Session, ToolCall, TranscriptGroup, Turn, Usage
from engram_ci.readers import (
    INPUT_VALUE_LIMIT,
    MAX_LINE_BYTES,
    REPLY_FLOOR,
    RESULT_LIMIT,
    TEXT_LIMIT,
    THINKING_LIMIT,
    Budget,
    SeenHashes,
    clip,
    clip_input,
    has_conversation,
    iter_lines,
    parse_object,
    pick_project,
    text_of,
    timestamp_of,
)
from engram_ci.turnlog import HOT_CHARS, TurnLog

log = logging.getLogger("engram_ci.claude")

SOURCE: Final = "claude-code"
_AGENT_PREFIX = "agent-"
_META_SUFFIX = ".meta.json"
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")

#: line types we know and deliberately ignore (they carry no conversation)
_IGNORED_TYPES = frozenset(
    {
        "system",
        "progress",
        "queue-operation",
        "attachment",
        "file-history-snapshot",
        "permission-mode",
        "mode",
        "last-prompt",
        "agent-name",
        "pr-link",
        "tag",
        "bridge-session",
        "atis-latch",
    }
)
#: heavy line types skipped before JSON parsing when their type is certain from the bytes
_SKIP_BEFORE_PARSE = (b'"progress"', b'"file-history-snapshot"')
_SNIFF_WINDOW = 2048
_TOOL_USE_RESULT = b',"toolUseResult":'

# ---------------------------------------------------------------- discovery


def discover(roots: Sequence[Path]) -> list[TranscriptGroup]:
    """Every session under `roots` (folders laid out like ~/.claude/projects), sorted.

    Agent transcripts are parts of their parent's group (so a growing agent file re-ingests
    the parent) and never groups of their own.
    """
    groups: dict[tuple[Path, str], TranscriptGroup] = {}
    for root in roots:
        for folder in _project_folders(root):
            for group in _discover_folder(folder):
                groups.setdefault((group.folder, group.session_id), group)
    return [groups[key] for key in sorted(groups, key=lambda k: (str(k[0]), k[1]))]


def _project_folders(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    # tolerate a root that is itself one project folder
    if any(p.suffix == ".jsonl" for p in root.iterdir() if p.is_file()):
        folders.insert(0, root)
    return folders


def _discover_folder(folder: Path) -> list[TranscriptGroup]:
    mains: dict[str, Path] = {}
    agents: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(folder.glob("*.jsonl")):
        if not path.is_file():
            continue
        if not path.name.startswith(_AGENT_PREFIX):
            mains[path.stem] = path
            continue
        parent = _peek_session_id(path)
        if parent is None:
            log.warning("skipping %s: an agent transcript that names no parent session", path)
        else:
            agents[parent].append(path)
    for subagents in sorted(folder.glob("*/subagents")):
        if subagents.is_dir() and _SAFE_ID.fullmatch(subagents.parent.name):
            agents[subagents.parent.name].extend(
                p
                for p in sorted(subagents.iterdir())
                if p.is_file()
                and p.name.startswith(_AGENT_PREFIX)
                and (p.suffix == ".jsonl" or p.name.endswith(_META_SUFFIX))
            )
    groups = [_group(sid, main, agents.pop(sid, []), folder) for sid, main in sorted(mains.items())]
    for sid, parts in sorted(agents.items()):
        transcripts = [p for p in parts if p.suffix == ".jsonl"]
        if transcripts:  # orphans: the parent transcript is gone, the agents' work is not
            groups.append(_group(sid, transcripts[0], parts, folder))
    return groups


def _group(session_id: str, main: Path, parts: Iterable[Path], folder: Path) -> TranscriptGroup:
    rest = sorted({p for p in parts if p != main}, key=str)
    return TranscriptGroup(session_id, SOURCE, main, (main, *rest), folder)


def _peek_session_id(path: Path, max_lines: int = 50) -> str | None:
    """The sessionId named by the first lines of a flat (2.0.x) agent transcript."""
    stats = ParseStats()
    for count, line in enumerate(iter_lines(path, stats), start=1):
        obj = parse_object(line, stats)
        session_id = obj.get("sessionId") if obj else None
        if isinstance(session_id, str) and _SAFE_ID.fullmatch(session_id):
            return session_id
        if count >= max_lines:
            break
    return None


def is_agent_file(path: Path) -> bool:
    return path.name.startswith(_AGENT_PREFIX) and path.suffix == ".jsonl"


# ---------------------------------------------------------------- reading a group


def read_session(
    group: TranscriptGroup,
    *,
    project_hint: str | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
    hot_chars: int = HOT_CHARS,
) -> Session | None:
    """The group's session with its subagents, or None when the files hold no conversation
    (empty, summary-only, snapshot-only; see the module docstring for parents without turns).

    A session whose kept text passes `hot_chars` comes back with its turns in a TurnLog
    (spilled to a temporary file): walk them in order, don't index them.
    """
    orphan = is_agent_file(group.main)
    main = _Transcript(hot_chars)
    stats = ParseStats()
    inline: list[Session] = []
    if not orphan:
        inline = _read_file(group.main, main, stats, max_line_bytes, route_sidechains=True)
    agents = inline + [
        _read_agent_file(path, _meta_path(path, group.parts), max_line_bytes, hot_chars)
        for path in group.parts
        if is_agent_file(path)
    ]
    if not has_conversation(main.turns) and not any(_did_work(agent) for agent in agents):
        return None
    cwd = main.cwd or next((a.cwd for a in agents if a.cwd), None)
    project = pick_project(cwd, project_hint, group.folder, default=group.session_id)
    transcripts = [p for p in group.parts if p.suffix == ".jsonl"]
    session = main.to_session(group.session_id, project, transcripts, stats)
    for agent in agents:
        agent.session_id = group.session_id
        agent.project = project
    session.subagents = sorted(agents, key=lambda a: (a.started_at or "", a.agent_id or ""))
    return session


def _read_agent_file(path: Path, meta: Path | None, max_line_bytes: int, hot_chars: int) -> Session:
    transcript = _Transcript(hot_chars)
    stats = ParseStats()
    _read_file(path, transcript, stats, max_line_bytes, route_sidechains=False)
    agent_id = path.stem.removeprefix(_AGENT_PREFIX) or transcript.agent_id
    session = transcript.to_session("", "", [path], stats, agent_id=agent_id)
    agent_type, description = _read_meta(meta) if meta else (None, None)
    session.agent_type = agent_type
    session.title = description or session.title
    return session


def _meta_path(agent: Path, parts: Sequence[Path]) -> Path | None:
    wanted = agent.with_name(agent.stem + _META_SUFFIX)
    return wanted if wanted in parts else None


def _read_meta(path: Path) -> tuple[str | None, str | None]:
    """agentType and description from a 2.1.x subagent's .meta.json (small; bad ones ignored)."""
    try:
        with path.open("rb") as fh:
            raw = orjson.loads(fh.read(64 * 1024))
    except (OSError, orjson.JSONDecodeError):
        return None, None
    if not isinstance(raw, dict):
        return None, None
    kind, description = raw.get("agentType"), raw.get("description")
    return (
        kind if isinstance(kind, str) else None,
        clip(description, 500) if isinstance(description, str) else None,
    )


def _did_work(agent: Session) -> bool:
    """False for Claude Code's cache-warming agents ("Warmup" and a greeting, no tools)."""
    return any(
        turn.tool_calls or (turn.is_prompt and turn.text.strip() != "Warmup")
        for turn in agent.turns
    )


# ---------------------------------------------------------------- the line loop


def _read_file(
    path: Path,
    main: _Transcript,
    stats: ParseStats,
    max_line_bytes: int,
    *,
    route_sidechains: bool,
) -> list[Session]:
    """Feed every line of `path` to `main` (or, for inline sidechains, to their own
    transcript); return the inline subagents found."""
    seen = SeenHashes()  # hashes of uuids: 8 bytes a line, not a string's 80
    sidechains = _Sidechains(main.hot_chars)
    for line in iter_lines(path, stats, max_line_bytes):
        if _skippable(line):
            continue
        obj = _parse_line(line, stats)
        if obj is None:
            continue
        kind = obj.get("type")
        if not isinstance(kind, str):
            stats.malformed["missing_type"] += 1
            continue
        uuid = obj.get("uuid")
        if isinstance(uuid, str) and hash(uuid) in seen:
            stats.duplicates += 1
            continue
        target = main
        if route_sidechains and obj.get("isSidechain") is True and kind in ("user", "assistant"):
            target = sidechains.route(obj)
        if _apply(target, kind, obj, stats) and isinstance(uuid, str):
            seen.add(hash(uuid))
    return [t.to_session("", "", [path], ParseStats(), agent_id=key) for key, t in sidechains]


def _skippable(line: bytes) -> bool:
    """True when the bytes alone prove a heavy line type we ignore (progress, snapshots).

    Sound because `"type":` can only appear unescaped as a key, and when no '{' or '[' opens
    before it, that key belongs to the top-level object. Anything unsure is parsed normally.
    """
    if not line.startswith(b"{"):
        return False
    # the usual line is neither: two scans in C settle it before any position arithmetic
    if (
        line.find(b'"progress"', 1, _SNIFF_WINDOW) < 0
        and line.find(b'"file-history-snapshot"', 1, _SNIFF_WINDOW) < 0
    ):
        return False
    at = line.find(b'"type":', 1, _SNIFF_WINDOW)
    if at < 0 or line.find(b"{", 1, at) >= 0 or line.find(b"[", 1, at) >= 0:
        return False
    return line[at + 7 : at + 40].lstrip().startswith(_SKIP_BEFORE_PARSE)


def _parse_line(line: bytes, stats: ParseStats) -> dict[str, Any] | None:
    """parse_object, minus the tool output Claude Code repeats in `toolUseResult`.

    That value (a third of a typical transcript's bytes) duplicates the tool_result we read
    from `message`, so when it is the top-level key, parse only what comes before it. Sound
    for the same reason as _skippable: the key can only match unescaped, and a cut inside any
    nested value leaves brackets open, so the prefix fails to parse and the whole line is
    parsed instead; lines whose message (or uuid) follows the cut are parsed whole too.
    """
    cut = line.find(_TOOL_USE_RESULT)
    if cut > 0:
        try:
            head = orjson.loads(line[:cut] + b"}")
        except orjson.JSONDecodeError:
            head = None
        if isinstance(head, dict) and "message" in head and "uuid" in head:
            return head
    return parse_object(line, stats)


def _apply(target: _Transcript, kind: str, obj: dict[str, Any], stats: ParseStats) -> bool:
    """Hand one parsed line to the transcript; False when its shape was wrong (counted)."""
    if kind == "user":
        ok = target.add_user(obj, stats)
    elif kind == "assistant":
        ok = target.add_assistant(obj)
    elif kind == "summary":
        ok = target.add_summary(obj)
    elif kind in ("ai-title", "custom-title"):
        ok = target.add_title(kind, obj)
    elif kind in _IGNORED_TYPES:
        target.note_context(obj)
        return True
    else:
        stats.unknown_types[kind] += 1
        return True
    if not ok:
        stats.malformed["bad_shape"] += 1
    return ok


class _Sidechains:
    """Inline (1.0.x) subagent lines, grouped into one transcript per subagent run."""

    def __init__(self, hot_chars: int) -> None:
        self._hot_chars = hot_chars
        self._by_key: dict[str, _Transcript] = {}
        self._owner: dict[str, str] = {}  # line uuid -> subagent key
        self._latest: str | None = None

    def route(self, obj: dict[str, Any]) -> _Transcript:
        agent, uuid, parent = obj.get("agentId"), obj.get("uuid"), obj.get("parentUuid")
        if isinstance(agent, str) and _SAFE_ID.fullmatch(agent):
            key = agent
        elif isinstance(parent, str) and parent in self._owner:
            key = self._owner[parent]
        elif parent is not None and self._latest is not None:
            key = self._latest  # its parent line is missing (cut): keep to the current run
        else:  # a new sidechain starts: its first line has no parent
            seed = re.sub(r"[^A-Za-z0-9]", "", uuid if isinstance(uuid, str) else "")
            key = f"sidechain-{seed[:8] or len(self._by_key) + 1}"
        if isinstance(uuid, str):
            self._owner[uuid] = key
        self._latest = key
        transcript = self._by_key.get(key)
        if transcript is None:
            transcript = self._by_key[key] = _Transcript(self._hot_chars)
        return transcript

    def __iter__(self) -> Any:
        return iter(self._by_key.items())


# ---------------------------------------------------------------- turn assembly


class _Transcript:
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
        self._budget = Budget()
        # what the turns that moved to disk leave behind (see _spill)
        self._spill_mark = self._budget.left
        self._spilled_usage = Usage()
        self._spilled_unanswered: set[str] = set()  # ids of spilled calls with no result yet

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
        call = self._calls.get(tool_id) if isinstance(tool_id, str) else None
        if call is None and tool_id in self._spilled_unanswered:
            assert isinstance(tool_id, str)
            result = text_of(block.get("content"), self._budget.limit(RESULT_LIMIT))
            self._budget.left -= len(result)
            self.turns.add_late_result(tool_id, result, block.get("is_error") is True)
            return
        if call is None:
            stats.orphan_results += 1
            return
        call.result = text_of(block.get("content"), self._budget.limit(RESULT_LIMIT))
        self._budget.left -= len(call.result)
        call.is_error = block.get("is_error") is True

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
        moved = self.turns.spill_if_large(kept, self._calls, self._spilled_unanswered)
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
                turn.text = _join(turn.text, self._budget.clip(text, TEXT_LIMIT, REPLY_FLOOR))
        elif kind == "thinking":
            thinking = block.get("thinking")
            limit = self._budget.limit(THINKING_LIMIT)
            if isinstance(thinking, str) and len(turn.thinking) < limit:
                turn.thinking = self._budget.clip(_join(turn.thinking, thinking), limit)
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
        call = ToolCall(
            id=str(block.get("id") or ""),
            name=str(block.get("name") or "?"),
            input=clip_input(raw, limit)
            if isinstance(raw, dict)
            else {"input": clip_input(raw, limit)},
            timestamp=stamp,
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


# ---------------------------------------------------------------- user text rules

_INJECTED_BLOCK = re.compile(
    r"\s*<(ide_opened_file|ide_selection|ide_diagnostics|system-reminder)>"
)
_OUTPUT_TAGS = re.compile(
    r"</?(local-command-stdout|local-command-stderr|bash-stdout|bash-stderr)>"
)
_NOT_HUMAN = (
    "[Request interrupted by user",
    "Caveat: The messages below were generated by the user while running local commands",
    "<local-command-caveat>",
    "<task-notification>",
)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_COMMAND_NAME = re.compile(r"<command-name>\s*(.*?)\s*</command-name>", re.S)
_COMMAND_ARGS = re.compile(r"<command-args>(.*?)</command-args>", re.S)
_BASH_INPUT = re.compile(r"<bash-input>(.*?)</bash-input>", re.S)


def classify_user_text(texts: list[str], obj: dict[str, Any]) -> tuple[str, bool, str | None]:
    """(text, is_meta, command) for a user line's text blocks; see the module docstring."""
    human = [t for t in texts if not _INJECTED_BLOCK.match(t)]
    text = "\n\n".join(human or texts).strip()
    is_meta = obj.get("isMeta") is True or (bool(texts) and not human)
    command = None
    name = _COMMAND_NAME.search(text)
    if name and name.group(1):
        command = name.group(1) if name.group(1).startswith("/") else f"/{name.group(1)}"
        args = _COMMAND_ARGS.search(text)
        text = f"{command} {args.group(1).strip() if args else ''}".strip()
    elif text.startswith("<bash-input>"):
        bash = _BASH_INPUT.match(text)
        text = f"! {bash.group(1).strip()}" if bash else text
    elif _OUTPUT_TAGS.match(text):
        is_meta = True
        text = _ANSI.sub("", _OUTPUT_TAGS.sub("", text)).strip()
    elif text.startswith(_NOT_HUMAN):
        is_meta = True
    return text, is_meta, command


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


def _join(existing: str, more: str) -> str:
    return f"{existing}\n\n{more}" if existing else more
