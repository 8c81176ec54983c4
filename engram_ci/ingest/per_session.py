"""The per-session work of an ingest — read, extract, stage — run WITHOUT the memory lock.

Each transcript group is read into a Session, checked (project name, session id), its
knowledge extracted and redacted, and its archive (conversations/, summaries/) written to
staged files (memory/staging.py) — nothing in memory/ changes yet. What comes back is a small,
picklable Outcome, so the work can run in forked worker processes (workers.py); the write
phase (write_phase.py) later applies the outcomes, in order, under the lock.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Generator, Mapping
from contextlib import closing
from dataclasses import dataclass
from typing import Literal

from engram_ci import workers
from engram_ci.errors import FatalError
from engram_ci.ingest.discovery import Todo
from engram_ci.ingest.extractor import Extractor, redacted
from engram_ci.ingest.options import IngestOptions
from engram_ci.knowledge import blocks as knowledge
from engram_ci.memory import archive, staging
from engram_ci.memory.manifest import total_size
from engram_ci.memory.paths import MemoryLayout
from engram_ci.progress import ProgressSink
from engram_ci.transcripts.lines import keep_worktree_apart
from engram_ci.transcripts.model import (
    ParseStats,
    Session,
    TranscriptGroup,
    Usage,
    check_project_name,
)
from engram_ci.transcripts.private import scrub_session
from engram_ci.transcripts.project_names import engram_folder_name
from engram_ci.transcripts.registry import Reader

__all__ = ["UNKNOWN_TIME", "Outcome", "SessionWork", "process_all"]

log = logging.getLogger("engram_ci")

UNKNOWN_TIME = "unknown"
_SAFE_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")
_UNSAFE_STAMP = re.compile(r"[()\[\]]")


@dataclass(frozen=True)
class Outcome:
    """What processing one group produced: small and picklable, so a worker can return it."""

    #: superseded: read, but another run recorded the group meanwhile (WritePhase._still_ours)
    kind: Literal["failed", "not_session", "unwanted", "superseded", "ingested"]
    #: the group was read (its bytes count), even if the session was then dropped
    bytes_read: bool = False
    #: (message, title) of a FatalError from the extractor: the parent stops the run with it
    fatal: tuple[str, str] | None = None
    stats: ParseStats | None = None
    project: str = ""
    session_id: str = ""
    stamp: str = UNKNOWN_TIME
    #: category -> body, already sanitized (in the worker); None when not extracted
    entries: dict[str, str] | None = None
    confidence: str = ""
    #: "offline" or "<provider>:<model>" (tagged on every block as [source:...]), and what a
    #: model charged (extraction.source/usage)
    source: str = knowledge.OFFLINE_SOURCE
    usage: Usage | None = None
    subagents: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    #: CPU seconds spent reading, extracting, archiving this group
    seconds: tuple[float, float, float] = (0.0, 0.0, 0.0)
    #: the archive files staged for the write phase (memory/staging.py)
    staged: tuple[staging.Staged, ...] = ()


@dataclass(frozen=True)
class SessionWork:
    """What processing a group needs: forked workers inherit it (it is never pickled)."""

    options: IngestOptions
    layout: MemoryLayout
    #: None: knowledge is not extracted (--skip-knowledge, --dry-run)
    extract: Extractor | None

    def process(self, reader: Reader, group: TranscriptGroup) -> Outcome:
        """Read, check, extract and archive one group: the part that may run in a worker."""
        began = time.process_time()
        try:
            session = reader.read_session(group)
            if session is not None:
                scrub_session(session)  # whatever a reader kept unclipped: see private.py
                if self.options.keep_worktrees:
                    keep_worktree_apart(session)
                if self.options.project_name == "engram" and session.source == "claude-code":
                    # the group's folder: a merged group's main file may be a subagent's
                    session.project = engram_folder_name(group.folder.name)
                    for subagent in session.subagents:
                        subagent.project = session.project
                check_project_name(session.project)
                _check_session_id(session.session_id)
        except FatalError as error:
            log.warning("skipping %s: %s", group.main, error)
            return Outcome("failed")
        except Exception:  # a reader bug must not cost the user the rest of the run
            log.warning("could not read %s (a bug; skipped)", group.main, exc_info=True)
            return Outcome("failed")
        if session is None:
            return Outcome("not_session")
        if not self.options.wants_project(session.project):
            return Outcome("unwanted", bytes_read=True, project=session.project)
        read = time.process_time()
        try:
            extraction = redacted(self.extract(session)) if self.extract else None
        except FatalError as error:
            # a setting is wrong (e.g. the provider): every session would fail alike
            return Outcome("failed", fatal=(str(error), error.title))
        except Exception:
            log.warning(
                "could not extract knowledge from %s (a bug; skipped)", group.main, exc_info=True
            )
            return Outcome("failed", bytes_read=True, stats=_all_stats(session))
        # one walk for the numbers meta.json and the report share (a huge session's turns are
        # read back from disk on every walk)
        extracted = time.process_time()
        meta = archive.session_meta(session)
        staged = staging.StagedFiles()
        if not self.options.dry_run:
            summary = extraction.summary if extraction else None
            try:
                archive.write_session(
                    self.layout, session, summary=summary, meta=meta, write=staged
                )
            except BaseException:
                staging.discard(staged.files)
                raise
        archived = time.process_time()
        return Outcome(
            "ingested",
            bytes_read=True,
            stats=_all_stats(session),
            project=session.project,
            session_id=session.session_id,
            stamp=_header_safe(session.started_at or session.ended_at or "") or UNKNOWN_TIME,
            entries=_sanitized(extraction.entries) if extraction else None,
            confidence=extraction.confidence if extraction else "",
            source=extraction.source if extraction else knowledge.OFFLINE_SOURCE,
            usage=extraction.usage if extraction else None,
            subagents=_count_subagents(session),
            tool_calls=meta["tool_calls_with_subagents"],
            tool_errors=meta["tool_errors"] + sum(map(_all_tool_errors, session.subagents)),
            seconds=(read - began, extracted - read, archived - extracted),
            staged=tuple(staged.files),
        )


def process_all(
    work: SessionWork,
    todo: list[Todo],
    done: list[tuple[Todo, Outcome]],
    progress: ProgressSink,
    *,
    parallel: bool,
) -> None:
    """Process every group (in worker processes when it pays), collecting the outcomes in
    order into `done` (small: the archive went to staged files, not into memory). `done` is
    the caller's, so what a failure half-way left staged can still be discarded."""
    progress.start(len(todo), sum(total_size(p) for _, _, p in todo))
    try:
        # closing(): a FatalError stops the workers now, not when the generator is collected
        with closing(_outcomes(work, todo, parallel)) as outcomes:
            for item, outcome in zip(todo, outcomes, strict=True):
                done.append((item, outcome))
                if outcome.fatal is not None:
                    raise FatalError(outcome.fatal[0], title=outcome.fatal[1])
                progress.advance(total_size(item[2]))
    finally:
        progress.finish()


