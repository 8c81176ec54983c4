"""Leaving the workspace as later steps need it: ours-only files handed back, memory ignored.

The Docker action runs as root; later steps run as the runner user and could not modify
root-owned files, so what we wrote inside the workspace is chowned to the workspace's owner —
and nothing outside it. Paths come from inputs (`memory-path`, `context-file`) and from the
workspace's own content, which a hostile pull request controls: a `..` or a symlink
(`.engram-memory -> /etc`, `a/link/b` with `link -> /`) must never lead the chown out. So every
path is resolved — every symlink on the way followed — before it is compared with the
workspace; its last component is never followed (lchown), walks never descend into symlinked
folders, and only files we own are touched.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

__all__ = ["give_back", "inside", "keep_out_of_git"]


def keep_out_of_git(memory_dir: Path, workspace: Path) -> None:
    """A memory dir we created inside the checkout must not show up in `git status`."""
    from engram_ci.memory.fsutil import atomic_write_text

    inside = memory_dir.resolve().is_relative_to(workspace.resolve())
    if inside and memory_dir.is_dir() and not (memory_dir / ".gitignore").exists():
        atomic_write_text(memory_dir / ".gitignore", "# engram-ci memory: not for this repo\n*\n")


def give_back(paths: Sequence[Path], workspace: Path) -> None:
    """chown `paths` (trees) and the folders created on the way to them, inside `workspace`
    only, to the workspace's owner. A no-op unless we are root and the owner is someone else."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    try:
        root = workspace.resolve(strict=True)
        owner = root.stat()
    except OSError:
        return
    me = os.geteuid()
    if owner.st_uid == me:
        return
    for path in paths:
        real = inside(path, root)
        if real is not None:
            _chown_tree(real, owner.st_uid, owner.st_gid, me)
        # folders created on the way (a nested memory-path), up to the workspace
        parent = path.parent
        while parent != parent.parent:
            real_parent = inside(parent, root)
            if real_parent is None or real_parent == root:
                break
            _chown_one(real_parent, owner.st_uid, owner.st_gid, me)
            parent = parent.parent


def inside(path: Path, root: Path) -> Path | None:
    """`path` with every symlink before its last component resolved, if that is `root` (itself
    resolved) or lies inside it; else None. The last component is kept as it is, so a
    symlink there is changed itself (lchown), never its target."""
    try:
        real = Path(os.path.realpath(path.parent)) / path.name
    except (OSError, ValueError):
        return None
    if path.name in ("", ".", "..") or not real.is_relative_to(root):
        return None
    return real


def _chown_one(path: Path, uid: int, gid: int, me: int) -> None:
    with contextlib.suppress(OSError):
        if path.lstat().st_uid == me:
            os.lchown(path, uid, gid)


def _chown_tree(path: Path, uid: int, gid: int, me: int) -> None:
    if not os.path.lexists(path):
        return
    _chown_one(path, uid, gid, me)
    if path.is_symlink() or not path.is_dir():
        return
    for folder, dirs, files in os.walk(path):  # followlinks=False: symlinked folders stay shut
        for name in dirs + files:
            _chown_one(Path(folder, name), uid, gid, me)
