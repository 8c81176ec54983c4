"""`engram sync push|pull|restore|clone|list|history`: knowledge through a secret GitHub gist.

Human lines by default, `--json` for scripts. The token comes from GITHUB_TOKEN, GH_TOKEN or
`gh auth token`; the API from GITHUB_API_URL (GitHub Enterprise Server, Actions).
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from engram_ci.cli.common import (
    add_pull_options,
    add_sync_options,
    layout_from,
    print_json,
)
from engram_ci.errors import FatalError
from engram_ci.options import add_option
from engram_ci.sync import crypto

if TYPE_CHECKING:
    from engram_ci.cli.common import Subparsers
    from engram_ci.sync import gistsync

__all__ = ["register"]

ADOPT_HELP = "use a gist whose metadata names another project (it becomes this project's)"


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    push = subparsers.add_parser(
        "push",
        parents=[common],
        help="push a project's knowledge to its secret gist (only what changed)",
        description="Merge the gist into the project at block level, then upload the files "
        "that differ. Without --gist-id the project's gist is reused, or created.",
    )
    push.add_argument("project", help="the project whose knowledge to push")
    add_option(push, "gist-id", help="the gist to push to (default: the project's)")
    add_option(push, "description")
    add_sync_options(push, adopt=ADOPT_HELP)
    push.set_defaults(handler=run_push)

    pull = subparsers.add_parser(
        "pull",
        parents=[common],
        help="pull a gist into a project (block-level merge)",
        description="ID is a gist id, or a version of the project's remembered gist (7+ hex "
        "characters): pulling a version restores it, and the next push makes the gist equal "
        "to it.",
    )
    pull.add_argument("project", help="the project to pull into")
    pull.add_argument(
        "gist_id",
        metavar="ID",
        nargs="?",
        help="a gist id, or a version of the project's gist (default: the gist the project "
        "last synced with, else your newest gist holding it — as the Action finds it)",
    )
    add_pull_options(
        pull, version="restore this version of the gist", metavar="SHA", adopt=ADOPT_HELP
    )
    pull.set_defaults(handler=run_pull)

    restore = subparsers.add_parser(
        "restore",
        parents=[common],
        help="restore a version of a project's gist; the next push makes the gist equal to it",
        description="Local knowledge becomes that version; blocks added since become "
        "tombstones, so the next push removes them from the gist instead of merging them back.",
    )
    restore.add_argument("project", help="the project to restore")
    restore.add_argument("version", metavar="VERSION", help="a version (7+ hex characters)")
    add_option(restore, "gist-id")
    add_sync_options(restore, adopt=ADOPT_HELP)
    restore.set_defaults(handler=run_restore)

    clone = subparsers.add_parser(
        "clone",
        parents=[common],
        help="copy a gist into a new, independent project (its first push makes its own gist)",
    )
    clone.add_argument("gist_id", metavar="ID", help="the gist to copy")
    clone.add_argument("new_project", metavar="NEW", help="the new project's name")
    add_option(clone, "version", metavar="SHA", help="clone this version of the gist")
    add_sync_options(clone, adopt=None)
    clone.set_defaults(handler=run_clone)

    listing = subparsers.add_parser("list", parents=[common], help="your gists for a project")
    listing.add_argument("project", help="the project to look for")
    listing.add_argument("--json", action="store_true", help="print the gists as JSON")
    listing.set_defaults(handler=run_list)

    hist = subparsers.add_parser("history", parents=[common], help="versions of a gist")
    hist.add_argument("gist_id", metavar="ID", help="the gist")
    hist.add_argument("--version", metavar="V", help="show that version's files and sizes")
    hist.add_argument("--json", action="store_true", help="print the history as JSON")
    hist.set_defaults(handler=run_history)


def run_push(args: argparse.Namespace) -> int:
    from engram_ci.sync import gistsync  # PyGithub loads only when a gist command runs

    result = gistsync.push(
        layout_from(args).root,
        args.project,
        gist_id=args.gist_id,
        description=args.description,
        adopt=args.adopt,
        **_keys(args, pulling=False),
    )
    if args.json:
        print_json(asdict(result))
        return 0
    verb = "created" if result.created else ("updated" if result.changed else "unchanged")
    print(f"gist {result.gist_id} {verb}: {result.url}")
    if result.changed:
        print(
            f"files: {', '.join(result.files_synced)}; blocks +{result.blocks_added} "
            f"-{result.blocks_removed}; revision {result.revision}"
        )
    else:
        print("nothing new to push (no revision made)")
    if result.secrets_redacted:
        print(f"secrets redacted before upload: {result.secrets_redacted}")
    print(f"pull it elsewhere with: engram sync pull {args.project} {result.gist_id}")
    return 0


def _keys(args: argparse.Namespace, *, pulling: bool) -> dict[str, Any]:
    """cipher=, encrypt= (pushes) and budget= for a gistsync call, by the policy the Action
    uses too."""
    chosen = crypto.encryption_from_args(args, pulling=pulling)
    keys = {"cipher": chosen.cipher, "budget": args.budget}
    return keys | ({} if pulling else {"encrypt": chosen.encrypt})


def _print_pull(result: gistsync.GistPullResult, project: str) -> None:
    if result.restored:
        print(
            f"restored version {result.restored} of gist {result.gist_id} into {project}: "
            f"blocks +{result.blocks_added} -{result.blocks_removed}; the next "
            f"`engram sync push {project}` makes the gist equal to it"
        )
    elif result.changed:
        print(
            f"pulled gist {result.gist_id} into {project}: {', '.join(result.files_synced)}; "
            f"blocks +{result.blocks_added} -{result.blocks_removed}"
        )
    else:
        print(f"{project} already holds everything in gist {result.gist_id}")


def run_pull(args: argparse.Namespace) -> int:
    from engram_ci.sync import gistsync  # PyGithub loads only when a gist command runs

    root = layout_from(args).root
    result = gistsync.pull(
        root,
        args.project,
        (args.gist_id and _gist_id(args)) or gistsync.find_gist(root, args.project),
        force=args.force,
        version=args.version,
        adopt=args.adopt,
        **_keys(args, pulling=True),
    )
    return _report_pull(args, result, args.project)


def _report_pull(args: argparse.Namespace, result: gistsync.GistPullResult, project: str) -> int:
    """A pull, clone or restore's result: JSON for --json, else the human lines."""
    if args.json:
        print_json(asdict(result))
    else:
        _print_pull(result, project)
    return 0


