"""Gist sync for the faces: push, pull, restore, clone, list, history of a project's gist.

Thin: the sync pipeline (sync/pipeline.py) does the work over the gist backend
(sync/gist_backend.py); this module connects to GitHub, picks the gist, and shapes results.

A gist belongs to one project: one whose metadata.json names another project is refused
unless `adopt`. A clone is independent: it does not remember the gist it came from (only as
lineage), so its first push creates a gist of its own.

`pull P X`: X is a gist id, or — the seed's `engram sync pull P <version>` — a version of P's
remembered gist (any unique prefix of >= 7 hex characters), which is a restore that sticks.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from engram_ci.errors import FatalError, Fix
from engram_ci.memory.paths import MemoryLayout
from engram_ci.sync import crypto, synced_base
from engram_ci.sync.backend import StoreNotFound, VersionNotFound, match_version
from engram_ci.sync.gist_backend import (
    GistBackend,
    default_description,
    find_project_gist,
    project_gists,
    recall,
)
from engram_ci.sync.github_api import GistNotFound, GistStore, GistSummary, Version
from engram_ci.sync.pipeline import Encryption, Pipeline, PullOutcome, Retry, synced_counts
from engram_ci.sync.tokens import require_token, resolve_api_url
from engram_ci.transcripts.model import check_project_name

log = logging.getLogger("engram_ci")

__all__ = [
    "GistHistory",
    "GistPullResult",
    "GistPushResult",
    "clone",
    "default_description",
    "find_gist",
    "find_project_gist",
    "history",
    "list_gists",
    "pull",
    "push",
    "remembered_gist",
    "restore",
]

#: write rounds before giving up on a gist that other writers keep changing
MAX_ROUNDS = 8
_HEX = re.compile(r"^[0-9a-fA-F]{7,40}$")


@dataclass(frozen=True)
class GistPushResult:
    gist_id: str
    url: str
    revision: str  # the gist's newest version sha after the push (whole)
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
    restored: str | None = None  # the version restored (pull of a version, restore)


@dataclass(frozen=True)
class GistHistory:
    gist_id: str
    versions: tuple[Version, ...]
    version: str | None = None
    files: dict[str, int] = field(default_factory=dict)  # that version's files and sizes


@contextmanager
def _connect(
    token: str | None, api_url: str | None, store: GistStore | None
) -> Iterator[GistStore]:
    """The injected store as is, else a new one from the environment, closed afterwards."""
    if store is not None:
        yield store
        return
    gists = GistStore(require_token(token), resolve_api_url(api_url))
    try:
        yield gists
    finally:
        gists.close()


def _pipeline(
    layout: MemoryLayout,
    backend: GistBackend,
    cipher: crypto.Cipher | None,
    encrypt: bool | None,
    adopt: bool,
    budget: int | None,
    *,
    keep_base: bool = True,
) -> Pipeline:
    return Pipeline(
        layout,
        backend,
        encryption=Encryption.of(cipher, encrypt),
        retry=Retry.from_env(attempts=MAX_ROUNDS),
        adopt=adopt,
        keep_base=keep_base,
        context_budget=budget,
    )


def push(
    memory_dir: Path,
    project: str,
    *,
    gist_id: str | None = None,
    description: str | None = None,
    token: str | None = None,
    api_url: str | None = None,
    cipher: crypto.Cipher | None = None,
    store: GistStore | None = None,
    adopt: bool = False,
    encrypt: bool | None = None,
    budget: int | None = None,
) -> GistPushResult:
    """Merge the gist and `project`, upload what differs; `budget` sizes the local context.md."""
    layout = MemoryLayout(memory_dir)
    project = check_project_name(project)
    with _connect(token, api_url, store) as gists:
        backend = GistBackend(layout, gists, gist_id=gist_id, description=description)
        outcome = _pipeline(layout, backend, cipher, encrypt, adopt, budget).push(project)
        described = not outcome.created and backend.apply_description()
    assert backend.gist_id is not None
    return GistPushResult(
        gist_id=backend.gist_id,
        url=outcome.url,
        revision=outcome.version,
        created=outcome.created,
        secrets_redacted=outcome.secrets_redacted,
        **synced_counts(outcome, changed=outcome.changed or described),
    )


def _result(backend: GistBackend, outcome: PullOutcome) -> GistPullResult:
    return GistPullResult(
        gist_id=backend.gist_id or "",
        url=backend.url,
        revision=outcome.version,
        restored=outcome.restored,
        **synced_counts(outcome),
    )


def pull(
    memory_dir: Path,
    project: str,
    gist_id: str,
    *,
    force: bool = False,
    version: str | None = None,
    token: str | None = None,
    api_url: str | None = None,
    cipher: crypto.Cipher | None = None,
    store: GistStore | None = None,
    adopt: bool = False,
    budget: int | None = None,
) -> GistPullResult:
    """Merge gist `gist_id` into `project`; `gist_id` may also be a version of the project's
    remembered gist, and `version` a version of `gist_id`: both restore that version."""
    layout = MemoryLayout(memory_dir)
    project = check_project_name(project)
    with _connect(token, api_url, store) as gists:

        def run(target: str, ref: str | None) -> GistPullResult:
            backend = GistBackend(layout, gists, gist_id=target)
            pipeline = _pipeline(layout, backend, cipher, None, adopt, budget)
            if ref is None:
                return _result(backend, pipeline.pull(project, force=force))
            return _result(backend, pipeline.restore(project, ref))

        if version:
            return run(gist_id, version)
        memo = recall(layout, project)
        other = memo.gist_id if memo and memo.gist_id != gist_id else None
        if other is None or not _HEX.match(gist_id):
            return run(gist_id, None)
        if len(gist_id) == 40:  # a whole version sha: the remembered gist's version first
            try:
                return run(other, gist_id)
            except VersionNotFound:
                pass
        try:
            return run(gist_id, None)
        except GistNotFound:
            pass
        try:
            return run(other, gist_id)
        except VersionNotFound:
            raise FatalError(
                f"Gist not found: {gist_id} is neither a gist id nor a version of {project}'s "
                f"gist {other}; check with `engram sync list {project}` or "
                f"`engram sync history {other}`",
                title="gist not found",
            ) from None


def restore(
    memory_dir: Path,
    project: str,
    version: str,
    *,
    gist_id: str | None = None,
    token: str | None = None,
    api_url: str | None = None,
    cipher: crypto.Cipher | None = None,
    store: GistStore | None = None,
    adopt: bool = False,
    budget: int | None = None,
) -> GistPullResult:
    """Make `version` of the project's gist the local knowledge, so the next push makes the
    gist equal to it (the blocks added since become tombstones)."""
    layout = MemoryLayout(memory_dir)
    project = check_project_name(project)
    with _connect(token, api_url, store) as gists:
        backend = GistBackend(layout, gists, gist_id=gist_id)
        pipeline = _pipeline(layout, backend, cipher, None, adopt, budget)
        outcome = pipeline.restore(project, version)
        return _result(backend, outcome)


def clone(
    memory_dir: Path,
    gist_id: str,
    new_project: str,
    *,
    version: str | None = None,
    token: str | None = None,
    api_url: str | None = None,
    cipher: crypto.Cipher | None = None,
    store: GistStore | None = None,
    budget: int | None = None,
) -> GistPullResult:
    """Copy a gist into a project that does not exist yet (or exists empty). The new project
    is independent: the gist is kept as lineage only, and its first push creates its own."""
    layout = MemoryLayout(memory_dir)
    new_project = check_project_name(new_project)
    if any(layout.knowledge_dir(new_project).glob("*.md")):
        raise FatalError(
            f"project {new_project} already has knowledge in {layout.knowledge_dir(new_project)}:"
            f" choose a new name, or merge with `engram sync pull {new_project} {gist_id}`"
        )
    with _connect(token, api_url, store) as gists:
        backend = GistBackend(layout, gists, gist_id=gist_id, remember=False)
        pipeline = _pipeline(layout, backend, cipher, None, True, budget, keep_base=False)
        outcome = pipeline.pull(new_project, version=version)
    synced_base.write_lineage(layout, new_project, f"gist {gist_id}", outcome.version)
    return _result(backend, outcome)


def list_gists(
    project: str,
    *,
    token: str | None = None,
    api_url: str | None = None,
    store: GistStore | None = None,
) -> list[GistSummary]:
    """The user's gists holding `project` (newest first)."""
    project = check_project_name(project)
    with _connect(token, api_url, store) as gists:
        return project_gists(gists, project)


