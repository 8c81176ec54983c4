"""Crash-safe file writes: readers see the old file or the new one, never half of either."""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

__all__ = [
    "STALE_AFTER_SECONDS",
    "StagedWrites",
    "atomic_write_bytes",
    "atomic_write_chunks",
    "atomic_write_text",
    "file_lock",
    "make_folder",
    "read_text_if_exists",
    "remove_stale_temp_files",
    "replace_staged",
    "stage_chunks",
    "sync_filesystems",
]


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = 0o644, durable: bool = True) -> None:
    """Write `data` to a temp file beside `path`, fsync it, then rename over `path`.

    durable=False skips the fsync: the rename still makes the write all-or-nothing for a
    killed process, only a power loss may lose it. For files that can be derived again.
    """
    fd, tmp_name = _temp_beside(path)
    try:
        try:
            _write_all(fd, data)  # one write(2): no buffered file around it
            os.fchmod(fd, mode)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def _temp_beside(path: Path) -> tuple[int, str]:
    """A new temp file in `path`'s folder, making the folder only when it is missing (most
    writes go to folders that exist: one syscall saved each, on slow disks it shows)."""
    try:
        return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)


def make_folder(path: Path) -> bool:
    """Create `path` (and missing parents); True when this call created it, so it is known
    to hold nothing yet and writes into it need not look for files to compare with."""
    try:
        os.mkdir(path)
    except FileExistsError:
        return False
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(path)
        except FileExistsError:
            return False
    return True


def atomic_write_text(path: Path, text: str, *, mode: int = 0o644, durable: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode, durable=durable)


def atomic_write_chunks(
    path: Path,
    chunks: Iterable[str],
    *,
    mode: int = 0o644,
    durable: bool = True,
    only_if_changed: bool = False,
) -> bool:
    """atomic_write_text for text produced piece by piece: the pieces stream into the temp
    file, so memory holds one piece, never the whole file. True when `path` was written.

    With only_if_changed, an existing file is first compared with the pieces as they come:
    while they agree nothing is created, so a file whose bytes would not change costs a read
    and is left as it was (mtime included); at the first difference the agreed prefix is
    copied from the old file into the temp file and the rest streams after it.
    """
    staged = stage_chunks(path, chunks, mode=mode, durable=durable, only_if_changed=only_if_changed)
    if staged is None:
        return False
    replace_staged(staged, path)
    return True


def stage_chunks(
    path: Path,
    chunks: Iterable[str],
    *,
    mode: int = 0o644,
    durable: bool = True,
    only_if_changed: bool = False,
) -> str | None:
    """atomic_write_chunks up to, not including, the rename: the name of the temp file beside
    `path` that holds the new bytes (replace_staged puts it in place later), or None when
    only_if_changed found `path` already holding them. Until renamed, readers see the old
    file; a killed process leaves a temp file remove_stale_temp_files sweeps."""
    pieces = (chunk.encode("utf-8") for chunk in chunks)
    old = _open_if_exists(path) if only_if_changed else None
    if old is None:
        return _stage_pieces(path, b"", pieces, None, mode=mode, durable=durable)
    with old:
        agreed, first_difference = _agreed_prefix(old, pieces)
        if first_difference is None:
            return None
        return _stage_pieces(
            path, first_difference, pieces, (old, agreed), mode=mode, durable=durable
        )


def replace_staged(tmp_name: str, path: Path) -> None:
    """Rename a staged temp file over `path`; on failure the temp file is removed."""
    try:
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def _open_if_exists(path: Path) -> BinaryIO | None:
    try:
        return path.open("rb")
    except FileNotFoundError:
        return None


def _agreed_prefix(old: BinaryIO, pieces: Iterator[bytes]) -> tuple[int, bytes | None]:
    """Read `old` along `pieces` while they agree: (bytes agreed, the first piece that did
    not, or b"" when `old` goes on past the last piece, or None when they are the same)."""
    agreed = 0
    for piece in pieces:
        if old.read(len(piece)) != piece:
            return agreed, piece
        agreed += len(piece)
    return agreed, (b"" if old.read(1) else None)


def _stage_pieces(
    path: Path,
    first: bytes,
    rest: Iterator[bytes],
    prefix: tuple[BinaryIO, int] | None,
    *,
    mode: int,
    durable: bool,
) -> str:
    """Temp file beside `path` <- (prefix bytes of an old file) + first + rest; its name."""
    fd, tmp_name = _temp_beside(path)
    try:
        try:
            if prefix is not None:
                old, size = prefix
                old.seek(0)
                _copy_exactly(old, fd, size)
            _write_batched(fd, first, rest)
            os.fchmod(fd, mode)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        return tmp_name
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


#: pieces are gathered up to this many bytes per write(2): a session's archive is rendered
#: in thousands of pieces, and a syscall each (or a buffered file's wrapping: fstat, ioctl,
#: lseek) was most of a small file's cost; the bound keeps memory flat for a huge one
_WRITE_BATCH = 1 << 20


