"""One ingest run, end to end: discover, process without the lock, write under it.

run_ingest checks the options, picks the readers and the extractor (both injectable, so
tests and the action adapter drive the same pipeline as the CLI), then: discovery
(discovery.py) finds the groups that changed; the per-session work (per_session.py) reads,
extracts and stages each one WITHOUT the memory lock, so a model server that stalls never
keeps sync or another ingest waiting; the write phase (write_phase.py) applies it all under
the lock. A dry run takes no lock and writes nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engram_ci.errors import FatalError, Fix
from engram_ci.ingest.discovery import Todo, changed_groups, default_readers
from engram_ci.ingest.extractor import Extractor, default_extractor
from engram_ci.ingest.options import IngestOptions
from engram_ci.ingest.per_session import Outcome, SessionWork, process_all
from engram_ci.ingest.report import IngestReport
from engram_ci.ingest.write_phase import WritePhase, manifest_identity
from engram_ci.memory import staging
from engram_ci.memory.fsutil import file_lock, sync_filesystems
from engram_ci.memory.manifest import Manifest
from engram_ci.memory.paths import MemoryLayout
from engram_ci.progress import NullProgress, Progress, ProgressSink
from engram_ci.transcripts.model import check_project_name
from engram_ci.transcripts.registry import Reader, is_builtin

__all__ = ["run_ingest"]


def run_ingest(
    options: IngestOptions,
    *,
    progress: ProgressSink | None = None,
    readers: Sequence[tuple[Reader, tuple[Path, ...]]] | None = None,
    extractor: Extractor | None = None,
    barrier: Callable[[Iterable[Path]], None] | None = None,
) -> IngestReport:
    """Ingest every changed transcript under the options' roots into options.memory_dir.
    `barrier` stands in for fsutil.sync_filesystems (tests watch when it is called)."""
    if readers is None:
        readers = default_readers(options)
    roots = [root for _, reader_roots in readers for root in reader_roots]
    if not any(root.exists() for root in roots):  # folders, or a reader's files
        shown = ", ".join(str(r) for r in roots) or "(none)"
        raise FatalError(
            f"no transcripts directory found ({shown})",
            fix=Fix(
                "point {option} at a folder laid out like ~/.claude/projects (or another "
                "agent's store, see engram ingest --help)",
                flag="--sessions-dir DIR",
                input="sessions-path",
                env="ENGRAM_SESSIONS_DIR",
            ),
        )
    if options.project is not None:
        check_project_name(options.project)
    if progress is None:
        progress = Progress(sys.stderr) if options.show_progress else NullProgress()
    wants_knowledge = options.wants_knowledge()
    injected = extractor is not None and wants_knowledge
    run = _Run(
        # injected readers/extractors (tests' fakes) stay in this process
        parallel=all(is_builtin(reader) for reader, _ in readers) and not injected,
        options=options,
        layout=MemoryLayout(options.memory_dir),
        readers=readers,
        extract=extractor if injected else None,
        make_extract=(
            (lambda: default_extractor(options)) if wants_knowledge and not injected else None
        ),
        progress=progress,
        barrier=barrier or sync_filesystems,
    )
    if options.dry_run:
        return run.execute()  # writes nothing, so it needs (and creates) no lock file
    # staged files are safe from the sweep while the lease is held; the memory lock is taken
    # by execute for the write phase only
    with staging.staging_lease(run.layout) as lease:
        return run.execute(lease)


@dataclass
class _Run:
    """One ingest run's inputs, and the report its phases fill in."""

    options: IngestOptions
    layout: MemoryLayout
    readers: Sequence[tuple[Reader, tuple[Path, ...]]]
    extract: Extractor | None
    progress: ProgressSink
    parallel: bool = False
    #: builds the default extractor once there is something to extract (before any worker
    #: forks, so they inherit it): an unchanged re-ingest never imports the extractor or the
    #: redactor, a good part of its start-up
    make_extract: Callable[[], Extractor] | None = None
    barrier: Callable[[Iterable[Path]], None] = sync_filesystems
    report: IngestReport = field(default_factory=IngestReport)
    #: every project a transcript of this run belongs to (wanted or not): --project's check
    projects_seen: set[str] = field(default_factory=set)

    def execute(self, lease: staging.Lease | None = None) -> IngestReport:
        """Read and extract without the memory lock, then write under it (a dry run writes
        nothing and takes no lock). `lease` keeps the staged files from the sweep."""
        self.report.memory_dir = str(self.layout.root)
        self.report.dry_run = self.options.dry_run
        extracting = self.extract is not None or self.make_extract is not None
        if extracting and self.options.provider not in (None, "", "offline"):
            self.report.provider = str(self.options.provider)
        began = time.process_time()
        read_as = manifest_identity(self.layout)
        manifest = Manifest.load(self.layout.state_dir)
        found = changed_groups(self.readers, manifest, self.options)
        self.report.transcripts_found += found.transcripts_found
        self.report.sessions_unchanged += found.unchanged
        self.projects_seen |= found.projects_seen
        if found.todo and self.make_extract is not None:
            self.extract = self.make_extract()
        self.report.timings["discover"] += time.process_time() - began
        work = SessionWork(self.options, self.layout, self.extract)
        writer = WritePhase(
            self.options, self.layout, self.barrier, self.report, self.projects_seen
        )
        done: list[tuple[Todo, Outcome]] = []
        try:
            process_all(work, found.todo, done, self.progress, parallel=self.parallel)
            if self.options.dry_run:
                projects = writer.apply_all(manifest, manifest, done)
            else:
                with file_lock(self.layout.lock_file):
                    projects = writer.under_lock(manifest, read_as, done, lease)
        finally:
            # whatever a failure left staged (what was put in place is no longer staged)
            staging.discard(f for _, outcome in done for f in outcome.staged)
        self.report.projects = sorted(projects)
        self.report.malformed_lines = dict(writer.stats.malformed)
        self.report.unknown_types = dict(writer.stats.unknown_types)
        wanted = self.options.project
        if (
            wanted is not None
            and wanted not in self.projects_seen
            and self.options.since_seconds is None  # --since: nothing new of it, fine
        ):
            raise _no_such_project(wanted, self.projects_seen | set(self.layout.projects()))
        return self.report


def _no_such_project(wanted: str, known: set[str]) -> FatalError:
    """--project matched no transcript: say so (with the names that exist), never exit 0."""
    import difflib  # only this error needs it: not part of every run's start-up

    close = difflib.get_close_matches(wanted, sorted(known), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    shown = ", ".join(sorted(known)[:20]) or "none"
    return FatalError(
        f"no transcript belongs to project {wanted!r}: {hint}projects seen: {shown} (names are "
        "the session cwd's last component; `--project-name engram` uses engram's folder names)",
        title="unknown project",
    )
