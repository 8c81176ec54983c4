"""`engram ingest`: transcripts into the memory dir, with a closing summary or --json."""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from engram_ci.cli.common import print_json
from engram_ci.errors import FatalError
from engram_ci.ingest import IngestOptions, run_ingest, summary_lines
from engram_ci.memory.paths import resolve_claude_roots, resolve_codex_roots, resolve_memory_dir
from engram_ci.options import PROVIDERS, provider_or_none
from engram_ci.progress import Progress

if TYPE_CHECKING:
    from engram_ci.cli.common import Subparsers


def samples_dir() -> Path:
    """The bundled sample transcripts (package data), laid out like ~/.claude/projects."""
    return Path(str(resources.files("engram_ci") / "samples" / "claude-projects"))


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "ingest",
        parents=[common],
        help="archive agent transcripts and extract knowledge into the memory dir",
        description=(
            "Read Claude Code (and Codex CLI) transcripts, write engram's memory layout: "
            "conversations/, summaries/ and knowledge/<project>/. Unchanged transcripts are "
            "skipped; re-ingesting a session replaces its knowledge blocks."
        ),
    )
    parser.add_argument("--project", metavar="P", help="only ingest sessions of project P")
    parser.add_argument("--force", action="store_true", help="re-ingest unchanged transcripts")
    parser.add_argument("--dry-run", action="store_true", help="report, write nothing")
    parser.add_argument("--skip-knowledge", action="store_true", help="archive conversations only")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--sessions-dir",
        metavar="DIR",
        help="transcripts root (default: $ENGRAM_SESSIONS_DIR, else ~/.claude/projects)",
    )
    where.add_argument(
        "--samples", action="store_true", help="ingest the bundled sample transcripts"
    )
    parser.add_argument(
        "--provider",
        choices=PROVIDERS,
        default=None,
        help="knowledge extractor (default offline; LLM keys from ANTHROPIC_API_KEY etc.)",
    )
    parser.add_argument("--provider-url", metavar="URL", help="the LLM endpoint to use")
    parser.add_argument("--model", metavar="M", help="the LLM model name")
    parser.add_argument(
        "--no-codex", action="store_true", help="ignore Codex CLI sessions (~/.codex/sessions)"
    )
    parser.add_argument(
        "--jobs",
        type=_positive_int,
        metavar="N",
        help="worker processes for reading and extracting (default: one per CPU)",
    )
    parser.set_defaults(handler=run)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--jobs wants a whole number >= 1, not {text!r}")
    return value


def options_from(args: argparse.Namespace) -> IngestOptions:
    if args.samples:
        claude_roots = [samples_dir()]
    else:
        claude_roots = resolve_claude_roots(args.sessions_dir)
        if args.sessions_dir and not claude_roots[0].is_dir():
            raise FatalError(
                f"sessions dir {args.sessions_dir} does not exist: pass a folder laid out like "
                "~/.claude/projects to --sessions-dir"
            )
    codex_roots = (
        []
        if args.no_codex or args.samples
        else [root for root in resolve_codex_roots() if root.is_dir()]
    )
    return IngestOptions(
        memory_dir=resolve_memory_dir(getattr(args, "memory_dir", None)),
        claude_roots=tuple(claude_roots),
        codex_roots=tuple(codex_roots),
        project=args.project,
        force=args.force,
        dry_run=args.dry_run,
        skip_knowledge=args.skip_knowledge,
        provider=provider_or_none(args.provider),
        provider_url=args.provider_url,
        model=args.model,
        jobs=args.jobs,
    )


def run(args: argparse.Namespace) -> int:
    options = options_from(args)
    # stderr, so stdout stays the summary (or pure JSON): a bar on a terminal, else a plain
    # line every few seconds of a long run (CI logs)
    report = run_ingest(options, progress=Progress(sys.stderr))
    if args.json:
        print_json(report.to_json())
    else:
        print("\n".join(summary_lines(report)))
    return 0
