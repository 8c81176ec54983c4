"""`engram add`, `forget`, `search`, `status`: memory the user reads and edits by hand.

The library functions live in engram_ci/memory/ (notes.py, search.py, status.py) so the
Action can call them too; this module only parses options and words the results.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from engram_ci.cli.common import layout_from, print_json
from engram_ci.knowledge.blocks import KNOWLEDGE_CATEGORIES
from engram_ci.memory import notes

if TYPE_CHECKING:
    from engram_ci.cli.common import Subparsers

__all__ = ["register"]

_PROJECT_HELP = "project name (as `engram projects` lists it)"


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    add = subparsers.add_parser(
        "add",
        parents=[common],
        help="add a note to a project's knowledge (and its context.md)",
        description="Write TEXT as a new block of a knowledge file; context.md is regenerated. "
        "Works in CI: the project need not exist yet.",
    )
    add.add_argument("project", metavar="P", help=_PROJECT_HELP)
    add.add_argument("text", metavar="TEXT", help="the note, e.g. 'tests run with uv run pytest'")
    add.add_argument(
        "--category",
        default=notes.DEFAULT_CATEGORY,
        choices=KNOWLEDGE_CATEGORIES,
        metavar="C",
        help=f"knowledge file to add it to: {', '.join(KNOWLEDGE_CATEGORIES)} "
        f"(default {notes.DEFAULT_CATEGORY})",
    )
    add.add_argument(
        "--ttl",
        metavar="DURATION",
        help="drop it from context and uploads after DURATION (30m, 12h, 7d, 2w)",
    )
    add.add_argument("--json", action="store_true", help="print the new block's id as JSON")
    add.set_defaults(handler=run_add)

    forget = subparsers.add_parser(
        "forget",
        parents=[common],
        help="forget blocks for good: tombstones that every merge, gist and repo keep",
        description="Replace the matching blocks with tombstones, so no sync brings them back.",
    )
    forget.add_argument("project", metavar="P", help=_PROJECT_HELP)
    forget.add_argument(
        "session",
        metavar="SESSION",
        nargs="?",
        help="the session id whose blocks to forget (`engram search` shows ids)",
    )
    forget.add_argument(
        "--match",
        metavar="TEXT",
        help="instead of a SESSION, forget every block containing TEXT (case-insensitive)",
    )
    forget.add_argument(
        "--dry-run", action="store_true", help="list what would be forgotten, change nothing"
    )
    forget.add_argument("--json", action="store_true", help="print the result as JSON")
    forget.set_defaults(handler=run_forget)

    finder = subparsers.add_parser(
        "search",
        parents=[common],
        help="find a project's knowledge blocks that mention some words, best first",
    )
    finder.add_argument("project", metavar="P", help=_PROJECT_HELP)
    finder.add_argument("query", metavar="QUERY", help="words to look for, e.g. 'pytest fixture'")
    finder.add_argument(
        "--limit", type=int, default=20, metavar="N", help="show at most N blocks (default 20)"
    )
    finder.add_argument("--json", action="store_true", help="print a JSON list")
    finder.set_defaults(handler=run_search)

    status = subparsers.add_parser(
        "status",
        parents=[common],
        help="projects, sizes, expired blocks and the last sync with each remote",
    )
    status.add_argument("--json", action="store_true", help="print a JSON object")
    status.set_defaults(handler=run_status)


def run_add(args: argparse.Namespace) -> int:
    added = notes.add_note(
        layout_from(args).root, args.project, args.text, category=args.category, ttl=args.ttl
    )
    if args.json:
        print_json(added.to_json())
    else:
        ttl = f", expires after {added.ttl}" if added.ttl else ""
        print(f"added {added.session_id} to {added.project}/{added.category}.md{ttl}")
    return 0


def run_forget(args: argparse.Namespace) -> int:
    result = notes.forget(
        layout_from(args).root,
        args.project,
        session_id=args.session,
        match=args.match,
        dry_run=args.dry_run,
    )
    if args.json:
        print_json(result.to_json())
        return 0
    verb = "would forget" if result.dry_run else "forgot"
    print(f"{verb} {len(result.blocks)} block(s) of {result.project}")
    for category, session_id in result.blocks:
        print(f"  {category}: {session_id}")
    if result.already:
        print(f"{result.already} matching block(s) were forgotten already")
    return 0


def run_search(args: argparse.Namespace) -> int:
    from engram_ci.memory.search import search

    hits = search(layout_from(args), args.project, args.query, limit=args.limit)
    if args.json:
        print_json([h.to_json() for h in hits])
        return 0
    if not hits:
        print(f"no block of {args.project} mentions {args.query!r}", file=sys.stderr)
        return 0
    for hit in hits:
        flag = " [expired]" if hit.expired else ""
        print(f"{hit.category}  {hit.session_id}  ({hit.timestamp}){flag}")
        for line in hit.lines:
            print(f"    {line}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    from engram_ci.memory.status import memory_status

    status = memory_status(layout_from(args))
    if args.json:
        print_json(status.to_json())
        return 0
    print(f"memory: {status.memory_dir}")
    if not status.projects:
        print("no projects yet: run `engram ingest` or `engram add P TEXT`")
        return 0
    for p in status.projects:
        size = sum(p.sizes.values())
        expired = f", {p.expired} expired" if p.expired else ""
        forgotten = f", {p.forgotten} forgotten" if p.forgotten else ""
        print(
            f"{p.project}: {p.sessions} session(s), {p.blocks} block(s){expired}{forgotten}, "
            f"{_human(size)}, last activity {p.last_activity or '-'}"
        )
        for sync in p.syncs:
            print(f"  last {sync.kind} sync {sync.at}  {sync.target}")
        if not p.syncs:
            print("  never synced")
    return 0


def _human(size: int) -> str:
    amount = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")
