"""`engram sync push-s3|pull-s3|history-s3`: knowledge in an S3 or S3-compatible bucket.

Credentials, region and endpoint come from the standard AWS environment (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN or AWS_PROFILE; AWS_REGION; AWS_ENDPOINT_URL for
MinIO, R2 and other S3-compatible servers). Needs the extra: pip install 'engram-ci[s3]'.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import TYPE_CHECKING

from engram_ci.cli.common import add_pull_options, add_sync_options, layout_from, print_json
from engram_ci.sync import crypto

if TYPE_CHECKING:
    from engram_ci.cli.common import Subparsers

__all__ = ["register"]

LOCATION_HELP = "where the knowledge lives: s3://BUCKET or s3://BUCKET/PREFIX"


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    push = subparsers.add_parser(
        "push-s3",
        parents=[common],
        help="push a project's knowledge to an S3 bucket (conditional write, merging)",
        description="Merge the bucket's copy into the project at block level, then write it "
        "back with one conditional PUT (If-Match), retrying when another writer got there first.",
    )
    push.add_argument("project", help="the project to push")
    push.add_argument("url", metavar="S3_URL", help=LOCATION_HELP)
    add_sync_options(push, adopt="take over another project's place")
    push.set_defaults(handler=run_push)

    pull = subparsers.add_parser(
        "pull-s3",
        parents=[common],
        help="pull a project's knowledge from an S3 bucket (block-level merge)",
        description="Merge the bucket's copy into local memory. With --version, restore that "
        "version instead: the next push-s3 makes the bucket equal to it.",
    )
    pull.add_argument("project", help="the project to pull into")
    pull.add_argument("url", metavar="S3_URL", help=LOCATION_HELP)
    add_pull_options(
        pull,
        version="restore this version (>= 7 hex characters of its ETag)",
        metavar="V",
        adopt="take another project's knowledge",
    )
    pull.set_defaults(handler=run_pull)

    hist = subparsers.add_parser(
        "history-s3", parents=[common], help="versions of a project in an S3 bucket"
    )
    hist.add_argument("project", help="the project whose versions to list")
    hist.add_argument("url", metavar="S3_URL", help=LOCATION_HELP)
    hist.add_argument("--json", action="store_true", help="print the versions as JSON")
    hist.set_defaults(handler=run_history)


def run_push(args: argparse.Namespace) -> int:
    from engram_ci.sync import s3sync  # boto3 loads only when an S3 command runs

    keys = crypto.encryption_from_args(args, pulling=False)  # the policy the Action uses
    result = s3sync.push(
        layout_from(args).root,
        args.project,
        args.url,
        cipher=keys.cipher,
        encrypt=keys.encrypt,
        adopt=args.adopt,
        budget=args.budget,
    )
    if args.json:
        print_json(asdict(result))
        return 0
    verb = "created" if result.created else ("updated" if result.changed else "unchanged")
    print(f"{args.url} {verb} for {args.project}: version {result.version}")
    if result.changed:
        print(f"blocks +{result.blocks_added} -{result.blocks_removed}")
    else:
        print("nothing new to push (no write made)")
    if result.secrets_redacted:
        print(f"secrets redacted before upload: {result.secrets_redacted}")
    print(f"pull it elsewhere with: engram sync pull-s3 {args.project} {args.url}")
    return 0


def run_pull(args: argparse.Namespace) -> int:
    from engram_ci.sync import s3sync  # boto3 loads only when an S3 command runs

    result = s3sync.pull(
        layout_from(args).root,
        args.project,
        args.url,
        force=args.force,
        version=args.version,
        cipher=crypto.encryption_from_args(args, pulling=True).cipher,
        adopt=args.adopt,
        budget=args.budget,
    )
    if args.json:
        print_json(asdict(result))
        return 0
    if result.restored:
        print(f"restored version {result.restored} of {args.url} into {args.project}")
    elif result.changed:
        print(
            f"pulled {args.url} into {args.project}: {', '.join(result.files)}; "
            f"blocks +{result.blocks_added} -{result.blocks_removed}"
        )
    else:
        print(f"{args.project} already holds everything in {args.url}")
    return 0


def run_history(args: argparse.Namespace) -> int:
    from engram_ci.sync import s3sync  # boto3 loads only when an S3 command runs

    versions = s3sync.history(args.project, args.url)
    if args.json:
        print_json([asdict(v) for v in versions])
        return 0
    for v in versions:
        print(f"{v.version}  {v.committed_at}")
    return 0
