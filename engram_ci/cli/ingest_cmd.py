"""`engram ingest`: transcripts into the memory dir, with a closing summary or --json."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from engram_ci.cli.common import print_json
from engram_ci.errors import FatalError
from engram_ci.memory.paths import resolve_memory_dir
from engram_ci.options import add_option, provider_or_none
from engram_ci.progress import Progress
from engram_ci.transcripts.registry import ReaderSpec, all_readers, reader_names

if TYPE_CHECKING:
    from engram_ci.cli.common import Subparsers
    from engram_ci.ingest import IngestOptions

__all__ = ["options_from", "register", "samples_dir"]


def samples_dir() -> Path:
    """The bundled sample transcripts (package data), laid out like ~/.claude/projects."""
    from importlib import resources  # ~10 ms of start-up that only --samples needs

    return Path(str(resources.files("engram_ci") / "samples" / "claude-projects"))


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "ingest",
        parents=[common],
        help="archive agent transcripts and extract knowledge into the memory dir",
        description=(
            "Read coding agents' transcripts (Claude Code, Codex CLI, …: every store found "
            "where the agent keeps it), write engram's memory layout: conversations/, "
            "summaries/ and knowledge/<project>/. Unchanged transcripts are skipped; "
            "re-ingesting a session replaces its knowledge blocks."
        ),
    )
    parser.add_argument(
        "--project", metavar="P", help="only ingest sessions of project P (none: an error)"
    )
    add_option(parser, "since")
    add_option(parser, "project-name")
    add_option(parser, "force", help="re-ingest unchanged transcripts")
    parser.add_argument("--dry-run", action="store_true", help="report, write nothing")
    parser.add_argument("--skip-knowledge", action="store_true", help="archive conversations only")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--agent",
        action="append",
        choices=reader_names(),
        metavar="NAME",
        help=f"only read this agent's sessions (repeatable; one of: {', '.join(reader_names())})",
    )
    for reader in all_readers():  # one flag per registered reader, e.g. --codex-dir
        parser.add_argument(
            f"--{reader.option}",
            metavar="DIR",
            dest=_dest(reader.option),
            help=f"read {reader.name}'s sessions from DIR (default: {reader.store}); "
            "any such flag reads only the folders named",
        )
    parser.add_argument(
        "--samples", action="store_true", help="ingest the bundled sample transcripts"
    )
    for name in ("provider", "provider-url", "model"):
        add_option(parser, name)
    parser.add_argument(
        "--no-codex",
        action="store_true",
        help="ignore Codex CLI sessions (--agent picks which agents to read)",
    )
    parser.add_argument(
        "--keep-worktrees",
        action="store_true",
        help="file sessions run in a git worktree (<repo>/worktrees/<name>, "
        "<repo>/.claude/worktrees/<name>) under the worktree's name, not the repository's",
    )
    add_option(parser, "jobs")
    add_option(parser, "budget")
    parser.set_defaults(handler=run)


def _dest(option: str) -> str:
    return "store_" + option.replace("-", "_")


def agent_roots(
    args: argparse.Namespace, env: Mapping[str, str], home: Path
) -> dict[str, tuple[Path, ...]]:
    """Agent -> roots to read. --<agent>-dir flags read those folders and no other store
    (each must exist); without one, every agent's default store, where it exists."""
    readers = all_readers()
    named: dict[str, tuple[ReaderSpec, str]] = {}
    for reader in readers:
        value = getattr(args, _dest(reader.option), None)
        if value:
            named[reader.name] = (reader, str(value))
    if args.samples:
        if named:
            flags = ", ".join(f"--{r.option}" for r, _ in named.values())
            raise FatalError(f"--samples is not allowed with {flags}: pass one or the other")
        return {"claude-code": (samples_dir(),)}
    if named:
        return {name: (_existing(reader, value),) for name, (reader, value) in named.items()}
    # missing stores are skipped quietly by ingest (and listed if none exists at all)
    return {reader.name: tuple(reader.default_roots(env, home)) for reader in readers}


def _existing(reader: ReaderSpec, value: str) -> Path:
    root = Path(value).expanduser()
    if not root.is_dir():
        raise FatalError(
            f"{reader.name} sessions dir {value} does not exist: pass an existing folder "
            f"to --{reader.option} (default: {reader.store})"
        )
    return root


def options_from(
    args: argparse.Namespace, env: Mapping[str, str] | None = None, home: Path | None = None
) -> IngestOptions:
    from engram_ci.ingest import IngestOptions  # the pipeline: imported for a run, not --help

    roots = agent_roots(args, os.environ if env is None else env, home or Path.home())
    agents = tuple(args.agent) if args.agent else None
    if args.no_codex:
        agents = tuple(a for a in (agents or roots) if a != "codex")
    return IngestOptions(
        memory_dir=resolve_memory_dir(getattr(args, "memory_dir", None)),
        roots=roots,
        agents=agents,
        project=args.project,
        force=args.force,
        dry_run=args.dry_run,
        skip_knowledge=args.skip_knowledge,
        provider=provider_or_none(args.provider),
        provider_url=args.provider_url,
        model=args.model,
        jobs=args.jobs,
        context_budget=args.budget,
        keep_worktrees=args.keep_worktrees,
        since_seconds=args.since,
        project_name=args.project_name,
    )


def run(args: argparse.Namespace) -> int:
    from engram_ci.ingest import run_ingest, summary_lines

    options = options_from(args)
    # stderr, so stdout stays the summary (or pure JSON): a bar on a terminal, else a plain
    # line every few seconds of a long run (CI logs)
    report = run_ingest(options, progress=Progress(sys.stderr))
    if args.json:
        print_json(report.to_json())
    else:
        print("\n".join(summary_lines(report)))
    if report.transcripts_found == 0:
        # the folder is there but holds nothing a reader knows: most often ~/.claude passed
        # for ~/.claude/projects, or one project's folder for the folder of projects
        searched = ", ".join(str(r) for rs in options.roots.values() for r in rs if r.exists())
        print(
            f"engram: note: found no transcripts in {searched}: each agent's folder is read as "
            "the agent lays it out (Claude Code's like ~/.claude/projects: a folder per "
            "project holding <session>.jsonl files)",
            file=sys.stderr,
        )
    return 0
