"""A project's knowledge as a set of files: read, merge, write — what every sync backend moves.

Gist and repo sync differ only in transport. Both read the local files with `read_local`,
merge what the remote holds with `merge_filesets`, write the result back with `write_local`,
and upload `for_upload(merged)` (redacted on the way). Only names in KNOWN_KNOWLEDGE_FILES
ever cross this boundary.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from engram_ci import __version__
from engram_ci.errors import FatalError
from engram_ci.knowledge import blocks as knowledge
from engram_ci.knowledge import context, ttl
from engram_ci.knowledge.blocks import CONTEXT_FILE, KNOWLEDGE_CATEGORIES, KnowledgeFile
from engram_ci.memory import merge
from engram_ci.memory.fsutil import StagedWrites, atomic_write_text
from engram_ci.memory.paths import KNOWN_KNOWLEDGE_FILES, METADATA_FILE, MemoryLayout
from engram_ci.transcripts.model import check_project_name

__all__ = [
    "FileSet",
    "current_context",
    "diff_filesets",
    "for_upload",
    "merge_filesets",
    "metadata_json",
    "parse_categories",
    "project_of",
    "read_local",
    "require_project",
    "split_known",
    "with_context",
    "write_local",
]

log = logging.getLogger("engram_ci")

#: file name -> text
FileSet = dict[str, str]
CATEGORY_FILES = tuple(f"{c}.md" for c in KNOWLEDGE_CATEGORIES)


def read_local(layout: MemoryLayout, project: str) -> FileSet:
    """The project's knowledge files that exist (regular files with known names only)."""
    directory = layout.knowledge_dir(check_project_name(project))
    files: FileSet = {}
    if not directory.is_dir():
        return files
    for name in sorted(KNOWN_KNOWLEDGE_FILES):
        path = directory / name
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(info.st_mode):
            log.warning("skipping %s: not a regular file", path)
            continue
        files[name] = path.read_bytes().decode("utf-8", errors="replace")
    return files


def require_project(layout: MemoryLayout, project: str) -> str:
    """`project` if the memory holds it, else a FatalError saying how to list projects."""
    check_project_name(project)
    if project not in layout.projects():
        raise FatalError(
            f"unknown project {project!r} in {layout.root}: "
            "run `engram projects` to list them (or pass --memory-dir)",
            title="unknown project",
        )
    return project


def split_known(names: Iterable[str], *, source: str) -> tuple[list[str], list[str]]:
    """(known knowledge file names, everything else) — the rest is warned about, never used."""
    known: list[str] = []
    unknown: list[str] = []
    for name in names:
        (known if name in KNOWN_KNOWLEDGE_FILES else unknown).append(name)
    for name in unknown:
        if name != METADATA_FILE:
            log.warning("ignoring %r from %s: not a knowledge file name", name, source)
    return sorted(known), unknown


def parse_categories(files: Mapping[str, str]) -> dict[str, KnowledgeFile]:
    return {
        name.removesuffix(".md"): knowledge.parse(files[name])
        for name in CATEGORY_FILES
        if name in files
    }


def with_context(project: str, categories: Mapping[str, KnowledgeFile]) -> FileSet:
    """Render category files and regenerate context.md from them (derived, never merged)."""
    files: FileSet = {f"{c}.md": knowledge.render(kf) for c, kf in categories.items()}
    if categories:
        files[CONTEXT_FILE] = context.synthesize(project, categories)
    return dict(sorted(files.items()))


def current_context(
    project: str,
    files: Mapping[str, str],
    categories: Mapping[str, KnowledgeFile],
    *,
    now: datetime | None = None,
) -> str:
    """context.md as stored, unless it is missing or a block has expired since it was written
    (a `[ttl:]` runs out with no write to regenerate it): then synthesised afresh."""
    stored = files.get(CONTEXT_FILE)
    blocks = (b for kf in categories.values() for b in kf.live_blocks())
    if stored and not any(ttl.is_expired(b, now) for b in blocks):
        return stored
    return context.synthesize(project, categories) if categories or not stored else stored


