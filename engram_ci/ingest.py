"""Ingest: agent transcripts in, engram's memory layout out — incrementally and idempotently.

One run: discover transcript groups through every selected reader (transcripts/registry.py:
one per agent; groups of one session found twice are merged), skip those the manifest says are
unchanged (a `stat`, no parse), read the rest one session at a time, extract its knowledge and
stage its archive (conversations/, summaries/) — all of it WITHOUT the memory lock, so a model
server that stalls never keeps sync or another ingest waiting. Then, under the lock, the write
phase: the manifest is read again and a session another run recorded meanwhile from other
bytes is left to that run (memory/staging.py); the rest have their archive renamed in, and
each touched project's knowledge files (read again now: a pull may have changed them) are
written ONCE with every new `## Session:` block upserted (a re-ingested session replaces its
block, blocks written by engram or pulled by sync are kept), then context.md. The manifest is
saved last: a run killed half-way redoes its sessions next time, harmlessly.

The readers, the extractor and the progress display are injectable, so tests and the action
adapter drive the same pipeline as the CLI.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

from engram_ci import workers
from engram_ci.errors import FatalError, Fix
from engram_ci.knowledge import blocks as knowledge
from engram_ci.knowledge import context
from engram_ci.knowledge.blocks import CONTEXT_FILE, Block
from engram_ci.memory import archive, projectfiles, staging
from engram_ci.memory.fsutil import StagedWrites, file_lock, sync_filesystems
from engram_ci.memory.manifest import (
    MANIFEST_NAME,
    Entry,
    Fingerprint,
    Manifest,
    fingerprint,
    group_key,
    total_size,
)
from engram_ci.memory.paths import MemoryLayout
from engram_ci.progress import NullProgress, Progress, ProgressSink
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
from engram_ci.transcripts.registry import Reader, get_reader, is_builtin, merge_groups

__all__ = ["IngestOptions", "IngestReport", "default_readers", "run_ingest", "summary_lines"]

log = logging.getLogger("engram_ci")

UNKNOWN_TIME = "unknown"
#: the phases IngestReport.timings splits a run into
PHASES = ("discover", "read", "extract", "archive", "write")
_SAFE_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")
_UNSAFE_STAMP = re.compile(r"[()\[\]]")


class ExtractionLike(Protocol):
    """What engram_ci.knowledge.extract.Extraction provides."""

    @property
    def entries(self) -> Mapping[str, str]: ...
    @property
    def confidence(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def usage(self) -> Usage | None: ...


Extractor = Callable[[Session], ExtractionLike]


@dataclass(frozen=True)
class IngestOptions:
    """What one ingest run reads, where it writes, and how (the CLI's and the action's flags)."""

    memory_dir: Path
    #: shorthands for roots["claude-code"] and roots["codex"]
    claude_roots: tuple[Path, ...] = ()
    codex_roots: tuple[Path, ...] = ()
    #: agent (a reader's name in transcripts/registry.py) -> the roots of its store; an agent
    #: with no roots here (or in the shorthands) is not read
    roots: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)
    #: only these agents' sessions (None: every agent with roots)
    agents: tuple[str, ...] | None = None
    project: str | None = None
    force: bool = False
    dry_run: bool = False
    skip_knowledge: bool = False
    provider: str | None = None  # None/"offline" | "anthropic" | "openai" | "ollama"
    provider_url: str | None = None
    model: str | None = None
    show_progress: bool = False
    #: worker processes for reading/extracting/archiving: None = one per CPU, 1 = in-process
    jobs: int | None = None
    #: only transcripts modified within this many seconds (`--since 5m`, what hooks run)
    since_seconds: float | None = None
    #: how sessions are named: "cwd" (ours) or "engram" (upstream's folder decoding)
    project_name: str = "cwd"
    #: context.md's size in characters (context.DEFAULT_BUDGET ≈ 1,500 tokens)
    context_budget: int = context.DEFAULT_BUDGET
    #: sessions in a git worktree go to a project named after the worktree, not the repository
    keep_worktrees: bool = False

    def sources(self) -> list[tuple[str, tuple[Path, ...]]]:
        """(agent, roots) for every selected agent with roots, in the registry's order."""
        by_agent: dict[str, tuple[Path, ...]] = {
            "claude-code": self.claude_roots,
            "codex": self.codex_roots,
        }
        for agent, roots in self.roots.items():
            by_agent[agent] = (*by_agent.get(agent, ()), *roots)
        wanted = [a for a, roots in by_agent.items() if roots]
        if self.agents is not None:
            wanted = [a for a in wanted if a in self.agents]
        return [(a, by_agent[a]) for a in wanted]


