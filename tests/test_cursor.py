"""cursor.py: Cursor CLI agent transcripts — the store's place, the human's query told from
injected rules, the project from the transcript's folder unless a line states its cwd."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from engram_ci.transcripts import cursor
from engram_ci.transcripts.registry import cursor_roots

from .agent_stores import DONE, PROJECT, PROMPT


def _write(home: Path, records: list[Any], folder: str = "home-dev-src-shop") -> Path:
    path = home / ".cursor" / "projects" / folder / "agent-transcripts" / "c0ffee01.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def _group(home: Path) -> Any:
    (group,) = cursor.discover([home / "gone", *cursor_roots({}, home)])
    return group


def _message(role: str, *blocks: Any, **fields: Any) -> dict[str, Any]:
    return {"role": role, "message": {"content": list(blocks), **fields}}


def _text(text: str) -> dict[str, str]:
    return {"type": "text", "text": text}


def test_cursor_config_dir_moves_the_store(tmp_path: Path) -> None:
    assert cursor_roots({"CURSOR_CONFIG_DIR": str(tmp_path)}, Path("/home/dev")) == [
        tmp_path / "projects"
    ]


def test_the_query_is_the_prompt_and_rules_are_context(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            _message(
                "user",
                _text("<rules>use uv</rules>"),
                _text(f"<user_query> {PROMPT} </user_query>"),
            ),
            _message("user", _text("and keep the API")),  # no markup: the human's words as typed
            _message("assistant", _text(DONE), model="gpt-5"),
            {"type": "turn_ended"},
            {"type": "checkpoint"},
        ],
    )
    os.utime(path, (1736000000, 1736000000))
    session = cursor.read_session(_group(tmp_path))
    assert session is not None
    assert session.prompts == [PROMPT, "and keep the API"]
    assert session.turns[0].is_meta and "use uv" in session.turns[0].text
    assert session.models == ["gpt-5"]
    assert session.project == PROJECT  # from the folder's name
    assert session.started_at == "2025-01-04T14:13:20.000Z"  # lines carry no time: the file's
    assert not session.stats.unknown_types


def test_a_stated_cwd_wins_over_the_folder(tmp_path: Path) -> None:
    _write(
        tmp_path,
        [
            {"cwd": "/srv/storefront", **_message("user", _text(PROMPT))},
            _message("assistant", _text(DONE)),
        ],
    )
    session = cursor.read_session(_group(tmp_path))
    assert session is not None and (session.cwd, session.project) == (
        "/srv/storefront",
        "storefront",
    )


def test_unknown_records_are_counted(tmp_path: Path) -> None:
    _write(
        tmp_path,
        [
            _message("user", _text(PROMPT)),
            {"type": "tool_call_delta", "data": {}},
            {"role": "system", "message": {"content": "You are Cursor"}},
            {"role": "user", "message": "not an object"},
            {},
            "not json",
            _message("assistant", _text(DONE)),
        ],
    )
    session = cursor.read_session(_group(tmp_path))
    assert session is not None
    assert session.stats.unknown_types == {
        "tool_call_delta": 1,
        "system": 1,
        "user": 1,
        "unknown": 1,
    }
    assert session.stats.malformed == {"bad_json": 1}
