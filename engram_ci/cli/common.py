"""One module per command area; each exposes register(subparsers, common) and handlers."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from engram_ci.errors import FatalError
from engram_ci.log import register_secret
from engram_ci.memory.paths import MemoryLayout, resolve_memory_dir

if TYPE_CHECKING:
    #: the type argparse gives `add_subparsers()`; named once here
    Subparsers: TypeAlias = argparse._SubParsersAction[Any]


def layout_from(args: argparse.Namespace) -> MemoryLayout:
    return MemoryLayout(resolve_memory_dir(getattr(args, "memory_dir", None)))


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, sort_keys=False)
    sys.stdout.write("\n")


def read_token_option(source: str | None, *, option: str = "--token") -> str | None:
    """The token `--token FILE|-` points at (None when not given).

    A token in argv shows in `ps` and shell history, so the option takes where the token is,
    not the token: a value that is no readable file is refused without being echoed.
    """
    if source is None:
        return None
    if source == "-":
        text = sys.stdin.read()
    else:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8") if path.is_file() else ""
        except (OSError, UnicodeDecodeError):
            text = ""
        if not text.strip():
            raise FatalError(
                f"{option} takes a file holding the token, or `-` to read it from stdin — not "
                f"the token itself (it would show in `ps` and shell history); e.g. "
                f'`{option} - <<< "$TOKEN"`, or set ENGRAM_GIT_TOKEN'
            )
    token = text.strip()
    if not token or "\n" in token:
        raise FatalError(f"{option}: expected one token on one line")
    register_secret(token)
    return token


def context_budget(text: str) -> int:
    """argparse type of --budget: context.md's size in characters."""
    from engram_ci.knowledge.context import parse_budget

    try:
        return parse_budget(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"--{error}") from None


def add_budget_option(parser: argparse.ArgumentParser) -> None:
    # imported here: only the commands with a --budget need knowledge's context module
    from engram_ci.knowledge.context import DEFAULT_BUDGET

    parser.add_argument(
        "--budget",
        type=context_budget,
        default=None,
        metavar="N",
        help=f"context.md's size in characters (default: {DEFAULT_BUDGET}, about 1,500 tokens)",
    )
