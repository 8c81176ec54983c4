"""workers.py: forked workers inherit the work, results come back in index order."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from engram_ci import workers
from engram_ci.errors import FatalError

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


def test_a_bug_in_a_worker_reaches_the_caller_at_its_index() -> None:
    def work(index: int) -> int:
        if index == 3:
            raise ValueError(f"bug at {index}")
        return index

    results = workers.in_order(work, [workers.BATCH_BYTES] * 6, jobs=2)  # a batch each
    assert [next(results) for _ in range(3)] == [0, 1, 2]  # the items before it arrive first
    with pytest.raises(ValueError, match="bug at 3"):
        next(results)


def test_a_fatal_error_in_a_worker_keeps_its_type_and_message() -> None:
    def work(index: int) -> int:
        raise FatalError("the token is wrong: set GITHUB_TOKEN")

    with pytest.raises(FatalError, match="set GITHUB_TOKEN"):
        list(workers.in_order(work, [1, 1], jobs=2))


def test_a_worker_that_dies_breaks_the_run_instead_of_hanging() -> None:
    def work(index: int) -> int:
        if index == 1:
            os._exit(9)  # a crash: no exception, no result
        return index

    with pytest.raises(BrokenProcessPool):
        list(workers.in_order(work, [1, 1, 1], jobs=2))
    assert multiprocessing.active_children() == []


def test_an_interrupt_while_waiting_stops_the_workers() -> None:
    done = multiprocessing.get_context("fork").Value("i", 0)

    def work(index: int) -> int:
        time.sleep(0.1)
        with done.get_lock():
            done.value += 1
        return index

    results = workers.in_order(work, [workers.BATCH_BYTES] * 40, jobs=2)  # a batch each
    assert next(results) == 0
    with pytest.raises(KeyboardInterrupt):
        results.throw(KeyboardInterrupt())  # Ctrl-C arrives where the caller waits
    assert multiprocessing.active_children() == []  # the pool was shut down, not left behind
    assert done.value < 40  # and the work not yet started was cancelled, not run to the end


def test_one_worker_and_many_give_the_same_results() -> None:
    def work(index: int) -> str:
        return f"{index}:{index * 7 % 5}"

    sizes = [index * 1000 % 7919 for index in range(100)]
    one, many = (list(workers.in_order(work, sizes, jobs=jobs)) for jobs in (1, 3))
    assert one == many == [work(i) for i in range(100)]


def test_workers_die_when_the_parent_is_killed(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = (
        "import os, sys, time\n"
        "from engram_ci import workers\n"
        "def work(i):\n"
        f"    with open({str(pids)!r}, 'a') as out: out.write(f'{{os.getpid()}}\\n')\n"
        "    time.sleep(60)\n"
        f"list(workers.in_order(work, [{workers.BATCH_BYTES}] * 2, jobs=2))\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 30
        while len(_lines(pids)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        children = [int(p) for p in _lines(pids)]
        assert len(children) == 2
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in children)  # no orphan keeps the memory lock


def test_a_worker_whose_parent_is_already_gone_exits_at_once() -> None:
    # the parent died between fork and prctl: the worker's parent is no longer the pid it got
    worker = multiprocessing.get_context("fork").Process(
        target=workers._die_with_parent, args=(os.getpid() + 10_000_000,)
    )
    worker.start()
    worker.join(10)
    assert worker.exitcode == 1


@pytest.mark.parametrize("how", ["ctrl-c", "close"])
def test_stopping_early_ends_work_in_flight_at_once(how: str, tmp_path: Path) -> None:
    """Ctrl-C in a terminal reaches the whole process group: the run ends now, its workers
    with it, rather than after every batch already handed out has run to its end."""
    pids = tmp_path / "pids"
    stop = (
        "    list(results)\n"
        if how == "ctrl-c"
        else "    next(results)\n    results.close()\n"  # the caller stops after the first
    )
    script = (
        "import os, sys, time\n"
        "from engram_ci import workers\n"
        "def work(i):\n"
        f"    with open({str(pids)!r}, 'a') as out: out.write(f'{{os.getpid()}}\\n')\n"
        "    if i: time.sleep(60)\n"
        "    return i\n"
        f"results = workers.in_order(work, [{workers.BATCH_BYTES}] * 4, jobs=2)\n"
        "try:\n"
        f"{stop}"
        "except KeyboardInterrupt:\n"
        "    sys.exit(130)\n"
    )
    began = time.monotonic()
    run = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        if how == "ctrl-c":
            while len(_lines(pids)) < 2 and time.monotonic() - began < 30:
                time.sleep(0.05)  # both workers busy
            os.killpg(run.pid, signal.SIGINT)
        code = run.wait(timeout=50)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert time.monotonic() - began < 40  # not the 60 s a worker's batch would take
    assert code == (130 if how == "ctrl-c" else 0)
    children = [int(p) for p in _lines(pids)]
    assert children and not any(_alive(pid) for pid in children)


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead, just not reaped
