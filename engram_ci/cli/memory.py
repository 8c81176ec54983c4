"""`engram projects`, `engram recall P`, `engram export P FORMAT`: reading the memory dir."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from engram_ci import export
from engram_ci.cli.common import layout_from, print_json
from engram_ci.memory.fsutil import atomic_write_text
from engram_ci.options import add_option

if TYPE_CHECKING:
    from engram_ci.cli.common import Subparsers

__all__ = ["register"]


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    projects = subparsers.add_parser(
        "projects",
        parents=[common],
        help="list projects with their sessions, knowledge blocks and last activity",
    )
    projects.add_argument("--json", action="store_true", help="print a JSON list")
    projects.set_defaults(handler=run_projects)

    recall = subparsers.add_parser(
        "recall", parents=[common], help="print a project's context (context.md) to stdout"
    )
    recall.add_argument("project", metavar="P", help="the project whose context to print")
    recall.add_argument(
        "--into",
        metavar="FILE",
        type=Path,
        help="write it into a marked section of FILE (e.g. CLAUDE.md), replaced on each run",
    )
    add_option(recall, "budget")
    recall.set_defaults(handler=run_recall)

    exporter = subparsers.add_parser(
        "export", parents=[common], help="export a project's memory as json, markdown or html"
    )
    exporter.add_argument("project", metavar="P", help="the project to export")
    exporter.add_argument(
        "format",
        choices=export.FORMATS,
        metavar="{json,markdown,html}",
        help="json (data, `engram import` reads it back), markdown or html (a page)",
    )
    exporter.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout"
    )
    exporter.add_argument(
        "--no-redact",
        action="store_true",
        help="keep secrets in the export (default: redacted, like every sync upload)",
    )
    exporter.set_defaults(handler=run_export)


def run_projects(args: argparse.Namespace) -> int:
    layout = layout_from(args)
    summaries = export.summarize_projects(layout)
    if args.json:
        print_json([s.to_json() for s in summaries])
        return 0
    if not summaries:
        print(f"no projects in {layout.root}: run `engram ingest` first", file=sys.stderr)
        return 0
    width = max(len(s.name) for s in summaries)
    for s in summaries:
        agents = ", ".join(f"{agent} {count}" for agent, count in s.agents)
        print(
            f"{s.name:<{width}}  {s.sessions:>5} sessions  {s.blocks:>5} blocks  "
            f"last {s.last_activity or '-'}" + (f"  ({agents})" if agents else "")
        )
    return 0


def run_recall(args: argparse.Namespace) -> int:
    if args.into is None:
        sys.stdout.write(export.recall(layout_from(args), args.project, budget=args.budget))
        return 0
    # the agent's next run reads CLAUDE.md: same section the action's pull modes write
    from engram_ci.action import claudemd

    layout = layout_from(args)
    export.recall(layout, args.project)  # unknown project: the same one-line error as recall
    changed = claudemd.write_context(
        layout, args.project, args.into.expanduser(), budget=args.budget
    )
    print(f"{'updated' if changed else 'unchanged'} {args.into}", file=sys.stderr)
    return 0


def run_export(args: argparse.Namespace) -> int:
    collected = export.collect(layout_from(args), args.project, redact=not args.no_redact)
    text = export.render(collected, args.format)
    if args.output:
        atomic_write_text(Path(args.output).expanduser(), text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