def _outcomes(
    work: SessionWork, todo: list[Todo], parallel: bool
) -> Generator[Outcome, None, None]:
    jobs = _worker_count(work, len(todo), parallel)
    if jobs < 2:
        for reader, group, _ in todo:
            yield work.process(reader, group)
        return
    # forked workers inherit the work (readers are modules, the extractor a closure):
    # only indexes cross the pipe, only small Outcomes come back, applied in todo order
    sizes = [total_size(print_) for _, _, print_ in todo]
    yield from workers.in_order(lambda i: work.process(todo[i][0], todo[i][1]), sizes, jobs)


def _worker_count(work: SessionWork, groups: int, parallel: bool) -> int:
    if not parallel or groups < 2:
        return 1
    # fork only: spawn would re-import everything per worker
    if not workers.can_fork():
        return 1
    # an LLM provider has rate limits and HTTP clients: one process talks to it
    if work.extract is not None and work.options.provider not in (None, "offline"):
        return 1
    jobs = work.options.jobs or (os.cpu_count() or 1)
    return max(1, min(jobs, groups))


def _check_session_id(session_id: str) -> None:
    """Session ids become folder names and `## Session: <id> (...)` headers: keep them plain."""
    if not _SAFE_SESSION_ID.fullmatch(session_id):
        raise FatalError(f"unusable session id {session_id[:80]!r}: not a plain file name")


def _header_safe(stamp: str) -> str:
    """A transcript's timestamp, minus what would break a block header's `(...)` and tags."""
    return " ".join(_UNSAFE_STAMP.sub("", stamp).split())


def _sanitized(entries: Mapping[str, str]) -> dict[str, str]:
    return {category: knowledge.sanitize_body(body) for category, body in entries.items()}


def _all_stats(session: Session) -> ParseStats:
    total = ParseStats()
    _merge_stats(total, session)
    return total


def _merge_stats(total: ParseStats, session: Session) -> None:
    total.merge(session.stats)
    for agent in session.subagents:
        _merge_stats(total, agent)


def _count_subagents(session: Session) -> int:
    return sum(1 + _count_subagents(agent) for agent in session.subagents)


def _all_tool_errors(session: Session) -> int:
    own = sum(call.is_error for turn in session.turns for call in turn.tool_calls)
    return own + sum(_all_tool_errors(agent) for agent in session.subagents)
