"""The git repository backend: `<repo>/<project>/{decisions,...}.md` on one branch.

The store is a branch of a local clone — and, with `remote_sync`, that branch of a remote.
Reading combines the local tip with the fetched remote tip (the newer one, or their
block-level tree merge when they diverged). Writing builds a commit from objects (the
project's subtree spliced into the root tree: no checkout of a possibly huge repo), pushes
it without force, then moves the local branch by compare-and-swap; a refused push or a moved
ref is a `Conflict` and the pipeline merges again. The clone's own lock (.git/engram-ci.lock)
is held while the backend is open, so engram runs on one clone take turns.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from engram_ci.errors import FatalError, Fix
from engram_ci.memory import limits
from engram_ci.memory.paths import METADATA_FILE
from engram_ci.sync import repomerge, tokens
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
from engram_ci.sync.repoinit import default_branch, ensure_merge_setup

log = logging.getLogger("engram_ci")

__all__ = ["RepoBackend", "Upstream", "auth_error", "git_token", "target_branch", "upstream"]


# -- credentials and the remote ---------------------------------------------------------------


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


def auth_error(url: str, *, write: bool) -> FatalError:
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


#: what git itself allows in a remote's name, minus what only confuses (spaces, quotes, `..`)
_REMOTE_NAME = re.compile(r"(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._/-]{0,99}")


@dataclass(frozen=True)
class Upstream:
    remote: str
    branch: str
    url: str


def upstream(repo: GitRepo, branch: str, remote: str | None, token: str | None) -> Upstream:
    configured, remote_branch = repo.upstream_of(branch)
    name = remote or configured or "origin"
    if name != configured:
        remote_branch = branch
    if name.startswith("-") or not _REMOTE_NAME.fullmatch(name):
        # git would read it as an option; and no `git remote add` should be suggested with it
        raise FatalError(
            f"invalid remote name {name!r}: name a remote of the repository, e.g. origin "
            f"(`git -C {repo.top_level} remote -v` lists them)",
            title="no remote",
        )
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
    return Upstream(name, remote_branch, public_url(url))


def target_branch(repo: GitRepo, branch: str | None, remote: str | None = None) -> str:
    """--branch, else the checked-out branch, else the remote's default (repoinit)."""
    return repo.check_branch_name(branch) if branch else default_branch(repo, remote)


# -- the backend --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    """What a write must build on: the tips it read, and their combination."""

    local_tip: str | None
    remote_tip: str | None
    parents: tuple[str, ...]
    tree: str


