"""What one ingest run is asked to do: the CLI's and the action's flags as one value.

Both faces build an IngestOptions and hand it to run_ingest; the pipeline's modules only ever
read it (it is frozen), so what a flag means is decided here once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["IngestOptions"]


@dataclass(frozen=True)
class IngestOptions:
    """What one ingest run reads, where it writes, and how (the CLI's and the action's flags)."""

    memory_dir: Path
    #: shorthands for roots["claude-code"] and roots["codex"]
    claude_roots: tuple[Path, ...] = ()
    codex_roots: tuple[Path, ...] = ()
    #: agent (a reader's name in transcripts/registry.py) -> the roots of its store; an agent
    #: with no roots here (or in the shorthands) is not read
    roots: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)
    #: only these agents' sessions (None: every agent with roots)
    agents: tuple[str, ...] | None = None
    project: str | None = None
    force: bool = False
    dry_run: bool = False
    skip_knowledge: bool = False
    provider: str | None = None  # None/"offline" | "anthropic" | "openai" | "ollama"
    provider_url: str | None = None
    model: str | None = None
    show_progress: bool = False
    #: worker processes for reading/extracting/archiving: None = one per CPU, 1 = in-process
    jobs: int | None = None
    #: only transcripts modified within this many seconds (`--since 5m`, what hooks run)
    since_seconds: float | None = None
    #: how sessions are named: "cwd" (ours) or "engram" (upstream's folder decoding)
    project_name: str = "cwd"
    #: context.md's size in characters; None: context.DEFAULT_BUDGET (≈ 1,500 tokens)
    context_budget: int | None = None
    #: sessions in a git worktree go to a project named after the worktree, not the repository
    keep_worktrees: bool = False

    def sources(self) -> list[tuple[str, tuple[Path, ...]]]:
        """(agent, roots) for every selected agent with roots, in the registry's order."""
        by_agent: dict[str, tuple[Path, ...]] = {
            "claude-code": self.claude_roots,
            "codex": self.codex_roots,
        }
        for agent, roots in self.roots.items():
            by_agent[agent] = (*by_agent.get(agent, ()), *roots)
        wanted = [a for a, roots in by_agent.items() if roots]
        if self.agents is not None:
            wanted = [a for a in wanted if a in self.agents]
        return [(a, by_agent[a]) for a in wanted]

    def wants_knowledge(self) -> bool:
        """Whether the run extracts knowledge: a dry run must not spend LLM tokens either."""
        return not (self.skip_knowledge or self.dry_run)

    def wants_project(self, project: str | None) -> bool:
        """Whether --project lets a session of `project` in (no --project: every one)."""
        return self.project is None or project == self.project
