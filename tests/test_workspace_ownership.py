"""The action gives what it wrote back to the workspace's owner — never anything outside the
workspace, whatever symlinks or `..` the paths hold (issue 15, item 8)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engram_ci.action.workspace import give_back, inside

OWNER = 4321

pytestmark = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root"
)


def _owners(root: Path) -> set[int]:
    return {
        os.lstat(os.path.join(folder, name)).st_uid
        for folder, dirs, files in os.walk(root)
        for name in [*dirs, *files]
    } | {root.lstat().st_uid}


@pytest.fixture
def places(tmp_path: Path) -> tuple[Path, Path]:
    workspace, outside = tmp_path / "workspace", tmp_path / "outside"
    workspace.mkdir()
    (outside / "etc").mkdir(parents=True)
    (outside / "etc" / "passwd").write_text("root:x:0:0\n")
    os.chown(workspace, OWNER, OWNER)
    return workspace, outside


def test_what_we_wrote_inside_goes_back_to_the_owner(places: tuple[Path, Path]) -> None:
    workspace, _ = places
    written = workspace / "mem" / "knowledge" / "proj" / "decisions.md"
    written.parent.mkdir(parents=True)
    written.write_text("x")
    give_back([workspace / "mem"], workspace)
    assert _owners(workspace) == {OWNER}


def test_nested_created_folders_are_given_back_up_to_the_workspace(
    places: tuple[Path, Path],
) -> None:
    workspace, _ = places
    deep = workspace / "a" / "b" / "memory"
    deep.mkdir(parents=True)
    give_back([deep], workspace)
    assert _owners(workspace) == {OWNER}


@pytest.mark.parametrize(
    "layout",
    ["symlinked-memory", "symlink-on-the-way", "dotdot", "symlinked-parent-walk"],
)
def test_nothing_outside_the_workspace_changes_owner(
    places: tuple[Path, Path], layout: str
) -> None:
    workspace, outside = places
    if layout == "symlinked-memory":  # memory-path is a symlink planted by a pull request
        (workspace / ".engram-memory").symlink_to(outside / "etc")
        paths = [workspace / ".engram-memory"]
    elif layout == "symlink-on-the-way":  # a/link/etc with link -> outside
        (workspace / "a").mkdir()
        (workspace / "a" / "link").symlink_to(outside)
        paths = [workspace / "a" / "link" / "etc" / "passwd"]
    elif layout == "dotdot":
        paths = [workspace / ".." / "outside" / "etc" / "passwd"]
    else:  # a symlinked folder inside the tree we walk
        (workspace / "mem").mkdir()
        (workspace / "mem" / "escape").symlink_to(outside / "etc")
        paths = [workspace / "mem"]
    give_back(paths, workspace)
    assert _owners(outside) == {os.geteuid()}, layout


def test_inside_resolves_the_way_but_not_the_last_step(places: tuple[Path, Path]) -> None:
    workspace, outside = places
    root = workspace.resolve()
    (workspace / "link").symlink_to(outside)
    assert inside(workspace / "link", root) == root / "link"  # the symlink itself: lchown
    assert inside(workspace / "link" / "etc", root) is None
    assert inside(workspace / ".." / "outside", root) is None
    assert inside(workspace, root) == root


def test_paths_that_are_not_there_or_not_paths_change_nothing(
    places: tuple[Path, Path], tmp_path: Path
) -> None:
    workspace, _ = places
    give_back([workspace / "never-written"], workspace)  # a run that wrote nothing
    give_back([workspace / "mem"], tmp_path / "no-workspace")  # no workspace: nothing to match
    assert _owners(workspace) == {OWNER}
    assert inside(workspace / "bad\0name" / "x", workspace.resolve()) is None


def test_a_workspace_we_own_needs_no_giving_back(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    (workspace / "mem").mkdir(parents=True)
    give_back([workspace / "mem"], workspace)
    assert _owners(workspace) == {os.geteuid()}
