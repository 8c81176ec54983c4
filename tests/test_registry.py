"""The reader registry: names, default stores, merging one session's groups, dispatch."""

from __future__ import annotations

import dataclasses
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from engram_ci.errors import FatalError
from engram_ci.ingest import IngestOptions, default_readers
from engram_ci.transcripts import registry
from engram_ci.transcripts.model import TranscriptGroup
from engram_ci.transcripts.registry import (
    READERS,
    ReaderSpec,
    all_readers,
    claude_roots,
    codex_roots,
    get_reader,
    merge_groups,
    reader_names,
)


def test_every_registered_reader_has_a_unique_name_and_flag_and_a_module() -> None:
    readers = all_readers()
    assert reader_names()[:2] == ["claude-code", "codex"]
    assert len({r.name for r in readers}) == len(readers)
    assert len({r.option for r in readers}) == len(readers)
    assert get_reader("codex") is READERS[1]
    with pytest.raises(FatalError, match=r"unknown agent 'vim'.*claude-code"):
        get_reader("vim")


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.name)
def test_a_registered_module_reads_its_agent_s_sessions(reader: ReaderSpec) -> None:
    module = importlib.import_module(reader.module)
    assert reader.load() is module
    assert reader.name == module.SOURCE  # what its sessions and groups say they are


def test_a_module_without_a_reader_is_a_programming_error() -> None:
    spec = ReaderSpec("x", "x-dir", "nowhere", claude_roots, "engram_ci.transcripts.model")
    with pytest.raises(TypeError, match="defines no discover"):
        spec.load()


def test_a_missing_store_is_not_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry knows every agent's store without its module: a store that is not on the
    machine costs a stat, not an import."""
    monkeypatch.delitem(sys.modules, "engram_ci.transcripts.opencode", raising=False)
    opencode = get_reader("opencode")
    roots = opencode.default_roots({}, tmp_path)
    assert not opencode.has_store(roots)
    assert opencode.discover(roots) == []
    assert "engram_ci.transcripts.opencode" not in sys.modules
    (tmp_path / ".local" / "share" / "opencode").mkdir(parents=True)
    assert opencode.has_store(roots)
    assert opencode.discover(roots) == []
    assert "engram_ci.transcripts.opencode" in sys.modules


def test_claude_default_roots_follow_claude_config_dir_and_engram_sessions_dir() -> None:
    home = Path("/home/me")
    assert claude_roots({}, home) == [home / ".claude" / "projects"]
    env = {"CLAUDE_CONFIG_DIR": "/a, /b"}
    assert claude_roots(env, home) == [Path("/a/projects"), Path("/b/projects")]
    env["ENGRAM_SESSIONS_DIR"] = "/sessions"
    assert claude_roots(env, home) == [Path("/sessions")]


def test_codex_default_roots_are_sessions_and_archived_sessions() -> None:
    home = Path("/home/me")
    assert codex_roots({}, home) == [
        home / ".codex" / "sessions",
        home / ".codex" / "archived_sessions",
    ]
    assert codex_roots({"CODEX_HOME": "/c"}, home)[1] == Path("/c/archived_sessions")


def _group(sid: str, folder: str, *names: str) -> TranscriptGroup:
    paths = tuple(Path(folder) / n for n in names)
    return TranscriptGroup(sid, "claude-code", paths[0], paths, Path(folder))


def test_groups_sharing_a_session_id_merge_into_one_keeping_the_first_main() -> None:
    first = _group("s1", "/p/a", "s1.jsonl", "s1/subagents/agent-x.jsonl")
    staged = _group("s1", "/p/b", "s1/subagents/agent-y.jsonl")
    other = _group("s2", "/p/a", "s2.jsonl")
    codex_same_id = TranscriptGroup(
        "s1", "codex", Path("/c/r.jsonl"), (Path("/c/r.jsonl"),), Path("/c")
    )
    merged = merge_groups([first, other, staged, codex_same_id])
    assert [(g.source, g.session_id) for g in merged] == [
        ("claude-code", "s1"),
        ("claude-code", "s2"),
        ("codex", "s1"),
    ]
    assert merged[0].main == Path("/p/a/s1.jsonl")
    assert merged[0].parts == (*first.parts, *staged.parts)


def test_dispatch_goes_through_the_registry_with_absolute_roots_and_agent_selection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    options = IngestOptions(
        memory_dir=tmp_path / "m",
        roots={"claude-code": (Path("rel"),), "codex": (Path("c"),)},
        agents=("codex",),
    )
    assert default_readers(options) == [(get_reader("codex"), (tmp_path / "c",))]
    with pytest.raises(FatalError, match="unknown agent"):
        default_readers(IngestOptions(memory_dir=tmp_path, agents=("nope",)))


def test_a_reader_is_found_without_importing_the_readers_after_it() -> None:
    # a fresh interpreter: what ingesting Claude Code's store alone imports
    code = (
        "import sys\n"
        "from engram_ci.transcripts import registry\n"
        "reader = registry.get_reader('claude-code')\n"
        "others = [r.module for r in registry.READERS[1:] if r.module in sys.modules]\n"
        "print(others, registry.is_builtin(reader), registry.is_builtin(object()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["[]", "True", "False"]
    # every reader is still found, and is built in; a stand-in loading another module is not
    for name in registry.reader_names():
        reader = registry.get_reader(name)
        assert reader.name == name and registry.is_builtin(reader)
        assert not registry.is_builtin(dataclasses.replace(reader, module="tests.elsewhere"))
