"""engram_ci/ingest/discovery.py: which groups a run reads — a `stat` each, never a parse."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engram_ci.ingest import IngestOptions, default_readers, run_ingest
from engram_ci.ingest.discovery import changed_groups
from engram_ci.memory.manifest import Manifest
from engram_ci.memory.paths import MemoryLayout

from .ingest_helpers import samples_fixture  # noqa: F401  (a fixture)

#: four transcript groups, three of them sessions (one holds no conversation)
SAMPLE_GROUPS = 4
SAMPLE_SESSIONS = 3


def _options(memory: MemoryLayout, root: Path, **kw: object) -> IngestOptions:
    return IngestOptions(memory_dir=memory.root, claude_roots=(root,), jobs=1, **kw)  # type: ignore[arg-type]


def _discover(options: IngestOptions, memory: MemoryLayout):  # type: ignore[no-untyped-def]
    return changed_groups(default_readers(options), Manifest.load(memory.state_dir), options)


def test_a_fresh_memory_reads_every_group(samples: Path, memory: MemoryLayout) -> None:
    found = _discover(_options(memory, samples), memory)
    assert found.transcripts_found == len(found.todo) == SAMPLE_GROUPS
    assert (found.unchanged, found.projects_seen) == (0, set())


def test_an_ingested_group_is_unchanged_until_forced(samples: Path, memory: MemoryLayout) -> None:
    run_ingest(_options(memory, samples))
    again = _discover(_options(memory, samples), memory)
    assert (again.todo, again.unchanged) == ([], SAMPLE_SESSIONS)
    assert again.projects_seen == {"invoice-cli", "weather-api"}
    forced = _discover(_options(memory, samples, force=True), memory)
    assert len(forced.todo) == SAMPLE_GROUPS


def test_a_touched_transcript_is_read_again(samples: Path, memory: MemoryLayout) -> None:
    run_ingest(_options(memory, samples))
    transcript = next(samples.rglob("*.jsonl"))
    with transcript.open("a") as grown:
        grown.write("\n")
    found = _discover(_options(memory, samples), memory)
    assert [group.main for _, group, _ in found.todo] == [transcript]


def test_project_never_reads_another_projects_known_groups(
    samples: Path, memory: MemoryLayout
) -> None:
    run_ingest(_options(memory, samples))
    found = _discover(_options(memory, samples, force=True, project="invoice-cli"), memory)
    assert {group.main.parent.name for _, group, _ in found.todo} == {"-home-dev-src-invoice-cli"}
    assert found.projects_seen == {"invoice-cli", "weather-api"}  # for --project's error


def test_since_skips_what_was_not_touched_lately(samples: Path, memory: MemoryLayout) -> None:
    for path in samples.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000))
    found = _discover(_options(memory, samples, since_seconds=300), memory)
    assert (found.todo, found.transcripts_found) == ([], SAMPLE_GROUPS)


def test_a_skip_knowledge_run_is_read_again_by_one_that_extracts(
    samples: Path, memory: MemoryLayout
) -> None:
    run_ingest(_options(memory, samples, skip_knowledge=True))
    assert _discover(_options(memory, samples, skip_knowledge=True), memory).todo == []
    assert len(_discover(_options(memory, samples), memory).todo) == SAMPLE_SESSIONS


def test_default_readers_make_roots_absolute(
    samples: Path, memory: MemoryLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(samples.parent)
    [(reader, roots)] = default_readers(_options(memory, Path(samples.name)))
    assert reader.name == "claude-code"
    assert roots == (samples.resolve(),)
