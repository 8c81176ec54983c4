"""Where things live: engram's on-disk layout and the environment overrides for it.

Defaults match engram (the Rust CLI) exactly so both tools can share one ~/memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engram_ci.errors import FatalError, Fix
from engram_ci.knowledge.blocks import CONTEXT_FILE, KNOWLEDGE_CATEGORIES

__all__ = [
    "KNOWN_KNOWLEDGE_FILES",
    "METADATA_FILE",
    "MemoryLayout",
    "check_memory_dir",
    "resolve_memory_dir",
]

METADATA_FILE = "metadata.json"
#: every file name sync may read from or write to a remote, and nothing else
KNOWN_KNOWLEDGE_FILES: frozenset[str] = frozenset(
    {f"{c}.md" for c in KNOWLEDGE_CATEGORIES} | {CONTEXT_FILE}
)
GLOBAL_PROJECT = "_global"


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def resolve_memory_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--memory-dir, else ENGRAM_MEMORY_DIR, else ~/memory (engram's default)."""
    if explicit:
        root = Path(explicit).expanduser()
    else:
        root = _env_path("ENGRAM_MEMORY_DIR") or Path.home() / "memory"
    return check_memory_dir(root)


def check_memory_dir(root: Path) -> Path:
    """`root`, unless a file stands there: every command would fail on it half-way (or, a
    listing, report an empty memory), so say so before any of them starts."""
    if root.exists() and not root.is_dir():
        raise FatalError(
            f"the memory dir {root} is a file, not a folder",
            title="memory dir is a file",
            fix=Fix(
                "point {option} at a folder (it is made when missing)",
                flag="--memory-dir",
                input="memory-path",
                env="ENGRAM_MEMORY_DIR",
            ),
        )
    return root


@dataclass(frozen=True)
class MemoryLayout:
    """engram's memory tree under one root."""

    root: Path

    def conversation_dir(self, project: str, session_id: str) -> Path:
        return self.root / "conversations" / project / session_id

    def summary_file(self, project: str, session_id: str) -> Path:
        return self.root / "summaries" / project / f"{session_id}.md"

    def knowledge_dir(self, project: str) -> Path:
        return self.root / "knowledge" / project

    def projects(self) -> list[str]:
        """Projects with any knowledge or conversations, sorted (the global notes excluded)."""
        names: set[str] = set()
        for sub in ("knowledge", "conversations"):
            base = self.root / sub
            if base.is_dir():
                names.update(
                    p.name
                    for p in base.iterdir()
                    if p.is_dir() and not p.name.startswith(".") and p.name != GLOBAL_PROJECT
                )
        return sorted(names)

    @property
    def state_dir(self) -> Path:
        """engram-ci's own bookkeeping (manifest, gist ids); engram ignores dot folders."""
        return self.root / ".engram-ci"

    @property
    def lock_file(self) -> Path:
        """Held (fsutil.file_lock) by whatever rewrites this memory's knowledge: ingest, pulls."""
        return self.state_dir / "memory.lock"
