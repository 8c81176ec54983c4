"""The contract every registered reader keeps (engram_ci/transcripts/registry.py), run on each.

A new reader adds its store here (one CASES entry: samples to copy, or a writer from
tests/agent_stores.py) and passes these unchanged:
- layout: its samples, laid out like the agent's store, are discovered and read; every group
  and session says which agent wrote it; default roots live under the home folder;
- a malformed line (or a broken file) is skipped and counted, never raised;
- an unknown line type is skipped and counted, and the rest is read the same;
- an empty file is not a session, and no error;
- a field of the wrong type (a list for a string, an object for an id) costs that field, never
  the session: reading raises nothing (a reader's FatalError says the whole file is unusable);
- a missing store is silent: no groups, nothing logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from engram_ci.errors import FatalError
from engram_ci.transcripts.model import ParseStats, Session, TranscriptGroup
from engram_ci.transcripts.registry import ReaderSpec, all_readers
from tests import agent_stores
from tests.reader_helpers import copy_store, read_groups

TESTS = Path(__file__).parent


@dataclass(frozen=True)
class ContractCase:
    #: writes the agent's store under a home folder (tmp) and returns its root: the folder
    #: laid out like the agent's store (what --<option> DIR points at)
    store: Callable[[Path], Path]
    #: one line of a type the reader cannot know; None for formats that are not line-based
    unknown_line: bytes | None
    #: True when the agent's files are JSON Lines (a bad line is skipped, the rest read)
    line_based: bool = True


def _copy(samples: Path) -> Callable[[Path], Path]:
    return lambda home: copy_store(samples, home / "store")


CASES: dict[str, ContractCase] = {
    "claude-code": ContractCase(
        _copy(TESTS / "claude_samples"),
        b'{"type":"zz-future-line","sessionId":"x","data":{"a":1}}\n',
    ),
    "codex": ContractCase(
        _copy(TESTS / "codex_threads"),
        b'{"timestamp":"2026-03-04T10:00:00Z","type":"zz_future_record","payload":{"a":1}}\n',
    ),
    # one JSON document, not lines: a broken file is skipped whole
    "claude-execution": ContractCase(
        _copy(TESTS / "claude_execution_samples"), None, line_based=False
    ),
    "cursor": ContractCase(agent_stores.cursor, b'{"type":"zz_future","data":{"a":1}}\n'),
    "copilot": ContractCase(
        agent_stores.copilot, b'{"type":"zz.future","data":{"a":1},"id":"z1"}\n'
    ),
    "cline": ContractCase(agent_stores.cline, None, line_based=False),
    "gemini": ContractCase(agent_stores.gemini, None, line_based=False),
    "opencode": ContractCase(agent_stores.opencode, None, line_based=False),
    "amp": ContractCase(agent_stores.amp, None, line_based=False),
}

READERS = all_readers()


@pytest.fixture(params=READERS, ids=lambda r: r.name)
def reader(request: pytest.FixtureRequest) -> ReaderSpec:
    spec: ReaderSpec = request.param
    return spec


@pytest.fixture
def store(reader: ReaderSpec, tmp_path: Path) -> Path:
    return CASES[reader.name].store(tmp_path / "home")


def _read_all(reader: ReaderSpec, root: Path) -> list[tuple[TranscriptGroup, Session | None]]:
    return read_groups(reader, [root])


def _total(session: Session, field: str) -> int:
    stats: ParseStats = session.stats
    counts: Counter[str] = getattr(stats, field)
    own = sum(counts.values())
    return own + sum(_total(agent, field) for agent in session.subagents)


def _mains(groups: list[TranscriptGroup]) -> list[Path]:
    return [g.main for g in groups if not g.main.name.endswith(".zst")]


def test_every_registered_reader_has_a_contract_case() -> None:
    assert sorted(CASES) == sorted(r.name for r in READERS)


def test_layout_is_discovered_and_read(reader: ReaderSpec, store: Path) -> None:
    read = _read_all(reader, store)
    assert read, f"{reader.name}: no session found in its samples"
    for group, session in read:
        assert group.source == reader.name and group.main in group.parts
        assert all(part.is_relative_to(store) for part in group.parts)
        assert session is None or session.source == reader.name
    sessions = [s for _, s in read if s is not None]
    assert any(s.prompts for s in sessions)
    assert len({s.session_id for s in sessions}) == len(sessions)  # one session, one archive


def test_default_roots_live_under_home(reader: ReaderSpec, tmp_path: Path) -> None:
    roots = reader.default_roots({}, tmp_path)
    assert roots and all(root.is_relative_to(tmp_path) for root in roots)


def test_a_malformed_line_is_skipped_and_counted(reader: ReaderSpec, store: Path) -> None:
    case = CASES[reader.name]
    before = {g.session_id: s for g, s in _read_all(reader, store) if s is not None}
    groups = reader.discover([store])
    for path in _mains(groups):
        with path.open("ab") as fh:
            fh.write(b'{"type": "broken\n\xff\xfe\x00 not utf-8\n')
    after = {g.session_id: s for g, s in _read_all(reader, store) if s is not None}
    if case.line_based:
        assert set(after) == set(before)
        for sid, session in after.items():
            assert session.prompts == before[sid].prompts
        assert sum(_total(s, "malformed") for s in after.values()) >= 2
    else:  # a broken document is skipped as a whole (not a session), or read and counted
        assert all(_total(s, "malformed") > 0 for s in after.values())


def test_an_unknown_line_type_is_skipped_and_counted(reader: ReaderSpec, store: Path) -> None:
    line = CASES[reader.name].unknown_line
    if line is None:
        pytest.skip(f"{reader.name} is not line-based")
    before = {g.session_id: s for g, s in _read_all(reader, store) if s is not None}
    for path in _mains(reader.discover([store])):
        with path.open("ab") as fh:
            fh.write(line)
    after = {g.session_id: s for g, s in _read_all(reader, store) if s is not None}
    assert {sid: s.prompts for sid, s in after.items()} == {
        sid: s.prompts for sid, s in before.items()
    }
    assert sum(_total(s, "unknown_types") for s in after.values()) >= 1


#: what a damaged or foreign record may hold where a reader expects something else
_ODD_VALUES = [None, 0, -1, 1.5, True, "", "x" * 3000, [], {}, [None], {"a": None}, "../../etc"]


def _damaged(value: object, draw: random.Random) -> object:
    """`value` with some fields swapped for a value of another type, and some left out."""
    if draw.random() < 0.15:
        return draw.choice(_ODD_VALUES)
    if isinstance(value, dict):
        return {k: _damaged(v, draw) for k, v in value.items() if draw.random() > 0.05}
    if isinstance(value, list):
        return [_damaged(v, draw) for v in value if draw.random() > 0.05]
    return value


@pytest.mark.parametrize("seed", range(40))
def test_a_field_of_the_wrong_type_costs_the_field_never_the_session(
    reader: ReaderSpec, tmp_path: Path, seed: int
) -> None:
    draw = random.Random(f"{reader.name}-{seed}")
    store = CASES[reader.name].store(tmp_path / "home")
    for path in [p for p in store.rglob("*") if p.suffix in (".json", ".jsonl")]:
        # a sample that is broken on purpose (a BOM, a cut line) stays as it is
        pieces = path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
        if path.suffix == ".json":
            pieces = ["\n".join(pieces)]
        damaged = []
        for piece in pieces:
            try:
                damaged.append(json.dumps(_damaged(json.loads(piece), draw)))
            except ValueError:
                damaged.append(piece)
        path.write_text("\n".join(damaged) + "\n", encoding="utf-8")
    for group in reader.discover([store]):
        # a FatalError says the file as a whole is unusable: ingest skips it with that line
        with contextlib.suppress(FatalError):
            reader.read_session(group)


def test_empty_files_are_not_sessions(reader: ReaderSpec, store: Path) -> None:
    for path in store.rglob("*"):
        if path.is_file():
            path.write_bytes(b"")
    for group, session in _read_all(reader, store):
        assert session is None, f"{group.main} is empty but was read as a session"


def test_a_missing_store_is_silent(
    reader: ReaderSpec, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    module = reader.load()  # the module itself: the registry skips a missing store unread
    assert module.discover([tmp_path / "nowhere"]) == []
    assert module.discover(reader.default_roots({}, tmp_path)) == []
    assert reader.discover(reader.default_roots({}, tmp_path)) == []
    assert caplog.records == []
