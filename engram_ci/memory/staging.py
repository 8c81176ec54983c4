"""Files an ingest prepares outside the memory lock and puts in place under it.

Ingest reads, extracts (a model call may wait minutes on a server) and renders each session's
archive without holding the memory lock; only its write phase takes the lock. The archive
files it renders in between are staged: written to temp files beside their targets
(fsutil.stage_chunks, the same dot-named temps every atomic write uses), renamed in under
the lock once the run has checked nobody recorded the session meanwhile, or removed.

A killed run leaves its temp files for fsutil.remove_stale_temp_files (they count as stale
after an hour). A model run may stage for longer than that, so every staging run holds a
shared lease on one lock file, and the sweep only runs when it can hold that file alone:
it never removes what a live run staged, however long ago.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from engram_ci.memory.fsutil import (
    STALE_AFTER_SECONDS,
    remove_stale_temp_files,
    replace_staged,
    stage_chunks,
)
from engram_ci.memory.paths import MemoryLayout

__all__ = [
    "Lease",
    "Staged",
    "StagedFiles",
    "discard",
    "put_in_place",
    "staging_lease",
    "sweep_hourly",
]

log = logging.getLogger("engram_ci")

#: (temp file, target) of one staged file; plain strings, so a worker can send them back
Staged = tuple[str, str]


@dataclass
class StagedFiles:
    """An archive.FileWriter that stages instead of writing: collects what it staged."""

    files: list[Staged] = field(default_factory=list)

    def __call__(self, path: Path, chunks: Iterable[str], compare: bool) -> bool:
        tmp_name = stage_chunks(path, chunks, durable=False, only_if_changed=compare)
        if tmp_name is None:
            return False
        self.files.append((tmp_name, str(path)))
        return True


def put_in_place(files: Iterable[Staged]) -> None:
    """Rename staged files over their targets (not synced: ingest's commit barrier does)."""
    for tmp_name, target in files:
        replace_staged(tmp_name, Path(target))


def discard(files: Iterable[Staged]) -> None:
    """Remove staged files, and their folder when that leaves it empty (a session folder made
    for them alone; one another run writes into is not empty, or is made again)."""
    for tmp_name, _ in files:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        with contextlib.suppress(OSError):
            os.rmdir(os.path.dirname(tmp_name))


class Lease:
    """A shared hold on the staging lock file: while any run holds one, nothing is swept."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle

    def held_alone(self) -> bool:
        """Turn this lease exclusive if no other run holds one (never waits). Only ask once
        this run's own staged files are in place or gone: a refused conversion may have
        dropped the shared hold (flock converts by unlocking first)."""
        import fcntl

        try:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


@contextlib.contextmanager
def staging_lease(layout: MemoryLayout) -> Iterator[Lease]:
    import fcntl  # POSIX only, like fsutil.file_lock

    path = layout.state_dir / "staging.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as handle:
        # waits only while a sweep holds it alone: a walk of the memory dir, no network
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        try:
            yield Lease(handle)
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def sweep_hourly(layout: MemoryLayout, lease: Lease) -> None:
    """Remove the temp files killed runs left (fsutil.remove_stale_temp_files), at most once
    an hour and only when no other run is staging. Call it under the memory lock (the other
    writers' temp files exist only under it) once this run's staged files are settled.

    At most hourly: they only count as stale after an hour, and walking the whole memory
    tree on every run would cost an unchanged re-ingest more than everything else it does."""
    stamp = layout.state_dir / "swept"
    with contextlib.suppress(FileNotFoundError):
        if time.time() - stamp.stat().st_mtime < STALE_AFTER_SECONDS:
            return
    if not lease.held_alone():
        log.info("another ingest is staging files: the sweep of stale temp files waits")
        return
    swept = remove_stale_temp_files(layout.root)
    if swept:
        log.info("removed %d temp file(s) an interrupted run left behind", swept)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.touch()
