"""The gist backend: one project in one secret gist, flat files (engram's layout).

Finding the project's gist without an id: first the one remembered from the last sync
(<memory>/.engram-ci/gists/<project>.json, with its ETag, revision and files, so a no-op push
is ONE conditional GET — a 304 that does not count against the rate limit); else the user's
gists holding a metadata.json are read until one names the project (metadata.json is the
marker: a custom description replaces ours and the listing has no content). None: the first
write creates one.

Gists have no compare-and-swap: after each PATCH the revision list (the answer's history,
else /commits) shows whether anyone wrote between our read and our write; those versions are
returned as `clobbered` and the pipeline merges them back. Every PATCH makes a revision, so
only the files that differ are sent, and nothing when nothing differs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from engram_ci.errors import Fix
from engram_ci.memory.fsutil import atomic_write_text, read_text_if_exists
from engram_ci.memory.paths import METADATA_FILE, MemoryLayout
from engram_ci.memory.projectfiles import project_of
from engram_ci.sync.backend import (
    MANAGED_FILES,
    Backend,
    Snapshot,
    StoreNotFound,
    VersionInfo,
    Written,
    match_version,
    register,
)
from engram_ci.sync.github_api import (
    GistNotFound,
    GistStore,
    GistSummary,
    RemoteGist,
    check_size,
)

log = logging.getLogger("engram_ci")

__all__ = [
    "GistBackend",
    "default_description",
    "find_project_gist",
    "project_gists",
    "recall",
]


def default_description(project: str) -> str:
    return f"engram knowledge: {project}"


@register("gist")
class GistBackend(Backend):
    def __init__(
        self,
        layout: MemoryLayout,
        store: GistStore,
        *,
        gist_id: str | None = None,
        description: str | None = None,
        remember: bool = True,
    ) -> None:
        self.layout = layout
        self.store = store
        self.gist_id = (gist_id or "").strip() or None
        self.explicit = self.gist_id is not None
        self.description = description
        self.remember = remember  # False for a clone: the gist is not the project's own
        self._url = ""
        self._pending: Remembered | None = None
        #: the gist's description as read (None: unknown, e.g. a 304's remembered copy)
        self._seen_description: str | None = None

    @property
    def key(self) -> str:
        return f"gist-{self.gist_id}"

    @property
    def location(self) -> str:
        return f"gist {self.gist_id}" if self.gist_id else "a new gist"

    @property
    def url(self) -> str:
        return self._url

    # -- reading ---------------------------------------------------------------------------

    def read(self, project: str) -> Snapshot:
        memo = recall(self.layout, project)
        remote = self._locate(project, memo)
        if remote is None:
            return Snapshot({}, None)
        return self._snapshot(project, remote)

    def _locate(self, project: str, memo: Remembered | None) -> RemoteGist | None:
        if self.gist_id:
            return self._read_current(self.gist_id, memo, project)
        if memo is not None:
            try:
                return self._read_current(memo.gist_id, memo, project)
            except GistNotFound:
                log.warning(
                    "the remembered gist %s of %s is gone; looking for another",
                    memo.gist_id,
                    project,
                )
        found = find_project_gist(self.store, project)
        if found is not None:
            self.gist_id = found.id
        return found

    def _read_current(self, gist_id: str, memo: Remembered | None, project: str) -> RemoteGist:
        """GET the gist, conditionally when we remember its ETag (304 -> the memo's copy)."""
        known = memo if memo is not None and memo.gist_id == gist_id else None
        try:
            remote = self.store.get(gist_id, etag=known.etag if known else None)
        except GistNotFound:
            raise GistNotFound(gist_id, project) from None
        self.gist_id = gist_id
        if remote is not None:
            return remote
        assert known is not None
        return RemoteGist(
            id=known.gist_id,
            url=known.url,
            description="",
            files=dict(known.files),
            sizes={n: len(t.encode()) for n, t in known.files.items()},
            updated_at="",
            history=(known.revision,) if known.revision else (),
            etag=known.etag,
        )

    def _snapshot(self, project: str, remote: RemoteGist) -> Snapshot:
        self._url = remote.url
        self._seen_description = remote.description if remote.updated_at else None
        revision = remote.revision or self._newest(remote.id)
        for name in sorted(set(remote.files) - MANAGED_FILES):
            log.warning("ignoring %r from gist %s: not a knowledge file name", name, remote.id)
        files = remote.files if remote.etag else {}  # kept only to answer a 304 with
        self._memo(project, Remembered(remote.id, remote.url, remote.etag, revision, files))
        managed = {n: t for n, t in remote.files.items() if n in MANAGED_FILES}
        return Snapshot(managed, revision or "unknown", token=remote)

    def _newest(self, gist_id: str) -> str | None:
        versions = self.store.commits(gist_id)
        return versions[0].version if versions else None

    def history(self, project: str) -> list[VersionInfo]:
        gist_id = self._known_id(project)
        return [
            VersionInfo(v.version, v.committed_at, v.author, v.additions, v.deletions)
            for v in self.store.commits(gist_id)
        ]

    def read_version(self, project: str, ref: str) -> Snapshot:
        gist_id = self._known_id(project)
        if len(ref) == 40:
            versions = [ref.lower()]
        else:
            versions = [v.version for v in self.store.commits(gist_id)]
        version = match_version(ref, versions, where=f"gist {gist_id}")
        try:
            remote = self.store.get_version(gist_id, version)
        except GistNotFound:
            match_version(
                ref, [v.version for v in self.store.commits(gist_id)], where=self.location
            )
            raise
        self._url = remote.url
        return Snapshot({n: t for n, t in remote.files.items() if n in MANAGED_FILES}, version)

    def _known_id(self, project: str) -> str:
        if self.gist_id is None:
            memo = recall(self.layout, project)
            found = memo.gist_id if memo else None
            found = found or getattr(find_project_gist(self.store, project), "id", None)
            if found is None:
                raise StoreNotFound(
                    f"no gist holds project {project}",
                    title="gist not found",
                    fix=Fix(
                        "push it first, or name one with {option}",
                        flag="--gist-id (`engram sync list` shows them)",
                        input="gist-id",
                    ),
                )
            self.gist_id = found
        return self.gist_id

    def list_projects(self) -> list[str]:
        names = set()
        for summary in self.store.list_gists():
            if METADATA_FILE in summary.files:
                remote = self.store.get(summary.id)
                owner = project_of(remote.files) if remote else None
                if owner:
                    names.add(owner)
        return sorted(names)

    def missing(self, project: str) -> StoreNotFound:
        return StoreNotFound(
            f"no gist holds project {project}: push it first, or pull a gist by id "
            f"(`engram sync list {project}`)",
            title="gist not found",
        )

    # -- writing ---------------------------------------------------------------------------

    def write(self, project: str, files: Mapping[str, str], *, expected: Snapshot) -> Written:
        if not expected.exists:
            return self._create(project, files)
        assert self.gist_id is not None
        changes: dict[str, str | None] = {
            n: t for n, t in files.items() if expected.files.get(n) != t
        }
        changes.update({n: None for n in expected.files if n not in files})
        current = expected.token.files if isinstance(expected.token, RemoteGist) else {}
        check_size({**current, **changes})
        after = self.store.update(self.gist_id, changes)
        between = self._versions_between(after.history, expected.version)
        clobbered = tuple(
            self._managed(self.store.get_version(self.gist_id, v).files) for v in reversed(between)
        )
        revision = after.revision or self._newest(self.gist_id) or ""
        self._url = after.url or self._url
        self._memo(project, Remembered(self.gist_id, self._url, None, revision, {}))
        return Written(revision, clobbered, self._url)

    def apply_description(self) -> bool:
        """--description on an existing gist: set it when it differs (one PATCH of the
        description alone); True when it changed."""
        if not self.description or self.gist_id is None:
            return False
        current = self._seen_description
        if current is None:  # read from a 304: ask
            current = getattr(self.store.get(self.gist_id), "description", "")
        if current == self.description:
            return False
        self.store.set_description(self.gist_id, self.description)
        self._seen_description = self.description
        return True

    def _create(self, project: str, files: Mapping[str, str]) -> Written:
        remote = self.store.create(
            dict(files),
            self.description or default_description(project),
            find_existing=lambda: find_project_gist(self.store, project),
        )
        self.gist_id, self._url = remote.id, remote.url
        revision = remote.revision or self._newest(remote.id) or ""
        self._memo(project, Remembered(remote.id, remote.url, None, revision, {}))
        held = self._managed(remote.files)
        # a retried create that found another machine's new gist: merge what it holds
        clobbered = () if held == dict(files) else (held,)
        return Written(revision, clobbered, remote.url)

    @staticmethod
    def _managed(files: Mapping[str, str]) -> dict[str, str]:
        return {n: t for n, t in files.items() if n in MANAGED_FILES}

    def _versions_between(self, history: tuple[str, ...], since: str | None) -> list[str]:
        """Versions written by others after `since` and before our newest one (newest first)."""
        assert self.gist_id is not None
        if since is None or not history:
            return []
        if since not in history:  # GitHub may cut the embedded history: ask /commits
            history = tuple(v.version for v in self.store.commits(self.gist_id, until=since))
        if since not in history:
            return list(history[1:])
        return list(history[1 : history.index(since)])

    def _memo(self, project: str, remembered: Remembered) -> None:
        self._pending = remembered  # written by synced(), once the sync has succeeded

    def synced(self, project: str) -> None:
        if self.remember and self._pending is not None:
            text = json.dumps(asdict(self._pending), indent=1, sort_keys=True) + "\n"
            atomic_write_text(_memo_file(self.layout, project), text, mode=0o600)


# -- the remembered gist and finding a project's gist ------------------------------------------


@dataclass(frozen=True)
class Remembered:
    """What we last saw of the project's gist: enough to decide a no-op push with one GET."""

    gist_id: str
    url: str
    etag: str | None
    revision: str | None
    files: dict[str, str]


def _memo_file(layout: MemoryLayout, project: str) -> Path:
    return layout.state_dir / "gists" / f"{project}.json"


def recall(layout: MemoryLayout, project: str) -> Remembered | None:
    text = read_text_if_exists(_memo_file(layout, project))
    if text is None:
        return None
    try:
        data = json.loads(text)
        return Remembered(
            gist_id=str(data["gist_id"]),
            url=str(data.get("url") or ""),
            etag=data.get("etag"),
            revision=data.get("revision"),
            files={str(k): str(v) for k, v in (data.get("files") or {}).items()},
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("ignoring unreadable %s", _memo_file(layout, project))
        return None


def find_project_gist(gists: GistStore, project: str) -> RemoteGist | None:
    """The newest of the user's gists whose metadata.json names `project`."""
    for summary in _candidates(gists.list_gists(), project):
        try:
            remote = gists.get(summary.id)
        except GistNotFound:
            continue
        if remote is not None and project_of(remote.files) == project:
            return remote
    return None


def project_gists(gists: GistStore, project: str) -> list[GistSummary]:
    """The user's gists holding `project`, newest first."""
    found = []
    for summary in _candidates(gists.list_gists(), project):
        if summary.description == default_description(project):
            found.append(summary)
            continue
        try:
            remote = gists.get(summary.id)
        except GistNotFound:
            continue
        if remote is not None and project_of(remote.files) == project:
            found.append(summary)
    return sorted(found, key=lambda s: s.updated_at, reverse=True)


def _candidates(summaries: list[GistSummary], project: str) -> list[GistSummary]:
    with_marker = [s for s in summaries if METADATA_FILE in s.files]
    # our own description first; the list is newest first and sorting is stable
    return sorted(with_marker, key=lambda s: s.description != default_description(project))
