"""The one sync pipeline: every backend's push, pull and restore run through here.

push     lock: read local knowledge · unlock · read the store and the last-synced base ·
         three-way merge · redact (sync/outbound.py, THE redaction step) · seal when
         encrypting · compare — nothing new means no write · write with a precondition: on
         Conflict back off and go again; states a write clobbered (stores without
         compare-and-swap) are merged in and written again · lock: merge what ingest added
         meanwhile, write back, keep the base.
pull     read the store · lock: three-way merge into local, keep the base.
restore  read a version and the store's head · lock: local := that version, with tombstones
         for the blocks the store gained since, base := the head — so the next push makes
         the store equal to the restored version instead of merging the newer blocks back.

The memory lock (memory/fsutil.file_lock on the layout's lock file, the one ingest holds) is
held around local reads and writes only, never across a network wait: a slow server cannot
stall ingest, and ingest's blocks landing mid-push are merged into the write-back, not lost.
Retries are bounded by attempts and an overall deadline (ENGRAM_SYNC_DEADLINE_SECONDS).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypedDict

from engram_ci.deadline import seconds_from_env
from engram_ci.errors import FatalError, Fix
from engram_ci.knowledge import blocks as knowledge
from engram_ci.knowledge import context
from engram_ci.knowledge.blocks import CONTEXT_FILE, KnowledgeFile
from engram_ci.memory import merge as blockmerge
from engram_ci.memory.fsutil import file_lock
from engram_ci.memory.paths import KNOWN_KNOWLEDGE_FILES, METADATA_FILE, MemoryLayout
from engram_ci.memory.projectfiles import (
    FileSet,
    diff_filesets,
    metadata_json,
    parse_categories,
    project_of,
    read_local,
    with_context,
    write_local,
)
from engram_ci.memory.syncstate import record_sync
from engram_ci.sync import crypto, synced_base, threeway
from engram_ci.sync.backend import MANAGED_FILES, Backend, Conflict, Files, Snapshot
from engram_ci.sync.crypto import Encryption
from engram_ci.sync.outbound import redact_outbound
from engram_ci.transcripts.model import check_project_name

log = logging.getLogger("engram_ci")

__all__ = [
    "BACKOFF_CAP",
    "Encryption",
    "Pipeline",
    "PullOutcome",
    "PushOutcome",
    "Retry",
    "SyncCounts",
    "backoff",
    "redact_outbound",
    "synced_counts",
    "with_tombstones",
]

BACKOFF_BASE = 0.1  # seconds; doubles per attempt, capped, then scaled by a random jitter
BACKOFF_CAP = 3.0
DEFAULT_DEADLINE = 300.0


def backoff(attempt: int, jitter: Callable[[], float] = random.random) -> float:
    """Full jitter: racing writers spread out instead of colliding again in lockstep."""
    return float(jitter() * min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))


@dataclass(frozen=True)
class Retry:
    attempts: int = 12
    deadline_seconds: float = DEFAULT_DEADLINE
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = field(default=random.random)

    @classmethod
    def from_env(cls, **overrides: object) -> Retry:
        """ENGRAM_SYNC_DEADLINE_SECONDS, clamped to 0-3600 whatever the environment says."""
        deadline = seconds_from_env(
            "ENGRAM_SYNC_DEADLINE_SECONDS", DEFAULT_DEADLINE, low=0.0, high=3600.0
        )
        return cls(deadline_seconds=deadline, **overrides)  # type: ignore[arg-type]


@dataclass(frozen=True)
class PushOutcome:
    version: str
    url: str
    created: bool
    changed: bool
    files: tuple[str, ...]
    secrets_redacted: int
    blocks_added: int
    blocks_removed: int
    attempts: int


@dataclass(frozen=True)
class PullOutcome:
    version: str
    changed: bool
    files: tuple[str, ...]
    blocks_added: int
    blocks_removed: int
    restored: str | None = None  # the version a restore made local


class SyncCounts(TypedDict):
    """What every face's sync result reports, whatever the store: see synced_counts."""

    changed: bool
    files_synced: tuple[str, ...]
    blocks_added: int
    blocks_removed: int


