"""Every git operation engram-ci performs — the only module that imports GitPython.

Sync needs plumbing, not a work tree: read a project's blobs from any branch, write blobs
and trees straight into the object database, commit a tree with chosen parents, and move a
branch only if it still points where we read it (compare-and-swap). Checking out a big
knowledge repo is what makes naive scripts slow, so nothing here checks out a whole tree;
the one work-tree step (`advance_branch`) is git's own two-tree `read-tree -m -u`, which
touches only the paths that changed and refuses to overwrite uncommitted edits.

Credentials and trust travel per command in GIT_CONFIG_* variables: a token never lands in
a URL, .git/config, argv or a message, and safe.directory is granted in command scope only,
for the repository the user named — global config is never written.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import NoReturn
from urllib.parse import urlsplit

import git
from git.objects.fun import tree_entries_from_data

from engram_ci.deadline import seconds_from_env
from engram_ci.errors import FatalError
from engram_ci.log import mask, register_secret
from engram_ci.memory.fsutil import file_lock

__all__ = [
    "EMPTY_TREE",
    "FALLBACK_EMAIL",
    "MODE_FILE",
    "MODE_LINK",
    "MODE_TREE",
    "AuthFailed",
    "Entry",
    "GitRepo",
    "PushRejected",
    "RefMoved",
    "auth_origin",
    "configured_default_branch",
    "public_url",
]

log = logging.getLogger("engram_ci")

MODE_TREE = 0o040000
MODE_FILE = 0o100644
MODE_EXEC = 0o100755
MODE_LINK = 0o120000
MODE_SUBMODULE = 0o160000
_MODE_TYPE, _MODE_REGULAR = 0o170000, 0o100000  # a mode's type bits, and a file's
ZERO_SHA = "0" * 40
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
#: who commits when the machine has no git identity (CI containers)
FALLBACK_NAME = "engram-ci"
FALLBACK_EMAIL = "engram-ci@users.noreply.github.com"
#: a fetch or push's overall deadline: default and the bounds ENGRAM_GIT_DEADLINE_SECONDS may set
NETWORK_DEADLINE = (600.0, 5.0, 3600.0)
_AUTH_FAILURE = re.compile(
    r"Authentication failed|returned error: (401|403)|could not read (Username|Password)"
    r"|terminal prompts disabled|Permission denied|403 Forbidden",
    re.IGNORECASE,
)


_REDIRECTED = re.compile(r"returned error: (30[1278])")


@dataclass(frozen=True)
class Entry:
    """One tree entry: a name in a directory, its git mode and object id (hex)."""

    name: str
    mode: int
    sha: str

    @property
    def is_tree(self) -> bool:
        return self.mode == MODE_TREE

    @property
    def is_regular_file(self) -> bool:
        # 100644, 100755 or an old git's 100664: git reads any of them as a file (canon_mode)
        return self.mode & _MODE_TYPE == _MODE_REGULAR

    def describe(self) -> str:
        """What the entry is, in a person's words (after "a": "… is a file, not a directory")."""
        kinds = {MODE_TREE: "directory", MODE_LINK: "symlink", MODE_SUBMODULE: "submodule"}
        if self.is_regular_file:
            return "file"
        # no git writes another type: the octal mode is for whoever looks at the repository
        return kinds.get(self.mode, f"tree entry of unknown type (git mode {self.mode:o})")


class RefMoved(Exception):
    """The branch no longer points where we read it: someone else updated it."""


class AuthFailed(Exception):
    """The remote refused our credentials."""


class PushRejected(Exception):
    """The remote did not take the push (it moved on, or a concurrent push locked the ref)."""


def public_url(url: str) -> str:
    """The URL without any user:password@ part, fit for a message."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and "@" in parts.netloc:
        return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()
    return url


def auth_origin(url: str) -> str | None:
    """`scheme://host[:port]/` for an http(s) URL — the scope of an extraheader — else None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{host}/"


def configured_default_branch() -> str | None:
    """git's init.defaultBranch from the user's config, or None when unset."""
    status, out, _ = git.Git().execute(
        ["git", "config", "--get", "init.defaultBranch"],
        with_extended_output=True,
        with_exceptions=False,
    )
    return str(out).strip() or None if int(status) == 0 else None


