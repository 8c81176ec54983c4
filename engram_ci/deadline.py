"""Overall deadlines for network calls, and the environment's say over them (clamped).

HTTP clients (requests under PyGithub, httpx) only bound each socket read: a server that
trickles one byte every few seconds keeps a call alive forever. `call_within` runs the call in
a daemon thread and stops waiting when its time is up; `cancel` (closing the client) then
unblocks the thread, which is abandoned either way — the caller has already moved on with a
one-line error. git runs as a subprocess and is killed at its deadline instead (git_repo).

Every budget an environment variable can set is clamped here: a typo such as
ENGRAM_HTTP_RETRY_SECONDS=6000000 cannot make a run wait for months.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import TypeVar

from engram_ci.errors import FatalError

__all__ = ["DeadlineExceeded", "call_within", "seconds_from_env"]

T = TypeVar("T")


class DeadlineExceeded(TimeoutError):
    """The call did not finish within its overall deadline."""


def call_within(
    seconds: float, call: Callable[[], T], *, cancel: Callable[[], object] | None = None
) -> T:
    """`call()`'s result or exception, or DeadlineExceeded after `seconds` (then `cancel()`)."""
    outcome: list[tuple[bool, object]] = []

    def run() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as error:  # handed to the waiting thread below
            outcome.append((False, error))

    worker = threading.Thread(target=run, name="engram-network-call", daemon=True)
    worker.start()
    worker.join(max(0.0, seconds))
    if not outcome:
        if cancel is not None:
            with contextlib.suppress(Exception):  # best effort: the call is abandoned anyway
                cancel()
        raise DeadlineExceeded(f"no complete answer within {seconds:.0f}s")
    ok, value = outcome[0]
    if ok:
        return value  # type: ignore[return-value]
    raise value  # type: ignore[misc]


def seconds_from_env(name: str, default: float, *, low: float, high: float) -> float:
    """A number of seconds from the environment, clamped to [low, high]; a typo is fatal."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise FatalError(
            f"invalid {name}={raw!r}: use a number of seconds between {low:g} and {high:g}"
        ) from None
    if value != value:  # NaN
        raise FatalError(f"invalid {name}={raw!r}: use a number of seconds")
    return min(high, max(low, value))