@dataclass
class IngestReport:
    """What an ingest run found and did: counts, projects, skipped lines and timings."""

    memory_dir: str = ""
    dry_run: bool = False
    transcripts_found: int = 0
    sessions_ingested: int = 0
    sessions_unchanged: int = 0
    #: groups that hold no conversation (empty, summary-only, snapshot-only files)
    not_sessions: int = 0
    #: groups a reader could not turn into a session (a bug or a hostile name): warned, retried
    sessions_failed: int = 0
    subagents: int = 0
    projects: list[str] = field(default_factory=list)
    tool_calls: int = 0
    tool_errors: int = 0
    blocks_written: int = 0
    knowledge_files_written: int = 0
    bytes_read: int = 0
    malformed_lines: dict[str, int] = field(default_factory=dict)
    unknown_types: dict[str, int] = field(default_factory=dict)
    #: (project, session id) of every session (re-)ingested in this run
    sessions: list[tuple[str, str]] = field(default_factory=list)
    #: the model path (--provider): sessions it extracted, sessions that fell back to the
    #: offline extractor, and the tokens paid for (unusable answers included)
    provider: str = "offline"
    llm_sessions: int = 0
    llm_fallbacks: int = 0
    llm_tokens: Usage = field(default_factory=Usage)
    #: CPU seconds spent per phase (discover, read, extract, archive, write), summed over the
    #: workers (CPU, not wall time: a shared machine's load does not inflate it); for
    #: benchmarks/ingest.py, not part of to_json (timings differ from run to run)
    timings: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))

    def to_json(self) -> dict[str, Any]:
        """A stable shape for --json and the action's outputs: keys never change meaning."""
        return {
            "memory_dir": self.memory_dir,
            "dry_run": self.dry_run,
            "transcripts_found": self.transcripts_found,
            "sessions_ingested": self.sessions_ingested,
            "sessions_unchanged": self.sessions_unchanged,
            "not_sessions": self.not_sessions,
            "sessions_failed": self.sessions_failed,
            "subagents": self.subagents,
            "projects": sorted(self.projects),
            "tool_calls": self.tool_calls,
            "tool_errors": self.tool_errors,
            "blocks_written": self.blocks_written,
            "knowledge_files_written": self.knowledge_files_written,
            "bytes_read": self.bytes_read,
            "skipped_lines": {
                "malformed": dict(sorted(self.malformed_lines.items())),
                "unknown_types": dict(sorted(self.unknown_types.items())),
            },
            "sessions": [{"project": p, "session_id": s} for p, s in sorted(self.sessions)],
            "llm": {
                "provider": self.provider,
                "sessions": self.llm_sessions,
                "fallbacks": self.llm_fallbacks,
                "tokens": {
                    "input": self.llm_tokens.input_tokens,
                    "output": self.llm_tokens.output_tokens,
                    "cache_read": self.llm_tokens.cache_read_tokens,
                    "cache_write": self.llm_tokens.cache_creation_tokens,
                },
            },
        }


def default_readers(options: IngestOptions) -> list[tuple[Reader, tuple[Path, ...]]]:
    """The registered reader of each of the options' agents, with its roots made absolute
    (the manifest keys on the paths discovery returns: a relative root must not make the
    same transcript look new when run from another folder)."""
    for agent in options.agents or ():
        get_reader(agent)  # an unknown name is a FatalError naming the known ones
    return [(get_reader(agent), _absolute(roots)) for agent, roots in options.sources()]


