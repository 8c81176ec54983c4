"""Leaving the workspace as later steps need it: ours-only files handed back, memory ignored.

The Docker action runs as root; later steps run as the runner user and could not modify
root-owned files, so what we wrote inside the workspace is chowned to the workspace's owner.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

__all__ = ["give_back", "keep_out_of_git"]


def keep_out_of_git(memory_dir: Path, workspace: Path) -> None:
    """A memory dir we created inside the checkout must not show up in `git status`."""
    from engram_ci.memory.fsutil import atomic_write_text

    inside = memory_dir.resolve().is_relative_to(workspace.resolve())
    if inside and memory_dir.is_dir() and not (memory_dir / ".gitignore").exists():
        atomic_write_text(memory_dir / ".gitignore", "# engram-ci memory: not for this repo\n*\n")


def give_back(paths: Sequence[Path], workspace: Path) -> None:
    """chown what we wrote inside the workspace to the workspace's owner.

    Only files owned by us are touched, symlinks are not followed.
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    try:
        owner = workspace.stat()
    except OSError:
        return
    me = os.geteuid()
    if owner.st_uid == me:
        return
    root = workspace.resolve()
    for path in paths:
        try:
            if not path.resolve().is_relative_to(root):
                continue
        except OSError:
            continue
        _chown_tree(path, owner.st_uid, owner.st_gid, me)
        # directories created on the way to the path (e.g. a nested memory-path)
        parent = path.parent
        while parent != workspace and parent.is_relative_to(workspace):
            _chown_one(parent, owner.st_uid, owner.st_gid, me)
            parent = parent.parent


def _chown_one(path: Path, uid: int, gid: int, me: int) -> None:
    try:
        if path.lstat().st_uid == me:
            os.lchown(path, uid, gid)
    except OSError:
        pass


def _chown_tree(path: Path, uid: int, gid: int, me: int) -> None:
    if not path.exists():
        return
    _chown_one(path, uid, gid, me)
    if path.is_symlink() or not path.is_dir():
        return
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            _chown_one(Path(folder, name), uid, gid, me)
