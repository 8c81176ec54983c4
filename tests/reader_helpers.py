"""What the reader tests share: copying a store of samples, reading every session in it."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from engram_ci.transcripts.model import Session, TranscriptGroup
from engram_ci.transcripts.registry import Reader, merge_groups


def copy_store(samples: Path, target: Path) -> Path:
    """A writable copy of a samples folder (tests may corrupt or compress its files)."""
    shutil.copytree(samples, target)
    return target


def read_groups(
    reader: Reader, roots: Sequence[Path]
) -> list[tuple[TranscriptGroup, Session | None]]:
    """Every group under `roots` (merged as ingest merges them) with what it reads as."""
    groups = merge_groups(reader.discover(list(roots)))
    return [(group, reader.read_session(group)) for group in groups]


def read_sessions(reader: Reader, roots: Sequence[Path]) -> dict[str, Session]:
    """Every session under `roots` by id; every group must read as a session."""
    found = {}
    for group, session in read_groups(reader, roots):
        assert session is not None, f"{group.main} read as no session"
        found[session.session_id] = session
    return found
