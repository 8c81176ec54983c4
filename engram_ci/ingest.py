"""STUB — owned by the ingest helper. Interface the CLI and the action adapter call."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class IngestOptions:
    memory_dir: Path
    claude_roots: tuple[Path, ...]
    codex_roots: tuple[Path, ...] = ()
    project: str | None = None
    force: bool = False
    dry_run: bool = False
    skip_knowledge: bool = False
    provider: str | None = None  # None/"offline" | "anthropic" | "openai" | "ollama"
    provider_url: str | None = None
    model: str | None = None
    show_progress: bool = False


@dataclass
class IngestReport:
    transcripts_found: int = 0
    sessions_ingested: int = 0
    sessions_unchanged: int = 0
    projects: list[str] = field(default_factory=list)
    tool_calls: int = 0
    blocks_written: int = 0
    malformed_lines: dict[str, int] = field(default_factory=dict)
    unknown_types: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError


def run_ingest(options: IngestOptions) -> IngestReport:
    raise NotImplementedError
