"""S3 sync for the faces: push, pull (or restore a version) and history of one project.

Thin, like gistsync: the pipeline does the work over the S3 backend. boto3 is imported only
when one of these runs (the `engram-ci[s3]` extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from engram_ci.errors import FatalError
from engram_ci.memory.paths import MemoryLayout
from engram_ci.sync import crypto
from engram_ci.sync.backend import VersionInfo
from engram_ci.sync.pipeline import Encryption, Pipeline, PullOutcome, PushOutcome, Retry
from engram_ci.transcripts.model import check_project_name

if TYPE_CHECKING:
    from engram_ci.sync.s3_api import S3Client
    from engram_ci.sync.s3_backend import S3Backend

__all__ = ["history", "pull", "push"]


def _backend(url: str, client: S3Client | None) -> S3Backend:
    try:
        from engram_ci.sync.s3_backend import S3Backend
    except ModuleNotFoundError as missing:
        if missing.name not in {"boto3", "botocore"}:
            raise
        raise FatalError(
            "S3 sync needs boto3: pip install 'engram-ci[s3]'", title="boto3 missing"
        ) from None
    return S3Backend(url, client=client)


def push(
    memory_dir: Path,
    project: str,
    url: str,
    *,
    cipher: crypto.Cipher | None = None,
    encrypt: bool | None = None,
    adopt: bool = False,
    client: S3Client | None = None,
    budget: int | None = None,
) -> PushOutcome:
    """Merge the bucket's copy with local knowledge and write it back if anything differs."""
    project = check_project_name(project)
    layout = MemoryLayout(memory_dir)
    with _backend(url, client) as backend:
        pipeline = Pipeline(
            layout,
            backend,
            encryption=Encryption.of(cipher, encrypt),
            retry=Retry.from_env(),
            adopt=adopt,
            context_budget=budget,
        )
        return pipeline.push(project)


def pull(
    memory_dir: Path,
    project: str,
    url: str,
    *,
    force: bool = False,
    version: str | None = None,
    cipher: crypto.Cipher | None = None,
    adopt: bool = False,
    client: S3Client | None = None,
    budget: int | None = None,
) -> PullOutcome:
    """Merge the bucket's copy into local memory; with `version`, restore that version (the
    next push makes the bucket equal to it)."""
    project = check_project_name(project)
    layout = MemoryLayout(memory_dir)
    with _backend(url, client) as backend:
        encryption = Encryption.of(cipher)
        pipeline = Pipeline(
            layout, backend, encryption=encryption, adopt=adopt, context_budget=budget
        )
        if version is not None:
            return pipeline.restore(project, version)
        return pipeline.pull(project, force=force)


def history(project: str, url: str, *, client: S3Client | None = None) -> list[VersionInfo]:
    """The project's versions in the bucket, newest first."""
    project = check_project_name(project)
    with _backend(url, client) as backend:
        return backend.history(project)
