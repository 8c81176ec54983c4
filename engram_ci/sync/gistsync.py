"""Gist sync: a project's knowledge <-> one secret gist, differential and merge-safe.

Push reads the gist, merges its blocks into the local ones (projectfiles.merge_filesets),
redacts secrets, and PATCHes only the files that differ; nothing new means no PATCH at all,
because GitHub records a revision for every PATCH. metadata.json ({project, synced_at, ...})
rides along only when something else changed.

Finding the project's gist without --gist-id: first the id remembered from the last push/pull
(<memory>/.engram-ci/gists/<project>.json, with the gist's ETag, revision and files, so a no-op
push is ONE conditional GET — a 304 that does not count against the rate limit); else the
user's gists are listed and those holding a metadata.json are read until one whose metadata
names the project — metadata.json is the marker, because a custom description replaces ours
and the listing carries file names but no content. Only when none exists is one created.

Concurrent pushers: gists have no compare-and-swap, so after each PATCH the revision list
(the PATCH answer's history, else /commits) shows whether anyone wrote between our read and
our write. Those versions are read, merged, and the merge PATCHed again (bounded rounds), so a
push that overwrote another machine's file puts that machine's blocks back. No block is lost.

`pull P X`: X is a gist id, or — the seed's `engram sync pull P <version-sha>` — a version of
P's remembered gist. A 40-hex X with a remembered gist is tried as a version first; otherwise
X is read as a gist id and, on 404, tried as a version of the remembered gist.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from engram_ci.errors import FatalError, Fix
from engram_ci.memory import merge
from engram_ci.memory.fsutil import atomic_write_text, file_lock, read_text_if_exists
from engram_ci.memory.paths import KNOWN_KNOWLEDGE_FILES, METADATA_FILE, MemoryLayout
from engram_ci.memory.projectfiles import (
    FileSet,
    diff_filesets,
    merge_filesets,
    metadata_json,
    read_local,
    split_known,
    write_local,
)
from engram_ci.sync import crypto, redact
from engram_ci.sync.github_api import (
    GistNotFound,
    GistStore,
    GistSummary,
    RemoteGist,
    Version,
    check_size,
)
from engram_ci.sync.tokens import require_token, resolve_api_url
from engram_ci.transcripts.model import check_project_name

log = logging.getLogger("engram_ci")

#: PATCH rounds before giving up on a gist that other writers keep changing
MAX_ROUNDS = 8
_VERSION_SHA = re.compile(r"^[0-9a-f]{40}$")


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


@dataclass(frozen=True)
class GistHistory:
    gist_id: str
    versions: tuple[Version, ...]
    version: str | None = None
    files: dict[str, int] = field(default_factory=dict)  # that version's files and sizes


def default_description(project: str) -> str:
    return f"engram knowledge: {project}"


# -- push ---------------------------------------------------------------------------------


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
) -> GistPushResult:
    layout = MemoryLayout(memory_dir)
    project = check_project_name(project)
    # Held from reading the local files to writing the merge back, so an ingest running
    # meanwhile cannot add a block that our write would then drop.
    with file_lock(layout.lock_file), _connect(token, api_url, store) as gists:
        local = read_local(layout, project)
        if not local:
            raise FatalError(
                f"nothing to push: {layout.knowledge_dir(project)} holds no knowledge files; "
                f"run `engram ingest` first (or check the project name with `engram projects`)"
            )
        remembered = _recall(layout, project)
        remote = _locate(gists, project, gist_id, remembered)
        created = remote is None
        outcome: _Converged | None = None
        if remote is None:
            remote, uploaded, redacted = _create(gists, project, local, description, cipher)
            outcome = _as_uploaded(gists, project, local, remote, uploaded, redacted)
        if outcome is None:
            outcome = _converge(gists, project, local, remote, cipher, created=created)
        write_local(layout, project, outcome.merged)
        _remember(layout, project, outcome.remembered)
    files = outcome.patched if not created else tuple(sorted(remote.files))
    return GistPushResult(
        gist_id=remote.id,
        url=remote.url,
        revision=outcome.remembered.revision or "",
        created=created,
        changed=created or bool(outcome.patched),
        files_synced=tuple(sorted(set(files) | set(outcome.patched))),
        secrets_redacted=outcome.secrets_redacted,
        blocks_added=outcome.diff.added,
        blocks_removed=outcome.diff.removed,
    )


def _locate(
    gists: GistStore, project: str, gist_id: str | None, remembered: _Remembered | None
) -> RemoteGist | None:
    """The project's gist (None: create one): --gist-id, else remembered, else found."""
    if gist_id:
        return _read_current(gists, gist_id, remembered, project)
    if remembered is not None:
        try:
            return _read_current(gists, remembered.gist_id, remembered, project)
        except GistNotFound:
            log.warning(
                "the remembered gist %s of %s is gone; looking for another",
                remembered.gist_id,
                project,
            )
    return find_project_gist(gists, project)


