"""The incremental-ingest manifest: which transcript groups were ingested, as of which bytes.

A re-run must cost a `stat` per file, not a parse: each group (a session's main transcript
plus its subagent files) is remembered with the size and mtime_ns of every part. An unchanged
fingerprint means "skip"; a grown file, a new subagent file or a touched one means "re-read".
Groups that turned out not to be sessions (empty, summary-only) are remembered too, so they
are not re-parsed on every run either.

Stored as JSON in MemoryLayout.state_dir (engram ignores dot folders), written atomically.
A missing or unreadable manifest only costs a full re-ingest, which is idempotent.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from engram_ci.memory.fsutil import atomic_write_text, read_text_if_exists
from engram_ci.transcripts.model import TranscriptGroup

__all__ = [
    "MANIFEST_NAME",
    "Entry",
    "Fingerprint",
    "Manifest",
    "fingerprint",
    "group_key",
    "total_size",
]

log = logging.getLogger("engram_ci")

MANIFEST_NAME = "ingest-manifest.json"
FORMAT_VERSION = 1

#: (path, size, mtime_ns) for every part of a group that exists, in the group's order
Fingerprint = tuple[tuple[str, int, int], ...]
Status = Literal["ingested", "not_session"]


def group_key(group: TranscriptGroup) -> str:
    return f"{group.source}:{group.main_path}"


def fingerprint(group: TranscriptGroup) -> Fingerprint:
    parts = []
    stat = os.stat
    for path in group.part_paths:
        try:
            info = stat(path)
        except OSError:
            continue  # vanished between discovery and now: the next run sees the change
        parts.append((path, info.st_size, info.st_mtime_ns))
    return tuple(parts)


def total_size(print_: Fingerprint) -> int:
    return sum(size for _, size, _ in print_)


@dataclass(frozen=True)
class Entry:
    """What the manifest remembers of one transcript group: its fingerprint and outcome."""

    fingerprint: Fingerprint
    status: Status
    session_id: str | None = None
    project: str | None = None
    #: knowledge categories this session's blocks went to, so a re-ingest that no longer
    #: finds e.g. a bug can remove the block it wrote before (and only that one)
    categories: tuple[str, ...] = ()
    #: False after --skip-knowledge: a later run that wants knowledge must re-read the session
    has_knowledge: bool = True
    #: whether its blocks carry the [source:...] tag; an entry without one (an older
    #: engram-ci) wrote untagged blocks, which a re-ingest still recognises as its own
    tagged: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "session_id": self.session_id,
            "project": self.project,
            "categories": list(self.categories),
            "has_knowledge": self.has_knowledge,
            "tagged": self.tagged,
            "parts": [list(part) for part in self.fingerprint],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entry:
        status = data["status"]
        if status not in ("ingested", "not_session"):
            raise ValueError(f"unknown status {status!r}")
        return cls(
            # list comprehensions, not generators: a few thousand entries load on every run
            fingerprint=tuple([(str(p), int(s), int(m)) for p, s, m in data["parts"]]),
            status=status,
            session_id=data.get("session_id"),
            project=data.get("project"),
            categories=tuple([str(c) for c in data.get("categories", ())]),
            has_knowledge=bool(data.get("has_knowledge", True)),
            tagged=bool(data.get("tagged", False)),
        )


def _parse(text: str) -> Any:
    """orjson where it can (a third of the time); the json module for what orjson refuses
    and json wrote: a path that is not UTF-8 is saved as a lone surrogate's escape."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


class Manifest:
    def __init__(self, entries: dict[str, Entry] | None = None, *, saved: bool = False) -> None:
        self.entries: dict[str, Entry] = dict(entries or {})
        #: whether the file on disk already says what `entries` do (loaded, nothing recorded)
        self._saved = saved

    def get(self, key: str) -> Entry | None:
        return self.entries.get(key)

    def is_current(self, key: str, print_: Fingerprint) -> bool:
        entry = self.entries.get(key)
        return entry is not None and entry.fingerprint == print_

    def record(self, key: str, entry: Entry) -> None:
        if self.entries.get(key) != entry:
            self.entries[key] = entry
            self._saved = False

    @classmethod
    def load(cls, state_dir: Path) -> Manifest:
        path = state_dir / MANIFEST_NAME
        text = read_text_if_exists(path)
        if text is None:
            return cls()
        try:
            data = _parse(text)
            if data.get("version") != FORMAT_VERSION:
                raise ValueError(f"version {data.get('version')!r}")
            entries = {key: Entry.from_json(value) for key, value in data["entries"].items()}
            return cls(entries, saved=True)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            log.warning(
                "ignoring unreadable ingest manifest %s (%s): re-ingesting all", path, error
            )
            return cls()

    def save(self, state_dir: Path) -> None:
        """Write the manifest, unless it is the file it was loaded from (an unchanged run)."""
        if self._saved:
            return
        data = {
            "version": FORMAT_VERSION,
            "entries": {key: self.entries[key].to_json() for key in sorted(self.entries)},
        }
        # compact: the C encoder (indent would switch json to its pure-Python encoder, a tenth
        # of a second for a few thousand sessions)
        atomic_write_text(state_dir / MANIFEST_NAME, json.dumps(data, separators=(",", ":")) + "\n")
        self._saved = True
