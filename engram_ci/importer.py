"""`engram import P FILE`: the way back for `engram export P json` — the sync guide's
`engram export P json | gpg -c > f.gpg` then `gpg -d f.gpg | engram import P -`.

The file is untrusted input (it may come from anyone, and through anything): its size is
capped, its shape checked, every block re-checked as a header our parser reads back the
same, bodies sanitised so they cannot forge or swallow blocks. It then merges block by block
into the project under the memory lock, with atomic writes, like a pull: nothing local is
lost, and context.md is regenerated from the result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from engram_ci.errors import FatalError
from engram_ci.knowledge import blocks as knowledge
from engram_ci.knowledge.blocks import KNOWLEDGE_CATEGORIES, Block, KnowledgeFile
from engram_ci.memory import projectfiles
from engram_ci.memory.fsutil import file_lock
from engram_ci.memory.paths import MemoryLayout
from engram_ci.transcripts.model import check_project_name

__all__ = ["MAX_IMPORT_BYTES", "ImportResult", "import_export", "parse_export"]

MAX_IMPORT_BYTES = 64 * 2**20


@dataclass(frozen=True)
class ImportResult:
    project: str
    source_project: str | None  # the project the export was taken from
    blocks_read: int
    blocks_added: int
    files_written: tuple[str, ...]


def _invalid(where: str, what: str) -> FatalError:
    return FatalError(
        f"{where} is not an `engram export P json` file ({what}): export it again with "
        "`engram export PROJECT json`",
        title="invalid import",
    )


def _block(item: Any, where: str) -> Block:
    if not isinstance(item, dict):
        raise _invalid(where, "a block is not an object")
    session, stamp, body, tags = (item.get(k) for k in ("session", "timestamp", "body", "tags"))
    if not isinstance(session, str) or not isinstance(stamp, str) or not isinstance(body, str):
        raise _invalid(where, "a block lacks its session, timestamp or body text")
    if tags is None:
        tags = {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise _invalid(where, f"block {session[:40]!r} has tags that are not text")
    block = Block(session, stamp, knowledge.sanitize_body(body), tuple(tags.items()))
    # the header must read back as itself: no newline, bracket or paren games in id/tags
    again = knowledge.parse(knowledge.render(KnowledgeFile("#", (block,)))).blocks
    if again != (block,):
        raise _invalid(where, f"block {session[:40]!r} has an unusable session id or tag")
    return block


def parse_export(text: str, where: str) -> tuple[str | None, dict[str, KnowledgeFile]]:
    """(the exported project's name, its category files) from export JSON."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_IMPORT_BYTES:
        raise FatalError(
            f"{where} is larger than {MAX_IMPORT_BYTES // 2**20} MiB: split the project",
            title="import too large",
        )
    try:
        data = json.loads(text)
    except ValueError as error:
        raise _invalid(where, f"not JSON: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("knowledge"), dict):
        raise _invalid(where, "no `knowledge` object")
    source = data.get("project")
    categories: dict[str, KnowledgeFile] = {}
    for category, items in data["knowledge"].items():
        if category not in KNOWLEDGE_CATEGORIES:
            raise _invalid(where, f"unknown category {str(category)[:40]!r}")
        if not isinstance(items, list):
            raise _invalid(where, f"{category} is not a list of blocks")
        blocks = tuple(_block(item, where) for item in items)
        categories[category] = KnowledgeFile(knowledge.empty_file(category).preamble, blocks)
    return (source if isinstance(source, str) else None), categories


def import_export(layout: MemoryLayout, project: str, text: str, *, where: str) -> ImportResult:
    """Merge an export into `project` (block level, under the memory lock, atomic writes)."""
    project = check_project_name(project)
    source, categories = parse_export(text, where)
    imported = {f"{c}.md": knowledge.render(kf) for c, kf in categories.items()}
    with file_lock(layout.lock_file):
        local = projectfiles.read_local(layout, project)
        merged = projectfiles.merge_filesets(project, local, imported)
        written = projectfiles.write_local(layout, project, merged)
    return ImportResult(
        project=project,
        source_project=source,
        blocks_read=sum(len(kf.blocks) for kf in categories.values()),
        blocks_added=written.diff.added,
        files_written=written.written,
    )
