"""The job summary: what was ingested, what this run learned, what was synced and where.

The numbers add up: every transcript group found is ingested, unchanged, not a session
(empty or summary-only), failed, or left out by the `since` input. "Learned" lists the blocks
this run's sessions added, per category, by their first line: capped, redacted like an upload
(the summary is as public as the job log) and HTML-escaped (the text came from transcripts).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import TYPE_CHECKING

from engram_ci.memory.paths import MemoryLayout

if TYPE_CHECKING:
    from engram_ci.action.config import ActionConfig
    from engram_ci.action.outputs import Outcome
    from engram_ci.ingest import IngestReport

__all__ = ["LEARNED_PER_CATEGORY", "LINE_CHARS", "failure", "summary"]

LEARNED_PER_CATEGORY = 3
LEARNED_TOTAL = 15
LINE_CHARS = 120


def summary(config: ActionConfig, outcome: Outcome) -> str:
    lines = [f"### engram-ci: `{config.mode}` for project `{config.project}`", ""]
    if outcome.noop:
        lines += [f"> Nothing to do: {outcome.noop}", ""]
    lines += _ingested(config, outcome.ingest)
    lines += _synced(config, outcome)
    if outcome.context_file is not None:
        lines.append(f"- **Next agent**: context in `{outcome.context_file}` (`context-file`)")
    if config.claude_md is not None and outcome.claude_md_changed is not None:
        state = "updated" if outcome.claude_md_changed else "already up to date"
        lines.append(f"- Context section in `{config.claude_md}` {state}")
    return "\n".join(lines) + "\n"


def failure(title: str, message: str) -> str:
    return f"### engram-ci failed: {title}\n\n> {message}\n"


def _ingested(config: ActionConfig, report: IngestReport | None) -> list[str]:
    if report is None:
        return ["- Ingest skipped (`skip-ingest: true`)"] if config.skip_ingest else []
    projects = ", ".join(f"`{p}`" for p in sorted(report.projects)) or "none"
    lines = [
        f"- **Ingested** {report.sessions_ingested} new session(s) into {projects}, "
        f"{report.blocks_written} knowledge block(s) written",
        "",
        "  | transcripts | ingested | unchanged | not sessions | failed | subagents |",
        "  |---:|---:|---:|---:|---:|---:|",
        f"  | {report.transcripts_found} | {report.sessions_ingested} | "
        f"{report.sessions_unchanged} | {report.not_sessions} | {report.sessions_failed} | "
        f"{report.subagents} |",
        "",
    ]
    if config.since_seconds is not None:
        # the Action filters by nothing else (no --project), so the rest is what `since` left
        accounted = report.sessions_ingested + report.sessions_unchanged
        accounted += report.not_sessions + report.sessions_failed
        older = report.transcripts_found - accounted
        lines += [f"  {older} transcript(s) not modified within `since`: left out", ""]
    learned = list(_learned(MemoryLayout(config.memory_dir), report))
    if learned:
        lines += ["- **Learned this run**", *learned]
    return lines


def _learned(layout: MemoryLayout, report: IngestReport) -> Iterator[str]:
    from engram_ci.memory import projectfiles
    from engram_ci.sync.redact import redact_text

    shown = 0
    for project in sorted({p for p, _ in report.sessions}):
        ids = {s for p, s in report.sessions if p == project}
        categories = projectfiles.parse_categories(projectfiles.read_local(layout, project))
        for category, kf in categories.items():
            new = [b for b in kf.live_blocks() if b.session_id in ids]
            if not new or shown >= LEARNED_TOTAL:
                continue
            yield f"  - `{project}` {category}: {len(new)} new"
            for block in new[:LEARNED_PER_CATEGORY]:
                first = next((ln.strip("#-* ") for ln in block.body.splitlines() if ln.strip()), "")
                text = redact_text(first)
                if len(text) > LINE_CHARS:
                    text = text[: LINE_CHARS - 1] + "…"
                yield f"    - {html.escape(text)}"
                shown += 1


def _synced(config: ActionConfig, outcome: Outcome) -> list[str]:
    synced = outcome.gist or outcome.repo
    if synced is None:
        return []
    verb = "Pushed" if config.mode.startswith("push") else "Pulled"
    state = "changed" if synced.changed else "nothing changed"
    lines = [
        f"- **{verb}** {len(synced.files_synced)} file(s) ({state}): "
        f"+{synced.blocks_added} / -{synced.blocks_removed} block(s)"
    ]
    redacted = getattr(synced, "secrets_redacted", 0)
    if redacted:
        lines.append(f"- **Redacted** {redacted} secret(s) before upload")
    if outcome.gist is not None:
        gist = outcome.gist
        revision = f"[`{gist.revision[:12]}`]({gist.url}/{gist.revision})" if gist.revision else "-"
        lines.append(f"- Gist [`{gist.gist_id}`]({gist.url}) at revision {revision}")
    if outcome.repo is not None:
        repo = outcome.repo
        sha = f"`{repo.commit_sha[:12]}`"
        pushed = getattr(repo, "pushed", False)
        if config.commit_url_base and (pushed or config.pulling):
            sha = f"[{sha}]({config.commit_url_base}{repo.commit_sha})"
        lines.append(f"- Branch `{repo.branch}` at commit {sha}" + (" (pushed)" if pushed else ""))
    return lines
