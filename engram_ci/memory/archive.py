"""The conversation archive: engram's conversations/{project}/{session}/ and summaries/.

conversation.md is the session as a person would read it — prompts, replies, every tool call
with its result (errors marked), subagents as their own sections — and meta.json holds the
numbers (turns, tool calls, tokens, models, times). Both are deterministic for the same
session (no "ingested at" stamp), and a file whose bytes would not change is not rewritten,
so re-ingesting leaves mtimes alone.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from engram_ci import __version__
from engram_ci.memory.fsutil import atomic_write_chunks, make_folder
from engram_ci.memory.paths import MemoryLayout
from engram_ci.transcripts.model import Session, ToolCall, Turn

__all__ = [
    "META_FILE",
    "Archived",
    "archived_metas",
    "last_activity",
    "read_archive",
    "read_meta",
    "render_conversation",
    "session_meta",
    "write_session",
]

log = logging.getLogger("engram_ci")

CONVERSATION_FILE = "conversation.md"
META_FILE = "meta.json"
MAX_INPUT_CHARS = 8_000  # a Write call's input holds a whole file; the result says enough
_BACKTICKS = re.compile(r"`{3,}")
#: the input keys that say in one line what a tool call did
_HEADLINE_KEYS = ("command", "file_path", "path", "pattern", "url", "query", "description")
#: how write_session puts one file down: (path, its text in pieces, whether an existing file
#: may be compared and left alone) -> whether anything was written
FileWriter = Callable[[Path, Iterable[str], bool], bool]


def _fenced(text: str, info: str = "") -> str:
    """A code fence longer than any backtick run inside, so content can never close it."""
    # the usual case, no ``` at all, is decided by a scan in C, not a regex over every result
    if "```" not in text:
        return f"```{info}\n{text.rstrip()}\n```"
    longest = max(len(m.group()) for m in _BACKTICKS.finditer(text))
    fence = "`" * (longest + 1)
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"


def _headline(call: ToolCall) -> str:
    for key in _HEADLINE_KEYS:
        value = call.input.get(key)
        if isinstance(value, str) and value.strip():
            first = value.strip().split("\n", 1)[0]
            return first if len(first) <= 120 else first[:117] + "..."
    return ""


def _render_call(call: ToolCall) -> Iterator[str]:
    status = " — **error**" if call.is_error else ""
    headline = _headline(call)
    yield f"**Tool call `{call.name}`**{status}" + (f": `{headline}`" if headline else "")
    yield ""
    arguments = _pretty_json(call.input)
    if len(arguments) > MAX_INPUT_CHARS:
        arguments = arguments[:MAX_INPUT_CHARS] + f"\n... ({len(arguments)} characters in all)"
    yield _fenced(arguments, "json")
    yield ""
    if call.result is None:
        yield "_(no result recorded)_"
    else:
        yield "Error:" if call.is_error else "Result:"
        yield ""
        yield _fenced(call.result or "(empty)")
    yield ""


def _pretty_json(value: Any, *, sort_keys: bool = True) -> str:
    """json.dumps(indent=2, sort_keys=sort_keys, ensure_ascii=False), the same text, by
    orjson (several times faster; this runs for every tool call and meta.json of every
    session, and json's indent switches it to its pure-Python encoder)."""
    option = orjson.OPT_INDENT_2 | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    try:
        return orjson.dumps(value, option=option).decode()
    except TypeError:  # what orjson refuses (integers past 64 bits): the stdlib's answer
        return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=sort_keys)


def _turn_title(turn: Turn) -> str:
    if turn.role == "assistant":
        name = "Assistant"
    elif turn.is_compact_summary:
        name = "Compact summary"
    elif turn.is_meta:
        name = "User (injected context)"
    else:
        name = "User"
    details = [part for part in (turn.timestamp, turn.model) if part]
    return name + (f" · {' · '.join(details)}" if details else "")


def _render_turn(turn: Turn, level: int) -> Iterator[str]:
    yield f"{'#' * level} {_turn_title(turn)}"
    yield ""
    if turn.thinking.strip():
        yield "<details><summary>Thinking</summary>"
        yield ""
        yield _fenced(turn.thinking)
        yield ""
        yield "</details>"
        yield ""
    if turn.text.strip():
        yield turn.text.rstrip()
        yield ""
    if turn.images:
        yield f"_[{turn.images} image(s)]_"
        yield ""
    if turn.unknown_blocks:
        noted = ", ".join(f"{name} ×{n}" for name, n in sorted(turn.unknown_blocks.items()))
        yield f"_[other content: {noted}]_"
        yield ""
    for call in turn.tool_calls:
        yield from _render_call(call)


