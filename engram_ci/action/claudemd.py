"""Put a project's memory where the next agent reads it: a marked section of CLAUDE.md.

The section sits between `<!-- engram-ci:begin project=P -->` and `<!-- engram-ci:end -->`
and is replaced in place on every run; everything else in the file is the user's and is kept
byte for byte. One file can hold sections for several projects.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

from engram_ci.errors import FatalError
from engram_ci.knowledge.blocks import CONTEXT_FILE
from engram_ci.knowledge.context import synthesize
from engram_ci.memory import projectfiles
from engram_ci.memory.fsutil import atomic_write_text, read_text_if_exists
from engram_ci.memory.paths import MemoryLayout
from engram_ci.transcripts.model import check_project_name

__all__ = ["END_MARKER", "begin_marker", "render_section", "replace_section", "write_context"]

_MARKER_PREFIX = "<!-- engram-ci:"
END_MARKER = "<!-- engram-ci:end -->"
_HEADER = (
    "<!-- Written by engram-ci from the project's shared memory; it is replaced on every"
    " run, so edit the knowledge, not this section. -->"
)


def begin_marker(project: str) -> str:
    # quoted so that no project name can close the comment or fake another marker
    return f"<!-- engram-ci:begin project={quote(project, safe='')} -->"


def project_context(layout: MemoryLayout, project: str, budget: int | None = None) -> str:
    """The project's context.md, or one synthesised from its knowledge files (always, at
    that size, when a budget is asked for)."""
    project = check_project_name(project)
    text = read_text_if_exists(layout.knowledge_dir(project) / CONTEXT_FILE)
    if budget is None and text and text.strip():
        return text
    categories = projectfiles.parse_categories(projectfiles.read_local(layout, project))
    return synthesize(project, categories, budget)


def render_section(project: str, context_text: str) -> str:
    # Knowledge comes from transcripts, i.e. anyone: defuse marker look-alikes inside it so
    # the next run still finds the real end of the section.
    body = context_text.replace(_MARKER_PREFIX, "<!-- engram-ci (quoted):").strip("\n")
    return f"{begin_marker(project)}\n{_HEADER}\n\n{body}\n\n{END_MARKER}"


def replace_section(document: str, project: str, section: str) -> str:
    """`document` with the project's section replaced, or appended when it has none."""
    begin = re.compile(rf"^{re.escape(begin_marker(project))}[ \t]*$", re.MULTILINE)
    found = begin.search(document)
    if found is None:
        if not document:
            return section + "\n"
        separator = (
            "" if document.endswith("\n\n") else ("\n" if document.endswith("\n") else "\n\n")
        )
        return f"{document}{separator}{section}\n"
    end = document.find(END_MARKER, found.end())
    if end < 0:
        raise FatalError(
            f"the engram-ci section for {project!r} has no end marker {END_MARKER}: "
            "restore the marker or delete the section, then run again",
            title="broken CLAUDE.md section",
        )
    return document[: found.start()] + section + document[end + len(END_MARKER) :]


def write_context(
    layout: MemoryLayout, project: str, path: Path, *, budget: int | None = None
) -> bool:
    """Write the project's context (sized to `budget`, when given) into `path`'s marked
    section; True when the file changed.

    Atomic (readers see the old file or the new one) and keeps the file's permissions.
    """
    current = read_text_if_exists(path)
    section = render_section(project, project_context(layout, project, budget))
    updated = replace_section(current or "", project, section)
    if updated == current:
        return False
    mode = os.stat(path).st_mode & 0o777 if current is not None else 0o644
    atomic_write_text(path, updated, mode=mode)
    return True
