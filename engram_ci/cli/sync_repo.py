"""`engram sync init-repo | push-repo | pull-repo | merge` and git's `merge-driver` hook.

The sync modules are imported inside the handlers: GitPython costs ~0.1 s to import, and
git starts the merge driver once per conflicting file.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from engram_ci.cli.common import (
    add_pull_options,
    add_sync_options,
    print_json,
    read_token_option,
)
from engram_ci.memory.paths import resolve_memory_dir
from engram_ci.options import add_option
from engram_ci.sync import crypto

if TYPE_CHECKING:
    from engram_ci.cli.common import Subparsers

__all__ = ["register"]

ADOPT_HELP = "use a project folder whose metadata.json names another project"


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    init = subparsers.add_parser(
        "init-repo",
        parents=[common],
        help="create a knowledge repo, or add what a clone is missing (merge driver, files)",
    )
    init.add_argument("path", type=Path, metavar="PATH", help="the repo (created when missing)")
    add_option(
        init, "branch", help="branch of a new repo (default: git's init.defaultBranch, else main)"
    )
    init.set_defaults(handler=_init)

    push = subparsers.add_parser(
        "push-repo", parents=[common], help="merge a project's knowledge into a git repo, commit"
    )
    _project_and_path(push)
    add_option(push, "message", "-m")
    add_option(
        push,
        "branch",
        help="branch to write (default: the current branch, else the remote's default)",
    )
    add_option(push, "push-remote")
    push.add_argument(
        "--attempts", type=int, default=None, help="push tries before giving up (default: 12)"
    )
    _remote_options(push)
    add_sync_options(push, adopt=ADOPT_HELP)
    push.set_defaults(handler=_push)

    pull = subparsers.add_parser(
        "pull-repo", parents=[common], help="merge a project from a git repo into local memory"
    )
    _project_and_path(pull)
    add_option(
        pull,
        "branch",
        help="branch to read (default: the current branch, else the remote's default); "
        "one that does not exist yet is a notice, not an error",
    )
    add_option(pull, "fetch-remote")
    add_pull_options(
        pull,
        version="restore the project as it was at this commit (7+ hex characters); the next "
        "push-repo makes the branch equal to it",
        metavar="COMMIT",
        adopt=ADOPT_HELP,
    )
    _remote_options(pull)
    pull.set_defaults(handler=_pull)

    merge = subparsers.add_parser(
        "merge",
        parents=[common],
        help="merge branches into the current one at block level, in one commit",
    )
    merge.add_argument("branches", nargs="+", metavar="BRANCH", help="branches to merge in")
    merge.add_argument("--path", type=Path, default=Path("."), help="the repo (default: .)")
    add_option(merge, "message", "-m")
    merge.add_argument("--json", action="store_true", help="print the result as JSON")
    merge.set_defaults(handler=_merge)

    # git's merge driver hook (configured by init-repo); no help= keeps it out of --help
    driver = subparsers.add_parser("merge-driver", parents=[common])
    for name, what in (
        ("base", "the common ancestor's version (git's %%O)"),
        ("ours", "our version, which receives the result (%%A)"),
        ("theirs", "their version (%%B)"),
    ):
        driver.add_argument(name, type=Path, help=what)
    driver.add_argument("pathname", help="the file's path in the repository (%%P)")
    driver.set_defaults(handler=_driver)


def _project_and_path(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", metavar="PROJECT", help="the project to sync")
    parser.add_argument("path", type=Path, metavar="PATH", help="the knowledge repo")


def _remote_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--remote", help="remote name (default: the branch's, else origin)")
    add_option(parser, "token")


def _memory(args: argparse.Namespace) -> Path:
    return resolve_memory_dir(getattr(args, "memory_dir", None))


def _init(args: argparse.Namespace) -> int:
    from engram_ci.sync import reposync

    sha = reposync.init_repo(args.path, branch=args.branch)
    if sha:
        print(sha)
    return 0


def _push(args: argparse.Namespace) -> int:
    from engram_ci.sync import reposync

    keys = crypto.encryption_from_args(args, pulling=False)
    result = reposync.push_repo(
        _memory(args),
        args.project,
        args.path,
        branch=args.branch,
        message=args.message,
        push_remote=args.push_remote,
        token=read_token_option(args.token),
        remote=args.remote,
        attempts=args.attempts or reposync.PUSH_ATTEMPTS,
        cipher=keys.cipher,
        encrypt=keys.encrypt,
        adopt=args.adopt,
        budget=args.budget,
    )
    if args.message and not result.changed:
        print(
            f"engram: nothing new to commit for {args.project}: --message was not used "
            f"({result.branch} stays at {result.commit_sha[:12]})",
            file=sys.stderr,
        )
    if args.json:
        print_json(dataclasses.asdict(result))
    else:
        state = "pushed" if result.pushed else "committed" if result.changed else "unchanged"
        print(
            f"{args.project}: {state} on {result.branch}, +{result.blocks_added} block(s), "
            f"{result.secrets_redacted} secret(s) redacted",
            file=sys.stderr,
        )
        print(result.commit_sha)
    return 0


def _pull(args: argparse.Namespace) -> int:
    from engram_ci.sync import reposync

    result = reposync.pull_repo(
        _memory(args),
        args.project,
        args.path,
        branch=args.branch,
        fetch_remote=args.fetch_remote,
        token=read_token_option(args.token),
        remote=args.remote,
        cipher=crypto.encryption_from_args(args, pulling=True).cipher,
        force=args.force,
        adopt=args.adopt,
        version=args.version,
        budget=args.budget,
    )
    if args.json:
        print_json(result.to_json())
    elif result.notice:
        print(f"engram: {result.worded_notice('cli')}", file=sys.stderr)
    elif result.restored:
        print(
            f"{args.project}: restored as of commit {result.restored}; the next push-repo "
            "makes the branch equal to it"
        )
    else:
        what = ", ".join(result.files_synced) or "nothing new"
        print(f"{args.project}: {what} (+{result.blocks_added} blocks) from {result.commit_sha}")
    return 0


def _merge(args: argparse.Namespace) -> int:
    from engram_ci.sync import reposync

    result = reposync.merge_branches(args.path, args.branches, message=args.message)
    if args.json:
        print_json(dataclasses.asdict(result))
    else:
        print(result.commit_sha)
    return 0


def _driver(args: argparse.Namespace) -> int:
    from engram_ci.sync.repomerge import run_driver

    status = run_driver(args.base, args.ours, args.theirs, args.pathname)
    if status:
        print(f"engram: {args.pathname}: changed on both sides, merge it by hand", file=sys.stderr)
    return status