def _render_session(session: Session, level: int) -> Iterator[str]:
    for turn in session.turns:
        # a turn's lines joined here: the same text as yielding them one by one, with a
        # tenth of the per-line work in conversation_chunks and the writes
        yield "\n".join(_render_turn(turn, level))
    for agent in session.subagents:
        name = agent.agent_id or agent.session_id
        counts = _counts(agent)
        yield f"{'#' * level} Subagent {name}" + (f" · {agent.title}" if agent.title else "")
        yield ""
        yield (
            f"_{counts['turns']['total']} turns, {counts['tool_calls']} tool calls"
            f" ({counts['tool_errors']} errors)_"
        )
        yield ""
        yield from _render_session(agent, min(level + 1, 6))


def render_conversation(session: Session) -> str:
    """conversation.md as one string (write_session streams the same text to disk)."""
    return "".join(conversation_chunks(session))


def conversation_chunks(session: Session, meta: dict[str, Any] | None = None) -> Iterator[str]:
    """conversation.md piece by piece: its lines joined by newlines, trailing blank lines
    dropped, one final newline — without ever holding the whole text (a session's archive
    can be tens of MB). `meta` is session_meta(session) when the caller has it already."""
    pending = ""  # newlines that end the text so far: written only if more text follows
    first = True
    for line in _conversation_lines(session, meta or session_meta(session)):
        piece = line if first else f"{pending}\n{line}"
        first = False
        kept = piece.rstrip("\n")
        if kept:
            yield kept
        pending = piece[len(kept) :]
    yield "\n"


def _conversation_lines(session: Session, meta: dict[str, Any]) -> Iterator[str]:
    lines = [
        f"# {session.title or 'Session ' + session.session_id}",
        "",
        f"- **Session:** `{session.session_id}`",
        f"- **Project:** {session.project}",
        f"- **Source:** {session.source}" + (f" {session.version}" if session.version else ""),
        f"- **Started:** {session.started_at or 'unknown'} · **Ended:** "
        f"{session.ended_at or 'unknown'}",
    ]
    if session.cwd:
        lines.append(f"- **Directory:** `{session.cwd}`")
    if session.git_branch:
        lines.append(f"- **Branch:** `{session.git_branch}`")
    if session.models:
        lines.append(f"- **Models:** {', '.join(session.models)}")
    lines += [
        f"- **Turns:** {meta['turns']['total']} ({meta['turns']['prompts']} prompts) · "
        f"**Tool calls:** {meta['tool_calls']} ({meta['tool_errors']} errors) · "
        f"**Tokens:** {meta['tokens']['total']:,}",
        f"- **Subagents:** {len(session.subagents)}",
        "",
        "---",
        "",
    ]
    yield from lines
    yield from _render_session(session, 2)


def _counts(session: Session) -> dict[str, Any]:
    """The session's own numbers, in one walk over its turns (they may be read from disk)."""
    total = user = assistant = prompts = calls = errors = 0
    for turn in session.turns:
        total += 1
        user += turn.role == "user"
        assistant += turn.role == "assistant"
        prompts += turn.is_prompt
        calls += len(turn.tool_calls)
        errors += sum(call.is_error for call in turn.tool_calls)
    return {
        "turns": {"total": total, "user": user, "assistant": assistant, "prompts": prompts},
        "tool_calls": calls,
        "tool_errors": errors,
        "tokens": {
            "input": session.usage.input_tokens,
            "output": session.usage.output_tokens,
            "cache_read": session.usage.cache_read_tokens,
            "cache_creation": session.usage.cache_creation_tokens,
            "total": session.usage.total,
        },
    }


