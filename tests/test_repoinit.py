"""repoinit: the merge setup every repo command ensures, and the default branch."""

from __future__ import annotations

from pathlib import Path

import pytest

from engram_ci.errors import FatalError
from engram_ci.sync.git_repo import GitRepo
from engram_ci.sync.repoinit import STRATEGIES, default_branch, ensure_merge_setup, init_repo

from .repo_helpers import git


def _repo(tmp_path: Path) -> Path:
    path = tmp_path / "kr"
    git(tmp_path, "init", "-q", "-b", "main", str(path))
    return path


def test_merge_setup_names_commands_on_path_and_is_idempotent(tmp_path: Path) -> None:
    path = _repo(tmp_path)
    with GitRepo.open(path) as repo:
        assert ensure_merge_setup(repo, which=lambda name: f"/somewhere/{name}")
        assert not ensure_merge_setup(repo, which=lambda name: f"/somewhere/{name}")
    assert git(path, "config", "merge.engram.driver") == "engram sync merge-driver %O %A %B %P"
    for key, value in STRATEGIES.items():
        assert git(path, "config", key) == value


def test_without_git_merge_engram_on_path_no_strategy_is_named(tmp_path: Path) -> None:
    # git refuses EVERY merge naming a strategy it cannot find: better none than a broken one
    path = _repo(tmp_path)
    with GitRepo.open(path) as repo:
        ensure_merge_setup(repo, which=lambda name: f"/somewhere/{name}")
        assert ensure_merge_setup(repo, which=lambda name: None)
    assert git(path, "config", "pull.octopus", check=False) == ""
    assert git(path, "config", "merge.engram.driver")  # the driver alone still helps
    git(path, "config", "pull.octopus", "octopus")  # the user's own choice stays
    with GitRepo.open(path) as repo:
        ensure_merge_setup(repo, which=lambda name: None)
    assert git(path, "config", "pull.octopus") == "octopus"


def test_default_branch_prefers_the_checked_out_one_then_the_remotes(tmp_path: Path) -> None:
    path = _repo(tmp_path)
    with GitRepo.open(path) as repo:
        assert default_branch(repo) == "main"  # unborn, no remote: the repo's own
    git(path, "commit", "-q", "--allow-empty", "-m", "x")
    git(path, "update-ref", "refs/remotes/origin/trunk", "HEAD")
    git(path, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/trunk")
    with GitRepo.open(path) as repo:
        assert default_branch(repo) == "main"  # checked out with commits wins
    git(path, "checkout", "-q", "--detach")
    with GitRepo.open(path) as repo:
        assert default_branch(repo) == "trunk"  # detached: what origin's HEAD names
    git(path, "symbolic-ref", "-d", "refs/remotes/origin/HEAD")
    with GitRepo.open(path) as repo, pytest.raises(FatalError) as detached:
        default_branch(repo)  # detached, nothing names a branch: each face says how to
    assert detached.value.worded("cli").endswith("name the branch with --branch NAME")
    assert detached.value.worded("action").endswith("name the branch with the `branch` input")


def test_a_detached_head_with_nothing_to_go_by_asks_for_a_branch(tmp_path: Path) -> None:
    path = _repo(tmp_path)
    git(path, "commit", "-q", "--allow-empty", "-m", "x")
    git(path, "checkout", "-q", "--detach")
    with GitRepo.open(path) as repo, pytest.raises(FatalError, match="--branch NAME"):
        default_branch(repo)  # no remote names a default either
    with pytest.raises(FatalError, match=r"HEAD is detached .*: check out a branch first"):
        init_repo(path)
    assert not (path / "README.md").exists()  # nothing was added


def test_a_file_given_as_the_repository_is_one_line(tmp_path: Path) -> None:
    afile = tmp_path / "kr"
    afile.write_text("not a folder")
    with pytest.raises(FatalError, match="is a file: give init-repo a folder"):
        init_repo(afile)
    assert afile.read_text() == "not a folder"


def test_an_initial_branch_git_refuses_is_one_line_and_makes_no_folder(tmp_path: Path) -> None:
    with pytest.raises(FatalError, match="invalid branch name 'http://x'"):
        init_repo(tmp_path / "kr", branch="http://x")
    assert not (tmp_path / "kr").exists()
