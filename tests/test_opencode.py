"""opencode.py: OpenCode's two stores (JSON files up to 1.3, SQLite from 1.4) — subagent
sessions joined to their parent, parts of every kind, and damaged stores (loops of parents,
broken rows, a database that is not one, a path the SQLite URI must escape) costing a count,
never a hang or a crash."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from engram_ci.transcripts import opencode
from engram_ci.transcripts.model import Session
from engram_ci.transcripts.registry import opencode_roots

from .agent_stores import CWD, DONE, PROJECT, PROMPT, opencode_db
from .agent_stores import opencode as opencode_files


def _storage(home: Path) -> Path:
    return home / ".local" / "share" / "opencode" / "storage"


def _write(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def _add_session(
    storage: Path,
    sid: str,
    messages: list[tuple[dict[str, Any], list[dict[str, Any]]]],
    **info: Any,
) -> None:
    _write(storage / "session" / "prj1" / f"{sid}.json", {"id": sid, **info})
    for message, parts in messages:
        _write(storage / "message" / sid / f"{message['id']}.json", message)
        for part in parts:
            _write(storage / "part" / message["id"] / f"{part['id']}.json", part)


def _exchange(prefix: str, prompt: str, reply: str) -> list[tuple[dict[str, Any], list[Any]]]:
    return [
        (
            {"id": f"msg_{prefix}1", "role": "user", "time": {"created": 1736000000000}},
            [{"id": f"prt_{prefix}1", "type": "text", "text": prompt}],
        ),
        (
            {"id": f"msg_{prefix}2", "role": "assistant", "time": {"created": 1736000001000}},
            [{"id": f"prt_{prefix}2", "type": "text", "text": reply}],
        ),
    ]


def _read_all(home: Path) -> list[Session]:
    groups = opencode.discover(opencode_roots({}, home))
    sessions = [opencode.read_session(g) for g in groups]
    return [s for s in sessions if s is not None]


def test_the_store_moves_with_xdg_data_home(tmp_path: Path) -> None:
    assert opencode_roots({"XDG_DATA_HOME": str(tmp_path)}, Path("/home/dev")) == [
        tmp_path / "opencode"
    ]


def test_a_subagent_session_is_read_into_its_parent(tmp_path: Path) -> None:
    opencode_files(tmp_path)
    storage = _storage(tmp_path)
    _add_session(
        storage, "ses_02", _exchange("c", "find the discount code", "in cart.py"), parentID="ses_01"
    )
    groups = opencode.discover(opencode_roots({}, tmp_path))
    assert [g.session_id for g in groups] == ["ses_01"]  # the child is no session of its own
    (group,) = groups
    assert storage / "session" / "prj1" / "ses_02.json" in group.parts  # its change re-ingests
    session = opencode.read_session(group)
    assert session is not None
    (child,) = session.subagents
    assert (child.session_id, child.agent_id, child.agent_type) == ("ses_01", "ses_02", "task")
    assert child.project == session.project == PROJECT
    assert child.prompts == ["find the discount code"]


def test_a_subagent_row_is_read_into_its_parent(tmp_path: Path) -> None:
    root = opencode_db(tmp_path)
    with sqlite3.connect(root / "opencode.db") as db:
        db.execute(
            "INSERT INTO session VALUES ('ses_02', 'prj1', 'ses_01', ?, 'sub', '1.4.0', 1)", (CWD,)
        )
        db.execute(
            "INSERT INTO message VALUES ('msg_c1', 'ses_02', 1, ?)",
            (json.dumps({"role": "user", "time": {"created": 1736000002000}}),),
        )
        db.execute(
            "INSERT INTO part VALUES ('prt_c1', 'msg_c1', 'ses_02', 1, ?)",
            (json.dumps({"type": "text", "text": "find the discount code"}),),
        )
    (session,) = _read_all(tmp_path)
    assert session.session_id == "ses_01"
    (child,) = session.subagents
    assert child.agent_id == "ses_02" and child.prompts == ["find the discount code"]


@pytest.mark.parametrize(
    "parents",
    [
        {"ses_a": "ses_b", "ses_b": "ses_a"},  # two sessions, each the other's parent
        {"ses_a": "ses_b", "ses_b": "ses_c", "ses_c": "ses_b"},  # a loop above the session
        {"ses_a": "ses_a"},
    ],
)
def test_a_loop_of_parents_ends_and_keeps_every_session(
    parents: dict[str, str], tmp_path: Path
) -> None:
    storage = _storage(tmp_path)
    for sid, parent in parents.items():
        _add_session(storage, sid, _exchange(sid, f"prompt {sid}", "ok"), parentID=parent)
    groups = opencode.discover(opencode_roots({}, tmp_path))
    infos = [p for g in groups for p in g.parts if p.parent.parent.name == "session"]
    assert sorted(p.stem for p in infos) == sorted(parents)  # each session once, none lost


def test_a_parent_that_is_gone_leaves_the_child_on_its_own(tmp_path: Path) -> None:
    storage = _storage(tmp_path)
    _add_session(storage, "ses_c", _exchange("c", PROMPT, DONE), parentID="ses_deleted")
    (session,) = _read_all(tmp_path)
    assert session.session_id == "ses_c" and session.prompts == [PROMPT]


def test_parts_of_every_kind(tmp_path: Path) -> None:
    storage = _storage(tmp_path)
    tool = {"id": "prt_3", "type": "tool", "tool": "bash", "callID": "c1"}
    _add_session(
        storage,
        "ses_k",
        [
            (
                {"id": "msg_1", "role": "user"},
                [
                    {"id": "prt_0", "type": "text", "text": "<system-reminder>", "synthetic": True},
                    {"id": "prt_1", "type": "text", "text": PROMPT},
                    {"id": "prt_2", "type": "file", "url": "file:///x.py"},
                ],
            ),
            (
                {"id": "msg_2", "role": "assistant", "path": {"cwd": CWD}, "modelID": "m1"},
                [
                    {"id": "prt_1", "type": "reasoning", "text": "the rounding"},
                    {"id": "prt_2", "type": "reasoning", "text": "is off"},
                    {**tool, "state": {"status": "running", "input": {"command": "pytest"}}},
                    {"id": "prt_4", "type": "step-finish"},
                    {"id": "prt_5", "type": "text", "text": "Still running."},
                    {"id": "prt_6", "type": "text", "text": DONE},
                    {"id": "prt_7", "type": "text", "text": 12},
                ],
            ),
            ({"id": "msg_3", "role": "system"}, []),
        ],
    )
    (session,) = _read_all(tmp_path)
    assert session.prompts == [PROMPT]  # the synthetic reminder is OpenCode's, not the human's
    assert session.cwd == CWD and session.project == PROJECT  # from the message's path
    assert session.stats.unknown_types == {"system": 1}
    (call,) = session.tool_calls
    assert call.result is None and not call.is_error  # still running: no result yet
    calling, replying = session.turns[1:]
    assert calling.thinking == "the rounding\nis off"
    assert calling.tool_calls == [call] and calling.text == ""
    assert replying.text == f"Still running.\n{DONE}"  # text after a call starts a new turn
    assert session.started_at is None


def test_broken_files_are_counted_and_the_rest_read(tmp_path: Path) -> None:
    opencode_files(tmp_path)
    storage = _storage(tmp_path)
    (storage / "message" / "ses_01" / "msg_00.json").write_text("[]")
    (storage / "part" / "msg_02" / "prt_99.json").write_text("{broken")
    (session,) = _read_all(tmp_path)
    assert session.prompts == [PROMPT]
    assert session.turns[-1].text == DONE
    assert session.stats.malformed == {"bad_json": 1}


def test_a_session_file_that_is_not_an_object_is_no_session(tmp_path: Path) -> None:
    opencode_files(tmp_path)
    (_storage(tmp_path) / "session" / "prj1" / "ses_01.json").write_text('"ses_01"')
    assert _read_all(tmp_path) == []


def test_broken_rows_are_counted_and_the_rest_read(tmp_path: Path) -> None:
    root = opencode_db(tmp_path)
    with sqlite3.connect(root / "opencode.db") as db:
        db.execute("INSERT INTO message VALUES ('msg_00', 'ses_01', 0, '{broken')")
        db.execute("INSERT INTO message VALUES ('msg_03', 'ses_01', 0, NULL)")
        db.execute("INSERT INTO part VALUES ('prt_98', 'msg_02', 'ses_01', 0, '[1, 2]')")
        db.execute("INSERT INTO part VALUES ('prt_99', 'msg_02', 'ses_01', 0, 'null')")
    (session,) = _read_all(tmp_path)
    assert session.prompts == [PROMPT]
    assert session.turns[-1].text == DONE
    assert session.stats.malformed == {"bad_json": 2, "not_object": 2}


def test_a_database_that_is_not_one_is_skipped(tmp_path: Path) -> None:
    root = tmp_path / ".local" / "share" / "opencode"
    root.mkdir(parents=True)
    (root / "opencode.db").write_bytes(b"not a database" * 100)
    assert opencode.discover(opencode_roots({}, tmp_path)) == []


def test_a_database_without_the_tables_is_skipped(tmp_path: Path) -> None:
    root = tmp_path / ".local" / "share" / "opencode"
    root.mkdir(parents=True)
    with sqlite3.connect(root / "opencode.db") as db:
        db.execute("CREATE TABLE kv (k TEXT, v TEXT)")
    assert opencode.discover(opencode_roots({}, tmp_path)) == []


def test_a_database_changed_under_the_reader_costs_a_count(tmp_path: Path) -> None:
    root = opencode_db(tmp_path)
    (group,) = opencode.discover(opencode_roots({}, tmp_path))
    with sqlite3.connect(root / "opencode.db") as db:
        db.execute("DROP TABLE part")  # an OpenCode upgrade migrated the store meanwhile
    assert opencode.read_session(group) is None


def test_a_database_removed_under_the_reader_costs_a_count(tmp_path: Path) -> None:
    root = opencode_db(tmp_path)
    (group,) = opencode.discover(opencode_roots({}, tmp_path))
    (root / "opencode.db").unlink()
    assert opencode.read_session(group) is None


def test_a_session_row_deleted_under_the_reader_is_no_session(tmp_path: Path) -> None:
    root = opencode_db(tmp_path)
    (group,) = opencode.discover(opencode_roots({}, tmp_path))
    with sqlite3.connect(root / "opencode.db") as db:
        db.execute("DELETE FROM session")
    assert opencode.read_session(group) is None


@pytest.mark.parametrize("folder", ["data#1", "what?", "100%"])
def test_a_database_under_a_path_with_uri_characters_is_read(folder: str, tmp_path: Path) -> None:
    opencode_db(tmp_path / "home")
    data = tmp_path / folder
    shutil.move(tmp_path / "home" / ".local" / "share", data)
    groups = opencode.discover(opencode_roots({"XDG_DATA_HOME": str(data)}, tmp_path))
    (group,) = groups
    session = opencode.read_session(group)
    assert session is not None and session.prompts == [PROMPT]


def test_a_subagent_that_never_talked_is_left_out(tmp_path: Path) -> None:
    opencode_files(tmp_path)
    _add_session(_storage(tmp_path), "ses_02", [], parentID="ses_01")
    (session,) = _read_all(tmp_path)
    assert session.subagents == []


def test_a_session_without_a_conversation_is_none(tmp_path: Path) -> None:
    _add_session(_storage(tmp_path), "ses_e", [({"id": "msg_1", "role": "user"}, [])])
    (group,) = opencode.discover(opencode_roots({}, tmp_path))
    assert opencode.read_session(group) is None
