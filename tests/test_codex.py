"""The Codex CLI reader on hand-written rollouts (tests/codex_samples) and edge cases in tmp."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from engram_ci.transcripts import codex
from engram_ci.transcripts.model import Session

SAMPLES = Path(__file__).parent / "codex_samples"
MODERN = "5f1c2b8e-3d4a-4e6f-9a7b-1c2d3e4f5a6b"
NEWER = "0199a3f2-7c1e-7d20-b5a4-3e2f1d0c9b8a"
LEGACY = "c3a1e0f4-2b5d-4c6e-8f70-9a1b2c3d4e5f"
CONTEXT_ONLY = "7e6d5c4b-3a29-4817-9f6e-5d4c3b2a1908"


@pytest.fixture
def sessions(tmp_path: Path) -> dict[str, Session | None]:
    root = tmp_path / ".codex" / "sessions"
    shutil.copytree(SAMPLES, root)
    return {g.session_id: codex.read_session(g) for g in codex.discover([root])}


def must(sessions: dict[str, Session | None], session_id: str) -> Session:
    session = sessions[session_id]
    assert session is not None
    return session


def test_discover_finds_every_rollout_sorted_by_path(tmp_path: Path) -> None:
    groups = codex.discover([SAMPLES, tmp_path / "missing"])
    assert [g.session_id for g in groups] == [LEGACY, MODERN, NEWER, CONTEXT_ONLY]
    assert all(g.parts == (g.main,) and g.source == "codex" for g in groups)
    assert [g.main.parent.relative_to(SAMPLES).as_posix() for g in groups] == [
        "2025/05/20",
        "2025/09/14",
        "2025/11/02",
        "2025/11/03",
    ]


def test_a_modern_rollout(sessions: dict[str, Session | None]) -> None:
    s = must(sessions, MODERN)
    assert (s.project, s.cwd, s.git_branch, s.version) == (
        "weather-api",
        "/home/ana/code/weather-api",
        "fix/cache-ttl",
        "0.36.0",
    )
    assert s.models == ["gpt-5-codex"]
    assert (s.started_at, s.ended_at) == ("2025-09-14T10:02:11.398Z", "2025-09-14T10:04:25.700Z")
    # injected instructions and environment are meta; the event_msg copy adds no prompt
    assert s.prompts == [
        "The forecast cache never expires, entries from yesterday are still served. "
        "Can you find out why and fix it?",
        "Great, please also add a regression test for ttl=0.",
    ]
    assert [t.role for t in s.turns] == ["user", "user", "user", "assistant", "user", "assistant"]
    reply = s.turns[3]
    assert reply.thinking.startswith("**Looking for the cache code**")
    assert reply.text.startswith("Fixed: `Cache.get` treated a TTL")
    names = [(c.name, c.is_error) for c in reply.tool_calls]
    assert names == [("shell", False), ("shell", True), ("apply_patch", False), ("shell", False)]
    grep, pytest_run, patch, _ = reply.tool_calls
    assert grep.input["command"] == ["bash", "-lc", "rg -n 'ttl' src/"]
    assert "FAILED tests/test_cache.py" in (pytest_run.result or "")
    assert patch.input["input"].startswith("*** Begin Patch")
    # token_count totals are cumulative: the last one is the session's, cached split out
    assert (s.usage.input_tokens, s.usage.cache_read_tokens, s.usage.output_tokens) == (
        21504 - 16384,
        16384,
        1210,
    )
    assert len(s.tool_calls) == 5 and not s.stats.malformed


def test_a_newer_rollout_with_odd_lines(sessions: dict[str, Session | None]) -> None:
    s = must(sessions, NEWER)
    assert s.project == "ledger-cli"  # a Windows cwd
    assert s.models == ["gpt-5.1-codex"]
    developer, agents_md, environment, question = s.turns[:4]
    assert developer.is_meta and agents_md.is_meta and environment.is_meta
    assert question.is_prompt and question.images == 1
    assert s.prompts[1] == "Yes, default it on. Go ahead."
    run, head = s.turns[4].tool_calls
    assert run.is_error and "panicked" in (run.result or "")  # "Exit code: 101"
    assert not head.is_error
    assert s.summaries and s.summaries[0].startswith("The user is fixing `ledger import`")
    assert dict(s.stats.malformed) == {"bad_json": 1}  # the cut-off token_count line
    assert dict(s.stats.unknown_types) == {"ghost_commit_marker": 1}
    assert s.stats.orphan_results == 1
    assert s.usage.output_tokens == 2048


def test_a_legacy_rollout_without_the_payload_wrapper(sessions: dict[str, Session | None]) -> None:
    s = must(sessions, LEGACY)
    assert s.project == "app"  # from the environment context: the only cwd it has
    assert s.prompts == ["rename the `utils` package to `helpers` everywhere"]
    assert s.started_at == "2025-05-20T08:15:00.512Z"
    call = s.tool_calls[0]
    assert call.name == "shell" and call.result == "" and not call.is_error
    assert s.turns[-1].thinking == "Planning a repo-wide rename with sed and git mv."
    assert not s.stats.malformed and not s.stats.unknown_types


def test_a_rollout_of_injected_context_only_is_not_a_session(
    sessions: dict[str, Session | None],
) -> None:
    assert sessions[CONTEXT_ONLY] is None


def _rollout(
    tmp_path: Path, lines: list[Any], name: str = "rollout-2025-01-02T03-04-05-x.jsonl"
) -> Path:
    path = tmp_path / "2025" / "01" / "02" / name
    path.parent.mkdir(parents=True)
    with path.open("wb") as fh:
        for item in lines:
            fh.write(item if isinstance(item, bytes) else json.dumps(item).encode())
            fh.write(b"\n")
    return path


def _prompt(text: str) -> dict[str, Any]:
    payload = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    return {"timestamp": "2025-01-02T03:04:05Z", "type": "response_item", "payload": payload}


def test_malformed_and_too_long_lines_are_counted(tmp_path: Path) -> None:
    _rollout(
        tmp_path,
        [
            {"type": "session_meta", "payload": {"id": "abc-1", "cwd": "/x/proj"}},
            b"\xff\xfe not utf-8",
            b"[]",
            {"payload": {"type": "message"}},
            {"type": "response_item", "payload": "not an object"},
            {"type": "response_item", "payload": {"type": "message", "role": "user", "content": 5}},
            _prompt("z" * 5000),
            _prompt("hello"),
        ],
    )
    group = codex.discover([tmp_path])[0]
    assert group.session_id == "rollout-2025-01-02T03-04-05-x"  # no uuid in the name
    s = codex.read_session(group, max_line_bytes=1024)
    assert s is not None
    assert s.session_id == "abc-1" and s.project == "proj"  # session_meta wins
    assert dict(s.stats.malformed) == {
        "invalid_utf8": 1,
        "not_object": 1,
        "missing_type": 1,
        "bad_shape": 2,
        "too_long": 1,
    }
    assert s.prompts == ["hello"]


def test_function_output_shapes(tmp_path: Path) -> None:
    def call(call_id: str) -> dict[str, Any]:
        args = json.dumps({"command": ["ls"]})
        item = {"type": "function_call", "name": "shell", "arguments": args, "call_id": call_id}
        return {"type": "response_item", "payload": item}

    def output(call_id: str, out: Any) -> dict[str, Any]:
        item = {"type": "function_call_output", "call_id": call_id, "output": out}
        return {"type": "response_item", "payload": item}

    _rollout(
        tmp_path,
        [
            _prompt("list"),
            call("a"),
            output("a", {"content": "denied", "success": False}),
            call("b"),
            output("b", "plain text, no exit code"),
            call("c"),
            output("c", "{not json"),
            call("d"),
            output("d", json.dumps({"output": "x" * 10_000, "metadata": {"exit_code": 0}})),
            {
                "type": "response_item",
                "payload": {"type": "function_call", "name": "shell", "arguments": "[1, 2"},
            },
        ],
    )
    s = codex.read_session(codex.discover([tmp_path])[0])
    assert s is not None
    results = [(c.id, c.is_error) for c in s.tool_calls]
    assert results == [("a", True), ("b", False), ("c", False), ("d", False)]
    assert s.tool_calls[2].result == "{not json"
    assert "10,000 chars" in (s.tool_calls[3].result or "")
    assert s.stats.malformed == {"bad_shape": 1}  # a call without call_id


def test_a_long_rollout_spills_to_disk_and_reads_the_same(tmp_path: Path) -> None:
    """hot_chars=1: every turn but the newest KEEP_OPEN moves to disk as it is read; the
    session (archive, numbers) is the same, and an output arriving long after its call
    still finds it."""
    from engram_ci.memory import archive
    from engram_ci.transcripts.turnlog import KEEP_OPEN, TurnLog

    def item(payload: dict[str, Any]) -> dict[str, Any]:
        return {"timestamp": "2025-01-02T03:04:05Z", "type": "response_item", "payload": payload}

    def call(call_id: str) -> dict[str, Any]:
        args = json.dumps({"command": ["bash", "-lc", f"make {call_id}"]})
        return item(
            {"type": "function_call", "name": "shell", "arguments": args, "call_id": call_id}
        )

    def output(call_id: str) -> dict[str, Any]:
        out = json.dumps({"output": f"built {call_id}", "metadata": {"exit_code": 0}})
        return item({"type": "function_call_output", "call_id": call_id, "output": out})

    reply = {"type": "message", "role": "assistant", "content": [{"type": "output_text"}]}
    lines: list[Any] = [{"type": "session_meta", "payload": {"id": "long-1", "cwd": "/x/proj"}}]
    lines += [_prompt("start"), call("late")]
    for n in range(3 * KEEP_OPEN):
        reply["content"] = [{"type": "output_text", "text": f"step {n} done"}]
        lines += [_prompt(f"step {n}"), call(f"c{n}"), output(f"c{n}"), item(dict(reply))]
    lines.append(output("late"))
    _rollout(tmp_path, lines)
    group = codex.discover([tmp_path])[0]
    kept, moved = codex.read_session(group), codex.read_session(group, hot_chars=1)
    assert kept is not None and moved is not None
    assert isinstance(moved.turns, TurnLog) and not isinstance(kept.turns, TurnLog)
    assert archive.render_conversation(moved) == archive.render_conversation(kept)
    assert archive.session_meta(moved) == archive.session_meta(kept)
    late = next(c for c in moved.tool_calls if c.id == "late")
    assert late.result == "built late" and moved.stats.orphan_results == 0


def _line(kind: str, payload: Any, stamp: str = "2025-01-02T03:04:06Z") -> dict[str, Any]:
    return {"timestamp": stamp, "type": kind, "payload": payload}


def _late(kind: str, payload: Any) -> dict[str, Any]:
    return {"payload": payload, "type": kind}


def _item(payload: dict[str, Any]) -> dict[str, Any]:
    return _line("response_item", payload)


def _event(payload: dict[str, Any]) -> dict[str, Any]:
    return _line("event_msg", payload)


def test_odd_but_valid_lines_are_read_or_skipped_as_codex_means_them(tmp_path: Path) -> None:
    _rollout(
        tmp_path,
        [
            _line("turn_context", {"cwd": "/x/from-context"}),  # no model: none is made up
            _line("session_meta", {"id": "../../etc", "cwd": "/x/proj"}),  # not a safe id
            _line("compacted", {"message": "   "}),
            _line("compacted", "not an object"),
            # "type" after the payload: the line is parsed whole, and read the same
            _late("brand_new_line", {}),
            _late("world_state", {}),  # known to carry nothing: not counted
            _item({"type": "message", "role": "user", "content": []}),  # empty: no turn
            _prompt("the prompt as the message item has it"),
            _event({"type": "user_message", "message": "what the human typed"}),
            _event({"type": "user_message", "message": "  "}),  # nothing typed: no prompt
            _late("event_msg", {"type": "agent_reasoning", "text": "…"}),
            _event({"type": "token_count", "info": "not an object"}),
            _event({"type": "token_count", "info": {"last_token_usage": {"input_tokens": 7}}}),
            _event({"type": "token_count", "info": {}}),
            _item({"type": "message", "role": "assistant", "content": [{"type": "output_text"}]}),
            _item({"type": "message", "role": "tool", "content": "?"}),
            _item({"type": "ghost_snapshot", "ghost_commit": {}}),
            _item({"type": "image_generation_call", "id": "ig1"}),
            _item({"type": "function_call_output", "output": "no call_id"}),
            _item({"type": "function_call_output", "call_id": "never-called", "output": "x"}),
            _item({"type": "message", "role": "assistant", "content": "Done."}),
        ],
    )
    s = codex.read_session(codex.discover([tmp_path])[0])
    assert s is not None
    assert s.session_id == "rollout-2025-01-02T03-04-05-x"  # the unsafe id was not taken
    assert s.cwd == "/x/from-context" and s.project == "from-context"
    assert s.models == []
    assert s.stats.unknown_types == {"brand_new_line": 1}
    assert s.stats.malformed == {"bad_shape": 2}  # the tool message, the output without call_id
    assert s.stats.orphan_results == 1
    # a user_message event names the prompt: the message item nobody vouched for was injected
    assert s.prompts == ["what the human typed"]
    assert [t.text for t in s.turns if t.role == "user" and t.is_meta] == [
        "the prompt as the message item has it"
    ]
    assert s.usage.input_tokens == 7
    assert [t.text for t in s.turns if t.role == "assistant"] == ["Done."]
    assert s.turns[-1].unknown_blocks == {"image_generation_call": 1}


def test_a_childs_copies_of_its_ancestors_metas_do_not_rename_it(tmp_path: Path) -> None:
    _rollout(
        tmp_path,
        [
            _line("session_meta", {"id": "child-thread", "cwd": "/x/child"}),
            _line("session_meta", {"id": "parent-thread", "cwd": "/x/parent"}),
            _prompt("hello"),
        ],
    )
    s = codex.read_session(codex.discover([tmp_path])[0])
    assert s is not None
    assert (s.session_id, s.cwd) == ("child-thread", "/x/child")


FORKED = "0199b0c1-aaaa-7bbb-8ccc-00000000f0a1"
ITS_PARENT = "0199b0c1-aaaa-7bbb-8ccc-00000000a0a1"


@pytest.mark.parametrize(
    "own_id",
    [{"id": f"../{ITS_PARENT}"}, {"id": "a/b"}, {"id": ".."}, {"id": 7}, {}],
    ids=["dot-dot-path", "slash", "dot-dot", "not-a-string", "missing"],
)
def test_a_fork_whose_own_id_is_unsafe_is_named_by_its_file_not_its_parent(
    tmp_path: Path, own_id: dict[str, Any]
) -> None:
    """A fork found without its parent is a session of its own; its replay of the parent's
    meta must not name it, or it would take the parent's session (and archive) over."""
    _rollout(
        tmp_path,
        [
            _line("session_meta", {**own_id, "forked_from_id": ITS_PARENT, "cwd": "/x/fork"}),
            _line("session_meta", {"id": ITS_PARENT, "cwd": "/x/parent"}),  # the replay
            _prompt("hello from the fork"),
        ],
        name=f"rollout-2026-01-05T10-00-00-{FORKED}.jsonl",
    )
    groups = codex.discover([tmp_path])
    assert [g.session_id for g in groups] == [FORKED]
    s = codex.read_session(groups[0])
    assert s is not None
    assert (s.session_id, s.cwd) == (FORKED, "/x/fork")