def _path_text(path: Path) -> str:
    """A transcript's path as meta.json can hold it: a name that is not UTF-8 (bytes Python
    carries as surrogates) is written with those bytes as \\x escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def all_tool_calls(session: Session) -> int:
    """Tool calls of the session and of every subagent, however deep."""
    own = sum(len(turn.tool_calls) for turn in session.turns)
    return own + sum(all_tool_calls(a) for a in session.subagents)


def session_meta(session: Session) -> dict[str, Any]:
    """meta.json: the session's own counts, plus each subagent's, plus where it came from."""
    own = _counts(session)
    return {
        "session_id": session.session_id,
        "project": session.project,
        "source": session.source,
        "title": session.title,
        "cwd": session.cwd,
        "git_branch": session.git_branch,
        "version": session.version,
        "started_at": session.started_at,
        "ended_at": session.ended_at,
        "models": list(session.models),
        **own,
        "tool_calls_with_subagents": own["tool_calls"]
        + sum(all_tool_calls(agent) for agent in session.subagents),
        "subagents": [
            {
                "agent_id": agent.agent_id or agent.session_id,
                "title": agent.title,
                "models": list(agent.models),
                **_counts(agent),
                "transcripts": [_path_text(p) for p in agent.transcripts],
            }
            for agent in session.subagents
        ],
        "summaries": list(session.summaries),
        "transcripts": [_path_text(p) for p in session.transcripts],
        "parse": {
            "lines": session.stats.lines,
            "malformed": dict(sorted(session.stats.malformed.items())),
            "unknown_types": dict(sorted(session.stats.unknown_types.items())),
            "duplicates": session.stats.duplicates,
        },
        "ingested_by": f"engram-ci {__version__}",
    }


#: upstream engram's meta.json key -> ours (engram writes start_time, end_time, model, ...)
UPSTREAM_META_KEYS = {"start_time": "started_at", "end_time": "ended_at"}


def read_meta(data: dict[str, Any]) -> dict[str, Any]:
    """A meta.json as ours, whichever tool wrote it: upstream engram's keys (`start_time`,
    `end_time`, `model`, `tool_usage`, `turn_count`, token totals) are mapped onto ours;
    keys we already have win, and the original keys stay for whoever reads them."""
    meta = dict(data)
    for theirs, ours in UPSTREAM_META_KEYS.items():
        if meta.get(ours) is None and meta.get(theirs) is not None:
            meta[ours] = meta[theirs]
    model = data.get("model")
    if "models" not in meta and isinstance(model, str) and model:
        meta["models"] = [model]
    usage = data.get("tool_usage")
    if "tool_calls" not in meta and isinstance(usage, dict):
        meta["tool_calls"] = sum(n for n in usage.values() if isinstance(n, int))
    turns = data.get("turn_count")
    if "turns" not in meta and isinstance(turns, int):
        meta["turns"] = {"total": turns}
    tokens_in, tokens_out = data.get("total_input_tokens"), data.get("total_output_tokens")
    if "tokens" not in meta and isinstance(tokens_in, int) and isinstance(tokens_out, int):
        meta["tokens"] = {"input": tokens_in, "output": tokens_out, "total": tokens_in + tokens_out}
    return meta


def _write_if_changed(path: Path, chunks: Iterable[str], compare: bool) -> bool:
    # Not fsynced one by one (that was a third of an ingest's time): the rename means a killed
    # ingest leaves the old file or the new one, and ingest's commit then syncs the
    # filesystem once for all of a run's files before its manifest records them.
    return atomic_write_chunks(path, chunks, durable=False, only_if_changed=compare)


def write_session(
    layout: MemoryLayout,
    session: Session,
    *,
    summary: str | None,
    meta: dict[str, Any] | None = None,
    write: FileWriter = _write_if_changed,
) -> list[Path]:
    """Write the session's archive files (and its summary when given); return those written.
    `meta` is session_meta(session) when the caller has it already; `write` puts each file
    down (ingest passes one that stages it, to be renamed in under the memory lock).

    The caller has checked project and session id with paths.check_project_name.
    """
    directory = layout.conversation_dir(session.project, session.session_id)
    # in a folder this call created there is nothing to compare with
    compare = not make_folder(directory)
    meta = meta or session_meta(session)
    outputs: dict[Path, Iterable[str]] = {
        directory / CONVERSATION_FILE: conversation_chunks(session, meta),
        directory / META_FILE: (_pretty_json(meta, sort_keys=False) + "\n",),
    }
    written = [path for path, chunks in outputs.items() if write(path, chunks, compare)]
    if summary is not None:
        path = layout.summary_file(session.project, session.session_id)
        if write(path, (summary.rstrip("\n") + "\n",), True):
            written.append(path)
    return written


@dataclass(frozen=True)
class Archived:
    """A project's archived sessions, read in one listing of its conversations folder."""

    #: its session folders (one whose meta.json is damaged, or was never written by an older
    #: tool, still counts)
    sessions: int
    #: every readable meta.json, oldest first
    metas: list[dict[str, Any]]


def read_archive(layout: MemoryLayout, project: str) -> Archived:
    """The project's archived sessions: how many, and their meta.json (unreadable ones skipped)."""
    base = layout.root / "conversations" / project
    try:
        with os.scandir(base) as listing:
            folders = sorted(entry.name for entry in listing if entry.is_dir())
    except (FileNotFoundError, NotADirectoryError):
        return Archived(0, [])
    metas = []
    for name in folders:
        meta_path = base / name / META_FILE
        try:
            data = json.loads(meta_path.read_bytes())
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as error:
            log.warning("skipping %s: %s", meta_path, error)
            continue
        if isinstance(data, dict):
            metas.append(read_meta(data))  # upstream engram's keys too
    metas.sort(key=lambda m: (str(m.get("started_at") or ""), str(m.get("session_id"))))
    return Archived(len(folders), metas)


def archived_metas(layout: MemoryLayout, project: str) -> list[dict[str, Any]]:
    """Every meta.json of the project's archived sessions, oldest first; unreadable ones skipped."""
    return read_archive(layout, project).metas


def last_activity(block_stamps: Iterable[str], metas: Iterable[Mapping[str, Any]]) -> str | None:
    """The latest moment a project saw: its live blocks' stamps (a session's start) and its
    sessions' ends, as `engram projects` and `engram status` both show it."""
    stamps = [stamp for stamp in block_stamps if stamp[:1].isdigit()]
    stamps += [str(m.get("ended_at") or m.get("started_at") or "") for m in metas]
    return max(filter(None, stamps), default=None)
