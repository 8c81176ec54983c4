"""workers.py: forked workers inherit the work, results come back in index order."""

from __future__ import annotations

import os
import threading

import pytest

from engram_ci import workers

pytestmark = pytest.mark.skipif(not workers.can_fork(), reason="forked workers: Linux only")


def test_results_come_in_index_order_from_other_processes() -> None:
    lock = threading.Lock()  # unpicklable: the work is inherited by fork, never pickled
    parent = os.getpid()

    def work(index: int) -> tuple[int, int, bool]:
        with lock:
            return index, index * index, os.getpid() != parent

    sizes = [10, workers.BATCH_BYTES * 2, 5, 1, 7, workers.BATCH_BYTES, *([3] * 40)]
    results = list(workers.in_order(work, sizes, jobs=2))
    assert [(i, sq) for i, sq, _ in results] == [(i, i * i) for i in range(len(sizes))]
    assert all(in_worker for _, _, in_worker in results)


def test_closing_early_stops_the_workers() -> None:
    results = workers.in_order(lambda i: i, [1] * 100, jobs=2)
    assert next(results) == 0
    results.close()  # no hang, no leftover pool


def test_big_items_go_alone_small_ones_in_batches() -> None:
    sizes = [workers.BATCH_BYTES * 2, workers.BATCH_BYTES, *([1000] * (workers.BATCH_ITEMS + 5))]
    order = list(range(len(sizes)))
    cut = workers.batches(order, sizes)
    assert cut[:2] == [[0], [1]]
    assert [len(b) for b in cut[2:]] == [workers.BATCH_ITEMS, 5]
    assert [i for b in cut for i in b] == order  # every item once, order kept
    assert workers.batches([], []) == []