def run_clone(args: argparse.Namespace) -> int:
    from engram_ci.sync import gistsync  # PyGithub loads only when a gist command runs

    result = gistsync.clone(
        layout_from(args).root,
        _gist_id(args),
        args.new_project,
        version=args.version,
        **_keys(args, pulling=True),
    )
    return _report_pull(args, result, args.new_project)


def run_restore(args: argparse.Namespace) -> int:
    from engram_ci.sync import gistsync  # PyGithub loads only when a gist command runs

    result = gistsync.restore(
        layout_from(args).root,
        args.project,
        args.version,
        gist_id=args.gist_id,
        adopt=args.adopt,
        **_keys(args, pulling=True),
    )
    return _report_pull(args, result, args.project)


def run_list(args: argparse.Namespace) -> int:
    from engram_ci.sync import gistsync  # PyGithub loads only when a gist command runs

    gists = gistsync.list_gists(args.project)
    if args.json:
        print_json([asdict(g) for g in gists])
        return 0
    if not gists:
        print(f"no gists for {args.project}; create one with `engram sync push {args.project}`")
    for g in gists:
        print(f"{g.id}  {g.updated_at}  {len(g.files)} files  {g.description}  {g.url}")
    return 0


def run_history(args: argparse.Namespace) -> int:
    from engram_ci.sync import gistsync  # PyGithub loads only when a gist command runs

    result = gistsync.history(_gist_id(args), version=args.version)
    if args.json:
        print_json(asdict(result))
        return 0
    for v in result.versions:
        print(f"{v.version}  {v.committed_at}  {v.author or '-'}  +{v.additions} -{v.deletions}")
    if result.version:
        print(f"files in version {result.version}:")
        for name, size in result.files.items():
            print(f"  {name}  {size} bytes")
    return 0


def _gist_id(args: argparse.Namespace) -> str:
    """The ID positional, checked (a gist's URL gives its id). A project's name given for it
    is common enough (`engram sync history my-app`) to get its remembered gist named."""
    from engram_ci.sync import gistsync
    from engram_ci.sync.gist_id import GIST_ID_WANTED, parse_gist_id

    text: str = args.gist_id
    try:
        return parse_gist_id(text)
    except ValueError:
        pass
    try:
        remembered = gistsync.remembered_gist(layout_from(args).root, text)
    except FatalError:  # not a project name either
        remembered = None
    hint = (
        f"{text!r} is a project, and its gist is {remembered}"
        if remembered
        else "`engram sync list PROJECT` lists your gists"
    )
    raise FatalError(f"not a gist id: {text!r}: ID wants {GIST_ID_WANTED}; {hint}")
