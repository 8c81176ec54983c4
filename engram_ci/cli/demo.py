"""`engram demo`: the main job end to end on the bundled samples, offline, in one folder.

What a newcomer runs first: sample transcripts -> engram memory -> a local knowledge repo,
through the same library calls as `engram ingest` and `engram sync init-repo/push-repo`.
Nothing touches ~/memory, ~/.claude or the network.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from engram_ci.memory.paths import MemoryLayout

if TYPE_CHECKING:
    from engram_ci.cli.common import Subparsers

__all__ = ["register"]


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "demo",
        parents=[common],
        help="run the whole job offline on bundled samples: transcripts -> memory -> git repo",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path("engram-demo"),
        help="where to put memory/ and knowledge-repo/ (default: ./engram-demo)",
    )
    parser.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    # imported here: `engram --help` should not pay for GitPython and the readers
    from engram_ci.cli.ingest_cmd import samples_dir
    from engram_ci.ingest import IngestOptions, run_ingest, summary_lines
    from engram_ci.sync import reposync

    base: Path = args.dir
    memory_dir = Path(getattr(args, "memory_dir", None) or base / "memory")
    repo_dir = base / "knowledge-repo"

    print(f"1. ingest the bundled sample transcripts into {memory_dir}")
    report = run_ingest(IngestOptions(memory_dir=memory_dir, claude_roots=(samples_dir(),)))
    for line in summary_lines(report):
        print(f"   {line}")

    print(f"2. a knowledge repository at {repo_dir}")
    head = reposync.init_repo(repo_dir)
    print(f"   {repo_dir} at {head[:12]}")

    print("3. push every project's knowledge into it (block-level merge, one commit each)")
    for project in MemoryLayout(memory_dir).projects():
        result = reposync.push_repo(memory_dir, project, repo_dir)
        state = "committed" if result.changed else "unchanged"
        print(f"   {project}: {state} {result.commit_sha[:12]} ({len(result.files_synced)} files)")

    print("\nNext:")
    print(f"   engram recall {project} --memory-dir {memory_dir}")
    print(f"   git -C {repo_dir} log --stat")
    return 0
