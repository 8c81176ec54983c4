"""One module per command area; each exposes register(subparsers, common) and handlers."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, TypeAlias

from engram_ci.knowledge.context import DEFAULT_BUDGET, parse_budget
from engram_ci.memory.paths import MemoryLayout, resolve_memory_dir

if TYPE_CHECKING:
    #: the type argparse gives `add_subparsers()`; named once here
    Subparsers: TypeAlias = argparse._SubParsersAction[Any]


def layout_from(args: argparse.Namespace) -> MemoryLayout:
    return MemoryLayout(resolve_memory_dir(getattr(args, "memory_dir", None)))


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, sort_keys=False)
    sys.stdout.write("\n")


def context_budget(text: str) -> int:
    """argparse type of --budget: context.md's size in characters."""
    try:
        return parse_budget(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"--{error}") from None


def add_budget_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--budget",
        type=context_budget,
        default=None,
        metavar="N",
        help=f"context.md's size in characters (default: {DEFAULT_BUDGET}, about 1,500 tokens)",
    )
