"""An ingest's write phase: the only part that holds the memory lock.

The caller takes the lock (run.py); here the manifest is read again if another run saved one
meanwhile, and the outcomes of the per-session work are applied in order: a session another
run recorded meanwhile from other bytes is left to that run (its staged archive discarded),
the rest have their archive renamed in, their counts added to the report and their blocks
queued per project. Then the commit: each touched project's knowledge written once, one
durability barrier, and the manifest saved last — a run killed half-way redoes its sessions
next time, harmlessly. A dry run applies the outcomes too (for the report), writes nothing.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from engram_ci.ingest.discovery import Todo
from engram_ci.ingest.options import IngestOptions
from engram_ci.ingest.per_session import Outcome
from engram_ci.ingest.project_knowledge import PendingKnowledge, write_project_knowledge
from engram_ci.ingest.report import IngestReport
from engram_ci.memory import staging
from engram_ci.memory.fsutil import StagedWrites
from engram_ci.memory.manifest import (
    MANIFEST_NAME,
    Entry,
    Fingerprint,
    Manifest,
    group_key,
    total_size,
)
from engram_ci.memory.paths import MemoryLayout
from engram_ci.transcripts.model import ParseStats, TranscriptGroup

__all__ = ["WritePhase", "manifest_identity"]

log = logging.getLogger("engram_ci")


@dataclass
class WritePhase:
    """Applies a run's outcomes to the manifest, the report and the memory folder."""

    options: IngestOptions
    layout: MemoryLayout
    #: the durability barrier (fsutil.sync_filesystems); tests pass one that looks at the disk
    barrier: Callable[[Iterable[Path]], None]
    #: the run's report and the projects it saw: both shared with the run, which also fills them
    report: IngestReport
    projects_seen: set[str]
    pending: dict[str, PendingKnowledge] = field(
        default_factory=lambda: defaultdict(PendingKnowledge)
    )
    #: the skipped lines of every group read (the report's malformed_lines, unknown_types)
    stats: ParseStats = field(default_factory=ParseStats)

    def under_lock(
        self,
        planned: Manifest,
        read_as: tuple[int, ...] | None,
        done: list[tuple[Todo, Outcome]],
        lease: staging.Lease | None,
    ) -> set[str]:
        """Under the memory lock: the manifest as it is now (another ingest may have saved
        one since this run read it), every outcome applied to it, then the commit."""
        began = time.process_time()
        current = planned
        if manifest_identity(self.layout) != read_as:
            current = Manifest.load(self.layout.state_dir)
        projects = self.apply_all(planned, current, done)
        self._commit(current)
        if lease is not None:
            staging.sweep_hourly(self.layout, lease)
        self.report.timings["write"] += time.process_time() - began
        return projects

    def apply_all(
        self, planned: Manifest, current: Manifest, done: list[tuple[Todo, Outcome]]
    ) -> set[str]:
        """Apply the outcomes in order to `current`, the manifest as of the write phase;
        `planned` is the one this run decided what to read by. Returns the projects of the
        sessions ingested. `done` loses its staged files as they are put in place."""
        before = [planned.get(group_key(group)) for (_, group, _), _ in done]
        projects: set[str] = set()
        for index, (((_, group, print_), outcome), entry) in enumerate(
            zip(done, before, strict=True)
        ):
            recorded = outcome.kind in ("not_session", "ingested")
            ours = not recorded or self._still_ours(current, group, print_, entry, outcome)
            # the archive first: the commit's barrier covers it before the manifest says done
            (staging.put_in_place if ours else staging.discard)(outcome.staged)
            done[index] = (done[index][0], replace(outcome, staged=()))
            project = self._apply(current, group, print_, outcome if ours else _superseded(outcome))
            if project:
                projects.add(project)
        return projects

    def _still_ours(
        self,
        current: Manifest,
        group: TranscriptGroup,
        print_: Fingerprint,
        planned: Entry | None,
        outcome: Outcome,
    ) -> bool:
        """Whether this run's reading of the group may be recorded. Another ingest may have
        recorded the group while this one read it: from the same bytes, recording ours too is
        what two runs one after the other would do (a block replaces a block) — unless ours
        skipped the knowledge theirs extracted; from other bytes, one of the two readings is
        stale — the other run's stands, and if it is the stale one its fingerprint no longer
        matches the transcript, so the next run redoes it."""
        now = current.get(group_key(group))
        if now is None or now == planned:
            return True
        if now.fingerprint == print_:
            return outcome.entries is not None or not (
                now.status == "ingested" and now.has_knowledge
            )
        log.info(
            "%s: another ingest recorded it meanwhile from other bytes; left to it", group.main
        )
        return False

    def _apply(
        self, manifest: Manifest, group: TranscriptGroup, print_: Fingerprint, outcome: Outcome
    ) -> str | None:
        """Fold one group's outcome into the report, manifest and pending knowledge."""
        if outcome.kind == "failed" and not outcome.bytes_read:
            self.report.sessions_failed += 1
            return None
        self.report.bytes_read += total_size(print_)
        if outcome.kind == "not_session":
            self.report.not_sessions += 1
            manifest.record(group_key(group), Entry(print_, "not_session"))
            return None
        for phase, seconds in zip(("read", "extract", "archive"), outcome.seconds, strict=True):
            self.report.timings[phase] += seconds
        if outcome.stats is not None:
            self.stats.merge(outcome.stats)
        if outcome.kind == "failed":
            self.report.sessions_failed += 1
            return None
        if outcome.project:
            self.projects_seen.add(outcome.project)
        if outcome.kind in ("unwanted", "superseded"):
            return None
        key = group_key(group)
        categories = self._queue_blocks(outcome, manifest.get(key))
        # re-read without extraction, its blocks describe an older transcript: redo them later
        has_knowledge = outcome.entries is not None
        manifest.record(
            key,
            Entry(
                print_, "ingested", outcome.session_id, outcome.project, categories, has_knowledge
            ),
        )
        self.report.sessions_ingested += 1
        self.report.sessions.append((outcome.project, outcome.session_id))
        self.report.subagents += outcome.subagents
        self.report.tool_calls += outcome.tool_calls
        self.report.tool_errors += outcome.tool_errors
        self._count_model_use(outcome)
        return outcome.project

    def _count_model_use(self, outcome: Outcome) -> None:
        if self.report.provider == "offline" or outcome.entries is None:
            return
        if outcome.source == "offline":
            self.report.llm_fallbacks += 1
        else:
            self.report.llm_sessions += 1
        if outcome.usage is not None:
            self.report.llm_tokens.add(outcome.usage)

    def _queue_blocks(self, outcome: Outcome, previous: Entry | None) -> tuple[str, ...]:
        if outcome.entries is None:
            # knowledge skipped: whatever this session contributed before stays as it was
            return previous.categories if previous else ()
        return self.pending[outcome.project].queue(outcome, previous)

    def _commit(self, manifest: Manifest) -> None:
        """Make the run's work durable, then record it: the manifest may only call a session
        done once its files would survive a power loss.

        The workers renamed archive files into place without syncing them; the knowledge
        files are staged beside their targets. One barrier (a syncfs per filesystem) makes
        all of it durable at once, the staged files are renamed in, their folders synced,
        and only then is the manifest written (itself fsynced before its rename)."""
        staged = StagedWrites(self.barrier)
        try:
            self._write_all_knowledge(staged)
            # the archive's folders may be links to other filesystems: each one is synced
            archive = [self.layout.root / "conversations", self.layout.root / "summaries"]
            staged.commit(also_sync=archive if self.report.sessions_ingested else [])
        finally:
            staged.discard()  # only what a failure left uncommitted
        manifest.save(self.layout.state_dir)

    def _write_all_knowledge(self, staged: StagedWrites) -> None:
        """Stage each touched project's knowledge (one project after another: with no fsync
        per file any more, threads would only take turns at the GIL)."""
        for project in sorted(self.pending):
            blocks, files = write_project_knowledge(
                self.layout, project, self.pending[project], staged, self.options
            )
            self.report.blocks_written += blocks
            self.report.knowledge_files_written += files


def _superseded(outcome: Outcome) -> Outcome:
    """What is left of an outcome another run's record of the same group overrode: the bytes
    and lines it read still count, nothing of it is recorded."""
    return Outcome("superseded", bytes_read=True, stats=outcome.stats, seconds=outcome.seconds)


def manifest_identity(layout: MemoryLayout) -> tuple[int, ...] | None:
    """What tells one manifest file from another: every save renames a new file in, so an
    equal identity means nobody saved one since (the copy in memory is still current)."""
    try:
        info = (layout.state_dir / MANIFEST_NAME).stat()
    except FileNotFoundError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns
