"""Which transcript groups an ingest run reads: the readers, then a `stat` per group.

default_readers picks the registered reader of each selected agent (transcripts/registry.py);
changed_groups asks each for its groups and keeps those the manifest does not already hold
from the same bytes — a fingerprint, no parse — or that --force, --since and --project let in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engram_ci.ingest.options import IngestOptions
from engram_ci.memory.manifest import Entry, Fingerprint, Manifest, fingerprint, group_key
from engram_ci.transcripts.model import TranscriptGroup
from engram_ci.transcripts.registry import Reader, get_reader, merge_groups

__all__ = ["Discovered", "Todo", "changed_groups", "default_readers"]

log = logging.getLogger("engram_ci")

#: a group to read: the reader that found it, its fingerprint at discovery
Todo = tuple[Reader, TranscriptGroup, Fingerprint]


def default_readers(options: IngestOptions) -> list[tuple[Reader, tuple[Path, ...]]]:
    """The registered reader of each of the options' agents, with its roots made absolute
    (the manifest keys on the paths discovery returns: a relative root must not make the
    same transcript look new when run from another folder)."""
    for agent in options.agents or ():
        get_reader(agent)  # an unknown name is a FatalError naming the known ones
    return [(get_reader(agent), _absolute(roots)) for agent, roots in options.sources()]


def _absolute(roots: tuple[Path, ...]) -> tuple[Path, ...]:
    return tuple(root.expanduser().resolve() for root in roots)


@dataclass
class Discovered:
    """What discovery found: the groups to read, and the counts the report takes from it."""

    todo: list[Todo] = field(default_factory=list)
    transcripts_found: int = 0
    #: groups the manifest holds as ingested from these very bytes
    unchanged: int = 0
    #: the projects the manifest puts the found groups in (--project's check)
    projects_seen: set[str] = field(default_factory=set)


def changed_groups(
    readers: Sequence[tuple[Reader, tuple[Path, ...]]], manifest: Manifest, options: IngestOptions
) -> Discovered:
    """Every group the readers find under their roots that this run must read."""
    found = Discovered()
    seen: set[str] = set()  # session ids: one session found by two readers counts once
    since = options.since_seconds
    cutoff = None if since is None else time.time_ns() - int(since * 1e9)
    for reader, roots in readers:
        existing = [root for root in roots if root.exists()]  # folders, or files
        for group in merge_groups(reader.discover(existing)) if existing else []:
            if group.session_id in seen:
                # e.g. a claude-code-action run staged as a transcript AND its execution
                # file: the earlier reader (registry order) is the richer source
                log.info("%s: session %s already found", group.main, group.session_id)
                continue
            seen.add(group.session_id)
            found.transcripts_found += 1
            print_ = fingerprint(group)
            if cutoff is not None and max((m for _, _, m in print_), default=0) < cutoff:
                continue  # --since: not touched lately
            entry = manifest.get(group_key(group))
            if entry and entry.project:
                found.projects_seen.add(entry.project)
            if entry and entry.project and not options.wants_project(entry.project):
                continue  # --project: a session never moves to another project
            if _needs_reading(options, entry, print_):
                found.todo.append((reader, group, print_))
            elif entry and entry.status == "ingested":
                found.unchanged += 1
    return found


def _needs_reading(options: IngestOptions, entry: Entry | None, print_: Fingerprint) -> bool:
    if options.force or entry is None or entry.fingerprint != print_:
        return True
    # archived by a --skip-knowledge run, and this run extracts knowledge
    return entry.status == "ingested" and not entry.has_knowledge and options.wants_knowledge()