def merge_filesets(project: str, *sets: Mapping[str, str]) -> FileSet:
    """Block-level merge of several copies of a project's files; nothing from any side lost."""
    merged: dict[str, KnowledgeFile] = {}
    for files in sets:
        for category, kf in parse_categories(files).items():
            held = merged.get(category)
            merged[category] = kf if held is None else merge.merge(held, kf)
    canonical = {c: merge.canonical(kf.blocks, kf.preamble) for c, kf in merged.items()}
    result = with_context(project, canonical)
    if not canonical:
        # a project that only has a context.md (written by engram's LLM) keeps it
        for files in sets:
            if CONTEXT_FILE in files:
                result[CONTEXT_FILE] = files[CONTEXT_FILE]
    return result


def for_upload(files: Mapping[str, str], *, now: datetime | None = None) -> FileSet:
    """What a remote receives of `files`: every category without its expired `[ttl:]` blocks.

    Local memory keeps them (until `engram forget`); context.md is already synthesised
    without them. Files with nothing expired keep their exact bytes.
    """
    upload = dict(files)
    categories = parse_categories(files)
    for category, kf in ttl.unexpired(categories, now).items():
        if kf is not categories[category]:
            upload[f"{category}.md"] = knowledge.render(kf)
    return upload


@dataclass(frozen=True)
class LocalWrite:
    """The files a local write changed, and how their blocks changed."""

    written: tuple[str, ...]
    diff: merge.BlockDiff


def write_local(
    layout: MemoryLayout,
    project: str,
    files: Mapping[str, str],
    *,
    count_blocks: bool = True,
    staged: StagedWrites | None = None,
) -> LocalWrite:
    """Atomically write the files that differ; report which and (unless count_blocks is
    False: a zero diff, for callers that count blocks themselves) how the blocks changed.
    With `staged`, the files are only staged: they appear when the caller commits it.

    context.md goes last, and is touched even when its bytes did not change: engram treats a
    context.md older than the category files as stale and pays a model to rewrite it."""
    directory = layout.knowledge_dir(check_project_name(project))
    before = read_local(layout, project)
    written = []
    for name, text in sorted(files.items(), key=lambda item: (item[0] == CONTEXT_FILE, item[0])):
        if name not in KNOWN_KNOWLEDGE_FILES:
            raise ValueError(f"refusing to write unknown knowledge file {name!r}")
        if before.get(name) != text:
            if staged is None:
                atomic_write_text(directory / name, text)
            else:
                staged.add(directory / name, text)
            written.append(name)
        elif name == CONTEXT_FILE and written:
            if staged is None:
                os.utime(directory / name)
            else:  # staged after the categories, so renamed in with a newer mtime
                staged.add(directory / name, text)
    diff = diff_filesets(before, files) if count_blocks else merge.BlockDiff(0, 0, 0)
    return LocalWrite(tuple(written), diff)


def diff_filesets(before: Mapping[str, str], after: Mapping[str, str]) -> merge.BlockDiff:
    old, new = parse_categories(before), parse_categories(after)
    added = removed = changed = 0
    for category in set(old) | set(new):
        d = merge.diff(old.get(category, KnowledgeFile("")), new.get(category, KnowledgeFile("")))
        added, removed, changed = added + d.added, removed + d.removed, changed + d.changed
    return merge.BlockDiff(added, removed, changed)


def project_of(files: Mapping[str, str]) -> str | None:
    """The project a store's metadata.json names, or None (no metadata, or unreadable)."""
    try:
        data = json.loads(files.get(METADATA_FILE) or "null")
    except ValueError:
        return None
    project = data.get("project") if isinstance(data, dict) else None
    return project if isinstance(project, str) else None


def metadata_json(project: str, *, now: datetime | None = None, **extra: object) -> str:
    """engram's metadata.json: {project, synced_at, tool, version} (+ extra keys)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    data: dict[str, object] = {
        "project": project,
        "synced_at": stamp,
        "tool": "engram-ci",
        "version": __version__,
    }
    data.update(extra)
    return json.dumps(data, indent=2, sort_keys=False) + "\n"
