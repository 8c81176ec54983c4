"""The read side of memory: list projects, recall a project's context, export it whole.

Everything here only reads the memory dir. Exports are pure data on stdout (the sync guide
pipes `engram export P json | gpg ...`, and `engram import P -` reads it back), so nothing in
this module logs at info level or prints.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from engram_ci import __version__
from engram_ci.errors import FatalError
from engram_ci.knowledge import context
from engram_ci.knowledge.blocks import KNOWLEDGE_CATEGORIES, KnowledgeFile, render_tags
from engram_ci.memory import projectfiles
from engram_ci.memory.archive import archived_metas, last_activity, read_archive
from engram_ci.memory.paths import MemoryLayout
from engram_ci.memory.projectfiles import require_project

__all__ = ["FORMATS", "collect", "recall", "render", "summarize_projects"]

FORMATS = ("json", "markdown", "html")


def _category_files(
    layout: MemoryLayout, project: str
) -> tuple[dict[str, str], dict[str, KnowledgeFile]]:
    files = projectfiles.read_local(layout, project)
    return files, projectfiles.parse_categories(files)


def recall(layout: MemoryLayout, project: str, budget: int | None = None) -> str:
    """The project's context.md; synthesised from the category files when it is missing, or
    when a budget other than the one it was written with is asked for."""
    files, categories = _category_files(layout, require_project(layout, project))
    if budget is not None:
        return context.synthesize(project, categories, budget)
    return projectfiles.current_context(project, files, categories)


@dataclass(frozen=True)
class ProjectSummary:
    name: str
    sessions: int
    blocks: int
    last_activity: str | None
    #: archived sessions per agent that wrote them (meta.json "source": "claude-code", …)
    agents: tuple[tuple[str, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.name,
            "sessions": self.sessions,
            "knowledge_blocks": self.blocks,
            "last_activity": self.last_activity,
            "agents": dict(self.agents),
        }


def summarize_projects(layout: MemoryLayout) -> list[ProjectSummary]:
    """Each project's session count, live knowledge blocks and latest timestamp seen."""
    summaries = []
    for name in layout.projects():
        _, categories = _category_files(layout, name)
        blocks = [b for kf in categories.values() for b in kf.live_blocks()]
        archive = read_archive(layout, name)
        agents = Counter(str(m.get("source") or "unknown") for m in archive.metas)
        last = last_activity((b.timestamp for b in blocks), archive.metas)
        summaries.append(
            ProjectSummary(
                name,
                archive.sessions,
                len(blocks),
                last,
                tuple(sorted(agents.items())),
            )
        )
    return summaries


@dataclass(frozen=True)
class ProjectExport:
    project: str
    categories: dict[str, KnowledgeFile]
    context: str
    sessions: list[dict[str, Any]]


def collect(layout: MemoryLayout, project: str, *, redact: bool = True) -> ProjectExport:
    """The project's knowledge, context and session metadata; secrets redacted (the same
    step every sync upload passes, sync/outbound.py) unless `redact` is False."""
    files = projectfiles.read_local(layout, require_project(layout, project))
    sessions = archived_metas(layout, project)
    if redact:
        # imported here: the redactor's rules are a good part of start-up, and `engram
        # recall` (a hook at every session start) and `engram projects` never redact
        from engram_ci.sync.outbound import redact_outbound, redact_value

        files, _ = redact_outbound(files)
        sessions = redact_value(sessions)
    categories = projectfiles.parse_categories(files)
    return ProjectExport(
        project=project,
        categories={c: categories[c] for c in KNOWLEDGE_CATEGORIES if c in categories},
        context=projectfiles.current_context(project, files, categories),
        sessions=sessions,
    )


def to_json(export: ProjectExport) -> str:
    data = {
        "project": export.project,
        "exported_by": f"engram-ci {__version__}",
        "knowledge": {
            category: [
                {
                    "session": block.session_id,
                    "timestamp": block.timestamp,
                    "tags": dict(block.tags),
                    "body": block.body,
                }
                for block in kf.live_blocks()
            ]
            for category, kf in export.categories.items()
        },
        "context": export.context,
        "sessions": export.sessions,
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def to_markdown(export: ProjectExport) -> str:
    lines = [f"# Memory export: {export.project}", "", f"_{len(export.sessions)} session(s)._"]
    for category, kf in export.categories.items():
        lines += ["", f"## {category.capitalize()}"]
        for block in kf.live_blocks():
            lines += [
                "",
                f"### {block.session_id} ({block.timestamp}){render_tags(block.tags)}",
                "",
            ]
            lines.append(block.body)
    if export.sessions:
        lines += ["", "## Sessions", ""]
        for meta in export.sessions:
            title = meta.get("title") or ""
            lines.append(
                f"- `{meta.get('session_id')}` {meta.get('started_at') or ''} "
                f"— {meta.get('tool_calls', 0)} tool calls" + (f" — {title}" if title else "")
            )
    return "\n".join(lines) + "\n"


_STYLE = (
    "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "pre{white-space:pre-wrap;background:#f6f8fa;padding:.75rem;border-radius:6px}"
    ".tags{color:#57606a;font-size:.85em}table{border-collapse:collapse}"
    "td,th{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left}"
)


def to_html(export: ProjectExport) -> str:
    """One self-contained page; every piece of memory text is escaped (it came from transcripts)."""
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Memory: {e(export.project)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Memory: {e(export.project)}</h1>",
        "<h2>Context</h2>",
        f"<pre>{e(export.context)}</pre>",
    ]
    for category, kf in export.categories.items():
        out.append(f"<h2>{e(category.capitalize())}</h2>")
        for block in kf.live_blocks():
            out.append(
                f"<h3>{e(block.session_id)} <small>({e(block.timestamp)})</small> "
                f'<span class="tags">{e(render_tags(block.tags))}</span></h3>'
            )
            out.append(f"<pre>{e(block.body)}</pre>")
    if export.sessions:
        out.append("<h2>Sessions</h2><table><tr><th>Session</th><th>Started</th>")
        out.append("<th>Tool calls</th><th>Title</th></tr>")
        for meta in export.sessions:
            cells = (
                meta.get("session_id"),
                meta.get("started_at"),
                meta.get("tool_calls"),
                meta.get("title"),
            )
            out.append("<tr>" + "".join(f"<td>{e(str(c or ''))}</td>" for c in cells) + "</tr>")
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def render(export: ProjectExport, fmt: str) -> str:
    renderers = {"json": to_json, "markdown": to_markdown, "html": to_html}
    if fmt not in renderers:
        raise FatalError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    return renderers[fmt](export)