def _create(
    gists: GistStore,
    project: str,
    local: FileSet,
    description: str | None,
    cipher: crypto.Cipher | None,
) -> tuple[RemoteGist, dict[str, str], int]:
    """The new gist, the files we uploaded to it and how many secrets were redacted."""
    upload, redacted = _upload_form(merge_filesets(project, local), cipher)
    upload[METADATA_FILE] = metadata_json(project)
    remote = gists.create(
        upload,
        description or default_description(project),
        find_existing=lambda: find_project_gist(gists, project),
    )
    return remote, upload, redacted


def _as_uploaded(
    gists: GistStore,
    project: str,
    local: FileSet,
    remote: RemoteGist,
    uploaded: Mapping[str, str],
    redacted: int,
) -> _Converged | None:
    """The push's outcome when the gist holds exactly what we just uploaded, else None.

    Nothing to merge then, and nothing to read back: which matters for a push encrypted to
    recipients only (a CI job holding the team's public keys), that could not decrypt it.
    None when a retried create found another machine's gist for the project: merge that.
    """
    if dict(remote.files) != dict(uploaded):
        return None
    merged = merge_filesets(project, local)
    revision = remote.revision or _newest_version(gists, remote.id)
    return _Converged(
        merged,
        _Remembered(remote.id, remote.url, remote.etag, revision, dict(remote.files)),
        (),
        redacted,
        diff_filesets({}, merged),
    )


def _converge(
    gists: GistStore,
    project: str,
    local: FileSet,
    basis: RemoteGist,
    cipher: crypto.Cipher | None,
    *,
    created: bool = False,
) -> _Converged:
    """Merge, PATCH what differs, and repeat while other writers slipped in between."""
    remote_raw = dict(basis.files)
    revision = basis.revision or _newest_version(gists, basis.id)
    before = _plain(remote_raw, cipher, source=f"gist {basis.id}")
    seen = [before]
    if created:  # the blocks we just uploaded are the ones the gist gained
        before = {}
    patched: set[str] = set()
    etag = basis.etag
    for _ in range(MAX_ROUNDS):
        merged = merge_filesets(project, local, *seen)
        redacted, report = redact.redact_files(merged)
        changes = _changes(redacted, remote_raw, cipher)
        if not changes:
            return _Converged(
                merged,
                _Remembered(basis.id, basis.url, etag, revision, remote_raw),
                tuple(sorted(patched)),
                report.total,
                diff_filesets(before, merged),
            )
        changes[METADATA_FILE] = metadata_json(project)
        check_size({**remote_raw, **changes})
        after = gists.update(basis.id, changes)
        patched.update(changes)
        etag = None  # the next GET's ETag is not the PATCH answer's
        between = _versions_between(gists, basis.id, after.history, revision)
        state = remote_raw
        for version in reversed(between):  # oldest first
            other = gists.get_version(basis.id, version)
            seen.append(_plain(other.files, cipher, source=f"gist {basis.id}@{version[:7]}"))
            state = other.files
        remote_raw = {n: t for n, t in {**state, **changes}.items() if t is not None}
        revision = after.revision
        if between:
            log.info("gist %s changed while pushing; merging %d version(s)", basis.id, len(between))
            gists.policy.sleep(random.uniform(0.0, 0.2))  # noqa: S311 - jitter, not crypto
    raise FatalError(
        f"gist {basis.id} kept changing while pushing ({MAX_ROUNDS} rounds of merging other "
        "writers' versions); local memory is unchanged — run the push again to finish"
    )


