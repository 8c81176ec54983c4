"""Knowledge in a git repository: set one up, push a project into it, pull one out, merge
agents' branches — every write merged at block level so no writer loses another's entries.

Layout (engram's): `<repo>/<project>/{decisions,...}.md`, context.md, metadata.json.
Each write is a commit built from objects: the project's subtree is merged with local memory,
spliced into the branch's root tree, committed, and the branch moved by compare-and-swap —
no checkout of the (possibly huge) repo. A push never forces: when the remote moved on it is
fetched, merged at block level and retried, bounded, with jittered backoff, so many CI jobs
writing one branch at once all land.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from engram_ci.errors import FatalError, Fix
from engram_ci.memory import projectfiles
from engram_ci.memory.paths import KNOWN_KNOWLEDGE_FILES, METADATA_FILE, MemoryLayout
from engram_ci.memory.projectfiles import FileSet
from engram_ci.sync import crypto, redact, repomerge, tokens
from engram_ci.sync.git_repo import (
    MODE_FILE,
    MODE_TREE,
    AuthFailed,
    Entry,
    GitRepo,
    PushRejected,
    RefMoved,
    auth_origin,
    public_url,
)
from engram_ci.sync.repoinit import init_repo
from engram_ci.transcripts.model import check_project_name

log = logging.getLogger("engram_ci")

__all__ = ["init_repo", "merge_branches", "pull_repo", "push_repo"]

PUSH_ATTEMPTS = 12
BACKOFF_BASE = 0.1  # seconds; doubles per attempt, capped, then scaled by a random jitter
BACKOFF_CAP = 3.0


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


@dataclass(frozen=True)
class RepoMergeResult:
    commit_sha: str
    branch: str
    merged: tuple[str, ...]  # the branches that were not already part of the branch
    fast_forward: bool


# -- credentials ----------------------------------------------------------------------------


def git_token(url: str, explicit: str | None = None) -> str | None:
    """The token to send to an http(s) remote, or None.

    --token, else ENGRAM_GIT_TOKEN: meant for this remote, sent to its host whatever it is.
    Else GITHUB_TOKEN / GH_TOKEN / `gh auth token`: GitHub credentials, so only sent to
    github.com or $GITHUB_SERVER_URL's host — never leaked to another server.
    """
    if auth_origin(url) is None:
        return None
    chosen = (explicit or os.environ.get("ENGRAM_GIT_TOKEN") or "").strip()
    if chosen:
        return tokens.find_token(chosen, use_gh=False)
    github_hosts = {"github.com", urlsplit(os.environ.get("GITHUB_SERVER_URL", "")).hostname}
    return tokens.find_token() if urlsplit(url).hostname in github_hosts else None


def _auth_error(url: str, *, write: bool) -> FatalError:
    need = "write" if write else "read"
    return FatalError(
        f"authentication failed for {url}",
        title="git authentication failed",
        fix=Fix(
            f"set {{option}} to a token with {need} access to the repository (GitHub: "
            f"`contents: {need}`, or a classic PAT with the `repo` scope)",
            flag="--token",
            input="token",
            env="ENGRAM_GIT_TOKEN",
        ),
    )


@dataclass(frozen=True)
class _Upstream:
    remote: str
    branch: str
    url: str

    @property
    def ref(self) -> tuple[str, str]:
        return self.remote, self.branch


def _upstream(repo: GitRepo, branch: str, remote: str | None, token: str | None) -> _Upstream:
    configured, remote_branch = repo.upstream_of(branch)
    name = remote or configured or "origin"
    if name != configured:
        remote_branch = branch
    url = repo.remote_url(name)
    if url is None:
        raise FatalError(
            f"no remote {name!r} in {repo.top_level}: add one with "
            f"`git -C {repo.top_level} remote add {name} URL`",
            title="no remote",
        )
    # credentials persisted in the clone (actions/checkout's extraheader) win over ambient
    # GitHub tokens, which may not reach this repo; --token / ENGRAM_GIT_TOKEN win over both
    origin = auth_origin(url)
    persisted = origin is not None and bool(repo.config_get(f"http.{origin}.extraheader"))
    chosen = token or os.environ.get("ENGRAM_GIT_TOKEN")
    found = git_token(url, token) if chosen or not persisted else None
    if found:
        repo.authorize(url, found)
    return _Upstream(name, remote_branch, public_url(url))


# -- reading a project out of a commit -------------------------------------------------------


def _project_entries(repo: GitRepo, commit: str | None, project: str) -> list[Entry] | None:
    entry = repo.subtree(commit, project)
    if entry is None:
        return None
    if not entry.is_tree:
        raise FatalError(
            f"{project} in {repo.top_level} is a {entry.describe()}, not a directory: "
            "rename it, then sync again"
        )
    return repo.read_tree(entry.sha)


def _read_files(
    repo: GitRepo, entries: Sequence[Entry], where: str, cipher: crypto.Cipher | None
) -> tuple[FileSet, dict[str, str]]:
    """(plaintext knowledge files, the sealed form as stored — {} when not encrypted).

    Regular files only (symlinks, submodules, directories refused), known names only; an
    encrypted project is opened in memory (FatalError naming the fix without a key)."""
    regular: dict[str, Entry] = {}
    for entry in entries:
        if entry.is_regular_file:
            regular[entry.name] = entry
        else:
            kind = entry.describe()
            log.warning("refusing %s/%s: a %s, not a regular file", where, entry.name, kind)

    def text(name: str) -> str:
        return repo.read_blob(regular[name].sha).decode("utf-8", errors="replace")

    if crypto.MANIFEST_FILE in regular:
        names = (crypto.MANIFEST_FILE, crypto.PAYLOAD_FILE)
        sealed = {name: text(name) for name in names if name in regular}
        opened = crypto.open_files(sealed, cipher, source=f"{where}/ in {repo.top_level}")
        known, _ = projectfiles.split_known(opened, source=where)
        return {name: opened[name] for name in known}, sealed
    known, _ = projectfiles.split_known(regular, source=where)
    return {name: text(name) for name in known}, {}


def _project_names(repo: GitRepo, commit: str | None) -> str:
    if commit is None:
        return "none"
    names = [e.name for e in repo.read_tree(repo.tree_of(commit)) if e.is_tree]
    names = [n for n in names if not n.startswith(".")]
    return ", ".join(names[:20]) + (" ..." if len(names) > 20 else "") if names else "none"


# -- push -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    tree: str
    merged: FileSet  # what local memory receives (plaintext, unredacted)
    uploaded: tuple[str, ...]
    secrets_redacted: int
    blocks_added: int
    blocks_removed: int


def _plan_push(
    repo: GitRepo, base_tree: str, project: str, local: FileSet, cipher: crypto.Cipher | None
) -> _Plan:
    """The root tree with `project/` merged with local memory (base_tree when unchanged)."""
    root = repo.read_tree(base_tree)
    held = next((e for e in root if e.name == project), None)
    if held is not None and not held.is_tree:
        raise FatalError(f"{project} in {repo.top_level} is a {held.describe()}, not a directory")
    existing = repo.read_tree(held.sha) if held else []
    remote, sealed = _read_files(repo, existing, project, cipher)
    merged = projectfiles.merge_filesets(project, remote, local)
    upload_plain, report = redact.redact_files(merged)
    diff = projectfiles.diff_filesets(remote, upload_plain)
    # age output is randomised: compare plaintext, and re-seal only for new keys
    keys_current = crypto.sealed_for(sealed, cipher) if cipher else not sealed
    if upload_plain == remote and keys_current:
        return _Plan(base_tree, merged, (), report.total, 0, 0)
    upload = crypto.seal_files(upload_plain, cipher) if cipher else dict(upload_plain)
    upload[METADATA_FILE] = projectfiles.metadata_json(project)
    # every name either form may use, so switching to or from encryption leaves no stale file
    managed = KNOWN_KNOWLEDGE_FILES | {METADATA_FILE, crypto.MANIFEST_FILE, crypto.PAYLOAD_FILE}
    names = sorted(upload)
    shas = repo.write_blobs([upload[n].encode("utf-8") for n in names])
    entries = [e for e in existing if e.name not in managed]
    entries += [Entry(n, MODE_FILE, sha) for n, sha in zip(names, shas, strict=True)]
    project_tree = repo.write_tree(entries)
    new_root = [e for e in root if e.name != project] + [Entry(project, MODE_TREE, project_tree)]
    return _Plan(
        repo.write_tree(new_root), merged, tuple(names), report.total, diff.added, diff.removed
    )


def _combine(repo: GitRepo, start: str | None, remote_tip: str | None) -> tuple[list[str], str]:
    """(parents, tree) to build on: the newer of local and remote, or their block-level merge."""
    if remote_tip is None or remote_tip == start:
        return ([start] if start else []), repo.tree_of(start)
    if start is None or repo.is_ancestor(start, remote_tip):
        return [remote_tip], repo.tree_of(remote_tip)
    if repo.is_ancestor(remote_tip, start):
        return [start], repo.tree_of(start)
    base = repo.tree_of(repo.merge_base(start, remote_tip))
    merged = repomerge.merge_trees(repo, base, repo.tree_of(start), repo.tree_of(remote_tip))
    return [start, remote_tip], merged


def _target_branch(repo: GitRepo, branch: str | None) -> str:
    if branch:
        return repo.check_branch_name(branch)
    current = repo.current_branch()
    if current is None:
        raise FatalError(
            f"HEAD is detached in {repo.top_level}",
            fix=Fix("name the branch with {option}", flag="--branch NAME", input="branch"),
        )
    return current


def backoff(attempt: int, jitter: Callable[[], float] = random.random) -> float:
    """Full jitter: racing writers spread out instead of colliding again in lockstep."""
    return float(jitter() * min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))


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
) -> RepoPushResult:
    layout = MemoryLayout(memory_dir)
    project = check_project_name(project)
    local = projectfiles.read_local(layout, project)
    if not local:
        raise FatalError(
            f"no knowledge for project {project!r} in {layout.knowledge_dir(project)}: run "
            f"`engram ingest` first (projects here: {', '.join(layout.projects()[:20]) or 'none'})",
            title="nothing to push",
        )
    with GitRepo.open(path) as repo, repo.lock():
        target = _target_branch(repo, branch)
        upstream = _upstream(repo, target, remote, token) if push_remote else None
        text = message or f"engram: update knowledge for {project}"
        for attempt in range(1, max(1, attempts) + 1):
            local_tip = repo.branch_tip(target)
            try:
                remote_tip = (
                    repo.fetch_branch(upstream.remote, upstream.branch) if upstream else None
                )
            except AuthFailed as failed:
                raise _auth_error(str(failed), write=True) from None
            current = repo.current_branch()
            # a missing branch starts from the remote's, else from HEAD (an orphan if none)
            start = local_tip or remote_tip or (repo.head_commit() if target != current else None)
            parents, base_tree = _combine(repo, start, remote_tip)
            plan = _plan_push(repo, base_tree, project, local, cipher)
            if len(parents) == 1 and plan.tree == base_tree:
                commit = parents[0]
            else:
                commit = repo.commit_tree(plan.tree, parents, text)
            pushed = False
            if upstream and commit != remote_tip:
                try:
                    repo.push(upstream.remote, commit, upstream.branch)
                    pushed = True
                except AuthFailed as failed:
                    raise _auth_error(str(failed), write=True) from None
                except PushRejected as rejected:
                    delay = backoff(attempt)
                    log.info(
                        "push to %s rejected (%s): merging again in %.2fs (attempt %d of %d)",
                        upstream.remote,
                        rejected,
                        delay,
                        attempt,
                        attempts,
                    )
                    sleep(delay)
                    continue
            if commit != local_tip:
                try:
                    repo.advance_branch(
                        target,
                        local_tip,
                        commit,
                        f"engram: push-repo {project}",
                        sync_work_tree=target == current,
                    )
                except RefMoved:
                    if pushed:
                        raise FatalError(
                            f"branch {target} moved while pushing {commit[:12]}: "
                            "run `engram sync pull-repo` then push again"
                        ) from None
                    continue
            projectfiles.write_local(layout, project, plan.merged)
            return RepoPushResult(
                commit_sha=commit,
                branch=target,
                changed=plan.tree != base_tree,
                pushed=pushed,
                files_synced=plan.uploaded,
                secrets_redacted=plan.secrets_redacted,
                blocks_added=plan.blocks_added,
                blocks_removed=plan.blocks_removed,
                attempts=attempt,
            )
    raise FatalError(
        f"push of {project} to {upstream.url if upstream else path} was rejected {attempts} "
        "times (the remote kept moving or refused it): run the command again, or raise "
        "--attempts",
        title="push rejected",
    )


# -- pull -----------------------------------------------------------------------------------


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
) -> RepoPullResult:
    """Merge `project/` from the branch (and its remote, when fetching) into local memory,
    reading straight from the object database: no checkout, nothing written to the repo."""
    layout = MemoryLayout(memory_dir)
    project = check_project_name(project)
    with GitRepo.open(path) as repo:
        target = _target_branch(repo, branch)
        tips = [repo.branch_tip(target)]
        if fetch_remote:
            upstream = _upstream(repo, target, remote, token)
            try:
                tips.append(repo.fetch_branch(upstream.remote, upstream.branch))
            except AuthFailed as failed:
                raise _auth_error(str(failed), write=False) from None
        commits = [tip for tip in tips if tip]
        if not commits:
            raise FatalError(
                f"branch {target!r} not found in {repo.top_level} (branches here: "
                f"{', '.join(repo.branches()) or 'none'})",
                title="branch missing",
                fix=Fix(
                    "fetch it first with {option}", flag="--fetch-remote", input="fetch-remote"
                ),
            )
        found = [
            _read_files(repo, entries, project, cipher)[0]
            for entries in (_project_entries(repo, c, project) for c in commits)
            if entries is not None
        ]
        if not found:
            raise FatalError(
                f"project {project!r} is not in branch {target} of {repo.top_level}: "
                f"projects there: {_project_names(repo, commits[-1])}",
                title="project missing",
            )
        local = projectfiles.read_local(layout, project)
        merged = projectfiles.merge_filesets(project, local, *found)
        written = projectfiles.write_local(layout, project, merged)
        return RepoPullResult(
            commit_sha=commits[-1],
            branch=target,
            changed=bool(written.written),
            files_synced=written.written,
            blocks_added=written.diff.added,
            blocks_removed=written.diff.removed,
        )


# -- merging agents' branches -----------------------------------------------------------------


def merge_branches(
    path: Path, branches: Sequence[str], *, message: str | None = None
) -> RepoMergeResult:
    """Merge several branches into the current one at block level, in ONE commit whose
    parents are all of them (what `git merge a b c` would do, had octopus merge drivers)."""
    with GitRepo.open(path) as repo, repo.lock():
        target = _target_branch(repo, None)
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
            tree = repo.tree_of(head)
            for commit in todo.values():
                base = repo.tree_of(repo.merge_base(head, commit))
                tree = repomerge.merge_trees(repo, base, tree, repo.tree_of(commit))
            text = message or f"engram: merge {', '.join(todo)} into {target} (block level)"
            new, fast_forward = repo.commit_tree(tree, [head, *todo.values()], text), False
        repo.advance_branch(
            target, head, new, f"engram: merge {' '.join(todo)}", sync_work_tree=True
        )
        return RepoMergeResult(new, target, tuple(todo), fast_forward)
