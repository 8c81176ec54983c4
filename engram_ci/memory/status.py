"""`engram status`: what the memory holds and when each project last met each remote.

Per project: sessions archived, live / forgotten / expired knowledge blocks, bytes on disk
(knowledge, conversations, summaries) and the last sync per remote (memory/syncstate.py;
a gist remembered from before those records existed shows the time of its state file).
Read-only: it takes no lock, so it answers while an ingest runs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from engram_ci.knowledge.ttl import is_expired, utc_stamp
from engram_ci.memory import projectfiles
from engram_ci.memory.archive import last_activity, read_archive
from engram_ci.memory.paths import MemoryLayout
from engram_ci.memory.syncstate import SyncRecord, last_syncs

__all__ = ["MemoryStatus", "ProjectStatus", "memory_status"]


@dataclass(frozen=True)
class ProjectStatus:
    project: str
    sessions: int
    blocks: int
    forgotten: int
    expired: int
    #: "knowledge" | "conversations" | "summaries" -> bytes
    sizes: dict[str, int]
    last_activity: str | None
    syncs: tuple[SyncRecord, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "project": self.project,
            "sessions": self.sessions,
            "knowledge_blocks": self.blocks,
            "forgotten_blocks": self.forgotten,
            "expired_blocks": self.expired,
            "bytes": {**self.sizes, "total": sum(self.sizes.values())},
            "last_activity": self.last_activity,
            "syncs": [s.to_json() for s in self.syncs],
        }


@dataclass(frozen=True)
class MemoryStatus:
    memory_dir: str
    projects: tuple[ProjectStatus, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, object]:
        return {
            "memory_dir": self.memory_dir,
            "projects": [p.to_json() for p in self.projects],
            "expired_blocks": sum(p.expired for p in self.projects),
        }


def memory_status(layout: MemoryLayout, *, now: datetime | None = None) -> MemoryStatus:
    now = now or datetime.now(UTC)
    return MemoryStatus(
        str(layout.root), tuple(_project(layout, name, now) for name in layout.projects())
    )


def _project(layout: MemoryLayout, project: str, now: datetime) -> ProjectStatus:
    categories = projectfiles.parse_categories(projectfiles.read_local(layout, project))
    blocks = [b for kf in categories.values() for b in kf.blocks]
    live = [b for b in blocks if not b.is_tombstone]
    archive = read_archive(layout, project)
    conversations = layout.root / "conversations" / project
    return ProjectStatus(
        project=project,
        sessions=archive.sessions,
        blocks=len(live),
        forgotten=len(blocks) - len(live),
        expired=sum(1 for b in live if is_expired(b, now)),
        sizes={
            "knowledge": _size(layout.knowledge_dir(project)),
            "conversations": _size(conversations),
            "summaries": _size(layout.root / "summaries" / project),
        },
        last_activity=last_activity((b.timestamp for b in live), archive.metas),
        syncs=tuple(_with_remembered_gist(layout, project, last_syncs(layout, project))),
    )


def _size(folder: Path) -> int:
    total = 0
    for parent, _, names in os.walk(folder):
        for name in names:
            try:
                total += os.lstat(os.path.join(parent, name)).st_size
            except OSError:
                continue  # removed while we walked
    return total


def _with_remembered_gist(
    layout: MemoryLayout, project: str, records: list[SyncRecord]
) -> list[SyncRecord]:
    """Records, plus the gist a push/pull remembered before sync records were kept."""
    if any(r.kind == "gist" for r in records):
        return records
    state = layout.state_dir / "gists" / f"{project}.json"
    try:
        data = json.loads(state.read_bytes())
        target = str(data.get("url") or data["gist_id"])
        mtime = datetime.fromtimestamp(state.stat().st_mtime, UTC)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return records
    return [*records, SyncRecord("gist", target, utc_stamp(mtime))]
