"""OpenAI Codex CLI sessions -> `Session`s: discovery and threads (codex_rollout.py reads lines).

Where rollouts live: `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<uuid>.jsonl`, week-old
ones compressed to `.jsonl.zst` (read through a streaming zstd decoder), archived threads in
`$CODEX_HOME/archived_sessions/`. Decisions worth knowing (pinned by tests/test_codex.py):
- A thread's id is the uuid in its file name. A child thread — a spawned subagent
  (session_meta.source.subagent.thread_spawn.parent_thread_id) or a fork (forked_from_id) —
  joins its parent's group, so the parent's archive holds it as a subagent (role "fork" or
  the subagent's agent_role). Found without its parent, it is a session of its own.
- A child's rollout opens by replaying its parent's records (re-stamped): lines whose payload
  the thread's ancestors already hold are skipped until the child's own records begin, so
  prompts, tool calls and tokens count once.
- Copies of one rollout (the same uuid twice: .jsonl beside .jsonl.zst, or copied from two
  machines) are read as one; lines the copies share count once.
- Line types, prompts and usage: see codex_rollout.py.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final

from engram_ci.transcripts.codex_rollout import ITEM_TYPES, QUIET_TYPES, SAFE_ID, Rollout
from engram_ci.transcripts.lines import (
    MAX_LINE_BYTES,
    SeenHashes,
    has_conversation,
    iter_lines,
    parse_object,
    pick_project,
    read_head,
    sniff_type,
)
from engram_ci.transcripts.model import ParseStats, Session, TranscriptGroup, child_path
from engram_ci.transcripts.turnlog import HOT_CHARS

__all__ = ["discover", "read_session", "thread_id"]

SOURCE: Final = "codex"
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SUFFIXES = (".jsonl", ".jsonl.zst")
#: where a child thread names its parent: both keys sit in session_meta's first few fields
_PARENT_KEY = re.compile(rb'"(parent_thread_id|forked_from_id)":\s*"([^"\\]{1,200})"')
_PEEK_BYTES = 8192
_PAYLOAD = b'"payload":'
_PARSED_TYPES = frozenset(
    t.encode() for t in {"session_meta", "turn_context", "response_item", "compacted", *ITEM_TYPES}
)
_QUIET_TYPES = frozenset(t.encode() for t in QUIET_TYPES)


def discover(roots: Sequence[Path]) -> list[TranscriptGroup]:
    """One group per root thread under `roots`, its child threads and copies as parts."""
    files: dict[str, str] = {}  # path -> its file name
    for root in roots:
        files.update(_rollouts(os.fspath(root)))
    by_thread: dict[str, list[str]] = defaultdict(list)
    for path in sorted(files, key=lambda p: (files[p], p)):  # names start with the time
        by_thread[_thread_of(files[path])].append(path)
    parent_of = {tid: _peek_parent(paths[0]) for tid, paths in by_thread.items()}
    members: dict[str, list[str]] = defaultdict(list)
    for tid, paths in by_thread.items():
        members[_root_of(tid, parent_of, by_thread)].extend(paths)
    groups = [
        TranscriptGroup(tid, SOURCE, by_thread[tid][0], _ordered(tid, parts), _parent(parts[0]))
        for tid, parts in members.items()
    ]
    return sorted(groups, key=lambda g: g.main_path)


def _rollouts(root: str) -> Iterator[tuple[str, str]]:
    """(path, name) of every rollout file at any depth under `root`, as Path.rglob finds
    them (symlinked folders are not followed), on strings: one directory read per folder."""
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:  # not a folder, gone, unreadable: nothing found there
            continue
        for entry in entries:
            name = entry.name
            path = child_path(folder, name)
            try:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(path)
                elif _is_rollout_name(name) and entry.is_file():
                    yield path, name
            except OSError:
                continue


def _parent(path: str) -> str:
    return os.path.dirname(path) or "."  # as str(Path(path).parent)


def _is_rollout_name(name: str) -> bool:
    return name.startswith("rollout-") and name.endswith(_SUFFIXES)


def thread_id(path: Path) -> str:
    """rollout-2025-09-10T12-00-00-<uuid>.jsonl -> <uuid> (the id session_meta also holds)."""
    return _thread_of(path.name)


def _thread_of(name: str) -> str:
    match = _UUID.search(name)
    return match.group(0).lower() if match else name.removesuffix(".zst").removesuffix(".jsonl")


def _ordered(root: str, parts: list[str]) -> list[str]:
    """The root thread's files first, then the children's in time order."""

    def order(path: str) -> tuple[bool, str, str]:
        name = os.path.basename(path)
        return _thread_of(name) != root, name, path

    return sorted(parts, key=order)


def _peek_parent(path: str) -> str | None:
    """The thread a child rollout names as its parent, read from its first bytes only."""
    head = read_head(path, _PEEK_BYTES)
    found = dict(_PARENT_KEY.findall(head.split(b"\n", 1)[0]))
    parent = found.get(b"parent_thread_id") or found.get(b"forked_from_id")
    return parent.decode("utf-8", "replace").lower() if parent else None


def _root_of(tid: str, parent_of: Mapping[str, str | None], found: Mapping[str, object]) -> str:
    """The oldest ancestor of `tid` that was found (cycles and missing parents stop it)."""
    seen = {tid}
    while (parent := parent_of.get(tid)) and parent in found and parent not in seen:
        seen.add(parent)
        tid = parent
    return tid


def read_session(
    group: TranscriptGroup,
    *,
    project_hint: str | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
    hot_chars: int = HOT_CHARS,
) -> Session | None:
    """The root thread's session with its child threads as subagents, or None when it holds
    no conversation turn. A long one comes back with its turns in a TurnLog (see
    claude.read_session)."""
    threads: dict[str, list[Path]] = defaultdict(list)
    for path in group.parts:
        threads[thread_id(path)].append(path)
    root_id = thread_id(group.main)
    # payload hashes of every thread read so far, when children must skip their replay
    ancestry = SeenHashes() if len(threads) > 1 else None
    stats = ParseStats()
    root = _read_thread(
        threads.pop(root_id, [group.main]), stats, max_line_bytes, hot_chars, ancestry
    )
    children: list[Session] = []
    for tid, paths in threads.items():
        child_stats = ParseStats()
        thread = _read_thread(paths, child_stats, max_line_bytes, hot_chars, ancestry, replay=True)
        if has_conversation(thread.turns):
            child = _to_session(thread, tid, paths, child_stats, project_hint)
            child.agent_id, child.agent_type = tid, thread.role or "subagent"
            children.append(child)
        else:
            stats.merge(child_stats)  # nothing but the replay: its lines still count as read
    if not has_conversation(root.turns) and not children:
        return None
    fallback = group.session_id if SAFE_ID.fullmatch(group.session_id) else "codex-session"
    session = _to_session(
        root, fallback, [p for p in group.parts if thread_id(p) == root_id], stats, project_hint
    )
    for child in children:
        child.session_id, child.project = session.session_id, session.project
    session.subagents = children
    return session


def _read_thread(
    paths: list[Path],
    stats: ParseStats,
    max_line_bytes: int,
    hot_chars: int,
    ancestry: SeenHashes | None,
    *,
    replay: bool = False,
) -> Rollout:
    """One thread from its file (or copies of it). With `replay`, the opening lines whose
    payload an ancestor holds are skipped: the child's copy of its parent's history."""
    rollout = Rollout(hot_chars)
    copies = SeenHashes() if len(paths) > 1 else None
    for path in paths:
        for line in iter_lines(path, stats, max_line_bytes):
            if copies is not None and _seen(hash(line), copies, stats):
                continue
            if ancestry is not None:
                key = hash(line[max(line.find(_PAYLOAD), 0) :])
                if replay and _seen(key, ancestry, stats):
                    continue
                if replay and b'"session_meta"' not in line[:200]:
                    replay = False  # the child's own records begin
                ancestry.add(key)
            if _worth_parsing(line, stats):
                obj = parse_object(line, stats)
                if obj is not None:
                    rollout.add_line(obj, stats)
    rollout.finish()
    return rollout


def _seen(key: int, seen: SeenHashes, stats: ParseStats) -> bool:
    """Whether `key` was seen (a duplicate, counted); remembers it either way."""
    if key in seen:
        stats.duplicates += 1
        return True
    seen.add(key)
    return False


def _worth_parsing(line: bytes, stats: ParseStats) -> bool:
    """Sorted by its bytes (lines.sniff_type): event_msg lines other than prompts and token
    counts (two thirds of a rollout, repeating response_items) and line types with nothing
    to read are dropped unparsed, unknown types counted."""
    kind = sniff_type(line)
    if kind == b"event_msg":
        return line.find(b'"user_message"') >= 0 or line.find(b'"token_count"') >= 0
    if kind is not None and kind not in _PARSED_TYPES:
        if kind not in _QUIET_TYPES:
            stats.unknown_types[kind.decode("utf-8", "replace")] += 1
        return False
    return True


def _to_session(
    rollout: Rollout,
    fallback_id: str,
    transcripts: list[Path],
    stats: ParseStats,
    project_hint: str | None,
) -> Session:
    return Session(
        session_id=rollout.session_id or fallback_id,
        source=SOURCE,
        # Codex folders are dates: never a project name
        project=pick_project(rollout.cwd, project_hint, None, default="codex"),
        transcripts=transcripts,
        cwd=rollout.cwd,
        git_branch=rollout.git_branch,
        version=rollout.version,
        started_at=rollout.first_ts,
        ended_at=rollout.last_ts,
        models=list(rollout.models),
        turns=rollout.turns.to_sequence(),
        usage=rollout.usage,
        summaries=list(rollout.summaries),
        stats=stats,
    )
