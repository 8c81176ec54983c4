"""The transcript readers, one per coding agent, and the one way ingest reaches them.

A reader turns one agent's session store into `Session`s (model.py). It declares:
- `name`: the agent ("claude-code", "codex"). It becomes Session.source, meta.json's
  "source", the manifest's key prefix and what `engram ingest --agent NAME` selects.
- `option`: the CLI flag naming its store ("codex-dir" -> `--codex-dir DIR`), and `store`,
  a short description of where that store lives by default (for help texts).
- `default_roots(env, home)`: where the store lives when no flag names it, honouring the
  agent's own environment overrides (CODEX_HOME, CLAUDE_CONFIG_DIR, …). Pure: it gets the
  environment and home folder, so tests pass their own.
- `discover(roots)`: every session under the roots as a TranscriptGroup (the main file plus
  every file that belongs to it: subagents, metadata). A missing root yields nothing, quietly.
- `read_session(group, project_hint=None)`: the group as a Session, or None when it holds no
  conversation. A malformed line is skipped and counted in Session.stats.malformed, an
  unknown line type in stats.unknown_types; nothing in a file may raise. A group may hold two
  copies of one history (merge_groups): repeated lines must count once.
  Each tool call gets a common ToolKind (shell, edit, write, read, search, web, task, other)
  so knowledge extraction never needs the agent's tool names.

How to add a reader (a new agent's format):
1. Write `engram_ci/transcripts/<agent>.py` with `discover`, `read_session` and
   `default_roots`, and at its end `READER = ReaderSpec(name=..., option=..., store=...,
   default_roots=default_roots, discover=discover, read_session=read_session)`.
2. Add its module path to READER_MODULES below (the one registration line).
3. Put small samples of your own, laid out like the agent's store, under tests/ (as
   tests/claude_samples, tests/codex_threads) and add a ContractCase for them to
   tests/test_reader_contract.py's CASES: the contract (layout discovery, a malformed line
   skipped and counted, unknown line types, empty files, a missing store) then runs on it.
   Map the agent's tool names to ToolKind in a TOOL_KINDS table (see claude_turns.py).
The CLI flag, `--agent` selection, ingest dispatch, the manifest's keys and meta.json's
"source" follow from the registration; nothing else needs to know the agent.

Reader modules are imported on first use, so importing this module stays cheap (the
action's entrypoint imports ingest, which imports this).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from engram_ci.errors import FatalError
from engram_ci.transcripts.model import Session, TranscriptGroup

__all__ = [
    "READER_MODULES",
    "Reader",
    "ReaderSpec",
    "all_readers",
    "get_reader",
    "is_builtin",
    "merge_groups",
    "reader_names",
]

#: every built-in reader, in the order ingest runs them: one line per agent
READER_MODULES: tuple[str, ...] = (
    "engram_ci.transcripts.claude",
    "engram_ci.transcripts.codex",
    "engram_ci.transcripts.cursor",
    "engram_ci.transcripts.cline",
    "engram_ci.transcripts.copilot",
    "engram_ci.transcripts.gemini",
    "engram_ci.transcripts.opencode",
    "engram_ci.transcripts.amp",
    # after claude: a run found both as a transcript and as an execution file is read once,
    # from the richer transcript (ingest: first reader wins)
    "engram_ci.transcripts.claude_execution",
)


class Reader(Protocol):
    """What ingest needs of a reader (ReaderSpec is the usual one; tests pass fakes)."""

    @property
    def name(self) -> str: ...

    def discover(self, roots: Sequence[Path]) -> list[TranscriptGroup]: ...

    def read_session(
        self, group: TranscriptGroup, *, project_hint: str | None = None
    ) -> Session | None: ...


RootsFinder = Callable[[Mapping[str, str], Path], list[Path]]
Discover = Callable[[Sequence[Path]], list[TranscriptGroup]]


class ReadSession(Protocol):
    def __call__(
        self, group: TranscriptGroup, *, project_hint: str | None = None
    ) -> Session | None: ...


@dataclass(frozen=True)
class ReaderSpec:
    """One agent's reader, as its module declares it in `READER` (see the module docstring)."""

    name: str
    option: str
    store: str
    default_roots: RootsFinder
    discover: Discover
    read_session: ReadSession


def reader_names() -> list[str]:
    return [reader.name for reader in all_readers()]


def all_readers() -> list[ReaderSpec]:
    return [_load(module) for module in READER_MODULES]


def get_reader(name: str) -> ReaderSpec:
    """The reader called `name`, or a FatalError listing the known ones. The modules are
    imported in order only until it is found: an ingest of Claude Code's store alone imports
    no other reader (tens of ms of start-up each run)."""
    for module in READER_MODULES:
        reader = _load(module)
        if reader.name == name:
            return reader
    known = ", ".join(reader_names())
    raise FatalError(f"unknown agent {name!r}: use one of {known}")


def is_builtin(reader: object) -> bool:
    """`reader` is (equal to) one of READER_MODULES' own, not a test's stand-in. Asks only
    the modules already imported: a built-in reader's module was imported to get it."""
    return any(getattr(sys.modules.get(m), "READER", None) == reader for m in READER_MODULES)


def _load(module_path: str) -> ReaderSpec:
    reader = getattr(importlib.import_module(module_path), "READER", None)
    if not isinstance(reader, ReaderSpec):  # a programming error, caught by the contract test
        raise TypeError(f"{module_path} defines no READER = ReaderSpec(...)")
    return reader


def merge_groups(groups: Iterable[TranscriptGroup]) -> list[TranscriptGroup]:
    """One group per (agent, session id): one session, one archive.

    The same session can be found twice: its subagents staged under another project folder,
    the same history copied from two machines or runners. Kept apart, the later group would
    replace the earlier one's archive and its prompts would be lost. Merged, the first
    group's main file leads and every other file becomes a part: a reader reads every main
    transcript among the parts, deduping the lines the copies share. Order is kept.
    """
    merged: dict[tuple[str, str], TranscriptGroup] = {}
    for group in groups:
        key = (group.source, group.session_id)
        held = merged.get(key)
        if held is None:
            merged[key] = group
            continue
        parts = (*held.parts, *(p for p in group.parts if p not in held.parts))
        merged[key] = TranscriptGroup(held.session_id, held.source, held.main, parts, held.folder)
    return list(merged.values())
