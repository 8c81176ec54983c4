"""One module per command area; each exposes register(subparsers, common) and handlers."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TypeAlias

from engram_ci.errors import FatalError
from engram_ci.log import register_secret
from engram_ci.memory.paths import MemoryLayout, resolve_memory_dir
from engram_ci.options import add_option

__all__ = [
    "Subparsers",
    "add_encryption_options",
    "add_pull_options",
    "add_sync_options",
    "layout_from",
    "print_json",
    "read_token_option",
]

#: the type argparse gives `add_subparsers()`; named once here (a string: argparse's class
#: takes no type arguments at run time)
Subparsers: TypeAlias = "argparse._SubParsersAction[Any]"


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


def add_encryption_options(parser: argparse.ArgumentParser) -> None:
    """--encrypt, --recipient, --identity for a sync command (crypto.encryption_from_args)."""
    group = parser.add_argument_group("end-to-end encryption (age)")
    for name in ("encrypt", "recipients", "identity"):
        add_option(group, name)


def add_sync_options(parser: argparse.ArgumentParser, *, adopt: str | None) -> None:
    """What every push and pull takes: --adopt (when the command can adopt), --json,
    --budget and the encryption options."""
    if adopt is not None:
        parser.add_argument("--adopt", action="store_true", help=adopt)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_option(parser, "budget")  # the local context.md's: the store keeps the default
    add_encryption_options(parser)


def add_pull_options(
    parser: argparse.ArgumentParser, *, version: str, metavar: str, adopt: str | None
) -> None:
    """A pull's options, whatever the store: --force, --version and add_sync_options'."""
    add_option(parser, "force", help="replace local files instead of merging")
    add_option(parser, "version", metavar=metavar, help=version)
    add_sync_options(parser, adopt=adopt)
