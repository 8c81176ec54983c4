"""`engram sync push|pull|clone|list|history`: knowledge through a secret GitHub gist.

Human lines by default, `--json` for scripts. The token comes from GITHUB_TOKEN, GH_TOKEN or
`gh auth token`; the API from GITHUB_API_URL (GitHub Enterprise Server, Actions).
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import TYPE_CHECKING

from engram_ci.cli.common import layout_from, print_json
from engram_ci.sync import crypto

if TYPE_CHECKING:
    from engram_ci.cli.common import Subparsers
    from engram_ci.sync import gistsync


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    push = subparsers.add_parser(
        "push",
        parents=[common],
        help="push a project's knowledge to its secret gist (only what changed)",
        description="Merge the gist into the project at block level, then upload the files "
        "that differ. Without --gist-id the project's gist is reused, or created.",
    )
    push.add_argument("project")
    push.add_argument(
        "--gist-id", metavar="ID", help="the gist to push to (default: the project's)"
    )
    push.add_argument("--description", metavar="D", help="description of a new gist")
    push.add_argument("--json", action="store_true", help="print the result as JSON")
    crypto.add_cli_options(push)
    push.set_defaults(handler=run_push)

    pull = subparsers.add_parser(
        "pull",
        parents=[common],
        help="pull a gist into a project (block-level merge)",
        description="ID is a gist id, or a version sha of the project's remembered gist.",
    )
    pull.add_argument("project")
    pull.add_argument("gist_id", metavar="ID")
    pull.add_argument("--force", action="store_true", help="replace local files instead of merging")
    pull.add_argument("--version", metavar="SHA", help="pull this version of the gist")
    pull.add_argument("--json", action="store_true", help="print the result as JSON")
    crypto.add_cli_options(pull)
    pull.set_defaults(handler=run_pull)

    clone = subparsers.add_parser("clone", parents=[common], help="pull a gist into a new project")
    clone.add_argument("gist_id", metavar="ID")
    clone.add_argument("new_project", metavar="NEW")
    clone.add_argument("--version", metavar="SHA", help="clone this version of the gist")
    clone.add_argument("--json", action="store_true", help="print the result as JSON")
    crypto.add_cli_options(clone)
    clone.set_defaults(handler=run_clone)

    listing = subparsers.add_parser("list", parents=[common], help="your gists for a project")
    listing.add_argument("project")
    listing.add_argument("--json", action="store_true", help="print the gists as JSON")
    listing.set_defaults(handler=run_list)

    hist = subparsers.add_parser("history", parents=[common], help="versions of a gist")
    hist.add_argument("gist_id", metavar="ID")
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
        cipher=crypto.cipher_from_args(args),
    )
    if args.json:
        print_json(asdict(result))
        return 0
    verb = "created" if result.created else ("updated" if result.changed else "unchanged")
    print(f"gist {result.gist_id} {verb}: {result.url}")
    if result.changed:
        print(
            f"files: {', '.join(result.files_synced)}; blocks +{result.blocks_added} "
            f"-{result.blocks_removed}; revision {result.revision[:12]}"
        )
    else:
        print("nothing new to push (no revision made)")
    if result.secrets_redacted:
        print(f"secrets redacted before upload: {result.secrets_redacted}")
    print(f"pull it elsewhere with: engram sync pull {args.project} {result.gist_id}")
    return 0


def _print_pull(result: gistsync.GistPullResult, project: str) -> None:
    if result.changed:
        print(
            f"pulled gist {result.gist_id} into {project}: {', '.join(result.files_synced)}; "
            f"blocks +{result.blocks_added} -{result.blocks_removed}"
        )
    else:
        print(f"{project} already holds everything in gist {result.gist_id}")


def run_pull(args: argparse.Namespace) -> int:
    from engram_ci.sync import gistsync  # PyGithub loads only when a gist command runs

    result = gistsync.pull(
        layout_from(args).root,
        args.project,
        args.gist_id,
        force=args.force,
        version=args.version,
        cipher=crypto.cipher_from_args(args, pulling=True),
    )
    if args.json:
        print_json(asdict(result))
    else:
        _print_pull(result, args.project)
    return 0


def run_clone(args: argparse.Namespace) -> int:
    from engram_ci.sync import gistsync  # PyGithub loads only when a gist command runs

    result = gistsync.clone(
        layout_from(args).root,
        args.gist_id,
        args.new_project,
        version=args.version,
        cipher=crypto.cipher_from_args(args, pulling=True),
    )
    if args.json:
        print_json(asdict(result))
    else:
        _print_pull(result, args.new_project)
    return 0


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

    result = gistsync.history(args.gist_id, version=args.version)
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
