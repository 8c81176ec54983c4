"""Codex in full, on a $CODEX_HOME of our own (tests/codex_threads): a parent thread with a
spawned subagent and a fork (both replaying the parent's history first), an archived thread,
newer item and line types, tool outputs in every shape, compressed rollouts."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import zstandard

from engram_ci.cli import main as cli_main
from engram_ci.transcripts import codex
from engram_ci.transcripts.lines import iter_lines
from engram_ci.transcripts.model import ParseStats, Session
from engram_ci.transcripts.registry import codex_roots, get_reader
from tests.reader_helpers import copy_store, read_sessions

HOME = Path(__file__).parent / "codex_threads"
PARENT = "019c8a10-1111-7aaa-8bbb-0000000000a1"
CHILD = "019c8a10-2222-7aaa-8bbb-0000000000c2"
FORK = "019c8a10-3333-7aaa-8bbb-0000000000f3"
ARCHIVED = "019b2e40-4444-7ccc-8ddd-0000000000a4"


@pytest.fixture
def codex_home(tmp_path: Path) -> Path:
    return copy_store(HOME, tmp_path / ".codex")


def _read(home: Path) -> dict[str, Session]:
    return read_sessions(get_reader("codex"), codex_roots({}, home.parent))


def _compress(path: Path) -> Path:
    target = path.with_name(path.name + ".zst")
    target.write_bytes(zstandard.ZstdCompressor().compress(path.read_bytes()))
    path.unlink()
    return target


def test_children_join_their_parent_and_archived_threads_are_found(codex_home: Path) -> None:
    groups = codex.discover(codex_roots({}, codex_home.parent))
    assert [g.session_id for g in groups] == [ARCHIVED, PARENT]
    assert [codex.thread_id(p) for p in groups[1].parts] == [PARENT, CHILD, FORK]
    assert groups[0].main.parent.name == "archived_sessions"


def test_prompts_come_from_user_message_events_and_injected_fragments_never_count(
    codex_home: Path,
) -> None:
    s = _read(codex_home)[PARENT]
    assert s.prompts == [
        "Why does the upload test fail?",
        "Now spawn a helper to update the changelog",
    ]
    meta = [t.text.split("\n")[0] for t in s.turns if t.role == "user" and t.is_meta]
    assert meta == [
        "<permissions instructions>",
        "# AGENTS.md instructions for /home/ana/code/kite",
        "<environment_context>",
        "<skill>",
        "<user_shell_command>",
        "<turn_aborted>",
        "<subagent_notification>",
    ]


def test_every_output_shape_is_rendered_and_failed_exec_is_an_error(codex_home: Path) -> None:
    s = _read(codex_home)[PARENT]
    calls = {c.id: c for c in s.tool_calls}
    assert calls["call_exec1"].is_error and not calls["call_exec2"].is_error
    assert "FAILED tests/test_upload.py::test_retry" in (calls["call_exec1"].result or "")
    assert calls["call_read1"].result == "def upload(path):\n    send(path)\n\n[image]"
    assert calls["call_mcp1"].result == "retry(fn, attempts=3)"  # one item, not a list
    web = next(c for c in s.tool_calls if c.kind == "web")
    assert (web.name, web.input) == (
        "web_search",
        {"type": "search", "query": "requests retry backoff"},
    )
    kinds = {c.name: c.kind for c in s.tool_calls}
    assert (kinds["exec_command"], kinds["apply_patch"], kinds["read_file"]) == (
        "shell",
        "edit",
        "read",
    )
    assert kinds["spawn_agent"] == "task" and kinds["mcp__docs__lookup"] == "other"


def test_newer_items_and_line_types_are_read_or_counted_never_fatal(codex_home: Path) -> None:
    s = _read(codex_home)[PARENT]
    assert any("Run the failing test first." in t.thinking for t in s.turns)  # reasoning content
    assert sum((t.unknown_blocks for t in s.turns), start=Counter[str]()) == {"brand_new_item": 1}
    assert dict(s.stats.unknown_types) == {"mystery_record": 1}  # world_state is known
    replies = [t.text for t in s.turns if t.role == "assistant" and t.text]
    assert replies[0] == "The upload never retried; it now retries through `retry()`."


def test_children_are_subagents_counted_once(codex_home: Path) -> None:
    s = _read(codex_home)[PARENT]
    # a repeated token_count adds nothing; cached input is reported apart
    assert (s.usage.input_tokens, s.usage.cache_read_tokens, s.usage.output_tokens) == (
        900,
        900,
        160,
    )
    agents = {a.agent_id: a for a in s.subagents}
    assert set(agents) == {CHILD, FORK}
    child, fork = agents[CHILD], agents[FORK]
    assert (child.agent_type, child.prompts) == (
        "worker",
        ["Update CHANGELOG.md for the retry fix"],
    )
    assert [c.id for c in child.tool_calls] == ["call_cl1"]  # none of the replayed calls
    assert child.usage.output_tokens == 30
    assert (fork.agent_type, fork.prompts) == ("fork", ["What if we used tenacity instead?"])
    assert (fork.tool_calls, fork.usage.output_tokens) == ([], 40)
    assert not fork.stats.unknown_types  # the replayed unknown line was counted in the parent
    assert child.session_id == fork.session_id == PARENT and child.stats.duplicates > 10


def test_compressed_rollouts_read_the_same_and_copies_count_once(codex_home: Path) -> None:
    before = _read(codex_home)[PARENT]
    day = codex_home / "sessions" / "2026" / "03" / "04"
    fork = next(day.glob(f"*{FORK}.jsonl"))
    shutil.copy(fork, codex_home / "archived_sessions" / fork.name)  # a second copy
    _compress(fork)
    _compress(next(day.glob(f"*{PARENT}.jsonl")))
    after = _read(codex_home)[PARENT]
    assert after.prompts == before.prompts and after.usage == before.usage
    by_id = {a.agent_id: a for a in after.subagents}
    assert by_id[FORK].prompts == ["What if we used tenacity instead?"]
    assert by_id[FORK].usage.output_tokens == 40


def test_a_corrupt_compressed_rollout_is_counted_not_fatal(tmp_path: Path) -> None:
    day = tmp_path / "sessions" / "2026" / "01" / "01"
    day.mkdir(parents=True)
    (day / f"rollout-2026-01-01T00-00-00-{ARCHIVED}.jsonl.zst").write_bytes(b"not zstd at all")
    group = codex.discover([tmp_path / "sessions"])[0]
    assert codex.read_session(group) is None  # nothing readable: not a session, no exception
    stats = ParseStats()
    assert list(iter_lines(group.main, stats)) == [] and stats.malformed == {"bad_zstd": 1}


def test_cli_codex_dir_ingests_threads_once_and_says_which_agent(
    codex_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    memory = tmp_path / "memory"
    argv = ["ingest", "--codex-dir", str(codex_home), "--json", "--memory-dir", str(memory)]
    assert cli_main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sessions"] == [
        {"project": "kite", "session_id": ARCHIVED},
        {"project": "kite", "session_id": PARENT},
    ]
    assert report["subagents"] == 2
    meta = json.loads((memory / "conversations" / "kite" / PARENT / "meta.json").read_text())
    assert meta["source"] == "codex"
    assert not (memory / "conversations" / "kite" / FORK).exists()  # no second archive
    assert cli_main(["projects", "--json", "--memory-dir", str(memory)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["agents"] == {"codex": 2}


def test_a_child_is_found_from_its_first_bytes_however_long_its_meta_line(
    codex_home: Path,
) -> None:
    day = codex_home / "sessions" / "2026" / "03" / "04"
    child = next(day.glob(f"*{CHILD}.jsonl"))
    first, rest = child.read_text().split("\n", 1)
    meta = json.loads(first)
    meta["payload"]["base_instructions"] = {"text": "Be careful. " * 20_000}  # after `source`
    child.write_text(json.dumps(meta, separators=(",", ":")) + "\n" + rest)
    group = next(g for g in codex.discover([codex_home / "sessions"]) if g.session_id == PARENT)
    assert CHILD in {codex.thread_id(p) for p in group.parts}


def test_line_types_with_nothing_to_read_are_never_parsed(codex_home: Path) -> None:
    day = codex_home / "sessions" / "2026" / "03" / "04"
    with next(day.glob(f"*{PARENT}.jsonl")).open("ab") as fh:
        # valid JSON is never needed to skip these: their type is read from the bytes
        fh.write(b'{"timestamp":"2026-03-04T08:09:00Z","type":"zz_new_record","payload":{\n')
        fh.write(b'{"timestamp":"2026-03-04T08:09:01Z","type":"world_state","payload":[\n')
        fh.write(
            b'{"timestamp":"2026-03-04T08:09:02Z","type":"event_msg","payload":{"type":"exec\n'
        )
    s = _read(codex_home)[PARENT]
    assert dict(s.stats.unknown_types) == {"mystery_record": 1, "zz_new_record": 1}
    assert not s.stats.malformed
