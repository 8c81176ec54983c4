"""engram_ci/ingest/per_session.py: read → extract → stage one group, changing nothing in memory/.

SessionWork.process runs without the memory lock (often in a forked worker): all it may leave
behind is staged files, which only the write phase puts in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from engram_ci.errors import FatalError
from engram_ci.ingest import Extractor, IngestOptions
from engram_ci.ingest.discovery import Todo
from engram_ci.ingest.extractor import ExtractionLike
from engram_ci.ingest.per_session import Outcome, SessionWork, process_all
from engram_ci.knowledge.extract import extract_offline
from engram_ci.memory import staging
from engram_ci.memory.manifest import fingerprint
from engram_ci.memory.paths import MemoryLayout
from engram_ci.progress import NullProgress
from engram_ci.transcripts import claude
from engram_ci.transcripts.model import Session, TranscriptGroup
from engram_ci.transcripts.registry import get_reader

from .ingest_helpers import INVOICE_1, invoice_fixture, samples_fixture  # noqa: F401  (fixtures)


def _work(
    memory: MemoryLayout, extract: Extractor | None = extract_offline, **kw: object
) -> SessionWork:
    options = IngestOptions(memory_dir=memory.root, **kw)  # type: ignore[arg-type]
    return SessionWork(options, memory, extract)


def test_a_session_is_staged_not_written(invoice: TranscriptGroup, memory: MemoryLayout) -> None:
    outcome = _work(memory).process(get_reader("claude-code"), invoice)
    assert (outcome.kind, outcome.project, outcome.session_id) == (
        "ingested",
        "invoice-cli",
        INVOICE_1,
    )
    assert outcome.entries and outcome.source == "offline"
    targets = [Path(target) for _, target in outcome.staged]
    assert targets and not any(t.exists() for t in targets)
    staging.put_in_place(outcome.staged)
    assert all(t.exists() for t in targets)
    assert memory.conversation_dir("invoice-cli", INVOICE_1) in {t.parent for t in targets}


def test_a_dry_run_stages_nothing(invoice: TranscriptGroup, memory: MemoryLayout) -> None:
    outcome = _work(memory, dry_run=True).process(get_reader("claude-code"), invoice)
    assert outcome.kind == "ingested" and outcome.staged == ()
    assert not memory.root.exists()


def test_another_projects_session_is_read_but_dropped(
    invoice: TranscriptGroup, memory: MemoryLayout
) -> None:
    outcome = _work(memory, project="weather-api").process(get_reader("claude-code"), invoice)
    assert (outcome.kind, outcome.bytes_read, outcome.staged) == ("unwanted", True, ())


def test_without_an_extractor_nothing_is_extracted(
    invoice: TranscriptGroup, memory: MemoryLayout
) -> None:
    outcome = _work(memory, extract=None).process(get_reader("claude-code"), invoice)
    assert outcome.kind == "ingested" and outcome.entries is None
    staging.discard(outcome.staged)


def test_a_wrong_setting_in_the_extractor_stops_the_run(
    invoice: TranscriptGroup, memory: MemoryLayout
) -> None:
    def wrong(session: Session) -> ExtractionLike:
        raise FatalError("provider says no", title="bad provider")

    work = _work(memory, extract=wrong)
    assert work.process(get_reader("claude-code"), invoice).fatal == (
        "provider says no",
        "bad provider",
    )
    todo: list[Todo] = [(get_reader("claude-code"), invoice, fingerprint(invoice))]
    done: list[tuple[Todo, Outcome]] = []
    with pytest.raises(FatalError, match="provider says no"):
        process_all(work, todo, done, NullProgress(), parallel=False)
    assert len(done) == 1  # the caller still sees it (to discard what it staged)


def test_an_extractor_bug_fails_the_session_only(
    invoice: TranscriptGroup, memory: MemoryLayout
) -> None:
    def buggy(session: Session) -> ExtractionLike:
        raise KeyError("oops")

    outcome = _work(memory, extract=buggy).process(get_reader("claude-code"), invoice)
    assert (outcome.kind, outcome.bytes_read, outcome.fatal) == ("failed", True, None)


@dataclass
class _ReaderOf:
    """A reader whose session is whatever the test made of a real one."""

    session_id: str
    name: str = "claude-code"

    def read_session(self, group: TranscriptGroup) -> Session | None:
        session = claude.read_session(group)
        assert session is not None
        session.session_id = self.session_id
        return session


@pytest.mark.parametrize("session_id", ["../escape", "a b", ""])
def test_a_session_id_that_is_no_plain_file_name_fails(
    invoice: TranscriptGroup, memory: MemoryLayout, session_id: str
) -> None:
    outcome = _work(memory).process(_ReaderOf(session_id), invoice)  # type: ignore[arg-type]
    assert (outcome.kind, outcome.bytes_read, outcome.staged) == ("failed", False, ())
