"""context.md: a short, deterministic digest of a project's knowledge for the next agent.

engram asks an LLM to synthesise it; we derive it from the category files so that it is the
same bytes on every machine for the same knowledge (it is regenerated after every merge,
never text-merged). Most recent entries first, bounded in size to fit an agent's context.
"""

from __future__ import annotations

from collections.abc import Mapping

from engram_ci.knowledge import ttl
from engram_ci.knowledge.blocks import KNOWLEDGE_CATEGORIES, Block, KnowledgeFile

MAX_ENTRIES_PER_CATEGORY = 8
MAX_LINES_PER_ENTRY = 6
MAX_CHARS = 12_000


def _entry_lines(block: Block) -> list[str]:
    lines = [line for line in block.body.split("\n") if line.strip()]
    in_fence = False
    kept: list[str] = []
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if not in_fence and not line.lstrip().startswith("#"):
            kept.append(line if line.lstrip().startswith(("-", "*")) else f"- {line.strip()}")
    return kept[:MAX_LINES_PER_ENTRY]


def synthesize(project: str, files: Mapping[str, KnowledgeFile]) -> str:
    """Build context.md from category name -> parsed file (categories absent are skipped)."""
    files = ttl.unexpired(files)  # an expired [ttl:] block leaves the context (stays on disk)
    sessions = {b.session_id for kf in files.values() for b in kf.live_blocks()}
    latest = max((b.timestamp for kf in files.values() for b in kf.live_blocks()), default="")
    out = [
        f"# Project context: {project}",
        "",
        f"_Synthesised by engram-ci from {len(sessions)} session(s)"
        + (f"; latest {latest}" if latest else "")
        + "._",
    ]
    size = sum(len(line) + 1 for line in out)
    for category in KNOWLEDGE_CATEGORIES:
        kf = files.get(category)
        if kf is None or not kf.live_blocks():
            continue
        section = ["", f"## {category.capitalize()}", ""]
        recent = sorted(kf.live_blocks(), key=lambda b: (b.timestamp, b.session_id), reverse=True)
        for block in recent[:MAX_ENTRIES_PER_CATEGORY]:
            section.extend(_entry_lines(block))
        section_size = sum(len(line) + 1 for line in section)
        if size + section_size > MAX_CHARS:
            out.extend(["", f"_(more in {category}.md)_"])
            continue
        out.extend(section)
        size += section_size
    return "\n".join(out).rstrip("\n") + "\n"
