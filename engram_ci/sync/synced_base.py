"""What this machine remembers about each store it synced with (engram status keeps its own
record in memory/syncstate.py), under the memory's state dir:

- the base: the plaintext a store held for a project right after the last push or pull
  (<memory>/.engram-ci/sync/<store key>/<project>.json), the third side of every merge;
- lineage: where a cloned project came from (<memory>/.engram-ci/sync/lineage/<project>.json),
  kept for the record only — a clone pushes to a store of its own.

Files are 0600: the base holds knowledge as it was synced (already redacted when uploaded).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from engram_ci.memory.fsutil import atomic_write_text, read_text_if_exists
from engram_ci.memory.paths import MemoryLayout
from engram_ci.memory.projectfiles import FileSet

log = logging.getLogger("engram_ci")

__all__ = ["Base", "forget_base", "read_base", "read_lineage", "write_base", "write_lineage"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class Base:
    version: str | None
    files: FileSet


def _dir(layout: MemoryLayout) -> Path:
    return layout.state_dir / "sync"


def _base_file(layout: MemoryLayout, store_key: str, project: str) -> Path:
    return _dir(layout) / _UNSAFE.sub("_", store_key) / f"{project}.json"


def read_base(layout: MemoryLayout, store_key: str, project: str) -> Base | None:
    path = _base_file(layout, store_key, project)
    text = read_text_if_exists(path)
    if text is None:
        return None
    try:
        data = json.loads(text)
        files = {str(k): str(v) for k, v in data["files"].items()}
        version = data.get("version")
        return Base(str(version) if version else None, files)
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("ignoring unreadable %s (the next sync merges without a base)", path)
        return None


def write_base(layout: MemoryLayout, store_key: str, project: str, base: Base) -> None:
    text = json.dumps({"version": base.version, "files": base.files}, indent=1, sort_keys=True)
    atomic_write_text(_base_file(layout, store_key, project), text + "\n", mode=0o600)


def forget_base(layout: MemoryLayout, store_key: str, project: str) -> None:
    _base_file(layout, store_key, project).unlink(missing_ok=True)


def _lineage_file(layout: MemoryLayout, project: str) -> Path:
    return _dir(layout) / "lineage" / f"{project}.json"


def write_lineage(layout: MemoryLayout, project: str, origin: str, version: str | None) -> None:
    text = json.dumps({"origin": origin, "version": version}, indent=1) + "\n"
    atomic_write_text(_lineage_file(layout, project), text, mode=0o600)


def read_lineage(layout: MemoryLayout, project: str) -> dict[str, str | None] | None:
    text = read_text_if_exists(_lineage_file(layout, project))
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