def _absolute(roots: tuple[Path, ...]) -> tuple[Path, ...]:
    return tuple(root.expanduser().resolve() for root in roots)


@dataclass(frozen=True)
class _RedactedExtraction:
    """An extraction with every secret in its text replaced (see `redacted`)."""

    entries: dict[str, str]
    confidence: str
    summary: str
    source: str
    usage: Usage | None


def redacted(extraction: ExtractionLike) -> ExtractionLike:
    """The extraction with every secret replaced, before anything derives from it.

    Knowledge blocks, context.md (synthesised from the blocks) and the session summary all
    come from here: a private key the extractor copied whole is one marker before synthesis
    could split it into bullets, and a command the extractor clipped mid-password loses the
    part it kept (the redactor treats a value cut by `…` as the whole value). Sync redacts
    again what it uploads.
    """
    from engram_ci.sync.redact import redact_text  # loaded with the extractor (see _Run)

    return _RedactedExtraction(
        entries={category: redact_text(body) for category, body in extraction.entries.items()},
        confidence=extraction.confidence,
        summary=redact_text(extraction.summary),
        source=extraction.source,
        usage=extraction.usage,
    )


def default_extractor(options: IngestOptions) -> Extractor:
    from engram_ci.knowledge.extract import extract_knowledge
    from engram_ci.sync.redact import redact_text

    def run(session: Session) -> ExtractionLike:
        return extract_knowledge(
            session,
            provider=options.provider,
            provider_url=options.provider_url,
            model=options.model,
            scrub=redact_text,  # what a model is sent leaves the machine too
        )

    return run


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
    # a dry run must not spend LLM tokens either
    wants_knowledge = not (options.skip_knowledge or options.dry_run)
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
class _Pending:
    """One project's knowledge changes, applied in one write at the end of the run."""

    blocks: dict[str, list[Block]] = field(default_factory=lambda: defaultdict(list))
    #: category -> session ids whose earlier block (written by us) no longer applies
    stale: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: category -> sessions the manifest says we wrote there before: an untagged block of
    #: theirs is an older engram-ci's, ours to replace (blocks.upsert_own)
    legacy: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: sessions this run read without a model: their model-written blocks stay
    offline: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Outcome:
    """What processing one group produced: small and picklable, so a worker can return it."""

    #: superseded: read, but another run recorded the group meanwhile (_Run._still_ours)
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


#: a group to read: the reader that found it, its fingerprint at discovery
_Todo = tuple[Reader, TranscriptGroup, Fingerprint]


