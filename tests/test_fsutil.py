from __future__ import annotations

import os
from pathlib import Path

import pytest

from engram_ci import fsutil


def test_atomic_write_creates_parents_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "file.md"
    fsutil.atomic_write_text(target, "hello")
    assert target.read_text() == "hello"
    assert os.listdir(target.parent) == ["file.md"]


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "file.md"
    target.write_text("old")
    with pytest.raises(TypeError):
        fsutil.atomic_write_bytes(target, "not bytes")  # type: ignore[arg-type]  # fails mid-write
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["file.md"]


def test_read_text_if_exists(tmp_path: Path) -> None:
    assert fsutil.read_text_if_exists(tmp_path / "none") is None
    (tmp_path / "bad").write_bytes(b"ok \xff")
    assert fsutil.read_text_if_exists(tmp_path / "bad") == "ok \ufffd"
