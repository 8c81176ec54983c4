"""Claude Code transcripts (~/.claude/projects/<encoded cwd>/*.jsonl) -> `Session`s.

Reading is one streaming pass per file (readers.iter_lines): nothing keeps raw lines, long
texts are clipped, so memory follows the size of what we keep, not the size of the file.

The line loop is claude_lines.py's, how lines become turns claude_turns.py's. Decisions worth
knowing here (each pinned by tests/test_claude.py):
- A uuid seen before in the session (resumed sessions repeat lines) is skipped and counted
  in ParseStats.duplicates. Forks (rewinds) are kept in file order: an abandoned branch still
  holds the human's words. A merged group (registry.merge_groups: the same session found in
  two folders) reads every main transcript among its parts into one session, so the copies'
  shared lines count once; copies of one agent file (same name) make one subagent.
- Subagents, all attached to the parent's Session.subagents: 1.0.x inline `isSidechain` lines
  (grouped by agentId, else by following parentUuid to the sidechain's first line); 2.0.x flat
  `agent-<id>.jsonl` files (their lines name the parent's sessionId); 2.1.x
  `<session>/subagents/agent-<id>.jsonl` with `.meta.json` (agentType, description -> title),
  and Workflow-tool agents under `<session>/subagents/workflows/wf_<run>/` (agent_type
  "workflow" unless their .meta.json says). `agent-acompact-*` files are /compact runs, not
  delegated work: their final answer becomes one of the session's summaries.
- An agent file whose parent transcript is missing is kept, in a group of its own named after
  the parent's session id (the work it records is real). An agent file naming no sessionId
  at all is skipped with a warning. A parent with no turns of its own is a session only when
  a subagent did real work; Claude Code's cache-warming "Warmup" agents don't count.
- Session.project is the last component of the session's own cwd (exact), else the
  project_hint, else a guess from the encoded folder name (see readers.pick_project).
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import orjson

from engram_ci.transcripts.claude_lines import SAFE_ID, Sidechains, read_lines
from engram_ci.transcripts.claude_turns import SOURCE, Transcript
from engram_ci.transcripts.lines import (
    MAX_LINE_BYTES,
    TEXT_LIMIT,
    SeenHashes,
    clip,
    has_conversation,
    iter_lines,
    parse_object,
    pick_project,
)
from engram_ci.transcripts.model import ParseStats, Session, TranscriptGroup, child_path
from engram_ci.transcripts.turnlog import HOT_CHARS

__all__ = ["discover", "read_session"]

log = logging.getLogger("engram_ci.transcripts.claude")

_AGENT_PREFIX = "agent-"
_COMPACTION_PREFIX = "agent-acompact"
_META_SUFFIX = ".meta.json"
_PEEK_CHUNK = 64 * 1024

# ---------------------------------------------------------------- discovery


def discover(roots: Sequence[Path]) -> list[TranscriptGroup]:
    """Every session under `roots` (folders laid out like ~/.claude/projects), sorted.

    Agent transcripts are parts of their parent's group (so a growing agent file re-ingests
    the parent) and never groups of their own. The walk is on strings (names from one
    directory read each, see _listing); the groups hand out Paths to whoever reads them.
    """
    groups: dict[tuple[str, str], TranscriptGroup] = {}
    for root in roots:
        for folder in _project_folders(os.fspath(root)):
            for group in _discover_folder(folder):
                groups.setdefault((group.folder_path, group.session_id), group)
    return [groups[key] for key in sorted(groups)]


def _project_folders(root: str) -> list[str]:
    dirs, files = _listing(root)
    folders = [child_path(root, name) for name in sorted(dirs) if not name.startswith(".")]
    # tolerate a root that is itself one project folder
    if any(name.endswith(".jsonl") for name in files):
        folders.insert(0, root)
    return folders


def _listing(folder: str) -> tuple[list[str], list[str]]:
    """The names of `folder`'s subfolders and files, from one directory read.

    os.scandir reports each entry's type from the directory itself: discovery costs one
    read per folder instead of a stat per file (an unchanged re-ingest is mostly this).
    """
    dirs: list[str] = []
    files: list[str] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    if entry.is_dir():
                        dirs.append(entry.name)
                    elif entry.is_file():
                        files.append(entry.name)
                except OSError:
                    continue  # vanished or unreadable: like a file that is not there
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        pass
    return dirs, files


def _discover_folder(folder: str) -> list[TranscriptGroup]:
    mains: dict[str, str] = {}
    agents: dict[str, list[str]] = defaultdict(list)
    dirs, files = _listing(folder)
    for name in sorted(files):
        if not name.endswith(".jsonl"):
            continue
        path = child_path(folder, name)
        if not name.startswith(_AGENT_PREFIX):
            mains[_stem(name)] = path
            continue
        parent = _peek_session_id(path)
        if parent is None:
            log.warning("skipping %s: an agent transcript that names no parent session", path)
        else:
            agents[parent].append(path)
    for name in sorted(dirs):
        if SAFE_ID.fullmatch(name) and (found := _subagent_files(child_path(folder, name))):
            agents[name].extend(found)
    groups = [_group(sid, main, agents.pop(sid, []), folder) for sid, main in sorted(mains.items())]
    for sid, parts in sorted(agents.items()):
        transcripts = [p for p in parts if p.endswith(".jsonl")]
        if transcripts:  # orphans: the parent transcript is gone, the agents' work is not
            groups.append(_group(sid, transcripts[0], parts, folder))
    return groups


def _stem(name: str) -> str:
    """Path(name).stem of a `*.jsonl` name (a bare ".jsonl" is its own stem, as in pathlib)."""
    return name[: -len(".jsonl")] if len(name) > len(".jsonl") else name


def _subagent_files(session_folder: str) -> list[str]:
    """2.1.x agent transcripts and their .meta.json under <session>/subagents, sorted as
    their Paths would sort: agent-* files, and Workflow agents under workflows/wf_*/."""
    subagents = f"{session_folder}{os.sep}subagents"
    dirs, files = _listing(subagents)
    found: list[tuple[str, ...]] = [(name,) for name in files if _is_agent_part(name)]
    if "workflows" in dirs:
        workflows = f"{subagents}{os.sep}workflows"
        for run in _listing(workflows)[0]:
            if run.startswith("wf_"):
                found.extend(
                    ("workflows", run, name)
                    for name in _listing(f"{workflows}{os.sep}{run}")[1]
                    if _is_agent_part(name)
                )
    return [os.sep.join((subagents, *parts)) for parts in sorted(found)]


def _is_agent_part(name: str) -> bool:
    return name.startswith(_AGENT_PREFIX) and (
        name.endswith(".jsonl") or name.endswith(_META_SUFFIX)
    )


def _group(session_id: str, main: str, parts: Iterable[str], folder: str) -> TranscriptGroup:
    rest = sorted({p for p in parts if p != main})
    return TranscriptGroup(session_id, SOURCE, main, (main, *rest), folder)


def _peek_session_id(path: str, max_lines: int = 50) -> str | None:
    """The sessionId named by the first lines of a flat (2.0.x) agent transcript.

    Read in small chunks: the first line names it, and every re-ingest peeks again."""
    stats = ParseStats()
    for count, line in enumerate(iter_lines(path, stats, chunk_bytes=_PEEK_CHUNK), start=1):
        obj = parse_object(line, stats)
        session_id = obj.get("sessionId") if obj else None
        if isinstance(session_id, str) and SAFE_ID.fullmatch(session_id):
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
    main, stats, sidechains = Transcript(hot_chars), ParseStats(), Sidechains(hot_chars)
    seen = SeenHashes()  # hashes of uuids, shared by every copy of the main transcript
    parts = group.parts  # Paths, built once
    mains = [p for p in parts if p.suffix == ".jsonl" and not is_agent_file(p)]
    for path in mains:
        read_lines(path, main, stats, max_line_bytes, seen, sidechains)
    agents = [t.to_session("", "", mains[:1], ParseStats(), agent_id=key) for key, t in sidechains]
    summaries: list[str] = []
    for copies in _agent_files(parts).values():
        if copies[0].name.startswith(_COMPACTION_PREFIX):
            summaries.extend(_compaction_summary(copies, stats, max_line_bytes))
        else:
            agents.append(_read_agent(copies, parts, max_line_bytes, hot_chars))
    if not has_conversation(main.turns) and not any(_did_work(agent) for agent in agents):
        return None
    cwd = main.cwd or next((a.cwd for a in agents if a.cwd), None)
    project = pick_project(cwd, project_hint, group.folder, default=group.session_id)
    transcripts = [p for p in parts if p.suffix == ".jsonl"]
    session = main.to_session(group.session_id, project, transcripts, stats)
    session.cwd = cwd  # the subagents' when only they were kept: paths read relative to it
    session.summaries.extend(s for s in summaries if s not in session.summaries)
    for agent in agents:
        agent.session_id = group.session_id
        agent.project = project
    session.subagents = sorted(agents, key=lambda a: (a.started_at or "", a.agent_id or ""))
    return session


def _agent_files(parts: Sequence[Path]) -> dict[str, list[Path]]:
    """Agent transcripts by file name: copies of one agent (from two folders) read as one."""
    by_name: dict[str, list[Path]] = defaultdict(list)
    for path in parts:
        if is_agent_file(path):
            by_name[path.name].append(path)
    return by_name


def _read_agent(
    copies: list[Path], parts: Sequence[Path], max_line_bytes: int, hot_chars: int
) -> Session:
    transcript, stats, seen = Transcript(hot_chars), ParseStats(), SeenHashes()
    for path in copies:
        read_lines(path, transcript, stats, max_line_bytes, seen, None)
    first = copies[0]
    agent_id = first.stem.removeprefix(_AGENT_PREFIX) or transcript.agent_id
    session = transcript.to_session("", "", copies, stats, agent_id=agent_id)
    meta = next((m for copy in copies if (m := _meta_path(copy, parts))), None)
    agent_type, description = _read_meta(meta) if meta else (None, None)
    in_workflow = first.parent.name.startswith("wf_") and first.parent.parent.name == "workflows"
    session.agent_type = agent_type or ("workflow" if in_workflow else None)
    session.title = description or session.title
    return session


def _compaction_summary(copies: list[Path], stats: ParseStats, max_line_bytes: int) -> list[str]:
    """A /compact run's final answer: the summary the session continued from."""
    transcript, seen = Transcript(), SeenHashes()
    for path in copies:
        read_lines(path, transcript, stats, max_line_bytes, seen, None)
    replies = [t.text for t in transcript.turns if t.role == "assistant" and t.text.strip()]
    return [clip(replies[-1].strip(), TEXT_LIMIT)] if replies else []


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
