"""One module per command area; each exposes register(subparsers, common) and handlers."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, TypeAlias

from engram_ci.memory.paths import MemoryLayout, resolve_memory_dir

if TYPE_CHECKING:
    #: the type argparse gives `add_subparsers()`; named once here
    Subparsers: TypeAlias = argparse._SubParsersAction[Any]


def layout_from(args: argparse.Namespace) -> MemoryLayout:
    return MemoryLayout(resolve_memory_dir(getattr(args, "memory_dir", None)))


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, sort_keys=False)
    sys.stdout.write("\n")