def test_discovery_finds_what_rglob_finds_and_spells_it_as_pathlib_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the walk is on strings (an unchanged re-ingest is mostly this walk): it must find
    # exactly the files Path.rglob found, spelled the way the manifest has them keyed
    root = tmp_path / "sessions"
    uuids = iter(f"0199a3f2-7c1e-7d20-b5a4-{n:012d}" for n in range(100))
    kept = [
        root / "2025" / "11" / "01" / f"rollout-2025-11-01T10-00-00-{next(uuids)}.jsonl",
        root / "2025" / "11" / "02" / f"rollout-2025-11-02T10-00-00-{next(uuids)}.jsonl.zst",
        root / ".hidden" / f"rollout-2025-11-03T10-00-00-{next(uuids)}.jsonl",
        root / f"rollout-2025-11-04T10-00-00-{next(uuids)}.jsonl",
    ]
    ignored = [root / "notes.jsonl", root / "rollout-x.json", root / ".rollout-y.jsonl"]
    for path in kept + ignored:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('{"type":"session_meta","payload":{}}\n')
    (root / "2025" / "rollout-dir.jsonl").mkdir()  # a folder with a rollout's name
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / f"rollout-2025-11-05T10-00-00-{next(uuids)}.jsonl").write_text("{}\n")
    (root / "linked").symlink_to(elsewhere)  # rglob does not follow linked folders
    (root / f"rollout-2025-11-06T10-00-00-{next(uuids)}.jsonl").symlink_to(kept[0])  # but files

    def by_rglob(at: Path) -> set[str]:
        patterns = ("rollout-*.jsonl", "rollout-*.jsonl.zst")
        return {str(p) for pattern in patterns for p in at.rglob(pattern) if p.is_file()}

    def found(at: Path) -> set[str]:
        return {part for group in codex.discover([at]) for part in group.part_paths}

    assert found(root) == by_rglob(root) and len(by_rglob(root)) == len(kept) + 1
    monkeypatch.chdir(root)  # a relative root: "." spelled away, as pathlib does
    assert found(Path(".")) == by_rglob(Path(".")) and all(
        not p.startswith("./") for p in found(Path("."))
    )
    assert {g.folder_path for g in codex.discover([Path(".")])} >= {".", "2025/11/01"}


