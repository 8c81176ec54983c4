"""What an ingest run found and did, and the two ways it is shown: --json and a summary.

IngestReport is filled in by the run's phases; to_json is the stable shape scripts and the
action's outputs parse, summary_lines what a person reads at the end of `engram ingest`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from engram_ci.transcripts.model import Usage

__all__ = ["PHASES", "IngestReport", "summary_lines"]

#: the phases IngestReport.timings splits a run into
PHASES = ("discover", "read", "extract", "archive", "write")


@dataclass
class IngestReport:
    """What an ingest run found and did: counts, projects, skipped lines and timings."""

    memory_dir: str = ""
    dry_run: bool = False
    transcripts_found: int = 0
    sessions_ingested: int = 0
    sessions_unchanged: int = 0
    #: groups that hold no conversation (empty, summary-only, snapshot-only files)
    not_sessions: int = 0
    #: groups a reader could not turn into a session (a bug or a hostile name): warned, retried
    sessions_failed: int = 0
    subagents: int = 0
    projects: list[str] = field(default_factory=list)
    tool_calls: int = 0
    tool_errors: int = 0
    blocks_written: int = 0
    knowledge_files_written: int = 0
    bytes_read: int = 0
    malformed_lines: dict[str, int] = field(default_factory=dict)
    unknown_types: dict[str, int] = field(default_factory=dict)
    #: (project, session id) of every session (re-)ingested in this run
    sessions: list[tuple[str, str]] = field(default_factory=list)
    #: the model path (--provider): sessions it extracted, sessions that fell back to the
    #: offline extractor, and the tokens paid for (unusable answers included)
    provider: str = "offline"
    llm_sessions: int = 0
    llm_fallbacks: int = 0
    llm_tokens: Usage = field(default_factory=Usage)
    #: CPU seconds spent per phase (discover, read, extract, archive, write), summed over the
    #: workers (CPU, not wall time: a shared machine's load does not inflate it); for
    #: benchmarks/ingest.py, not part of to_json (timings differ from run to run)
    timings: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))

    def to_json(self) -> dict[str, Any]:
        """A stable shape for --json and the action's outputs: keys never change meaning."""
        return {
            "memory_dir": self.memory_dir,
            "dry_run": self.dry_run,
            "transcripts_found": self.transcripts_found,
            "sessions_ingested": self.sessions_ingested,
            "sessions_unchanged": self.sessions_unchanged,
            "not_sessions": self.not_sessions,
            "sessions_failed": self.sessions_failed,
            "subagents": self.subagents,
            "projects": sorted(self.projects),
            "tool_calls": self.tool_calls,
            "tool_errors": self.tool_errors,
            "blocks_written": self.blocks_written,
            "knowledge_files_written": self.knowledge_files_written,
            "bytes_read": self.bytes_read,
            "skipped_lines": {
                "malformed": dict(sorted(self.malformed_lines.items())),
                "unknown_types": dict(sorted(self.unknown_types.items())),
            },
            "sessions": [{"project": p, "session_id": s} for p, s in sorted(self.sessions)],
            "llm": {
                "provider": self.provider,
                "sessions": self.llm_sessions,
                "fallbacks": self.llm_fallbacks,
                "tokens": {
                    "input": self.llm_tokens.input_tokens,
                    "output": self.llm_tokens.output_tokens,
                    "cache_read": self.llm_tokens.cache_read_tokens,
                    "cache_write": self.llm_tokens.cache_creation_tokens,
                },
            },
        }


def summary_lines(report: IngestReport) -> list[str]:
    """The closing summary a person reads (the CLI prints it; --json prints to_json)."""
    verb = "Would ingest" if report.dry_run else "Ingested"
    lines = [
        f"{verb} {report.sessions_ingested} session(s), {report.sessions_unchanged} unchanged, "
        f"from {report.transcripts_found} transcript group(s) into {report.memory_dir}",
    ]
    if report.projects:
        lines.append(f"Projects: {', '.join(report.projects)}")
    lines.append(
        f"Tool calls: {report.tool_calls} ({report.tool_errors} errors); "
        f"subagents: {report.subagents}"
    )
    if not report.dry_run:
        lines.append(
            f"Knowledge: {report.blocks_written} block(s), "
            f"{report.knowledge_files_written} file(s) written"
        )
    if report.not_sessions:
        lines.append(f"Not sessions (empty or summary-only): {report.not_sessions}")
    skipped = Counter(report.malformed_lines)
    skipped.update({f"unknown type {t!r}": n for t, n in report.unknown_types.items()})
    if skipped:
        parts = ", ".join(f"{reason} {n}" for reason, n in sorted(skipped.items()))
        lines.append(f"Skipped lines: {parts}")
    if report.provider != "offline":
        tokens = report.llm_tokens
        lines.append(
            f"Model ({report.provider}): {report.llm_sessions} session(s), "
            f"{report.llm_fallbacks} fell back to offline; tokens in {tokens.input_tokens}, "
            f"out {tokens.output_tokens}, cache read {tokens.cache_read_tokens}, "
            f"cache write {tokens.cache_creation_tokens}"
        )
    if report.sessions_failed:
        lines.append(f"Failed (see warnings above; retried next run): {report.sessions_failed}")
    return lines