@dataclass(frozen=True)
class _Converged:
    merged: FileSet
    remembered: _Remembered
    patched: tuple[str, ...]
    secrets_redacted: int
    diff: merge.BlockDiff


def _changes(
    redacted: FileSet, remote_raw: Mapping[str, str], cipher: crypto.Cipher | None
) -> dict[str, str | None]:
    """The files to PATCH (None deletes): only what differs from the remote."""
    wanted = {n: t for n, t in redacted.items() if t.strip()}  # GitHub refuses empty files
    if cipher is None:
        return {n: t for n, t in wanted.items() if remote_raw.get(n) != t}
    # Ciphertext differs on every seal, so compare plaintext and reseal only on a change
    # (or when the keys changed: a new team member could not read the old seal).
    unchanged = _plain(remote_raw, cipher, source="the gist") == wanted
    if unchanged and crypto.sealed_for(remote_raw, cipher):
        return {}
    sealed: dict[str, str | None] = dict(crypto.seal_files(wanted, cipher))
    for name in remote_raw:  # plaintext left over from before encryption must go
        if name in KNOWN_KNOWLEDGE_FILES and name not in sealed:
            sealed[name] = None
    return sealed


def _upload_form(merged: FileSet, cipher: crypto.Cipher | None) -> tuple[dict[str, str], int]:
    redacted, report = redact.redact_files(merged)
    wanted = {n: t for n, t in redacted.items() if t.strip()}
    if cipher is not None:
        wanted = dict(crypto.seal_files(wanted, cipher))
    return wanted, report.total


def _versions_between(
    gists: GistStore, gist_id: str, history: tuple[str, ...], since: str | None
) -> list[str]:
    """Versions written by others after `since` and before our newest one (newest first)."""
    if since is None or not history:
        return []
    if since not in history:  # GitHub may cut the embedded history: ask /commits
        history = tuple(v.version for v in gists.commits(gist_id, until=since))
    if since not in history:
        return list(history[1:])
    return list(history[1 : history.index(since)])


def _newest_version(gists: GistStore, gist_id: str) -> str | None:
    versions = gists.commits(gist_id)
    return versions[0].version if versions else None


# -- finding and reading ------------------------------------------------------------------


def find_project_gist(gists: GistStore, project: str) -> RemoteGist | None:
    """The newest of the user's gists whose metadata.json names `project`."""
    for summary in _candidates(gists.list_gists(), project):
        try:
            remote = gists.get(summary.id)
        except GistNotFound:
            continue
        if remote is not None and _project_of(remote.files) == project:
            return remote
    return None


def _candidates(summaries: list[GistSummary], project: str) -> list[GistSummary]:
    with_marker = [s for s in summaries if METADATA_FILE in s.files]
    # our own description first; the list is newest first and sorting is stable
    return sorted(with_marker, key=lambda s: s.description != default_description(project))


def _project_of(files: Mapping[str, str]) -> str | None:
    try:
        data = json.loads(files.get(METADATA_FILE) or "null")
    except ValueError:
        return None
    project = data.get("project") if isinstance(data, dict) else None
    return project if isinstance(project, str) else None