def _thread_file(folder: Path, when: str, thread: str, parent: str | None = None) -> Path:
    """A one-line rollout at `folder`; a child names its parent in session_meta."""
    folder.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {"id": thread}
    if parent:
        meta["forked_from_id"] = parent
    path = folder / f"rollout-{when}-{thread}.jsonl"
    path.write_text(json.dumps({"type": "session_meta", "payload": meta}) + "\n")
    return path


ROOT_T = "0199a3f2-7c1e-7d20-b5a4-00000000000a"
CHILD_T = "0199a3f2-7c1e-7d20-b5a4-00000000000b"


def test_the_root_threads_files_lead_its_group_wherever_they_sort(tmp_path: Path) -> None:
    # the child's file sorts first by folder and by name (a clock set back on another
    # machine): the root thread still leads, then its copies, then the child
    child = _thread_file(tmp_path / "a", "2025-01-01T00-00-00", CHILD_T, parent=ROOT_T)
    root = _thread_file(tmp_path / "b", "2025-06-01T00-00-00", ROOT_T)
    packed = tmp_path / "a" / (root.name + ".zst")
    packed.write_bytes(root.read_bytes())  # a copy, named as compressed: sorts after by name
    (group,) = codex.discover([tmp_path])
    assert group.session_id == ROOT_T and group.main == root
    assert group.parts == (root, packed, child)


