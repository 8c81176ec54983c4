"""STUB — owned by the gist helper. Interface the CLI and the action adapter call."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GistPushResult:
    gist_id: str
    url: str
    revision: str  # the gist's newest version sha after the push
    created: bool
    changed: bool  # False when nothing differed (no PATCH was sent)
    files_synced: tuple[str, ...]
    secrets_redacted: int
    blocks_added: int
    blocks_removed: int


@dataclass(frozen=True)
class GistPullResult:
    gist_id: str
    url: str
    revision: str
    changed: bool
    files_synced: tuple[str, ...]
    blocks_added: int
    blocks_removed: int


def push(
    memory_dir: Path,
    project: str,
    *,
    gist_id: str | None = None,
    description: str | None = None,
    token: str | None = None,
    api_url: str | None = None,
) -> GistPushResult:
    raise NotImplementedError


def pull(
    memory_dir: Path,
    project: str,
    gist_id: str,
    *,
    force: bool = False,
    version: str | None = None,
    token: str | None = None,
    api_url: str | None = None,
) -> GistPullResult:
    raise NotImplementedError
