"""Claude Code transcripts (~/.claude/projects/<encoded cwd>/*.jsonl) -> `Session`s.

Reading is one streaming pass per file (readers.iter_lines): nothing keeps raw lines, long
texts are clipped, so memory follows the size of what we keep, not the size of the file.

How lines become turns is claudeturns.py's job. Decisions worth knowing here (each pinned by
tests/test_claude.py):
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
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from engram_ci.transcripts.claude_turns import SOURCE, Transcript
from engram_ci.transcripts.lines import (
    MAX_LINE_BYTES,
    SeenHashes,
    clip,
    has_conversation,
    iter_lines,
    parse_object,
    pick_project,
)
from engram_ci.transcripts.model import ParseStats, Session, TranscriptGroup
from engram_ci.transcripts.registry import ReaderSpec
from engram_ci.transcripts.turnlog import HOT_CHARS

log = logging.getLogger("engram_ci.transcripts.claude")

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


def default_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """$ENGRAM_SESSIONS_DIR, else every $CLAUDE_CONFIG_DIR entry's projects/ (Claude Code
    accepts a comma-separated list), else ~/.claude/projects."""
    explicit = env.get("ENGRAM_SESSIONS_DIR", "").strip()
    if explicit:
        return [Path(explicit).expanduser()]
    config_dirs = [p.strip() for p in env.get("CLAUDE_CONFIG_DIR", "").split(",")]
    roots = [Path(p).expanduser() / "projects" for p in config_dirs if p]
    return roots or [home / ".claude" / "projects"]


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
    main = Transcript(hot_chars)
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
    transcript = Transcript(hot_chars)
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
    main: Transcript,
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


def _apply(target: Transcript, kind: str, obj: dict[str, Any], stats: ParseStats) -> bool:
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
        self._by_key: dict[str, Transcript] = {}
        self._owner: dict[str, str] = {}  # line uuid -> subagent key
        self._latest: str | None = None

    def route(self, obj: dict[str, Any]) -> Transcript:
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
            transcript = self._by_key[key] = Transcript(self._hot_chars)
        return transcript

    def __iter__(self) -> Any:
        return iter(self._by_key.items())


READER = ReaderSpec(
    name=SOURCE,
    option="sessions-dir",
    store="$ENGRAM_SESSIONS_DIR, else ~/.claude/projects",
    default_roots=default_roots,
    discover=discover,
    read_session=read_session,
)