def _read_current(
    gists: GistStore, gist_id: str, remembered: _Remembered | None, project: str
) -> RemoteGist:
    """GET the gist, conditionally when we remember its ETag (304 -> the remembered copy)."""
    known = remembered if remembered is not None and remembered.gist_id == gist_id else None
    try:
        remote = gists.get(gist_id, etag=known.etag if known else None)
    except GistNotFound:
        raise GistNotFound(gist_id, project) from None
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


def _plain(files: Mapping[str, str], cipher: crypto.Cipher | None, *, source: str) -> FileSet:
    """The remote's knowledge files in plaintext (decrypted when sealed), known names only."""
    body = {n: t for n, t in files.items() if n != METADATA_FILE}
    if _is_sealed(body):
        if cipher is None:
            raise FatalError(
                f"{source} is encrypted",
                title="gist is encrypted",
                fix=Fix(
                    "decrypt it with a key given by {option}, or set ENGRAM_PASSPHRASE",
                    flag="--identity FILE",
                    input="identity",
                    env="ENGRAM_AGE_IDENTITY",
                ),
            )
        body = crypto.open_files(body, cipher)
    return {n: t for n, t in body.items() if n in KNOWN_KNOWLEDGE_FILES}


def _is_sealed(files: Mapping[str, str]) -> bool:
    try:
        return crypto.is_sealed(files)
    except NotImplementedError:  # crypto not built yet: nothing can be sealed
        return False


# -- pull and clone -----------------------------------------------------------------------


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
) -> GistPullResult:
    layout = MemoryLayout(memory_dir)
    project = check_project_name(project)
    remembered = _recall(layout, project)
    with _connect(token, api_url, store) as gists:
        remote, version = _read_for_pull(gists, project, gist_id, version, remembered)
    if not _is_sealed(remote.files):
        split_known(remote.files, source=f"gist {remote.id}")  # warns about what is skipped
    incoming = _plain(remote.files, cipher, source=f"gist {remote.id}")
    if not incoming:
        raise FatalError(
            f"gist {remote.id} holds no engram knowledge files (decisions.md, context.md, "
            f"...): check the id with `engram sync list {project}`"
        )
    with file_lock(layout.lock_file):  # the lock ingest holds while it rewrites knowledge
        local = read_local(layout, project)
        # a version is a restore: that version's files replace the local ones, like --force
        replace = force or version is not None
        target = incoming if replace or not local else merge_filesets(project, local, incoming)
        written = write_local(layout, project, target)
        removed = _remove_missing(layout, project, local, target) if replace else ()
        if version is None:
            _remember(
                layout,
                project,
                _Remembered(
                    remote.id, remote.url, remote.etag, remote.revision, dict(remote.files)
                ),
            )
        elif remembered is None or remembered.gist_id != remote.id:
            _remember(layout, project, _Remembered(remote.id, remote.url, None, None, {}))
    return GistPullResult(
        gist_id=remote.id,
        url=remote.url,
        revision=version or remote.revision or "",
        changed=bool(written.written or removed),
        files_synced=tuple(sorted({*written.written, *removed})),
        blocks_added=written.diff.added,
        blocks_removed=written.diff.removed,
    )


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
) -> GistPullResult:
    """Pull a gist into a project that does not exist yet (or exists empty)."""
    layout = MemoryLayout(memory_dir)
    new_project = check_project_name(new_project)
    if read_local(layout, new_project):
        raise FatalError(
            f"project {new_project} already has knowledge in {layout.knowledge_dir(new_project)}:"
            f" choose a new name, or merge with `engram sync pull {new_project} {gist_id}`"
        )
    return pull(
        memory_dir,
        new_project,
        gist_id,
        version=version,
        token=token,
        api_url=api_url,
        cipher=cipher,
        store=store,
    )


