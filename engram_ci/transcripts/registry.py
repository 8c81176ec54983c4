"""The transcript readers, one per coding agent, and the one way ingest reaches them.

A reader turns one agent's session store into `Session`s (model.py). Its registration in
READERS below says, without importing the reader:
- `name`: the agent ("claude-code", "codex"). It becomes Session.source, meta.json's
  "source", the manifest's key prefix and what `engram ingest --agent NAME` selects.
- `option`: the CLI flag naming its store ("codex-dir" -> `--codex-dir DIR`), and `store`,
  a short description of where that store lives by default (for help texts).
- `default_roots(env, home)`: where the store lives when no flag names it, honouring the
  agent's own environment overrides (CODEX_HOME, CLAUDE_CONFIG_DIR, …). Pure: it gets the
  environment and home folder, so tests pass their own.
- `module`: the reader module, imported only when a store of the agent is found (see
  ReaderSpec.discover), so `engram ingest` pays only for the agents on the machine and
  `--help` for none. The module defines:
  - `discover(roots)`: every session under the roots as a TranscriptGroup (the main file
    plus every file that belongs to it: subagents, metadata). A missing root yields nothing.
  - `read_session(group, project_hint=None)`: the group as a Session, or None when it holds
    no conversation. A malformed line is skipped and counted in Session.stats.malformed, an
    unknown line type in stats.unknown_types; nothing in a file may raise. A group may hold
    two copies of one history (merge_groups): repeated lines must count once.
  Each tool call gets a common ToolKind (shell, edit, write, read, search, web, task,
  other) so knowledge extraction never needs the agent's tool names.

How to add a reader (a new agent's format):
1. Write `engram_ci/transcripts/<agent>.py` with `discover` and `read_session`.
2. Register it: one `ReaderSpec(...)` in READERS below, with its `<agent>_roots(env, home)`
   beside it (a few lines of pathlib: where the agent keeps its sessions).
3. Put small samples of your own, laid out like the agent's store, under tests/ (as
   tests/claude_samples, tests/codex_threads) and add a ContractCase for them to
   tests/test_reader_contract.py's CASES: the contract (layout discovery, a malformed line
   skipped and counted, unknown line types, empty files, a missing store) then runs on it.
   Map the agent's tool names to ToolKind in a TOOL_KINDS table (see claude_turns.py).
The CLI flag, `--agent` selection, ingest dispatch, the manifest's keys and meta.json's
"source" follow from the registration; nothing else needs to know the agent.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

from engram_ci.errors import FatalError

if TYPE_CHECKING:  # `engram ingest --help` lists the readers without loading the model
    from engram_ci.transcripts.model import Session, TranscriptGroup

__all__ = [
    "CLINE_EDITORS",
    "CLINE_EXTENSIONS",
    "READERS",
    "Reader",
    "ReaderModule",
    "ReaderSpec",
    "all_readers",
    "amp_roots",
    "claude_roots",
    "cline_roots",
    "codex_roots",
    "copilot_roots",
    "cursor_roots",
    "gemini_roots",
    "get_reader",
    "is_builtin",
    "merge_groups",
    "opencode_roots",
    "reader_names",
]


class ReaderModule(Protocol):
    """What a reader module defines (see the module docstring)."""

    def discover(self, roots: Sequence[Path]) -> list[TranscriptGroup]: ...

    def read_session(
        self, group: TranscriptGroup, *, project_hint: str | None = None
    ) -> Session | None: ...


class Reader(ReaderModule, Protocol):
    """What ingest needs of a reader (ReaderSpec is the usual one; tests pass fakes)."""

    @property
    def name(self) -> str: ...


RootsFinder = Callable[[Mapping[str, str], Path], list[Path]]


@dataclass(frozen=True)
class ReaderSpec:
    """One agent's reader as READERS registers it: what the CLI needs, and its module."""

    name: str
    option: str
    store: str
    default_roots: RootsFinder
    module: str

    def has_store(self, roots: Sequence[Path]) -> bool:
        """Whether any of `roots` (folders, or a reader's files) exists: a stat each, no
        import. A reader finds nothing under missing roots, so without one it is not asked."""
        return any(root.exists() for root in roots)

    def discover(self, roots: Sequence[Path]) -> list[TranscriptGroup]:
        """The module's groups under `roots`; nothing, without importing the module, when the
        agent's store is not on this machine."""
        return self.load().discover(roots) if self.has_store(roots) else []

    def read_session(
        self, group: TranscriptGroup, *, project_hint: str | None = None
    ) -> Session | None:
        return self.load().read_session(group, project_hint=project_hint)

    def load(self) -> ReaderModule:
        """The reader module (imported once; Python caches it in sys.modules)."""
        module = importlib.import_module(self.module)
        if not all(callable(getattr(module, f, None)) for f in ("discover", "read_session")):
            # a programming error, caught by the contract test
            raise TypeError(f"{self.module} defines no discover() and read_session()")
        return cast("ReaderModule", module)