def synced_counts(outcome: PushOutcome | PullOutcome, *, changed: bool | None = None) -> SyncCounts:
    """The counts a store's result takes from the pipeline's outcome (`changed` overridden
    when the store changed more than knowledge, e.g. a gist's description)."""
    return SyncCounts(
        changed=outcome.changed if changed is None else changed,
        files_synced=outcome.files,
        blocks_added=outcome.blocks_added,
        blocks_removed=outcome.blocks_removed,
    )


@dataclass(frozen=True)
class _Upload:
    plain: FileSet  # redacted plaintext: what the store holds once opened
    files: Files  # as written (sealed when encrypting), metadata.json not included
    secrets_redacted: int


class Pipeline:
    """One project's sync between a memory dir and one backend."""

    def __init__(
        self,
        layout: MemoryLayout,
        backend: Backend,
        *,
        encryption: Encryption | None = None,
        retry: Retry | None = None,
        adopt: bool = False,
        keep_base: bool = True,
        context_budget: int | None = None,
    ) -> None:
        self.layout = layout
        self.backend = backend
        self.encryption = encryption or Encryption()
        self.retry = retry or Retry.from_env()
        self.adopt = adopt  # take over a store whose metadata names another project
        self.keep_base = keep_base  # False for a clone: no tie to the store it came from
        #: context.md's size locally (None: the default, as the store holds it)
        self.context_budget = context_budget

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with file_lock(self.layout.lock_file):
            yield

    # -- push ------------------------------------------------------------------------------

    def push(self, project: str) -> PushOutcome:
        project = check_project_name(project)
        with self._locked():
            local = read_local(self.layout, project)
        if not local:
            shown = ", ".join(self.layout.projects()[:20]) or "none"
            raise FatalError(
                f"nothing to push: no knowledge for project {project!r} in "
                f"{self.layout.knowledge_dir(project)}; run `engram ingest` first "
                f"(projects here: {shown})",
                title="nothing to push",
            )
        snapshot = self.backend.read(project)
        first_plain = self._open(snapshot)
        created = not snapshot.exists
        clobbered: list[FileSet] = []
        sent: set[str] = set()
        start = self.retry.clock()
        attempt = 0
        while True:
            attempt += 1
            self._check_owner(snapshot, project)
            remote = self._open(snapshot)
            base = self._base(project) if snapshot.exists else None
            merged = threeway.merge(project, base, local, [remote, *clobbered])
            upload = self._outbound(merged, snapshot, remote)
            if not snapshot.needs_write and self._unchanged(upload, snapshot):
                version = snapshot.version or ""
                break
            files = {**upload.files, METADATA_FILE: metadata_json(project)}
            try:
                written = self.backend.write(project, files, expected=snapshot)
            except Conflict as moved:
                self._wait(attempt, start, project, str(moved))
                snapshot = self.backend.read(project)
                continue
            sent |= _names_changed(_managed(snapshot.files), files)
            version = written.version
            if not written.clobbered:
                break
            log.info(
                "%s changed while pushing; merging %d version(s) written meanwhile",
                self.backend.location,
                len(written.clobbered),
            )
            clobbered += [self._open(Snapshot(c, "clobbered")) for c in written.clobbered]
            self._wait(attempt, start, project, "other writers kept changing it", short=True)
            snapshot = self.backend.read(project)
        with self._locked():
            now = read_local(self.layout, project)
            # ingest (or another writer) may have added blocks since we read: merge them in
            final = merged if now == local else threeway.merge(project, local, now, [merged])
            write_local(self.layout, project, self._sized(project, final))
            self._keep_base(project, version, upload.plain)
            self._synced(project)
        diff = diff_filesets(first_plain, upload.plain)
        return PushOutcome(
            version=version,
            url=self.backend.url,
            created=created,
            changed=bool(sent),
            files=tuple(sorted(sent | ({METADATA_FILE} if sent else set()))),
            secrets_redacted=upload.secrets_redacted,
            blocks_added=diff.added,
            blocks_removed=diff.removed,
            attempts=attempt,
        )

    def _wait(
        self, attempt: int, start: float, project: str, why: str, short: bool = False
    ) -> None:
        retry = self.retry
        delay = backoff(attempt, retry.jitter) * (0.1 if short else 1.0)
        spent = retry.clock() - start
        if attempt >= retry.attempts or spent + delay > retry.deadline_seconds:
            raise FatalError(
                f"push of {project} to {self.backend.location} was rejected {attempt} times "
                f"in {spent:.0f}s ({why}): the store kept moving; local memory is unchanged",
                title="push rejected",
                fix=Fix(
                    "run it again, or raise {option}",
                    flag="--attempts",
                    env="ENGRAM_SYNC_DEADLINE_SECONDS",
                ),
            )
        log.info("%s moved (%s): merging again in %.2fs", self.backend.location, why, delay)
        retry.sleep(delay)

    def _outbound(self, merged: FileSet, snapshot: Snapshot, remote: FileSet) -> _Upload:
        plain, secrets = redact_outbound(merged)
        cipher = self.encryption.cipher
        stored = _managed(snapshot.files)
        sealing = self.encryption.encrypt or (crypto.is_sealed(stored) and cipher is not None)
        if not sealing:
            return _Upload(plain, dict(plain), secrets)
        assert cipher is not None, "encrypt without a cipher"  # crypto.encryption_for checks
        if remote == plain and crypto.is_sealed(stored) and crypto.sealed_for(stored, cipher):
            # age output is randomised: an unchanged plaintext keeps the stored seal
            kept = {n: stored[n] for n in (crypto.MANIFEST_FILE, crypto.PAYLOAD_FILE)}
            return _Upload(plain, kept, secrets)
        return _Upload(plain, crypto.seal_files(plain, cipher), secrets)

    @staticmethod
    def _unchanged(upload: _Upload, snapshot: Snapshot) -> bool:
        if not snapshot.exists:
            return False
        stored = {n: t for n, t in _managed(snapshot.files).items() if n != METADATA_FILE}
        return stored == upload.files

    # -- pull and restore --------------------------------------------------------------------

    def pull(self, project: str, *, force: bool = False, version: str | None = None) -> PullOutcome:
        """Merge the store's project into local memory (`force`: replace it). With `version`,
        that version replaces local knowledge as it is — a clone's start (see restore)."""
        project = check_project_name(project)
        if version is not None:
            snapshot, force = self.backend.read_version(project, version), True
        else:
            snapshot = self.backend.read(project)
        if not snapshot.exists:
            raise self.backend.missing(project)
        self._check_owner(snapshot, project)
        incoming = self._open(snapshot)
        if not incoming:
            raise FatalError(
                f"{self.backend.location} holds no engram knowledge files (decisions.md, "
                f"context.md, ...) for {project}: check where you pull from",
                title="no knowledge",
            )
        with self._locked():
            local = read_local(self.layout, project)
            if force or not local:
                target = incoming
            else:
                target = threeway.merge(project, self._base(project), local, [incoming])
            outcome = self._write_back(project, local, target, replace=force)
            self._keep_base(project, snapshot.version, incoming)
            self._synced(project)
        return PullOutcome(snapshot.version or "", *outcome)

    def restore(self, project: str, ref: str) -> PullOutcome:
        project = check_project_name(project)
        old = self.backend.read_version(project, ref)
        head = self.backend.read(project)
        self._check_owner(old, project)
        restored = self._open(old)
        if not restored:
            raise FatalError(
                f"version {old.version} of {self.backend.location} holds no knowledge files: "
                "pick another with `engram sync history`",
                title="empty version",
            )
        current = self._open(head) if head.exists else {}
        target = with_tombstones(project, restored, current)
        with self._locked():
            local = read_local(self.layout, project)
            outcome = self._write_back(project, local, target, replace=True)
            if head.exists:
                self._keep_base(project, head.version, current)
            self._synced(project)
        version = old.version or ref
        return PullOutcome(version, *outcome, restored=version)

    def _write_back(
        self, project: str, local: FileSet, target: FileSet, *, replace: bool
    ) -> tuple[bool, tuple[str, ...], int, int]:
        target = self._sized(project, target)
        written = write_local(self.layout, project, target)
        gone: tuple[str, ...] = ()
        if replace:  # local knowledge files the target does not have go too
            gone = tuple(sorted(n for n in local if n not in target))
            for name in gone:
                (self.layout.knowledge_dir(project) / name).unlink(missing_ok=True)
        diff = diff_filesets(local, target)
        names = tuple(sorted({*written.written, *gone}))
        return bool(names), names, diff.added, diff.removed

    # -- shared steps -------------------------------------------------------------------------

    def _sized(self, project: str, files: FileSet) -> FileSet:
        """`files` with context.md at the user's budget. A merge synthesises it at the
        default — what the store holds, so two budgets never make a revision each — and
        local memory keeps the size the user asked for (ingest writes it at that size too)."""
        categories = parse_categories(files)
        if self.context_budget is None or not categories:
            return files
        return files | {CONTEXT_FILE: context.synthesize(project, categories, self.context_budget)}

    def _open(self, snapshot: Snapshot) -> FileSet:
        """The store's knowledge files in plaintext (opened when sealed), known names only."""
        body = {n: t for n, t in _managed(snapshot.files).items() if n != METADATA_FILE}
        if crypto.is_sealed(body):  # without a key: an error saying how to give one
            body = crypto.open_files(body, self.encryption.cipher, source=self.backend.location)
        return {n: t for n, t in body.items() if n in KNOWN_KNOWLEDGE_FILES}

    def _synced(self, project: str) -> None:
        """Under the lock, once a sync has succeeded: the backend's own memo, then the record
        `engram status` shows (last sync per remote)."""
        self.backend.synced(project)
        target = self.backend.url or self.backend.location
        record_sync(self.layout, project, self.backend.name, target)

    def _check_owner(self, snapshot: Snapshot, project: str) -> None:
        """A store place belongs to one project: refuse another's unless adopting it."""
        owner = project_of(snapshot.files)
        if owner is None or owner == project or self.adopt:
            return
        raise FatalError(
            f"{self.backend.location} belongs to project {owner!r}, not {project!r}",
            title="store of another project",
            fix=Fix(
                f"sync {owner} with it, or pass {{option}} to make it {project}'s",
                flag="--adopt",
                # the Action has no adopt input: taking a store over is a person's decision
                action_text=f"set the `project` input to {owner!r} to sync it, or make it "
                f"{project}'s once from a terminal (the engram CLI's --adopt)",
            ),
        )

    def _base(self, project: str) -> FileSet | None:
        base = synced_base.read_base(self.layout, self.backend.key, project)
        return base.files if base is not None else None

    def _keep_base(self, project: str, version: str | None, files: FileSet) -> None:
        if self.keep_base:
            base = synced_base.Base(version, dict(files))
            synced_base.write_base(self.layout, self.backend.key, project, base)


def _managed(files: Mapping[str, str]) -> Files:
    return {n: t for n, t in files.items() if n in MANAGED_FILES}


def _names_changed(before: Mapping[str, str], after: Mapping[str, str]) -> set[str]:
    return {n for n in before.keys() | after.keys() if before.get(n) != after.get(n)}


def with_tombstones(project: str, restored: FileSet, current: FileSet) -> FileSet:
    """`restored`, plus a tombstone for every live block `current` holds and it does not."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    kept = parse_categories(restored)
    out: dict[str, KnowledgeFile] = dict(kept)
    for category, kf in parse_categories(current).items():
        held = kept.get(category) or knowledge.empty_file(category)
        keys = {b.key for b in held.blocks}
        stones = [
            knowledge.tombstone(b.session_id, b.timestamp, now)
            for b in kf.live_blocks()
            if b.key not in keys
        ]
        if stones:
            out[category] = blockmerge.canonical([*held.blocks, *stones], held.preamble)
    files = with_context(project, out) if out else {}
    return files or dict(restored)
