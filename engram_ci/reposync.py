"""STUB — owned by the repo helper. Interface the CLI and the action adapter call."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RepoPushResult:
    commit_sha: str  # the branch head after the push (unchanged head when nothing changed)
    branch: str
    changed: bool
    pushed: bool
    files_synced: tuple[str, ...]
    secrets_redacted: int
    blocks_added: int
    blocks_removed: int


@dataclass(frozen=True)
class RepoPullResult:
    commit_sha: str
    branch: str
    changed: bool
    files_synced: tuple[str, ...]
    blocks_added: int
    blocks_removed: int


def init_repo(path: Path) -> str:
    """Create or complete a knowledge repo; return the head commit sha."""
    raise NotImplementedError


def push_repo(
    memory_dir: Path,
    project: str,
    path: Path,
    *,
    branch: str | None = None,
    message: str | None = None,
    push_remote: bool = False,
    token: str | None = None,
) -> RepoPushResult:
    raise NotImplementedError


def pull_repo(
    memory_dir: Path,
    project: str,
    path: Path,
    *,
    branch: str | None = None,
    fetch_remote: bool = False,
    token: str | None = None,
) -> RepoPullResult:
    raise NotImplementedError
