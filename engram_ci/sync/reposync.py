"""Knowledge in a git repository for the faces: set one up, push a project into it, pull one
out, merge agents' branches — every write merged at block level so no writer loses another's.

Thin: push and pull run the sync pipeline (sync/pipeline.py) over the repo backend
(sync/repo_backend.py), which builds commits from objects (no checkout) and pushes without
force — a remote that moved on is fetched, merged and retried, bounded, with jittered backoff,
so many CI jobs writing one branch at once all land.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engram_ci.errors import Face, FatalError, Fix, worded
from engram_ci.memory.paths import MemoryLayout
from engram_ci.sync import crypto, repomerge
from engram_ci.sync.backend import StoreNotFound
from engram_ci.sync.git_repo import GitRepo
from engram_ci.sync.pipeline import (
    BACKOFF_CAP,
    Encryption,
    Pipeline,
    Retry,
    backoff,
    synced_counts,
)
from engram_ci.sync.repo_backend import RepoBackend, git_token, target_branch
from engram_ci.sync.repoinit import ensure_merge_setup, init_repo, no_branch_yet
from engram_ci.transcripts.model import check_project_name

__all__ = [
    "BACKOFF_CAP",
    "PUSH_ATTEMPTS",
    "RepoPullResult",
    "RepoPushResult",
    "backoff",
    "git_token",
    "init_repo",
    "merge_branches",
    "pull_repo",
    "push_repo",
]

PUSH_ATTEMPTS = 12


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
    attempts: int = 1


@dataclass(frozen=True)
class RepoPullResult:
    commit_sha: str
    branch: str
    changed: bool
    files_synced: tuple[str, ...]
    blocks_added: int
    blocks_removed: int
    #: why nothing was pulled, when that is expected (a branch no agent pushed to yet)
    notice: str = ""
    restored: str | None = None  # the commit restored (pull-repo --version)
    #: what would give the pull something, worded by each face (worded_notice)
    notice_fix: Fix | None = None

    def worded_notice(self, face: Face = "cli") -> str:
        """The notice with its fix in the face's words ("" when there is none)."""
        return worded(self.notice, self.notice_fix, face) if self.notice else ""

    def to_json(self) -> dict[str, Any]:
        """What `--json` prints: the fields, with the notice as the CLI words it."""
        data = dataclasses.asdict(self)
        del data["notice_fix"]
        return data | {"notice": self.worded_notice("cli")}


@dataclass(frozen=True)
class RepoMergeResult:
    commit_sha: str
    branch: str
    merged: tuple[str, ...]  # the branches that were not already part of the branch
    fast_forward: bool


def push_repo(
    memory_dir: Path,
    project: str,
    path: Path,
    *,
    branch: str | None = None,
    message: str | None = None,
    push_remote: bool = False,
    token: str | None = None,
    remote: str | None = None,
    cipher: crypto.Cipher | None = None,
    attempts: int = PUSH_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
    encrypt: bool | None = None,
    adopt: bool = False,
    budget: int | None = None,
) -> RepoPushResult:
    layout = MemoryLayout(memory_dir)
    project = check_project_name(project)
    with RepoBackend(
        path, branch=branch, remote_sync=push_remote, token=token, remote=remote, message=message
    ) as backend:
        pipeline = Pipeline(
            layout,
            backend,
            encryption=Encryption.of(cipher, encrypt),
            retry=Retry.from_env(attempts=max(1, attempts), sleep=sleep),
            adopt=adopt,
            context_budget=budget,
        )
        outcome = pipeline.push(project)
        return RepoPushResult(
            commit_sha=outcome.version,
            branch=backend.branch,
            pushed=backend.pushed,
            secrets_redacted=outcome.secrets_redacted,
            attempts=outcome.attempts,
            **synced_counts(outcome),
        )


def pull_repo(
    memory_dir: Path,
    project: str,
    path: Path,
    *,
    branch: str | None = None,
    fetch_remote: bool = False,
    token: str | None = None,
    remote: str | None = None,
    cipher: crypto.Cipher | None = None,
    force: bool = False,
    adopt: bool = False,
    version: str | None = None,
    budget: int | None = None,
) -> RepoPullResult:
    """Merge `project/` from the branch (and its remote, when fetching) into local memory,
    reading straight from the object database: no checkout, nothing written to the repo.
    With `version` (a commit, 7+ hex characters), restore the project as it was there: the
    next push-repo makes the branch equal to it."""
    layout = MemoryLayout(memory_dir)
    project = check_project_name(project)
    with RepoBackend(
        path, branch=branch, remote_sync=fetch_remote, token=token, remote=remote, writing=False
    ) as backend:
        encryption = Encryption.of(cipher, False)
        pipeline = Pipeline(
            layout, backend, encryption=encryption, adopt=adopt, context_budget=budget
        )
        try:
            if version:
                outcome = pipeline.restore(project, version)
            else:
                outcome = pipeline.pull(project, force=force)
        except StoreNotFound:
            if not backend.branch_missing():
                raise
            # the sync guide's first step for a new agent: nothing to pull yet, not an error
            notice, fix = no_branch_yet(backend.repo, backend.branch, project, fetched=fetch_remote)
            return RepoPullResult(
                "", backend.branch, False, (), 0, 0, notice=notice, notice_fix=fix
            )
        return RepoPullResult(
            outcome.version, backend.branch, restored=outcome.restored, **synced_counts(outcome)
        )


# -- merging agents' branches -----------------------------------------------------------------


def merge_branches(
    path: Path, branches: Sequence[str], *, message: str | None = None
) -> RepoMergeResult:
    """Merge several branches into the current one at block level, in ONE commit whose
    parents are all of them (what `git merge a b c` would do, had octopus merge drivers)."""
    with GitRepo.open(path) as repo, repo.lock():
        ensure_merge_setup(repo)
        target = target_branch(repo, None)
        head = repo.branch_tip(target)
        if head is None:
            raise FatalError(f"branch {target} has no commits yet: push to it first")
        todo: dict[str, str] = {}
        for name in branches:
            commit = repo.resolve(name)
            if commit is None:
                raise FatalError(
                    f"branch {name!r} not found in {repo.top_level}: branches here: "
                    f"{', '.join(repo.branches()) or 'none'}",
                    title="branch missing",
                )
            if not repo.is_ancestor(commit, head) and commit not in todo.values():
                todo[name] = commit
        if not todo:
            return RepoMergeResult(head, target, (), fast_forward=False)
        only = next(iter(todo.values())) if len(todo) == 1 else None
        if only is not None and repo.is_ancestor(head, only):
            new, fast_forward = only, True
        else:
            tree = repomerge.merge_commits(repo, head, list(todo.values()))
            text = message or f"engram: merge {', '.join(todo)} into {target} (block level)"
            new, fast_forward = repo.commit_tree(tree, [head, *todo.values()], text), False
        repo.advance_branch(
            target, head, new, f"engram: merge {' '.join(todo)}", sync_work_tree=True
        )
        return RepoMergeResult(new, target, tuple(todo), fast_forward)