def _read_for_pull(
    gists: GistStore,
    project: str,
    gist_id: str,
    version: str | None,
    remembered: _Remembered | None,
) -> tuple[RemoteGist, str | None]:
    if version:
        try:
            return gists.get_version(gist_id, version), version
        except GistNotFound:
            raise FatalError(
                f"Gist not found: {gist_id} with version {version}; check both with "
                f"`engram sync history {gist_id}`",
                title="gist not found",
            ) from None
    other = remembered.gist_id if remembered and remembered.gist_id != gist_id else None
    if other and _VERSION_SHA.match(gist_id):
        try:
            return gists.get_version(other, gist_id), gist_id
        except GistNotFound:
            pass
    try:
        return _read_current(gists, gist_id, remembered, project), None
    except GistNotFound:
        if other is None:
            raise
    try:
        return gists.get_version(other, gist_id), gist_id
    except GistNotFound:
        raise GistNotFound(gist_id, project) from None


def _remove_missing(
    layout: MemoryLayout, project: str, local: FileSet, target: FileSet
) -> tuple[str, ...]:
    """--force: local knowledge files the gist does not have are removed."""
    gone = tuple(sorted(n for n in local if n not in target))
    for name in gone:
        (layout.knowledge_dir(project) / name).unlink(missing_ok=True)
    return gone


# -- list and history ---------------------------------------------------------------------


def list_gists(
    project: str,
    *,
    token: str | None = None,
    api_url: str | None = None,
    store: GistStore | None = None,
) -> list[GistSummary]:
    """The user's gists holding `project` (newest first)."""
    project = check_project_name(project)
    found = []
    with _connect(token, api_url, store) as gists:
        for summary in _candidates(gists.list_gists(), project):
            if summary.description == default_description(project):
                found.append(summary)
                continue
            try:
                remote = gists.get(summary.id)
            except GistNotFound:
                continue
            if remote is not None and _project_of(remote.files) == project:
                found.append(summary)
    return sorted(found, key=lambda s: s.updated_at, reverse=True)


def history(
    gist_id: str,
    *,
    version: str | None = None,
    token: str | None = None,
    api_url: str | None = None,
    store: GistStore | None = None,
) -> GistHistory:
    """The gist's versions (newest first); with `version`, that version's files and sizes."""
    with _connect(token, api_url, store) as gists:
        try:
            versions = tuple(gists.commits(gist_id))
            files = gists.get_version(gist_id, version, whole=False).sizes if version else {}
        except GistNotFound:
            raise FatalError(
                f"Gist not found: {gist_id}{f' with version {version}' if version else ''}; "
                "check the id with `engram sync list PROJECT`",
                title="gist not found",
            ) from None
    return GistHistory(gist_id, versions, version, dict(sorted(files.items())))


# -- plumbing -----------------------------------------------------------------------------


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


@dataclass(frozen=True)
class _Remembered:
    """What we last saw of the project's gist: enough to decide a no-op push with one GET."""

    gist_id: str
    url: str
    etag: str | None
    revision: str | None
    files: dict[str, str]


def _state_file(layout: MemoryLayout, project: str) -> Path:
    return layout.state_dir / "gists" / f"{project}.json"


def _recall(layout: MemoryLayout, project: str) -> _Remembered | None:
    text = read_text_if_exists(_state_file(layout, project))
    if text is None:
        return None
    try:
        data = json.loads(text)
        return _Remembered(
            gist_id=str(data["gist_id"]),
            url=str(data.get("url") or ""),
            etag=data.get("etag"),
            revision=data.get("revision"),
            files={str(k): str(v) for k, v in (data.get("files") or {}).items()},
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("ignoring unreadable %s", _state_file(layout, project))
        return None


def _remember(layout: MemoryLayout, project: str, remembered: _Remembered) -> None:
    text = json.dumps(asdict(remembered), indent=1, sort_keys=True) + "\n"
    atomic_write_text(_state_file(layout, project), text, mode=0o600)


def remembered_gist(memory_dir: Path, project: str) -> str | None:
    """The gist id the last push/pull of `project` used, if any."""
    remembered = _recall(MemoryLayout(memory_dir), check_project_name(project))
    return remembered.gist_id if remembered else None