# -- the registrations: each agent's store, where it lives, the module that reads it -------


def claude_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """$ENGRAM_SESSIONS_DIR, else every $CLAUDE_CONFIG_DIR entry's projects/ (Claude Code
    accepts a comma-separated list), else ~/.claude/projects."""
    explicit = env.get("ENGRAM_SESSIONS_DIR", "").strip()
    if explicit:
        return [Path(explicit).expanduser()]
    config_dirs = [p.strip() for p in env.get("CLAUDE_CONFIG_DIR", "").split(",")]
    roots = [Path(p).expanduser() / "projects" for p in config_dirs if p]
    return roots or [home / ".claude" / "projects"]


def codex_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """$CODEX_HOME (else ~/.codex): its sessions/ and archived_sessions/."""
    codex_home = _home_of(env, "CODEX_HOME", home / ".codex")
    return [codex_home / "sessions", codex_home / "archived_sessions"]


def cursor_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """~/.cursor/projects (CURSOR_CONFIG_DIR moves ~/.cursor)."""
    return [_home_of(env, "CURSOR_CONFIG_DIR", home / ".cursor") / "projects"]


#: the VS Code family's editors, and the extensions that share Cline's task store
CLINE_EDITORS = ("Code", "Code - Insiders", "VSCodium", "Cursor", "Windsurf")
CLINE_EXTENSIONS = ("saoudrizwan.claude-dev", "rooveterinaryinc.roo-cline", "kilocode.kilo-code")


def cline_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """Every editor's globalStorage/<extension>/tasks (CLINE_HOME names one storage dir)."""
    explicit = env.get("CLINE_HOME", "").strip()
    if explicit:
        return [Path(explicit).expanduser() / "tasks"]
    config = env.get("XDG_CONFIG_HOME", "").strip()
    hosts = [Path(config) if config else home / ".config", home / "Library/Application Support"]
    appdata = env.get("APPDATA", "").strip()
    if appdata:
        hosts.append(Path(appdata))
    return [
        host / editor / "User" / "globalStorage" / ext / "tasks"
        for host in hosts
        for editor in CLINE_EDITORS
        for ext in CLINE_EXTENSIONS
    ]


def copilot_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """$COPILOT_HOME (else ~/.copilot)/session-state."""
    return [_home_of(env, "COPILOT_HOME", home / ".copilot") / "session-state"]


def gemini_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """~/.gemini/tmp (GEMINI_CLI_HOME moves the home that holds .gemini)."""
    return [_home_of(env, "GEMINI_CLI_HOME", home) / ".gemini" / "tmp"]


def opencode_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """$XDG_DATA_HOME/opencode (else ~/.local/share/opencode): storage/ and opencode.db."""
    return [_xdg_data(env, home) / "opencode"]


def amp_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """$AMP_HOME/threads, else $XDG_DATA_HOME/amp/threads, else ~/.local/share/amp/threads."""
    explicit = env.get("AMP_HOME", "").strip()
    if explicit:
        return [Path(explicit).expanduser() / "threads"]
    return [_xdg_data(env, home) / "amp" / "threads"]