def test_copies_of_a_rollout_without_a_uuid_are_one_thread(tmp_path: Path) -> None:
    plain = tmp_path / "rollout-local.jsonl"
    plain.write_text(json.dumps({"type": "session_meta", "payload": {}}) + "\n")
    (tmp_path / "rollout-local.jsonl.zst").write_bytes(plain.read_bytes())
    (group,) = codex.discover([tmp_path])
    assert group.session_id == "rollout-local" and len(group.parts) == 2


def test_a_folder_that_vanishes_mid_walk_does_not_end_it(tmp_path: Path) -> None:
    for name in "abcde":
        _thread_file(
            tmp_path / name, "2025-01-01T00-00-00", f"0199a3f2-7c1e-7d20-b5a4-00000000000{name}"
        )
    # the walk is a stack: the folders are taken in the reverse of their listing order
    order = [entry.name for entry in os.scandir(tmp_path)][::-1]
    walk = codex._rollouts(str(tmp_path))
    first = next(walk)
    assert f"{os.sep}{order[0]}{os.sep}" in first[0]
    shutil.rmtree(tmp_path / order[1])  # the next folder to read is gone
    rest = {os.path.basename(os.path.dirname(path)) for path, _ in walk}
    assert rest == set(order[2:])


def test_a_symlink_loop_beside_rollouts_is_skipped_not_fatal(tmp_path: Path) -> None:
    folder = tmp_path / "2025" / "01" / "01"
    found = [
        _thread_file(folder, "2025-01-01T00-00-00", f"0199a3f2-7c1e-7d20-b5a4-{n:012d}")
        for n in range(12)
    ]
    for n in range(12):  # is_file() raises ELOOP on each (listed, surely, before some rollout)
        loop = folder / f"rollout-2025-01-01T00-00-00-loop{n}.jsonl"
        loop.symlink_to(loop)
    assert {g.main for g in codex.discover([tmp_path])} == set(found)


def test_a_reply_in_several_items_is_one_text_in_paragraphs(tmp_path: Path) -> None:
    def said(kind: str, text: str) -> dict[str, Any]:
        if kind == "reasoning":
            return _item({"type": "reasoning", "summary": [{"type": "summary_text", "text": text}]})
        part = {"type": "output_text", "text": text}
        return _item({"type": "message", "role": "assistant", "content": [part]})

    _rollout(
        tmp_path,
        [
            _line("session_meta", {"id": NEWER, "cwd": "/x/proj"}),
            _prompt("build it"),
            *(said(k, t) for k, t in [("reasoning", "Plan."), ("message", "Building.")]),
            *(said(k, t) for k, t in [("reasoning", "Check."), ("message", "Built.")]),
        ],
    )
    s = codex.read_session(codex.discover([tmp_path])[0])
    assert s is not None
    reply = s.turns[-1]
    assert (reply.text, reply.thinking) == ("Building.\n\nBuilt.", "Plan.\n\nCheck.")
