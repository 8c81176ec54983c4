"""When each project last synced with each remote, for `engram status`.

Every successful push or pull records `{kind, target, at}` in its own small file,
`<memory>/.engram-ci/syncs/<project>/<kind>-<hash of target>.json`: one file per remote, so
two syncs of one project to different remotes never race on a shared file, and a record is
rewritten atomically. A target is where the memory went (a gist URL, a repository path or
URL) with any credentials cut out of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from engram_ci.knowledge.ttl import utc_stamp
from engram_ci.memory.fsutil import atomic_write_text
from engram_ci.memory.paths import MemoryLayout

__all__ = ["SyncRecord", "last_syncs", "record_sync"]

log = logging.getLogger("engram_ci")

_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")


@dataclass(frozen=True)
class SyncRecord:
    kind: str  # "gist" | "repo" (| what a later backend calls itself)
    target: str
    at: str  # ISO 8601 UTC

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def record_sync(
    layout: MemoryLayout, project: str, kind: str, target: str, *, now: datetime | None = None
) -> None:
    """Note that `project` just synced with `target` (best effort: status is informational)."""
    target = _USERINFO.sub("", target)
    stamp = utc_stamp(now or datetime.now(UTC))
    digest = hashlib.sha256(f"{kind}\0{target}".encode()).hexdigest()[:16]
    path = layout.state_dir / "syncs" / project / f"{kind}-{digest}.json"
    text = json.dumps(SyncRecord(kind, target, stamp).to_json(), sort_keys=True) + "\n"
    try:
        atomic_write_text(path, text, mode=0o600, durable=False)
    except OSError as error:
        log.warning("could not record the sync time in %s: %s", path, error)


def last_syncs(layout: MemoryLayout, project: str) -> list[SyncRecord]:
    """Every remote `project` synced with, most recent first; unreadable records skipped."""
    folder = layout.state_dir / "syncs" / project
    records = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_bytes())
            records.append(SyncRecord(str(data["kind"]), str(data["target"]), str(data["at"])))
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("ignoring unreadable %s", path)
    return sorted(records, key=lambda r: (r.at, r.kind, r.target), reverse=True)