def claude_execution_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """The runner's temp folder, where claude-code-action leaves the file: $RUNNER_TEMP, else
    where GitHub-hosted runners keep it (~/work/_temp, with HOME=/home/runner)."""
    temp = env.get("RUNNER_TEMP", "").strip()
    return [Path(temp)] if temp else [home / "work" / "_temp"]


def _home_of(env: Mapping[str, str], variable: str, default: Path) -> Path:
    explicit = env.get(variable, "").strip()
    return Path(explicit).expanduser() if explicit else default


def _xdg_data(env: Mapping[str, str], home: Path) -> Path:
    data = env.get("XDG_DATA_HOME", "").strip()
    return Path(data) if data else home / ".local" / "share"


_MODULE = "engram_ci.transcripts."

#: every built-in reader, in the order ingest runs them
READERS: tuple[ReaderSpec, ...] = (
    ReaderSpec(
        name="claude-code",
        option="sessions-dir",
        store="$ENGRAM_SESSIONS_DIR, else ~/.claude/projects",
        default_roots=claude_roots,
        module=_MODULE + "claude",
    ),
    ReaderSpec(
        name="codex",
        option="codex-dir",
        store="$CODEX_HOME/sessions and archived_sessions, else ~/.codex/…; DIR may be a "
        "$CODEX_HOME or any folder of rollouts",
        default_roots=codex_roots,
        module=_MODULE + "codex",
    ),
    ReaderSpec(
        name="cursor",
        option="cursor-dir",
        store="~/.cursor/projects/*/agent-transcripts",
        default_roots=cursor_roots,
        module=_MODULE + "cursor",
    ),
    ReaderSpec(
        name="cline",
        option="cline-dir",
        store="<editor>/User/globalStorage/<Cline, Roo Code or Kilo Code>/tasks",
        default_roots=cline_roots,
        module=_MODULE + "cline",
    ),
    ReaderSpec(
        name="copilot",
        option="copilot-dir",
        store="~/.copilot/session-state",
        default_roots=copilot_roots,
        module=_MODULE + "copilot",
    ),
    ReaderSpec(
        name="gemini",
        option="gemini-dir",
        store="~/.gemini/tmp/*/chats",
        default_roots=gemini_roots,
        module=_MODULE + "gemini",
    ),
    ReaderSpec(
        name="opencode",
        option="opencode-dir",
        store="~/.local/share/opencode (storage/ or opencode.db)",
        default_roots=opencode_roots,
        module=_MODULE + "opencode",
    ),
    ReaderSpec(
        name="amp",
        option="amp-dir",
        store="~/.local/share/amp/threads",
        default_roots=amp_roots,
        module=_MODULE + "amp",
    ),
    # after claude: a run found both as a transcript and as an execution file is read once,
    # from the richer transcript (ingest: first reader wins)
    ReaderSpec(
        name="claude-execution",
        option="claude-action-dir",
        store="$RUNNER_TEMP, where claude-code-action writes claude-execution-output.json",
        default_roots=claude_execution_roots,
        module=_MODULE + "claude_execution",
    ),
)


def reader_names() -> list[str]:
    return [reader.name for reader in READERS]


def all_readers() -> list[ReaderSpec]:
    return list(READERS)


def get_reader(name: str) -> ReaderSpec:
    """The reader called `name`, or a FatalError listing the known ones."""
    for reader in READERS:
        if reader.name == name:
            return reader
    known = ", ".join(reader_names())
    raise FatalError(f"unknown agent {name!r}: use one of {known}")


def is_builtin(reader: object) -> bool:
    """`reader` is one of the registered readers, not a test's stand-in (which runs in-process,
    never in a worker)."""
    return reader in READERS


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
        held_parts = held.part_paths
        merged[key] = held.with_parts(
            (*held_parts, *(p for p in group.part_paths if p not in held_parts))
        )
    return list(merged.values())
