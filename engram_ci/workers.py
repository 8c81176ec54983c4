"""Forked worker processes that inherit the caller's state: results come back in order.

ingest runs its per-session work (read, extract, archive) here. Workers are forked, so the
work function — a closure over the whole run: readers, extractor, memory layout — is
inherited rather than pickled; only batches of indexes cross the pipe one way and the
results the other. Linux only (fork is fast and workers can die with their parent); callers
fall back to one process elsewhere.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Generator, Sequence
from typing import Any, TypeVar

__all__ = ["BATCH_BYTES", "BATCH_ITEMS", "batches", "can_fork", "in_order"]

T = TypeVar("T")

#: a batch sent to a worker holds items until it reaches this many bytes or BATCH_ITEMS:
#: a future per small session cost the parent more than the session cost the worker
BATCH_BYTES = 4 * 1024 * 1024
BATCH_ITEMS = 32

#: the work function, set in the parent just before it forks the workers that inherit it
_FORKED_WORK: Callable[[int], Any] | None = None


def can_fork() -> bool:
    return sys.platform == "linux"


def in_order(work: Callable[[int], T], sizes: Sequence[int], jobs: int) -> Generator[T, None, None]:
    """work(0), work(1), ... work(len(sizes) - 1), computed in `jobs` forked processes and
    yielded in index order, exactly as a loop in this process would. The biggest items
    (by `sizes`) start first, so no worker is left alone with a large one at the end.
    Closing the generator early stops the workers."""
    # imported here: an unchanged re-ingest, a dry run or one session never need them
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor

    global _FORKED_WORK
    _FORKED_WORK = work
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(
            jobs, mp_context=context, initializer=_die_with_parent, initargs=(os.getpid(),)
        ) as pool:
            by_size = sorted(range(len(sizes)), key=lambda i: -sizes[i])
            where: dict[int, tuple[Future[list[T]], int]] = {}
            for batch in batches(by_size, sizes):
                future = pool.submit(_work_in_worker, batch)
                where.update({index: (future, k) for k, index in enumerate(batch)})
            try:
                for index in range(len(sizes)):
                    future, k = where[index]
                    yield future.result()[k]
            except BaseException:
                # stopped early (Ctrl-C, a FatalError, the caller closing us): the work still
                # running is wanted by no one, and waiting for it could take minutes
                _stop_workers(pool)
                raise
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        _FORKED_WORK = None


def batches(order: list[int], sizes: Sequence[int]) -> list[list[int]]:
    """`order`'s indexes cut into consecutive batches: a big item alone, small ones
    together (so the end of a run, the small items, still spreads over the workers)."""
    out: list[list[int]] = []
    current: list[int] = []
    held = 0
    for index in order:
        current.append(index)
        held += sizes[index]
        if held >= BATCH_BYTES or len(current) >= BATCH_ITEMS:
            out.append(current)
            current, held = [], 0
    if current:
        out.append(current)
    return out


def _stop_workers(pool: Any) -> None:
    """Kill the pool's workers now: what they were writing is written atomically, so nothing
    is left torn (ProcessPoolExecutor has no public way to do this before Python 3.14)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


def _work_in_worker(indexes: list[int]) -> list[Any]:
    assert _FORKED_WORK is not None, "workers must be forked by in_order"
    return [_FORKED_WORK(i) for i in indexes]


def _die_with_parent(parent_pid: int) -> None:
    """A worker inherits the parent's descriptors (ingest's memory lock among them): if the
    parent is killed, an orphaned worker would hold the lock (and block every later run)
    forever: die with it (in_order runs only where `can_fork`, i.e. on Linux, which has prctl)."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
