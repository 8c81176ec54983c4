"""What a sync backend is: a place that stores one project's files under versions.

The sync pipeline (sync/pipeline.py) owns everything that is the same for every store —
the memory lock, the three-way merge with the last-synced base, redaction, encryption,
change detection, retries within a deadline and the local write-back. A backend only moves
bytes. To add one (S3, a WebDAV share, ...), write one module with a `Backend` subclass and
register it with `@register("name")`; tests/test_backend_contract.py then runs the contract
suite against it once its test fixture is added there.

A backend must:

- `read(project)`: return a `Snapshot` of the project's files exactly as stored (text; the
  pipeline seals and opens, redacts and merges), with a `version` naming that state (a gist
  revision, a commit sha, an object version / ETag) — `version=None`, `files={}` when the
  project is not there yet. Only the files the pipeline manages need be returned (knowledge
  files, metadata.json, crypto's manifest and payload); anything else is the backend's own.
  `needs_write=True` says the store wants a write even if the files are unchanged (a local
  branch behind its upstream).
- `write(project, files, expected=snapshot)`: make `files` the project's whole managed file
  set (add, replace, delete), only if the store is still at `expected`. A store that can
  compare-and-swap (git refs, S3 If-Match / If-None-Match) raises `Conflict` when it moved;
  the pipeline re-reads, re-merges and retries. A store that cannot (gists) writes anyway
  and returns in `Written.clobbered` every state another writer made between `expected`
  and our write, so the pipeline merges them back in. Never write when `files` equals what
  is stored: the pipeline will not call it then, and a backend must not add writes.
- `history(project)`: the versions, newest first. `read_version(project, ref)`: one of them,
  `ref` being a whole id or any unique prefix of at least 7 characters; a missing project
  or store is `StoreNotFound`, an unknown version `VersionNotFound` (different fixes).
- `list_projects()`: projects the store holds.
- `key`: a stable, filesystem-safe name for this store (e.g. `gist-<id>`, `repo-<hash>`):
  the pipeline keeps the last-synced base under it, so it must not change between runs.
- Every network wait has a deadline; failures a user can fix are one-line `FatalError`s,
  transient ones (5xx, timeouts) may be retried inside the backend within its budget.
- `synced(project)` (optional) persists the backend's own cache after a successful sync.
- `close()` releases connections; backends are context managers.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, Self

from engram_ci.errors import FatalError
from engram_ci.memory.paths import KNOWN_KNOWLEDGE_FILES, METADATA_FILE
from engram_ci.sync import crypto

__all__ = [
    "MANAGED_FILES",
    "MIN_PREFIX",
    "Backend",
    "Conflict",
    "Files",
    "Snapshot",
    "StoreNotFound",
    "VersionInfo",
    "VersionNotFound",
    "Written",
    "backend_class",
    "match_version",
    "register",
    "registered",
]

#: file name -> text, as the store holds it (possibly sealed)
Files = dict[str, str]
#: every name the pipeline writes to a store; a backend leaves any other file alone
MANAGED_FILES: frozenset[str] = KNOWN_KNOWLEDGE_FILES | {
    METADATA_FILE,
    crypto.MANIFEST_FILE,
    crypto.PAYLOAD_FILE,
}
#: the shortest version prefix accepted (git's default abbreviation)
MIN_PREFIX = 7
_HEX = re.compile(r"^[0-9a-fA-F]+$")


@dataclass(frozen=True)
class Snapshot:
    files: Files
    version: str | None  # None: the project is not in the store yet
    needs_write: bool = False
    #: the backend's own precondition data (ETag, parents, ...): opaque to the pipeline
    token: Any = field(default=None, compare=False, repr=False)

    @property
    def exists(self) -> bool:
        return self.version is not None


@dataclass(frozen=True)
class Written:
    version: str
    #: states other writers made between the expected snapshot and our write (no CAS stores)
    clobbered: tuple[Files, ...] = ()
    url: str = ""


@dataclass(frozen=True)
class VersionInfo:
    version: str
    committed_at: str
    author: str = ""
    additions: int = 0
    deletions: int = 0


class Conflict(Exception):
    """The store moved since the expected snapshot: read again, merge, retry."""


class StoreNotFound(FatalError):
    """The store (gist, repository, bucket) or the project in it does not exist."""


class VersionNotFound(FatalError):
    """The store exists but holds no version matching the reference."""


class Backend:
    """Base class of every backend; see the module docstring for the contract."""

    name: ClassVar[str] = ""

    @property
    def key(self) -> str:
        raise NotImplementedError

    @property
    def location(self) -> str:
        """Where the store is, for messages (`gist 1a2b...`, `repo /x (main)`)."""
        raise NotImplementedError

    @property
    def url(self) -> str:
        """Where a person can look at the store (a gist's page), or ""."""
        return ""

    def read(self, project: str) -> Snapshot:
        raise NotImplementedError

    def write(self, project: str, files: Mapping[str, str], *, expected: Snapshot) -> Written:
        raise NotImplementedError

    def history(self, project: str) -> list[VersionInfo]:
        raise NotImplementedError

    def read_version(self, project: str, ref: str) -> Snapshot:
        raise NotImplementedError

    def list_projects(self) -> list[str]:
        raise NotImplementedError

    def synced(self, project: str) -> None:
        """Called once a push or pull has written local memory: persist what the backend
        caches about the store (an ETag, the remembered gist). Nothing before: a failed
        sync leaves the memory dir as it was."""

    def missing(self, project: str) -> FatalError:
        """The error for a pull that finds no `project` in the store (name what exists)."""
        return StoreNotFound(
            f"project {project!r} is not in {self.location}: projects there: "
            f"{', '.join(self.list_projects()[:20]) or 'none'}",
            title="project missing",
        )

    def close(self) -> None:
        """Release connections (default: nothing to release)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def match_version(
    ref: str, versions: list[str], *, where: str, listing: str = "engram sync history"
) -> str:
    """The one version `ref` names: whole, or a unique hex prefix of >= MIN_PREFIX chars."""
    ref = ref.strip().lower()
    if ref in versions:
        return ref
    if len(ref) < MIN_PREFIX or not _HEX.match(ref):
        raise VersionNotFound(
            f"version {ref!r} is not a version id of {where}: give at least {MIN_PREFIX} hex "
            f"characters of one listed by `{listing}`",
            title="version not found",
        )
    found = [v for v in versions if v.startswith(ref)]
    if len(found) > 1:
        raise VersionNotFound(
            f"version {ref} of {where} is ambiguous ({len(found)} versions start with it): "
            "give more characters",
            title="version ambiguous",
        )
    if not found:
        raise VersionNotFound(
            f"version {ref} not found in {where}: list its versions with `{listing}`",
            title="version not found",
        )
    return found[0]


_REGISTRY: dict[str, type[Backend]] = {}
B = Callable[[type[Backend]], type[Backend]]


def register(name: str) -> B:
    """Class decorator: make a backend available under `name`."""

    def add(cls: type[Backend]) -> type[Backend]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return add


#: modules that register a backend when imported (an optional one may be missing its extra)
BUILTIN_MODULES = (
    "engram_ci.sync.gist_backend",
    "engram_ci.sync.repo_backend",
    "engram_ci.sync.s3_backend",
)


def _load_builtin() -> None:
    # imported on demand, so the core loads PyGithub / GitPython only when a backend is used
    for module in BUILTIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as missing:  # its optional extra is not installed
            if missing.name == module:
                raise


def registered() -> dict[str, type[Backend]]:
    """Every registered backend, by name (the built-in ones loaded)."""
    _load_builtin()
    return dict(_REGISTRY)


def backend_class(name: str) -> type[Backend]:
    known = registered()
    if name not in known:
        raise FatalError(
            f"unknown sync backend {name!r}: use one of {', '.join(sorted(known))}",
            title="unknown backend",
        )
    return known[name]
