"""`engram import P FILE`: read `engram export P json` back into memory (FILE or - for stdin)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from engram_ci.cli.common import print_json
from engram_ci.errors import FatalError
from engram_ci.memory.paths import MemoryLayout, resolve_memory_dir

if TYPE_CHECKING:
    from engram_ci.cli.common import Subparsers

__all__ = ["register"]


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "import",
        parents=[common],
        help="merge an `engram export P json` file back into a project's memory",
        description="The way back for export: `gpg -d f.gpg | engram import P -`. Blocks merge "
        "with what the project holds; nothing local is lost.",
    )
    parser.add_argument("project", metavar="P", help="the project to merge into")
    parser.add_argument("file", metavar="FILE", help="the export JSON, or - for stdin")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def _read(name: str) -> tuple[str, str]:
    from engram_ci.importer import MAX_IMPORT_BYTES

    if name == "-":
        data = sys.stdin.buffer.read(MAX_IMPORT_BYTES + 1)
        where = "stdin"
    else:
        path = Path(name).expanduser()
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_IMPORT_BYTES + 1)
        except OSError as error:
            raise FatalError(
                f"cannot read {path}: {error.strerror}: pass the file `engram export` wrote, "
                "or - for stdin"
            ) from None
        where = str(path)
    try:
        return data.decode("utf-8"), where
    except UnicodeDecodeError:
        raise FatalError(
            f"{where} is not UTF-8 text: decrypt it first (`gpg -d FILE | engram import P -`)",
            title="invalid import",
        ) from None


def run(args: argparse.Namespace) -> int:
    from engram_ci.importer import import_export

    text, where = _read(args.file)
    layout = MemoryLayout(resolve_memory_dir(getattr(args, "memory_dir", None)))
    result = import_export(layout, args.project, text, where=where)
    if args.json:
        print_json(dataclasses.asdict(result))
    else:
        came_from = (
            f" (exported from {result.source_project})"
            if result.source_project not in (None, result.project)
            else ""
        )
        print(
            f"{result.project}: {result.blocks_read} block(s) read{came_from}, "
            f"+{result.blocks_added} new, {len(result.files_written)} file(s) written",
            file=sys.stderr,
        )
    return 0
