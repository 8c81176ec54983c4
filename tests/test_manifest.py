"""manifest.py: unchanged groups are recognised by stat alone; any change is noticed."""

from __future__ import annotations

import json
import os
from pathlib import Path

from engram_ci.memory.manifest import MANIFEST_NAME, Entry, Manifest, fingerprint, group_key
from engram_ci.transcripts.model import TranscriptGroup


def _group(tmp_path: Path) -> TranscriptGroup:
    main = tmp_path / "s1.jsonl"
    agent = tmp_path / "s1" / "subagents" / "agent-a1.jsonl"
    agent.parent.mkdir(parents=True)
    main.write_text('{"type":"user"}\n')
    agent.write_text('{"type":"user"}\n')
    return TranscriptGroup("s1", "claude-code", main, (main, agent), tmp_path)


def test_fingerprint_changes_when_any_part_grows_or_is_touched(tmp_path: Path) -> None:
    group = _group(tmp_path)
    before = fingerprint(group)
    assert fingerprint(group) == before
    with group.parts[1].open("a") as handle:
        handle.write('{"type":"assistant"}\n')
    grown = fingerprint(group)
    assert grown != before
    info = group.parts[0].stat()
    os.utime(group.parts[0], ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000))
    assert fingerprint(group) != grown


def test_new_part_changes_the_fingerprint(tmp_path: Path) -> None:
    group = _group(tmp_path)
    extra = tmp_path / "s1" / "subagents" / "agent-a2.jsonl"
    extra.write_text("{}\n")
    bigger = TranscriptGroup(
        group.session_id, group.source, group.main, (*group.parts, extra), tmp_path
    )
    assert fingerprint(bigger) != fingerprint(group)


def test_round_trip_and_is_current(tmp_path: Path) -> None:
    group = _group(tmp_path)
    manifest = Manifest()
    key = group_key(group)
    print_ = fingerprint(group)
    manifest.record(key, Entry(print_, "ingested", "s1", "proj", ("bugs", "decisions")))
    manifest.record("codex:/x", Entry((), "not_session"))
    state = tmp_path / "state"
    manifest.save(state)
    loaded = Manifest.load(state)
    assert loaded.entries == manifest.entries
    assert loaded.is_current(key, print_)
    assert not loaded.is_current(key, ())
    assert not loaded.is_current("claude-code:/elsewhere", print_)


def test_a_corrupt_or_foreign_manifest_means_a_full_reingest(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    for text in (
        "{not json",
        json.dumps({"version": 99, "entries": {}}),
        "[]",
        json.dumps({"version": 1, "entries": {"k": {"status": "weird", "parts": []}}}),
    ):
        (state / MANIFEST_NAME).write_text(text)
        assert Manifest.load(state).entries == {}
    assert Manifest.load(tmp_path / "missing").entries == {}


def test_an_unchanged_manifest_is_not_written_again(tmp_path: Path) -> None:
    entry = Entry((("a.jsonl", 1, 2),), "ingested", "s", "p", ("bugs",), True)
    first = Manifest()
    first.record("k", entry)
    first.save(tmp_path)
    path = tmp_path / MANIFEST_NAME
    written = path.stat().st_mtime_ns
    path.write_text(path.read_text())  # same bytes, new mtime we can watch
    watched = path.stat().st_mtime_ns
    loaded = Manifest.load(tmp_path)
    loaded.record("k", entry)  # the same entry again: nothing to save
    loaded.save(tmp_path)
    assert path.stat().st_mtime_ns == watched and written <= watched
    loaded.record("k2", entry)
    loaded.save(tmp_path)
    assert Manifest.load(tmp_path).entries.keys() == {"k", "k2"}


def test_a_part_that_vanished_changes_the_fingerprint_without_failing(tmp_path: Path) -> None:
    group = _group(tmp_path)
    before = fingerprint(group)
    group.parts[1].unlink()  # a subagent transcript removed between discovery and now
    after = fingerprint(group)
    assert after != before
    assert [path for path, _, _ in after] == [str(group.main)]
    group.main.unlink()  # the first part gone: the parts after it still count
    group.parts[1].write_text("back\n")
    assert [path for path, _, _ in fingerprint(group)] == [str(group.parts[1])]


def test_a_path_that_is_not_utf8_survives_a_save_and_a_load(tmp_path: Path) -> None:
    # a file name with bytes that are not UTF-8 reaches Python as a lone surrogate; the
    # fast parser refuses its escape, the manifest must still load (not re-ingest all)
    odd = "/home/me/.claude/projects/-x/caf\udce9.jsonl"
    entry = Entry(((odd, 10, 20),), "ingested", "s", "p", ("bugs",), True)
    manifest = Manifest()
    manifest.record(f"claude-code:{odd}", entry)
    manifest.save(tmp_path)
    assert Manifest.load(tmp_path).entries == {f"claude-code:{odd}": entry}
