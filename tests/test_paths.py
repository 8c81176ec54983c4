from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engram_ci.errors import FatalError
from engram_ci.memory.paths import MemoryLayout, check_memory_dir, resolve_memory_dir
from engram_ci.transcripts.model import check_project_name


def test_memory_dir_precedence(monkeypatch: pytest.MonkeyPatch, isolated_env: Path) -> None:
    assert resolve_memory_dir() == isolated_env / "memory"
    monkeypatch.setenv("ENGRAM_MEMORY_DIR", "/srv/mem")
    assert resolve_memory_dir() == Path("/srv/mem")
    assert resolve_memory_dir("/explicit") == Path("/explicit")


def test_a_file_where_the_memory_dir_goes_is_refused_whichever_way_it_is_named(
    monkeypatch: pytest.MonkeyPatch, isolated_env: Path, tmp_path: Path
) -> None:
    afile = tmp_path / "memory-file"
    afile.write_text("not a folder")
    (isolated_env / "memory").write_text("nor this")
    named: list[Callable[[], Path]] = [lambda: resolve_memory_dir(afile), resolve_memory_dir]
    for resolve in named:
        with pytest.raises(FatalError, match="is a file, not a folder") as caught:
            resolve()
        assert "--memory-dir (or $ENGRAM_MEMORY_DIR)" in str(caught.value)
        assert "the `memory-path` input" in caught.value.worded("action")
    monkeypatch.setenv("ENGRAM_MEMORY_DIR", str(afile))
    with pytest.raises(FatalError, match="is a file"):
        resolve_memory_dir()
    # a folder, or nothing yet (ingest makes it), is fine
    assert check_memory_dir(tmp_path) == tmp_path
    assert check_memory_dir(tmp_path / "new") == tmp_path / "new"


@pytest.mark.parametrize(
    "name", ["", ".", "..", ".hidden", "a/b", "a\\b", "x\0y", "tab\there", "é" * 101]
)
def test_hostile_project_names_are_refused(name: str) -> None:
    with pytest.raises(FatalError, match="invalid project name"):
        check_project_name(name)


@pytest.mark.parametrize("name", ["engram-ci", "my project", "naïve", "项目", "a.b"])
def test_ordinary_project_names_pass(name: str) -> None:
    assert check_project_name(name) == name


def test_projects_lists_knowledge_and_conversations(tmp_path: Path) -> None:
    layout = MemoryLayout(tmp_path)
    (tmp_path / "knowledge" / "b").mkdir(parents=True)
    (tmp_path / "knowledge" / "_global").mkdir()
    (tmp_path / "conversations" / "a").mkdir(parents=True)
    (tmp_path / "conversations" / ".engram-ci").mkdir()
    assert layout.projects() == ["a", "b"]
