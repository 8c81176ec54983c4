"""limits.py: the pull size caps from the environment — a typo is one line naming the
setting, never a silent default or a cap of zero."""

from __future__ import annotations

import pytest

from engram_ci.errors import FatalError
from engram_ci.memory.limits import (
    DEFAULT_FILE_BYTES,
    DEFAULT_PROJECT_BYTES,
    PullLimits,
    check_sizes,
)


def test_caps_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENGRAM_MAX_FILE_BYTES", raising=False)
    monkeypatch.setenv("ENGRAM_MAX_PROJECT_BYTES", " 2048 ")
    assert PullLimits.from_env() == PullLimits(DEFAULT_FILE_BYTES, 2048)
    assert PullLimits() == PullLimits(DEFAULT_FILE_BYTES, DEFAULT_PROJECT_BYTES)


@pytest.mark.parametrize("raw", ["10MB", "0", "-5", "1e6", "ten"])
def test_a_cap_that_is_not_a_positive_whole_number_is_one_line(
    raw: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGRAM_MAX_FILE_BYTES", raw)
    with pytest.raises(FatalError, match=r"invalid ENGRAM_MAX_FILE_BYTES=.*whole number of bytes"):
        PullLimits.from_env()


def test_a_file_over_its_cap_stops_the_pull_naming_the_file() -> None:
    limits = PullLimits(file_bytes=100, project_bytes=1000)
    check_sizes({"decisions.md": 100}, "gist abc", limits)  # at the cap is fine
    with pytest.raises(FatalError, match=r"decisions\.md"):
        check_sizes({"decisions.md": 101}, "gist abc", limits)