@register("repo")
class RepoBackend(Backend):
    def __init__(
        self,
        path: Path,
        *,
        branch: str | None = None,
        remote_sync: bool = False,
        token: str | None = None,
        remote: str | None = None,
        message: str | None = None,
        writing: bool = True,
    ) -> None:
        self._stack = ExitStack()
        self.repo = self._stack.enter_context(GitRepo.open(path))
        try:
            self._stack.enter_context(self.repo.lock())
            ensure_merge_setup(self.repo)  # a clone has none: git does not copy .git/config
            self.branch = target_branch(self.repo, branch, remote)
            self.upstream = upstream(self.repo, self.branch, remote, token) if remote_sync else None
        except BaseException:
            self._stack.close()
            raise
        self.message = message
        self.writing = writing  # a write may start a missing branch from HEAD
        self.pushed = False
        self._tips: tuple[str | None, str | None] = (None, None)

    def close(self) -> None:
        self._stack.close()

    @property
    def key(self) -> str:
        where = (
            f"{self.repo.top_level}\n{self.branch}\n{self.upstream.url if self.upstream else ''}"
        )
        return "repo-" + hashlib.sha256(where.encode()).hexdigest()[:16]

    @property
    def location(self) -> str:
        if self.upstream is not None:
            return f"{self.upstream.url} ({self.upstream.branch})"
        return f"branch {self.branch} of {self.repo.top_level}"

    # -- reading ---------------------------------------------------------------------------

    def _remote_tip(self) -> str | None:
        if self.upstream is None:
            return None
        try:
            return self.repo.fetch_branch(self.upstream.remote, self.upstream.branch)
        except AuthFailed as failed:
            raise auth_error(str(failed), write=self.writing) from None

    def read(self, project: str) -> Snapshot:
        repo = self.repo
        local_tip, remote_tip = repo.branch_tip(self.branch), self._remote_tip()
        self._tips = (local_tip, remote_tip)
        current = repo.current_branch()
        # a missing branch starts from the remote's, else from HEAD (an orphan if none)
        start = local_tip or remote_tip
        if start is None and self.writing and self.branch != current:
            start = repo.head_commit()
        parents, tree = self._combine(start, remote_tip)
        state = _State(local_tip, remote_tip, tuple(parents), tree)
        behind = len(parents) != 1 or parents[0] != local_tip
        unpushed = self.upstream is not None and parents[:1] != [remote_tip]
        files = self._files(tree, project)
        version = parents[0] if len(parents) == 1 else (remote_tip or local_tip)
        exists = files is not None and version is not None
        return Snapshot(
            files or {},
            version if exists else None,
            needs_write=exists and (behind or unpushed),
            token=state,
        )

    def _combine(self, start: str | None, remote_tip: str | None) -> tuple[list[str], str]:
        """(parents, tree) to build on: the newer of local and remote, or their merge."""
        repo = self.repo
        if remote_tip is None or remote_tip == start:
            return ([start] if start else []), repo.tree_of(start)
        if start is None or repo.is_ancestor(start, remote_tip):
            return [remote_tip], repo.tree_of(remote_tip)
        if repo.is_ancestor(remote_tip, start):
            return [start], repo.tree_of(start)
        base = repo.tree_of(repo.merge_base(start, remote_tip))
        merged = repomerge.merge_trees(repo, base, repo.tree_of(start), repo.tree_of(remote_tip))
        return [start, remote_tip], merged

    def _project_entries(self, tree: str, project: str) -> list[Entry] | None:
        held = next((e for e in self.repo.read_tree(tree) if e.name == project), None)
        if held is None:
            return None
        if not held.is_tree:
            raise FatalError(
                f"{project} in {self.repo.top_level} is a {held.describe()}, not a directory: "
                "rename it, then sync again"
            )
        return self.repo.read_tree(held.sha)

    def _files(self, tree: str, project: str) -> dict[str, str] | None:
        """The project's managed regular files (others warned about), None when absent."""
        entries = self._project_entries(tree, project)
        if entries is None:
            return None
        sizes = {
            e.name: self.repo.blob_size(e.sha)
            for e in entries
            if e.is_regular_file and e.name in MANAGED_FILES
        }
        limits.check_sizes(sizes, f"{project}/ in {self.location}")  # before reading blobs
        files = {}
        for entry in entries:
            if not entry.is_regular_file:
                log.warning(
                    "refusing %s/%s: a %s, not a file", project, entry.name, entry.describe()
                )
            elif entry.name not in MANAGED_FILES:
                log.warning("ignoring %r from %s: not a knowledge file name", entry.name, project)
            else:
                blob = self.repo.read_blob(entry.sha)
                files[entry.name] = blob.decode("utf-8", errors="replace")
        return files

    def history(self, project: str) -> list[VersionInfo]:
        tip = self.repo.branch_tip(self.branch)
        if tip is None:
            raise self.missing(project)
        return [VersionInfo(c, at, who) for c, at, who in self.repo.log(tip, project)]

    def read_version(self, project: str, ref: str) -> Snapshot:
        versions = [v.version for v in self.history(project)]
        listing = f"git -C {self.repo.top_level} log {self.branch} -- {project}"
        commit = match_version(ref, versions, where=self.location, listing=listing)
        files = self._files(self.repo.tree_of(commit), project)
        if files is None:
            raise VersionNotFound(
                f"{project} is not in commit {commit[:12]} of {self.location}: pick another "
                "with `git log`",
                title="version not found",
            )
        return Snapshot(files, commit)

    def list_projects(self) -> list[str]:
        tip = self.repo.branch_tip(self.branch) or self._tips[1]
        if tip is None:
            return []
        names = [e.name for e in self.repo.read_tree(self.repo.tree_of(tip)) if e.is_tree]
        return sorted(n for n in names if not n.startswith("."))

    def branch_missing(self) -> bool:
        """No such branch, locally or (when fetching) on the remote: nobody pushed to it yet."""
        return self._tips == (None, None) and self.repo.branch_tip(self.branch) is None

    def missing(self, project: str) -> FatalError:
        if self.branch_missing():
            return StoreNotFound(
                f"branch {self.branch!r} not found in {self.repo.top_level} (branches here: "
                f"{', '.join(self.repo.branches()) or 'none'})",
                title="branch missing",
                fix=Fix(
                    "fetch it first with {option}", flag="--fetch-remote", input="fetch-remote"
                ),
            )
        names = self.list_projects()
        shown = ", ".join(names[:20]) + (" ..." if len(names) > 20 else "") if names else "none"
        return StoreNotFound(
            f"project {project!r} is not in branch {self.branch} of {self.repo.top_level}: "
            f"projects there: {shown}",
            title="project missing",
        )

    # -- writing ---------------------------------------------------------------------------

    def write(self, project: str, files: Mapping[str, str], *, expected: Snapshot) -> Written:
        state = expected.token
        assert isinstance(state, _State), "write() needs a snapshot this backend read"
        repo = self.repo
        tree = state.tree
        if _content(files) != _content(expected.files) or not expected.exists:
            tree = self._splice(state.tree, project, files)
        if len(state.parents) == 1 and tree == state.tree:
            commit = state.parents[0]
        else:
            text = self.message or f"engram: update knowledge for {project}"
            commit = repo.commit_tree(tree, list(state.parents), text)
        pushed = False
        if self.upstream is not None and commit != state.remote_tip:
            try:
                repo.push(self.upstream.remote, commit, self.upstream.branch)
            except AuthFailed as failed:
                raise auth_error(str(failed), write=True) from None
            except PushRejected as rejected:
                raise Conflict(f"push rejected: {rejected}") from None
            pushed = self.pushed = True
        if commit != state.local_tip:
            try:
                repo.advance_branch(
                    self.branch,
                    state.local_tip,
                    commit,
                    f"engram: push-repo {project}",
                    sync_work_tree=self.branch == repo.current_branch(),
                )
            except RefMoved:
                if pushed:
                    raise FatalError(
                        f"branch {self.branch} moved while pushing {commit[:12]}: "
                        "run `engram sync pull-repo` then push again"
                    ) from None
                raise Conflict(f"branch {self.branch} moved") from None
        return Written(commit)

    def _splice(self, root_tree: str, project: str, files: Mapping[str, str]) -> str:
        """`root_tree` with project/'s managed files replaced by `files` (others kept)."""
        repo = self.repo
        root = repo.read_tree(root_tree)
        existing = self._project_entries(root_tree, project) or []
        names = sorted(files)
        shas = repo.write_blobs([files[n].encode("utf-8") for n in names])
        entries = [e for e in existing if e.name not in MANAGED_FILES]
        entries += [Entry(n, MODE_FILE, sha) for n, sha in zip(names, shas, strict=True)]
        project_tree = repo.write_tree(entries)
        new_root = [e for e in root if e.name != project]
        return repo.write_tree([*new_root, Entry(project, MODE_TREE, project_tree)])


def _content(files: Mapping[str, str]) -> dict[str, str]:
    """Files minus metadata.json, whose sync stamp alone must not make a commit."""
    return {n: t for n, t in files.items() if n != METADATA_FILE}
