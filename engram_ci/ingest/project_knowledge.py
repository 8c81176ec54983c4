"""One project's knowledge changes in an ingest run: queued per session, written once.

The write phase queues each ingested session's blocks here (PendingKnowledge.queue); at the
end, write_project_knowledge reads the project's files as they are NOW (a pull may have
changed them since the run began), upserts every queued block — only our own blocks are
replaced, blocks written by engram or pulled by sync are kept — drops the blocks a session no
longer produces, and stages the changed files and context.md for the commit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from engram_ci.ingest.options import IngestOptions
from engram_ci.ingest.per_session import Outcome
from engram_ci.knowledge import blocks as knowledge
from engram_ci.knowledge import context
from engram_ci.knowledge.blocks import CONTEXT_FILE, Block
from engram_ci.memory import projectfiles
from engram_ci.memory.fsutil import StagedWrites
from engram_ci.memory.manifest import Entry
from engram_ci.memory.paths import MemoryLayout

__all__ = ["PendingKnowledge", "write_project_knowledge"]


@dataclass
class PendingKnowledge:
    """One project's knowledge changes, applied in one write at the end of the run."""

    blocks: dict[str, list[Block]] = field(default_factory=lambda: defaultdict(list))
    #: category -> session ids whose earlier block (written by us) no longer applies
    stale: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: category -> sessions the manifest says we wrote there before: an untagged block of
    #: theirs is an older engram-ci's, ours to replace (blocks.upsert_own)
    legacy: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: sessions this run read without a model: their model-written blocks stay
    offline: set[str] = field(default_factory=set)

    def queue(self, outcome: Outcome, previous: Entry | None) -> tuple[str, ...]:
        """Queue an extracted session's blocks (and what they replace); return the categories
        it now has blocks in, for the manifest. `previous`: its manifest entry so far."""
        assert outcome.entries is not None, "only extracted sessions have blocks to queue"
        tags = (
            (knowledge.CONFIDENCE_TAG, outcome.confidence),
            (knowledge.SOURCE_TAG, outcome.source),
        )
        if outcome.source == knowledge.OFFLINE_SOURCE:
            self.offline.add(outcome.session_id)
        written = []
        for category, clean in sorted(outcome.entries.items()):
            if clean.strip():
                self.blocks[category].append(Block(outcome.session_id, outcome.stamp, clean, tags))
                written.append(category)
        if previous and previous.session_id == outcome.session_id:
            for category in () if previous.tagged else previous.categories:
                self.legacy[category].add(outcome.session_id)
            for category in set(previous.categories) - set(written):
                self.stale[category].add(outcome.session_id)
        return tuple(written)


def write_project_knowledge(
    layout: MemoryLayout,
    project: str,
    pending: PendingKnowledge,
    staged: StagedWrites,
    options: IngestOptions,
) -> tuple[int, int]:
    """Upsert the run's blocks into the project's files, one staged write per file;
    return (blocks staged, files staged)."""
    blocks_written = 0
    files = projectfiles.read_local(layout, project)
    categories = projectfiles.parse_categories(files)
    changed: set[str] = set()
    for category, blocks in pending.blocks.items():
        current = categories.get(category) or knowledge.empty_file(category)
        # only our own blocks are replaced; tombstoned sessions stay forgotten
        legacy = frozenset(pending.legacy.get(category, ()))
        categories[category], written = knowledge.upsert_own(current, blocks, legacy=legacy)
        changed.add(category)  # even unchanged: context.md is rewritten (its budget may differ)
        blocks_written += written
    for category, session_ids in pending.stale.items():
        held = categories.get(category)
        if held is None:
            continue
        legacy = frozenset(pending.legacy.get(category, ()))
        kept = knowledge.drop_own(held, session_ids & pending.offline, legacy=legacy, offline=True)
        kept = knowledge.drop_own(kept, session_ids - pending.offline, legacy=legacy, offline=False)
        if kept != held:
            categories[category] = kept
            changed.add(category)
    if not changed and not options.force:
        return blocks_written, 0
    # only the files we changed are re-rendered: others keep their exact bytes; context.md
    # is synthesised again (a --force run may be asked for another --budget)
    out = {f"{c}.md": knowledge.render(categories[c]) for c in sorted(changed)}
    out[CONTEXT_FILE] = context.synthesize(project, categories, options.context_budget)
    result = projectfiles.write_local(layout, project, out, count_blocks=False, staged=staged)
    return blocks_written, len(result.written)