@dataclass
class _Run:
    """One ingest run's state: its options, readers, extractor and the report it fills."""

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
    #: the durability barrier (fsutil.sync_filesystems); tests pass one that looks at the disk
    barrier: Callable[[Iterable[Path]], None] = sync_filesystems
    report: IngestReport = field(default_factory=IngestReport)
    pending: dict[str, _Pending] = field(default_factory=lambda: defaultdict(_Pending))
    stats: ParseStats = field(default_factory=ParseStats)
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
        read_as = _manifest_identity(self.layout)
        manifest = Manifest.load(self.layout.state_dir)
        todo = self._changed_groups(manifest)
        if todo and self.make_extract is not None:
            self.extract = self.make_extract()
        self.report.timings["discover"] += time.process_time() - began
        done: list[tuple[_Todo, _Outcome]] = []
        try:
            self._process_all(todo, done)
            if self.options.dry_run:
                projects = self._apply_all(manifest, manifest, done)
            else:
                with file_lock(self.layout.lock_file):
                    projects = self._write_phase(manifest, read_as, done, lease)
        finally:
            # whatever a failure left staged (what was put in place is no longer staged)
            staging.discard(f for _, outcome in done for f in outcome.staged)
        self.report.projects = sorted(projects)
        self.report.malformed_lines = dict(self.stats.malformed)
        self.report.unknown_types = dict(self.stats.unknown_types)
        wanted = self.options.project
        if (
            wanted is not None
            and wanted not in self.projects_seen
            and self.options.since_seconds is None  # --since: nothing new of it, fine
        ):
            raise _no_such_project(wanted, self.projects_seen | set(self.layout.projects()))
        return self.report

    def _write_phase(
        self,
        planned: Manifest,
        read_as: tuple[int, ...] | None,
        done: list[tuple[_Todo, _Outcome]],
        lease: staging.Lease | None,
    ) -> set[str]:
        """Under the memory lock: the manifest as it is now (another ingest may have saved
        one since this run read it), every outcome applied to it, then the commit."""
        began = time.process_time()
        current = planned
        if _manifest_identity(self.layout) != read_as:
            current = Manifest.load(self.layout.state_dir)
        projects = self._apply_all(planned, current, done)
        self._commit(current)
        if lease is not None:
            staging.sweep_hourly(self.layout, lease)
        self.report.timings["write"] += time.process_time() - began
        return projects

    def _changed_groups(self, manifest: Manifest) -> list[_Todo]:
        todo = []
        seen: set[str] = set()  # session ids: one session found by two readers counts once
        since = self.options.since_seconds
        cutoff = None if since is None else time.time_ns() - int(since * 1e9)
        for reader, roots in self.readers:
            existing = [root for root in roots if root.exists()]  # folders, or files
            for group in merge_groups(reader.discover(existing)) if existing else []:
                if group.session_id in seen:
                    # e.g. a claude-code-action run staged as a transcript AND its execution
                    # file: the earlier reader (registry order) is the richer source
                    log.info("%s: session %s already found", group.main, group.session_id)
                    continue
                seen.add(group.session_id)
                self.report.transcripts_found += 1
                print_ = fingerprint(group)
                if cutoff is not None and max((m for _, _, m in print_), default=0) < cutoff:
                    continue  # --since: not touched lately
                entry = manifest.get(group_key(group))
                if entry and entry.project:
                    self.projects_seen.add(entry.project)
                if entry and entry.project and not self._wanted(entry.project):
                    continue  # --project: a session never moves to another project
                if self._needs_reading(entry, print_):
                    todo.append((reader, group, print_))
                elif entry and entry.status == "ingested":
                    self.report.sessions_unchanged += 1
        return todo

    def _needs_reading(self, entry: Entry | None, print_: Fingerprint) -> bool:
        if self.options.force or entry is None or entry.fingerprint != print_:
            return True
        # archived by a --skip-knowledge run, and this run extracts knowledge
        wants_knowledge = not (self.options.skip_knowledge or self.options.dry_run)
        return entry.status == "ingested" and not entry.has_knowledge and wants_knowledge

    def _wanted(self, project: str | None) -> bool:
        return self.options.project is None or project == self.options.project

    def _process_all(self, todo: list[_Todo], done: list[tuple[_Todo, _Outcome]]) -> None:
        """Process every group (in worker processes when it pays), collecting the outcomes in
        order into `done` (small: the archive went to staged files, not into memory)."""
        self.progress.start(len(todo), sum(total_size(p) for _, _, p in todo))
        try:
            # closing(): a FatalError stops the workers now, not when the generator is collected
            with closing(self._outcomes(todo)) as outcomes:
                for item, outcome in zip(todo, outcomes, strict=True):
                    done.append((item, outcome))
                    if outcome.fatal is not None:
                        raise FatalError(outcome.fatal[0], title=outcome.fatal[1])
                    self.progress.advance(total_size(item[2]))
        finally:
            self.progress.finish()

    def _apply_all(
        self, planned: Manifest, current: Manifest, done: list[tuple[_Todo, _Outcome]]
    ) -> set[str]:
        """Apply the outcomes in order to `current`, the manifest as of the write phase;
        `planned` is the one this run decided what to read by."""
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
        outcome: _Outcome,
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

    def _outcomes(self, todo: list[_Todo]) -> Generator[_Outcome, None, None]:
        jobs = self._worker_count(len(todo))
        if jobs < 2:
            for reader, group, _ in todo:
                yield self._process(reader, group)
            return
        # forked workers inherit the run (readers are modules, the extractor a closure):
        # only indexes cross the pipe, only small _Outcomes come back, applied in todo order
        sizes = [total_size(print_) for _, _, print_ in todo]
        yield from workers.in_order(lambda i: self._process(todo[i][0], todo[i][1]), sizes, jobs)

    def _worker_count(self, groups: int) -> int:
        if not self.parallel or groups < 2:
            return 1
        # fork only: spawn would re-import everything per worker
        if not workers.can_fork():
            return 1
        # an LLM provider has rate limits and HTTP clients: one process talks to it
        if self.extract is not None and self.options.provider not in (None, "offline"):
            return 1
        jobs = self.options.jobs or (os.cpu_count() or 1)
        return max(1, min(jobs, groups))

    def _process(self, reader: Reader, group: TranscriptGroup) -> _Outcome:
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
            return _Outcome("failed")
        except Exception:  # a reader bug must not cost the user the rest of the run
            log.warning("could not read %s (a bug; skipped)", group.main, exc_info=True)
            return _Outcome("failed")
        if session is None:
            return _Outcome("not_session")
        if not self._wanted(session.project):
            return _Outcome("unwanted", bytes_read=True, project=session.project)
        read = time.process_time()
        try:
            extraction = redacted(self.extract(session)) if self.extract else None
        except FatalError as error:
            # a setting is wrong (e.g. the provider): every session would fail alike
            return _Outcome("failed", fatal=(str(error), error.title))
        except Exception:
            log.warning(
                "could not extract knowledge from %s (a bug; skipped)", group.main, exc_info=True
            )
            return _Outcome("failed", bytes_read=True, stats=_all_stats(session))
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
        return _Outcome(
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

    def _apply(
        self, manifest: Manifest, group: TranscriptGroup, print_: Fingerprint, outcome: _Outcome
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

    def _count_model_use(self, outcome: _Outcome) -> None:
        if self.report.provider == "offline" or outcome.entries is None:
            return
        if outcome.source == "offline":
            self.report.llm_fallbacks += 1
        else:
            self.report.llm_sessions += 1
        if outcome.usage is not None:
            self.report.llm_tokens.add(outcome.usage)

    def _queue_blocks(self, outcome: _Outcome, previous: Entry | None) -> tuple[str, ...]:
        if outcome.entries is None:
            # knowledge skipped: whatever this session contributed before stays as it was
            return previous.categories if previous else ()
        pending = self.pending[outcome.project]
        tags = (
            (knowledge.CONFIDENCE_TAG, outcome.confidence),
            (knowledge.SOURCE_TAG, outcome.source),
        )
        if outcome.source == knowledge.OFFLINE_SOURCE:
            pending.offline.add(outcome.session_id)
        written = []
        for category, clean in sorted(outcome.entries.items()):
            if clean.strip():
                pending.blocks[category].append(
                    Block(outcome.session_id, outcome.stamp, clean, tags)
                )
                written.append(category)
        if previous and previous.session_id == outcome.session_id:
            for category in () if previous.tagged else previous.categories:
                pending.legacy[category].add(outcome.session_id)
            for category in set(previous.categories) - set(written):
                pending.stale[category].add(outcome.session_id)
        return tuple(written)

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
            blocks, files = self._write_knowledge(project, self.pending[project], staged)
            self.report.blocks_written += blocks
            self.report.knowledge_files_written += files

    def _write_knowledge(
        self, project: str, pending: _Pending, staged: StagedWrites
    ) -> tuple[int, int]:
        """Upsert the run's blocks into the project's files, one staged write per file;
        return (blocks staged, files staged)."""
        blocks_written = 0
        files = projectfiles.read_local(self.layout, project)
        categories = projectfiles.parse_categories(files)
        changed: set[str] = set()
        for category, blocks in pending.blocks.items():
            current = categories.get(category) or knowledge.empty_file(category)
            # only our own blocks are replaced; tombstoned sessions stay forgotten
            legacy = frozenset(pending.legacy.get(category, ()))
            categories[category], written = knowledge.upsert_own(current, blocks, legacy=legacy)
            changed.add(category)  # even unchanged: context.md is rewritten (its budget may differ)
            blocks_written += written
        for category, session_ids in pending.stale.items():
            held = categories.get(category)
            if held is None:
                continue
            legacy = frozenset(pending.legacy.get(category, ()))
            kept = knowledge.drop_own(
                held, session_ids & pending.offline, legacy=legacy, offline=True
            )
            kept = knowledge.drop_own(
                kept, session_ids - pending.offline, legacy=legacy, offline=False
            )
            if kept != held:
                categories[category] = kept
                changed.add(category)
        if not changed and not self.options.force:
            return blocks_written, 0
        # only the files we changed are re-rendered: others keep their exact bytes; context.md
        # is synthesised again (a --force run may be asked for another --budget)
        out = {f"{c}.md": knowledge.render(categories[c]) for c in sorted(changed)}
        out[CONTEXT_FILE] = context.synthesize(project, categories, self.options.context_budget)
        result = projectfiles.write_local(
            self.layout, project, out, count_blocks=False, staged=staged
        )
        return blocks_written, len(result.written)


def _superseded(outcome: _Outcome) -> _Outcome:
    """What is left of an outcome another run's record of the same group overrode: the bytes
    and lines it read still count, nothing of it is recorded."""
    return _Outcome("superseded", bytes_read=True, stats=outcome.stats, seconds=outcome.seconds)


def _manifest_identity(layout: MemoryLayout) -> tuple[int, ...] | None:
    """What tells one manifest file from another: every save renames a new file in, so an
    equal identity means nobody saved one since (the copy in memory is still current)."""
    try:
        info = (layout.state_dir / MANIFEST_NAME).stat()
    except FileNotFoundError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


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


def summary_lines(report: IngestReport) -> list[str]:
    """The closing summary a person reads (the CLI prints it; --json prints to_json)."""
    verb = "Would ingest" if report.dry_run else "Ingested"
    lines = [
        f"{verb} {report.sessions_ingested} session(s), {report.sessions_unchanged} unchanged, "
        f"from {report.transcripts_found} transcript group(s) into {report.memory_dir}",
    ]
    if report.projects:
        lines.append(f"Projects: {', '.join(report.projects)}")
    lines.append(
        f"Tool calls: {report.tool_calls} ({report.tool_errors} errors); "
        f"subagents: {report.subagents}"
    )
    if not report.dry_run:
        lines.append(
            f"Knowledge: {report.blocks_written} block(s), "
            f"{report.knowledge_files_written} file(s) written"
        )
    if report.not_sessions:
        lines.append(f"Not sessions (empty or summary-only): {report.not_sessions}")
    skipped = Counter(report.malformed_lines)
    skipped.update({f"unknown type {t!r}": n for t, n in report.unknown_types.items()})
    if skipped:
        parts = ", ".join(f"{reason} {n}" for reason, n in sorted(skipped.items()))
        lines.append(f"Skipped lines: {parts}")
    if report.provider != "offline":
        tokens = report.llm_tokens
        lines.append(
            f"Model ({report.provider}): {report.llm_sessions} session(s), "
            f"{report.llm_fallbacks} fell back to offline; tokens in {tokens.input_tokens}, "
            f"out {tokens.output_tokens}, cache read {tokens.cache_read_tokens}, "
            f"cache write {tokens.cache_creation_tokens}"
        )
    if report.sessions_failed:
        lines.append(f"Failed (see warnings above; retried next run): {report.sessions_failed}")
    return lines
