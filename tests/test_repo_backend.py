"""repo_backend.py: a git branch as a sync store — what it says about branches and projects
that are not there (yet), a project that is not a folder, a version in which the project was
deleted, against real repositories in tmp dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from engram_ci.errors import FatalError
from engram_ci.memory.paths import MemoryLayout
from engram_ci.sync import reposync
from engram_ci.sync.backend import StoreNotFound, VersionNotFound
from engram_ci.sync.repo_backend import RepoBackend

from .repo_helpers import add_block, git

P = "proj"


def _knowledge_repo(tmp_path: Path) -> Path:
    reposync.init_repo(tmp_path / "kr")
    return tmp_path / "kr"


def _push(tmp_path: Path, kr: Path, *sessions: str, project: str = P) -> None:
    layout = MemoryLayout(tmp_path / f"m-{'-'.join(sessions)}")
    for session in sessions:
        add_block(layout, project, session, f"- learned in {session}")
    reposync.push_repo(layout.root, project, kr)


def test_a_branch_nobody_pushed_to_has_no_projects_and_no_history(tmp_path: Path) -> None:
    kr = _knowledge_repo(tmp_path)
    with RepoBackend(kr, branch="agent-a", writing=False) as backend:
        assert backend.list_projects() == []
        assert backend.branch_missing()
        with pytest.raises(
            StoreNotFound, match=r"branch 'agent-a' not found .*branches here: main"
        ):
            backend.history(P)


def test_a_project_held_as_a_file_is_one_line_naming_the_fix(tmp_path: Path) -> None:
    kr = _knowledge_repo(tmp_path)
    (kr / P).write_text("a file where the project's folder should be\n")
    git(kr, "add", P)
    git(kr, "commit", "-q", "-m", "a stray file")
    mine = MemoryLayout(tmp_path / "mine")
    with pytest.raises(FatalError, match=r"proj in .* is a file, not a directory: rename it"):
        reposync.pull_repo(mine.root, P, kr)
    assert not mine.root.exists()


def test_a_version_in_which_the_project_was_deleted_is_named(tmp_path: Path) -> None:
    kr = _knowledge_repo(tmp_path)
    _push(tmp_path, kr, "s1")
    _push(tmp_path, kr, "o1", project="other")
    git(kr, "rm", "-q", "-r", P)
    git(kr, "commit", "-q", "-m", "drop proj")
    deleted = git(kr, "rev-parse", "HEAD")
    with RepoBackend(kr, writing=False) as backend:
        assert backend.list_projects() == ["other"]
        versions = [v.version for v in backend.history(P)]
        assert versions[0] == deleted  # the deletion is the project's newest version
        with pytest.raises(VersionNotFound, match=f"proj is not in commit {deleted[:12]}"):
            backend.read_version(P, deleted[:9])
        older = backend.read_version(P, versions[1])
        assert "decisions.md" in older.files
        missing = backend.missing(P)
    assert "projects there: other" in str(missing)
