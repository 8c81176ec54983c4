"""The S3 backend: a project's knowledge as one object in an S3 (or S3-compatible) bucket.

`s3://BUCKET/PREFIX` holds `PREFIX/<project>/knowledge.json`: every managed file of the
project in one JSON object, so a push is ONE conditional PUT — atomic, like a gist revision or
a commit — and object versioning (where the bucket has it enabled) is the project's history.

- Compare-and-swap: a write sends `If-Match: <ETag we read>` (or `If-None-Match: *` for the
  first one); S3 answers 412 when another writer got there first, which is a `Conflict` for
  the pipeline (re-read, merge, retry). Nothing is ever overwritten blindly.
- Versions are the object's ETags (hex, so `engram sync pull-s3 P URL --version 1a2b3c4` takes
  any unique prefix of >= 7 characters, as for gists and commits); history lists the object's
  versions. Without versioning on the bucket there is one version, the current one.
- Credentials and endpoint: the standard AWS environment (see s3_api.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from engram_ci.errors import FatalError
from engram_ci.sync.backend import (
    MANAGED_FILES,
    Backend,
    Conflict,
    Snapshot,
    StoreNotFound,
    VersionInfo,
    VersionNotFound,
    Written,
    match_version,
    register,
)
from engram_ci.sync.s3_api import Location, PreconditionFailed, S3Client, StoredObject
from engram_ci.transcripts.model import check_project_name

__all__ = ["BUNDLE_FILE", "FORMAT", "S3Backend"]

BUNDLE_FILE = "knowledge.json"
FORMAT = "engram-ci/s3-bundle/1"


@register("s3")
class S3Backend(Backend):
    def __init__(self, url: str, *, client: S3Client | None = None) -> None:
        self.where = Location.parse(url)
        self.client = client or S3Client(self.where)

    @property
    def key(self) -> str:
        digest = hashlib.sha256(str(self.where).encode()).hexdigest()[:16]
        return f"s3-{digest}"

    @property
    def location(self) -> str:
        return str(self.where)

    def close(self) -> None:
        self.client.close()

    def _object_key(self, project: str) -> str:
        return self.where.key(check_project_name(project), BUNDLE_FILE)

    # -- reading ---------------------------------------------------------------------------

    def read(self, project: str) -> Snapshot:
        stored = self.client.get(self._object_key(project))
        if stored is None:
            return Snapshot({}, None)
        return self._snapshot(project, stored)

    def _snapshot(self, project: str, stored: StoredObject) -> Snapshot:
        return Snapshot(
            _unbundle(stored.body, f"{self.where}/{project}"), stored.etag, token=stored
        )

    def history(self, project: str) -> list[VersionInfo]:
        key = self._object_key(project)
        seen: set[str] = set()
        found: list[VersionInfo] = []
        for version in self.client.versions(key):
            if version.etag not in seen:  # the same content written twice is one version
                seen.add(version.etag)
                found.append(VersionInfo(version.etag, version.last_modified))
        if not found:
            raise self.missing(project)
        return found

    def read_version(self, project: str, ref: str) -> Snapshot:
        key = self._object_key(project)
        versions = self.client.versions(key)
        if not versions:
            raise self.missing(project)
        etag = match_version(ref, [v.etag for v in versions], where=f"{self.where}/{project}")
        version = next(v for v in versions if v.etag == etag)
        stored = self.client.get(
            key, version_id=None if version.version_id == "null" else version.version_id
        )
        if stored is None:
            raise VersionNotFound(
                f"version {etag} of {self.where}/{project} is gone (lifecycle rules may have "
                "expired it): pick another with `engram sync history-s3`",
                title="version not found",
            )
        return self._snapshot(project, stored)

    def list_projects(self) -> list[str]:
        root = self.where.key("")
        prefix = f"{root}/" if root else ""
        names = set()
        for key in self.client.list_keys(prefix):
            rest = key[len(prefix) :].split("/")
            if len(rest) == 2 and rest[1] == BUNDLE_FILE:
                names.add(rest[0])
        return sorted(names)

    def missing(self, project: str) -> StoreNotFound:
        return StoreNotFound(
            f"{self.where} holds no project {project}: push it first with "
            f"`engram sync push-s3 {project} {self.where}`",
            title="project not found",
        )

    # -- writing ---------------------------------------------------------------------------

    def write(self, project: str, files: Mapping[str, str], *, expected: Snapshot) -> Written:
        body = _bundle(project, files)
        key = self._object_key(project)
        try:
            if expected.exists:
                written = self.client.put(key, body, if_match=expected.version)
            else:
                written = self.client.put(key, body, if_none_match=True)
        except PreconditionFailed:
            raise Conflict(f"{self.where}/{project} changed since it was read") from None
        return Written(written.etag)


def _bundle(project: str, files: Mapping[str, str]) -> bytes:
    managed = {n: files[n] for n in sorted(files) if n in MANAGED_FILES}
    document = {"format": FORMAT, "project": project, "files": managed}
    return (json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _unbundle(body: bytes, where: str) -> dict[str, str]:
    """The managed files of a bundle; anything malformed is one line naming the object."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        document = None
    files = document.get("files") if isinstance(document, dict) else None
    if (
        not isinstance(document, dict)
        or document.get("format") != FORMAT
        or not isinstance(files, dict)
    ):
        raise FatalError(
            f"{where}/{BUNDLE_FILE} is not an engram-ci knowledge bundle: remove it or point "
            "engram at another prefix",
            title="not a knowledge bundle",
        )
    return {str(n): t for n, t in files.items() if n in MANAGED_FILES and isinstance(t, str)}
