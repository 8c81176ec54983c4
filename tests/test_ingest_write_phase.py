"""engram_ci/ingest/write_phase.py: outcomes applied under the lock, against the manifest as it
is NOW — another ingest may have recorded a group while this one read it without the lock."""

from __future__ import annotations

from pathlib import Path

from engram_ci.ingest import Extractor, IngestOptions, IngestReport
from engram_ci.ingest.discovery import Todo
from engram_ci.ingest.per_session import Outcome, SessionWork
from engram_ci.ingest.write_phase import WritePhase, manifest_identity
from engram_ci.knowledge.extract import extract_offline
from engram_ci.memory.manifest import Entry, Manifest, fingerprint, group_key
from engram_ci.memory.paths import MemoryLayout
from engram_ci.transcripts.model import TranscriptGroup
from engram_ci.transcripts.registry import get_reader

from .ingest_helpers import INVOICE_1, invoice_fixture, samples_fixture  # noqa: F401  (fixtures)


def _outcomes(
    memory: MemoryLayout, group: TranscriptGroup, extract: Extractor | None = extract_offline
) -> list[tuple[Todo, Outcome]]:
    work = SessionWork(IngestOptions(memory_dir=memory.root), memory, extract)
    outcome = work.process(get_reader("claude-code"), group)
    return [((get_reader("claude-code"), group, fingerprint(group)), outcome)]


def _writer(memory: MemoryLayout, report: IngestReport) -> WritePhase:
    options = IngestOptions(memory_dir=memory.root)
    return WritePhase(options, memory, lambda paths: None, report, set())


def _recorded_meanwhile(memory: MemoryLayout, group: TranscriptGroup, entry: Entry) -> None:
    theirs = Manifest()
    theirs.record(group_key(group), entry)
    theirs.save(memory.state_dir)


def _staged_targets(done: list[tuple[Todo, Outcome]]) -> list[Path]:
    return [Path(target) for _, outcome in done for _, target in outcome.staged]


def test_a_session_is_put_in_place_recorded_and_its_knowledge_written(
    invoice: TranscriptGroup, memory: MemoryLayout
) -> None:
    done = _outcomes(memory, invoice)
    targets = _staged_targets(done)
    report = IngestReport()
    projects = _writer(memory, report).under_lock(Manifest(), None, done, None)
    assert projects == {"invoice-cli"}
    assert all(t.exists() for t in targets)
    assert all(outcome.staged == () for _, outcome in done)  # nothing left to discard
    entry = Manifest.load(memory.state_dir).get(group_key(invoice))
    assert entry is not None and (entry.status, entry.session_id) == ("ingested", INVOICE_1)
    assert (memory.knowledge_dir("invoice-cli") / "context.md").exists()
    assert report.sessions == [("invoice-cli", INVOICE_1)] and report.knowledge_files_written


def test_a_record_from_other_bytes_made_meanwhile_stands(
    invoice: TranscriptGroup, memory: MemoryLayout
) -> None:
    read_as = manifest_identity(memory)  # no manifest yet
    done = _outcomes(memory, invoice)
    targets = _staged_targets(done)
    theirs = Entry((("elsewhere", 1, 1),), "ingested", INVOICE_1, "invoice-cli", ())
    _recorded_meanwhile(memory, invoice, theirs)
    report = IngestReport()
    assert _writer(memory, report).under_lock(Manifest(), read_as, done, None) == set()
    assert Manifest.load(memory.state_dir).get(group_key(invoice)) == theirs
    assert not any(t.exists() for t in targets)  # discarded, not put in place
    assert not list(memory.root.rglob("*.tmp"))
    assert (report.sessions_ingested, report.bytes_read > 0) == (0, True)


def test_a_reading_without_knowledge_leaves_theirs_with_knowledge_alone(
    invoice: TranscriptGroup, memory: MemoryLayout
) -> None:
    done = _outcomes(memory, invoice, extract=None)
    theirs = Entry(fingerprint(invoice), "ingested", INVOICE_1, "invoice-cli", ("decisions",))
    _recorded_meanwhile(memory, invoice, theirs)
    report = IngestReport()
    _writer(memory, report).under_lock(Manifest(), None, done, None)
    assert Manifest.load(memory.state_dir).get(group_key(invoice)) == theirs
    assert report.sessions_ingested == 0


def test_a_dry_run_applies_without_writing(invoice: TranscriptGroup, memory: MemoryLayout) -> None:
    work = SessionWork(IngestOptions(memory_dir=memory.root, dry_run=True), memory, None)
    outcome = work.process(get_reader("claude-code"), invoice)
    done: list[tuple[Todo, Outcome]] = [
        ((get_reader("claude-code"), invoice, fingerprint(invoice)), outcome)
    ]
    planned = Manifest()
    report = IngestReport()
    assert _writer(memory, report).apply_all(planned, planned, done) == {"invoice-cli"}
    assert report.sessions_ingested == 1
    assert not memory.root.exists()
