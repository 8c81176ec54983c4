"""What a run did (Outcome) and the step outputs it becomes.

Every output action.yml declares is always set, empty (or 0 / false) when it does not apply,
so a later step's expression never reads a missing value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engram_ci.ingest import IngestReport
    from engram_ci.sync.gistsync import GistPullResult, GistPushResult
    from engram_ci.sync.reposync import RepoPullResult, RepoPushResult

__all__ = ["Outcome", "outputs"]


@dataclass
class Outcome:
    """What happened, for the outputs and the job summary (filled in phase by phase)."""

    ingest: IngestReport | None = None
    gist: GistPushResult | GistPullResult | None = None
    repo: RepoPushResult | RepoPullResult | None = None
    #: why the run did nothing (no transcripts, nothing pushed yet), shown as a notice
    noop: str | None = None
    #: the context file for the next agent, as the host sees it
    context_file: Path | None = None
    #: the claude-md section: True changed, False already current, None not written
    claude_md_changed: bool | None = None


def outputs(outcome: Outcome) -> dict[str, str]:
    gist, repo, report = outcome.gist, outcome.repo, outcome.ingest
    synced = gist or repo
    files = synced.files_synced if synced else ()
    changed = bool(synced and synced.changed) or bool(outcome.claude_md_changed)
    return {
        "gist-id": gist.gist_id if gist else "",
        "gist-url": gist.url if gist else "",
        "gist-revision": gist.revision if gist else "",
        "commit-sha": repo.commit_sha if repo else "",
        "branch": repo.branch if repo else "",
        "changed": "true" if changed else "false",
        "sessions-ingested": str(report.sessions_ingested if report else 0),
        "files-synced": str(len(files)),
        "files": "\n".join(files),
        "secrets-redacted": str(getattr(synced, "secrets_redacted", 0) if synced else 0),
        "blocks-added": str(synced.blocks_added if synced else 0),
        "blocks-removed": str(synced.blocks_removed if synced else 0),
        "context-file": str(outcome.context_file) if outcome.context_file else "",
    }