def _write_batched(fd: int, first: bytes, rest: Iterator[bytes]) -> None:
    batch, size = [first], len(first)
    for piece in rest:
        batch.append(piece)
        size += len(piece)
        if size >= _WRITE_BATCH:
            _write_all(fd, b"".join(batch))
            batch, size = [], 0
    if size:
        _write_all(fd, b"".join(batch))


def _write_all(fd: int, data: bytes) -> None:
    """os.write until all of `data` is written (a write may be short, on a full pipe or a
    signal; a full disk raises)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _copy_exactly(source: BinaryIO, fd: int, size: int) -> None:
    while size > 0:
        block = source.read(min(size, 1 << 20))
        if not block:
            raise OSError(f"{getattr(source, 'name', 'a file')} shrank while being rewritten")
        _write_all(fd, block)
        size -= len(block)


#: what our atomic writes name their temp files: ".<name>.<8 random chars>.tmp" (mkstemp)
_TEMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")
#: a temp file older than this belongs to a process that was killed mid-write
STALE_AFTER_SECONDS = 3600


def remove_stale_temp_files(root: Path, *, now: float | None = None) -> int:
    """Delete our temp files that a killed process left under `root`; return how many.

    Only names our atomic writes make, and only when older than STALE_AFTER_SECONDS, so a
    write in progress (even a slow one in another process) is never touched. Symlinks are
    neither followed nor removed.
    """
    cutoff = (time.time() if now is None else now) - STALE_AFTER_SECONDS
    removed = 0
    for folder, folders, names in os.walk(root):
        folders[:] = [f for f in folders if f != ".git"]  # git's own files are git's business
        for name in names:
            if not _TEMP_NAME.fullmatch(name):
                continue
            path = Path(folder, name)
            try:
                info = path.lstat()
                if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                continue  # gone already, or not ours to remove: leave it
    return removed


def read_text_if_exists(path: Path) -> str | None:
    """The file's text, or None when it does not exist. Undecodable bytes are replaced."""
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock held for the block (several engram runs, one memory dir)."""
    import fcntl  # POSIX only; imported here so Windows can still import this module

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def sync_filesystems(paths: Iterable[Path]) -> None:
    """A durability barrier: everything written so far (data and renames) to the filesystems
    that hold `paths` is on disk when this returns. One syncfs(2) per filesystem, however
    many files were written: batching a run's writes behind one barrier costs a fraction of
    an fsync per file. Where syncfs is missing, sync(2), which covers every filesystem."""
    devices: dict[int, Path] = {}
    for path in paths:
        with contextlib.suppress(OSError):
            devices.setdefault(path.stat().st_dev, path)
    if not devices:
        return
    syncfs = _syncfs()
    if syncfs is None:
        _sync_everything()
        return
    for path in devices.values():
        fd = os.open(path, os.O_RDONLY)
        try:
            if syncfs(fd) != 0:
                _sync_everything()  # an odd filesystem refused: the big hammer still works
        finally:
            os.close(fd)


def _sync_everything() -> None:
    sync = getattr(os, "sync", None)  # POSIX; Windows has none (and no ingest: file_lock)
    if sync is not None:
        sync()


def _syncfs() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # imported here: start-up stays lean for runs that write nothing

    return getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)


def fsync_directory(path: Path) -> None:
    """Make the renames done in `path` durable (POSIX wants the folder itself synced)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class StagedWrites:
    """Atomic writes done as a batch: each file goes to a temp file beside it now (no fsync),
    and `commit` makes them all durable with one barrier, renames them into place, then
    syncs each folder once. A process killed before or during commit leaves every target
    whole (old or new); only dot-named temp files remain, swept by remove_stale_temp_files.
    Safe to add to from several threads."""

    def __init__(self, barrier: Callable[[Iterable[Path]], None] | None = None) -> None:
        self._pending: list[tuple[str, Path]] = []
        self._lock = threading.Lock()
        #: sync_filesystems, or a test's stand-in that checks what is on disk at that moment
        self._barrier = barrier or sync_filesystems

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, path: Path, text: str, *, mode: int = 0o644) -> None:
        fd, tmp_name = _temp_beside(path)
        try:
            try:
                _write_all(fd, text.encode("utf-8"))
                os.fchmod(fd, mode)
            finally:
                os.close(fd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        with self._lock:
            self._pending.append((tmp_name, path))

    def commit(self, *, also_sync: Iterable[Path] = ()) -> None:
        """Barrier (the staged files and whatever else was written under `also_sync`), rename
        every staged file into place, sync each folder renamed into. Nothing staged and
        nothing to sync: no syscall at all."""
        with self._lock:
            pending, self._pending = self._pending, []
        extra = list(also_sync)
        if not pending and not extra:
            return
        folders = sorted({path.parent for _, path in pending})
        try:
            self._barrier([*extra, *folders])
            while pending:
                tmp_name, path = pending[0]
                os.replace(tmp_name, path)
                pending.pop(0)
        finally:
            for tmp_name, _ in pending:  # a rename failed: leave no temp files behind
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp_name)
        for folder in folders:
            fsync_directory(folder)

    def discard(self) -> None:
        """Remove what was staged and not committed (the run failed before its commit)."""
        with self._lock:
            pending, self._pending = self._pending, []
        for tmp_name, _ in pending:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