def history(
    gist_id: str,
    *,
    version: str | None = None,
    token: str | None = None,
    api_url: str | None = None,
    store: GistStore | None = None,
) -> GistHistory:
    """The gist's versions (newest first); with `version` (a prefix of >= 7 hex characters
    will do), that version's files and sizes."""
    with _connect(token, api_url, store) as gists:
        versions = tuple(gists.commits(gist_id))
        files: dict[str, int] = {}
        if version:
            version = match_version(version, [v.version for v in versions], where=f"gist {gist_id}")
            files = gists.get_version(gist_id, version, whole=False).sizes
    return GistHistory(gist_id, versions, version, dict(sorted(files.items())))


def remembered_gist(memory_dir: Path, project: str) -> str | None:
    """The gist id the last push/pull of `project` used, if any."""
    remembered = recall(MemoryLayout(memory_dir), check_project_name(project))
    return remembered.gist_id if remembered else None


def find_gist(
    memory_dir: Path,
    project: str,
    *,
    token: str | None = None,
    api_url: str | None = None,
    store: GistStore | None = None,
) -> str:
    """The gist to pull `project` from when none is named — the one the last sync used,
    else the owner's newest holding it. The CLI and the Action both ask this."""
    remembered = remembered_gist(memory_dir, project)
    if remembered:
        return remembered
    found = list_gists(project, token=token, api_url=api_url, store=store)
    if not found:
        raise StoreNotFound(
            f"no gist of the token's owner holds project {project!r}",
            title="gist not found",
            fix=Fix(
                "name the gist with {option}, or push first",
                flag="`engram sync pull PROJECT ID`",
                input="gist-id",
            ),
        )
    log.info("using gist %s, the newest holding %s", found[0].id, project)
    return found[0].id