def _enclosing_repo(path: Path) -> Path | None:
    try:
        with git.Repo(path, search_parent_directories=True) as outer:
            return Path(outer.working_tree_dir or outer.git_dir)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def _basic_auth_header(token: str) -> str:
    encoded = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    register_secret(encoded)
    return f"AUTHORIZATION: basic {encoded}"


class GitRepo:
    """One repository, opened with per-command config; close it (GitPython keeps cat-file
    processes), or use it as a context manager."""

    def __init__(self, repo: git.Repo) -> None:
        self._repo = repo
        self._git = repo.git
        # git never follows a redirect: the token goes to the host the user named and no
        # other (curl drops a custom Authorization header on a cross-host hop only in recent
        # versions, and a same-host redirect can still lead somewhere unintended)
        self._config: list[tuple[str, str]] = [("http.followRedirects", "false")]
        for trusted in {self.top_level, Path(repo.git_dir).resolve()}:
            self._config.append(("safe.directory", str(trusted)))
        self._apply_environment()

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path) -> GitRepo:
        try:
            repo = git.Repo(path)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            top = _enclosing_repo(path)
            if top is not None:
                raise FatalError(
                    f"{path} is inside the git repository {top}: pass its top level, {top}",
                    title="not a repository root",
                ) from None
            raise FatalError(
                f"{path} is not a git repository: create one with `engram sync init-repo {path}`",
                title="not a git repository",
            ) from None
        return cls(repo)

    @classmethod
    def init(cls, path: Path, *, branch: str) -> GitRepo:
        """Open `path`, creating an empty repository (HEAD -> `branch`) when there is none."""
        if path.exists() and (path / ".git").exists():
            return cls.open(path)
        _checked_branch_name(git.Git(), branch)  # before the folder is made
        path.mkdir(parents=True, exist_ok=True)
        return cls(git.Repo.init(path, initial_branch=branch))

    def close(self) -> None:
        self._repo.close()

    def __enter__(self) -> GitRepo:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def top_level(self) -> Path:
        return Path(self._repo.working_tree_dir or self._repo.git_dir).resolve()

    @property
    def bare(self) -> bool:
        return self._repo.bare

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Serialise engram runs on one clone (git's own locks cover single refs only)."""
        with file_lock(Path(self._repo.git_dir) / "engram-ci.lock"):
            yield

    # -- per-command environment -----------------------------------------------------------

    def _apply_environment(self) -> None:
        start = int(os.environ.get("GIT_CONFIG_COUNT", "0") or "0")
        env = {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_COUNT": str(start + len(self._config))}
        for offset, (key, value) in enumerate(self._config):
            env[f"GIT_CONFIG_KEY_{start + offset}"] = key
            env[f"GIT_CONFIG_VALUE_{start + offset}"] = value
        self._git.update_environment(**env)
        # persistent cat-file processes keep the environment they started with
        self._git.clear_cache()

    def authorize(self, url: str, token: str) -> None:
        """Send `token` as HTTP basic auth to the host of `url`, for this process's commands."""
        origin = auth_origin(url)
        if origin is None:
            return
        register_secret(token)
        key = f"http.{origin}.extraheader"
        # an empty value first resets headers persisted by e.g. actions/checkout
        self._config += [(key, ""), (key, _basic_auth_header(token))]
        self._apply_environment()

    def _run(self, *args: str, timeout: float | None = None) -> str:
        return str(self._git.execute(["git", *args], kill_after_timeout=timeout))

    def _try(self, *args: str) -> tuple[int, str, str]:
        status, out, err = self._git.execute(
            ["git", *args], with_extended_output=True, with_exceptions=False
        )
        return int(status), str(out), str(err)

    def _run_input(self, args: Sequence[str], data: bytes) -> str:
        with tempfile.TemporaryFile() as stdin:
            stdin.write(data)
            stdin.seek(0)
            return str(self._git.execute(["git", *args], istream=stdin))

    # -- refs ------------------------------------------------------------------------------

    def current_branch(self) -> str | None:
        """The branch HEAD names (even an unborn one), or None when HEAD is detached."""
        status, out, _ = self._try("symbolic-ref", "-q", "--short", "HEAD")
        return out.strip() if status == 0 and out.strip() else None

    def resolve(self, rev: str) -> str | None:
        status, out, _ = self._try(
            "rev-parse", "-q", "--verify", "--end-of-options", rev + "^{commit}"
        )
        return out.strip() if status == 0 and out.strip() else None

    def branch_tip(self, branch: str) -> str | None:
        return self.resolve(f"refs/heads/{branch}")

    def head_commit(self) -> str | None:
        return self.resolve("HEAD")

    def branches(self) -> list[str]:
        out = self._run("for-each-ref", "--format=%(refname:short)", "refs/heads")
        return [line for line in out.splitlines() if line]

    def check_branch_name(self, name: str) -> str:
        return _checked_branch_name(self._git, name)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        status, _, _ = self._try("merge-base", "--is-ancestor", ancestor, descendant)
        return status == 0

    def merge_base(self, a: str, b: str) -> str | None:
        status, out, _ = self._try("merge-base", a, b)
        return out.strip() if status == 0 and out.strip() else None

    def log(self, rev: str, path: str, *, limit: int = 500) -> list[tuple[str, str, str]]:
        """(commit, ISO date, author) of `rev`'s commits that touched `path`, newest first."""
        status, out, _ = self._try(
            "log", f"--max-count={limit}", "--format=%H%x09%cI%x09%an", rev, "--", path
        )
        rows = [line.split("\t", 2) for line in out.splitlines()] if status == 0 else []
        return [(r[0], r[1], r[2]) for r in rows if len(r) == 3]

    def tree_of(self, commit: str | None) -> str:
        return self._run("rev-parse", f"{commit}^{{tree}}") if commit else EMPTY_TREE

    def update_branch(self, branch: str, new: str, old: str | None, reason: str) -> None:
        """Move refs/heads/`branch` from `old` (None: must not exist) to `new`, or RefMoved."""
        status, _, err = self._try(
            "update-ref", "-m", reason, f"refs/heads/{branch}", new, old or ZERO_SHA
        )
        if status != 0:
            raise RefMoved(err.strip())

    # -- objects ---------------------------------------------------------------------------

    def read_tree(self, tree: str) -> list[Entry]:
        data = self._repo.odb.stream(bytes.fromhex(tree)).read()
        return [Entry(name, mode, sha.hex()) for sha, mode, name in tree_entries_from_data(data)]

    def subtree(self, commit: str | None, name: str) -> Entry | None:
        """The root-level entry `name` of `commit` (whatever kind it is), or None."""
        if commit is None:
            return None
        return next((e for e in self.read_tree(self.tree_of(commit)) if e.name == name), None)

    def blob_size(self, sha: str) -> int:
        """The object's size in bytes, read from its header (its content is not loaded)."""
        return int(self._repo.odb.info(bytes.fromhex(sha)).size)

    def read_blob(self, sha: str) -> bytes:
        return bytes(self._repo.odb.stream(bytes.fromhex(sha)).read())

    def write_blobs(self, contents: Sequence[bytes]) -> list[str]:
        """Store blobs in one `git hash-object` run (no filters: the bytes are the content)."""
        if not contents:
            return []
        with tempfile.TemporaryDirectory(prefix="engram-blobs-") as tmp:
            paths = []
            for index, data in enumerate(contents):
                path = Path(tmp) / str(index)
                path.write_bytes(data)
                paths.append(str(path))
            out = self._run("hash-object", "-w", "--no-filters", "--", *paths)
        return out.split()

    def write_tree(self, entries: Sequence[Entry]) -> str:
        kinds = {MODE_TREE: "tree", MODE_SUBMODULE: "commit"}
        lines = b"".join(
            f"{e.mode:06o} {kinds.get(e.mode, 'blob')} {e.sha}\t{e.name}\0".encode()
            for e in entries
        )
        # --missing: entries we carry over may be blobs a partial clone never fetched
        return self._run_input(["mktree", "-z", "--missing"], lines).strip()

    def commit_tree(self, tree: str, parents: Sequence[str], message: str) -> str:
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        with self._git.custom_environment(**self._identity_fallback()):
            return self._run_input([*args, "-F", "-"], message.encode()).strip()

    def _identity_fallback(self) -> dict[str, str]:
        """Commit as engram-ci when git has no identity (CI containers) rather than fail."""
        env: dict[str, str] = {}
        for role in ("AUTHOR", "COMMITTER"):
            for part, key, fallback in (
                ("NAME", "user.name", FALLBACK_NAME),
                ("EMAIL", "user.email", FALLBACK_EMAIL),
            ):
                configured = os.environ.get(f"GIT_{role}_{part}") or self.config_get(key)
                if part == "EMAIL":
                    configured = configured or os.environ.get("EMAIL")
                if not configured:
                    env[f"GIT_{role}_{part}"] = fallback
        return env

    # -- config ----------------------------------------------------------------------------

    def config_get(self, key: str) -> str | None:
        status, out, _ = self._try("config", "--get", key)
        return out.strip() if status == 0 else None

    def config_set_local(self, key: str, value: str) -> None:
        self._run("config", "--local", key, value)

    def config_unset_local(self, key: str) -> None:
        self._try("config", "--local", "--unset-all", key)

    def try_config_set_local(self, key: str, value: str) -> bool:
        """Like config_set_local, but False (not an exception) when .git/config is read-only."""
        status, _, _ = self._try("config", "--local", key, value)
        return status == 0

    # -- work tree -------------------------------------------------------------------------

    def move_work_tree(self, old_tree: str, new_tree: str) -> None:
        """Carry the index and work tree from `old_tree` to `new_tree` like a fast-forward:
        git's two-tree `read-tree -m -u` touches only changed paths and refuses to overwrite
        uncommitted edits (a FatalError naming them)."""
        self._try("update-index", "-q", "--refresh")
        status, _, err = self._try("read-tree", "-m", "-u", old_tree, new_tree)
        if status != 0:
            paths = re.findall(r"^\s+(\S.*)$", err, re.MULTILINE) or re.findall(r"'([^']+)'", err)
            where = ", ".join(paths[:5]) or "the work tree"
            raise FatalError(
                f"uncommitted changes in {where} would be overwritten in {self.top_level}: "
                "commit or stash them, then run the command again",
                title="uncommitted changes",
            )

    def advance_branch(
        self, branch: str, old: str | None, new: str, reason: str, *, sync_work_tree: bool
    ) -> None:
        """Move `branch` old -> new; when it is checked out, carry the index and work tree
        along (move_work_tree)."""
        if not sync_work_tree or self.bare:
            self.update_branch(branch, new, old, reason)
            return
        self.move_work_tree(self.tree_of(old), new)
        try:
            self.update_branch(branch, new, old, reason)
        except RefMoved:
            self._try("read-tree", "-m", "-u", new, self.tree_of(old))
            raise

    # -- remotes ---------------------------------------------------------------------------

    def remote_url(self, remote: str) -> str | None:
        return self.config_get(f"remote.{remote}.url")

    def upstream_of(self, branch: str) -> tuple[str | None, str]:
        """(remote name configured for `branch` or None, the remote's branch name)."""
        merge = self.config_get(f"branch.{branch}.merge") or f"refs/heads/{branch}"
        return self.config_get(f"branch.{branch}.remote"), merge.removeprefix("refs/heads/")

    def remote_default_branch(self, remote: str) -> str | None:
        """The branch the remote's HEAD names (its default: main, master, ...) as recorded
        in refs/remotes/<remote>/HEAD (by clone, or `git remote set-head <remote> -a`), or
        None. Offline: asking the remote would need credentials before we know the branch."""
        status, out, _ = self._try("symbolic-ref", "-q", f"refs/remotes/{remote}/HEAD")
        if status == 0 and out.strip():
            return out.strip().removeprefix(f"refs/remotes/{remote}/")
        return None

    def fetch_branch(self, remote: str, branch: str) -> str | None:
        """Fetch `branch` from `remote` into refs/remotes/<remote>/<branch>; its tip or None."""
        tracking = f"refs/remotes/{remote}/{branch}"
        status, _, err = self._network(
            "fetch", "--no-tags", "--quiet", remote, f"+refs/heads/{branch}:{tracking}"
        )
        if status != 0:
            if "couldn't find remote ref" in err:
                return None
            self._network_failure(remote, "fetch from", err)
        return self.resolve(tracking)

    def push(self, remote: str, commit: str, branch: str) -> None:
        """Push `commit` to `branch` on `remote` — never forced. PushRejected when refused.

        A refused ref is not an error to git's caller (GitPython's Remote.push returns flags
        and cannot parse a raw commit id as the source), so read `--porcelain` ourselves:
        one line per ref, `!` = rejected, and the ref must be listed to count as pushed.
        """
        target = f"refs/heads/{branch}"
        status, out, err = self._network("push", "--porcelain", remote, f"{commit}:{target}")
        lines = [line.split("\t") for line in out.splitlines() if "\t" in line]
        ours = [fields for fields in lines if fields[1].endswith(f":{target}")]
        if status == 0 and ours and all(fields[0] in (" ", "*", "=") for fields in ours):
            self._try("update-ref", f"refs/remotes/{remote}/{branch}", commit)
            return
        if not ours:
            if _AUTH_FAILURE.search(err):
                raise AuthFailed(public_url(self.remote_url(remote) or remote))
            if "rejected" not in err and "lock" not in err:
                self._network_failure(remote, "push to", err)
        reason = " ".join(fields[-1] for fields in ours) or (err.strip().splitlines() or ["?"])[-1]
        raise PushRejected(mask(reason))

    def _network(self, *args: str) -> tuple[int, str, str]:
        """A fetch or push, killed at its overall deadline (a remote that trickles bytes
        would otherwise hold the run, and its locks, for ever)."""
        default, low, high = NETWORK_DEADLINE
        deadline = seconds_from_env("ENGRAM_GIT_DEADLINE_SECONDS", default, low=low, high=high)
        status, out, err = self._git.execute(
            ["git", *args],
            with_extended_output=True,
            with_exceptions=False,
            kill_after_timeout=deadline,
        )
        if "did not complete in" in str(err):  # GitPython's words for a killed command
            raise FatalError(
                f"git {args[0]} did not finish within {deadline:.0f}s (a stalled or very slow "
                "remote); nothing was changed locally — try again later "
                "(ENGRAM_GIT_DEADLINE_SECONDS sets the limit)",
                title="git remote too slow",
            )
        return int(status), str(out), str(err)

    def _network_failure(self, remote: str, action: str, stderr: str) -> NoReturn:
        url = public_url(self.remote_url(remote) or remote)
        if _AUTH_FAILURE.search(stderr):
            raise AuthFailed(url)
        moved = _REDIRECTED.search(stderr)
        if moved:
            raise FatalError(
                f"could not {action} {remote} ({url}): it answers with a redirect (HTTP "
                f"{moved.group(1)}), which engram does not follow with your token — set the "
                f"repository's current URL with `git -C {self.top_level} remote set-url "
                f"{remote} URL`",
                title="git remote redirects",
            )
        raise FatalError(
            f"could not {action} {remote} ({url}): {mask(_what_git_said(stderr))} — check the "
            f"remote URL with `git -C {self.top_level} remote -v` and your network",
            title="git remote failed",
        )


def _what_git_said(stderr: str) -> str:
    """git's reason for a failure: its first `fatal:` or `error:` line (what follows is advice,
    "Please make sure you have the correct access rights / and the repository exists."), else
    its last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    reason = next((line for line in lines if line.startswith(("fatal:", "error:"))), None)
    return reason or (lines[-1] if lines else "no reason given")


def _checked_branch_name(runner: git.Git, name: str) -> str:
    """`name` as git spells the branch (`@{-1}` resolved), or a FatalError naming it."""
    status, out, _ = runner.execute(
        ["git", "check-ref-format", "--branch", name],
        with_extended_output=True,
        with_exceptions=False,
    )
    if int(status) != 0 or name.startswith("-"):
        raise FatalError(f"invalid branch name {name!r}: use a name git accepts, e.g. agent-a")
    return str(out).strip()
