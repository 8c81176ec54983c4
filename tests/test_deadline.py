"""deadline.py: a call finishes, fails or is abandoned at its deadline; budgets from the
environment are clamped, a typo is one clear line."""

from __future__ import annotations

import threading
import time

import pytest

from engram_ci.deadline import DeadlineExceeded, call_within, seconds_from_env
from engram_ci.errors import FatalError


def test_a_call_within_its_time_returns_its_result() -> None:
    cancelled: list[bool] = []
    assert call_within(5, lambda: 42, cancel=lambda: cancelled.append(True)) == 42
    assert cancelled == []  # cancel is only for a call that ran out of time


def test_a_call_that_fails_raises_its_own_error() -> None:
    def broken() -> None:
        raise ConnectionError("refused")

    with pytest.raises(ConnectionError, match="refused"):
        call_within(5, broken)


def test_a_call_past_its_deadline_is_abandoned_and_cancelled() -> None:
    release = threading.Event()
    cancelled = threading.Event()
    began = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="within 0s"):
        call_within(0.2, lambda: release.wait(30), cancel=cancelled.set)
    assert time.monotonic() - began < 5  # the caller did not wait for the call
    assert cancelled.is_set()
    assert isinstance(DeadlineExceeded(), TimeoutError)  # callers that catch timeouts see it
    release.set()


def test_a_cancel_that_fails_does_not_hide_the_deadline() -> None:
    release = threading.Event()

    def cancel() -> None:
        raise OSError("already closed")

    with pytest.raises(DeadlineExceeded):
        call_within(0.1, lambda: release.wait(30), cancel=cancel)
    release.set()


def test_a_negative_budget_waits_not_at_all() -> None:
    release = threading.Event()
    with pytest.raises(DeadlineExceeded):
        call_within(-1, lambda: release.wait(30))  # no cancel: just abandoned
    release.set()


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        (None, 30.0),  # unset: the default
        ("  ", 30.0),  # blank: the default
        ("12.5", 12.5),
        ("6000000", 600.0),  # a typo cannot make a run wait for months
        ("0", 1.0),
        ("-5", 1.0),
        ("inf", 600.0),
    ],
)
def test_seconds_from_the_environment_are_clamped(
    raw: str | None, seconds: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    if raw is None:
        monkeypatch.delenv("ENGRAM_TEST_SECONDS", raising=False)
    else:
        monkeypatch.setenv("ENGRAM_TEST_SECONDS", raw)
    assert seconds_from_env("ENGRAM_TEST_SECONDS", 30.0, low=1, high=600) == seconds


@pytest.mark.parametrize("raw", ["ten", "5s", "nan"])
def test_a_budget_that_is_not_a_number_is_one_clear_line(
    raw: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGRAM_TEST_SECONDS", raw)
    with pytest.raises(FatalError, match="ENGRAM_TEST_SECONDS") as caught:
        seconds_from_env("ENGRAM_TEST_SECONDS", 30.0, low=1, high=600)
    assert "\n" not in str(caught.value)
    assert "number of seconds" in str(caught.value)
