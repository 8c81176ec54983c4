"""gemini.py: Gemini CLI chats, as JSON documents and as the JSON Lines of headless runs, with
the project recovered from its SHA-256 only when a touched path proves it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from engram_ci.transcripts import gemini
from engram_ci.transcripts.registry import gemini_roots

from .agent_stores import CWD, DONE, EDITED, PROJECT, PROMPT, the_session, write_json

HASH = hashlib.sha256(CWD.encode()).hexdigest()
STAMP = "2026-01-05T10:00:00.000Z"


def _write_chat(home: Path, document: dict[str, Any], *, folder: str = HASH) -> Path:
    chats = home / ".gemini" / "tmp" / folder / "chats"
    return write_json(chats / "session-2026-01-05T10-00-abc.json", document)


def _read(home: Path) -> Any:
    return the_session("gemini", home)


def _reply(**fields: Any) -> dict[str, Any]:
    return {"id": "2", "timestamp": STAMP, "type": "gemini", "content": "ok", **fields}


def _chat(*messages: Any) -> dict[str, Any]:
    prompt = {"id": "1", "timestamp": STAMP, "type": "user", "content": PROMPT}
    return {
        "sessionId": "abc",
        "projectHash": HASH,
        "startTime": STAMP,
        "messages": [prompt, *messages],
    }


def test_headless_json_lines_read_like_a_chat_document(tmp_path: Path) -> None:
    path = tmp_path / ".gemini" / "tmp" / HASH / "chats" / "session-2026-01-05T10-00-abc.jsonl"
    path.parent.mkdir(parents=True)
    call = {
        "id": "g1",
        "name": "replace",
        "args": {"file_path": EDITED},
        "result": [{"functionResponse": {"response": {"output": "ok"}}}],
        "status": "success",
    }
    lines = [
        {"sessionId": "abc-headless", "projectHash": HASH, "startTime": STAMP},
        {"id": "1", "timestamp": STAMP, "type": "user", "content": PROMPT},
        {"id": "2", "timestamp": STAMP, "type": "gemini", "toolCalls": [call]},
        {"id": "3", "timestamp": STAMP, "type": "gemini", "content": DONE},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + "not json\n")
    session = _read(tmp_path)
    assert session.session_id == "abc-headless"
    assert session.started_at == STAMP
    assert session.cwd == CWD and session.project == PROJECT  # recovered from the edited path
    assert session.prompts == [PROMPT]
    assert [c.kind for c in session.tool_calls] == ["edit"]
    assert session.stats.malformed == {"bad_json": 1}


def test_a_headless_header_may_carry_messages_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / ".gemini" / "tmp" / HASH / "chats" / "session-x.jsonl"
    path.parent.mkdir(parents=True)
    header = {"sessionId": "abc", "projectHash": HASH, "messages": [_chat()["messages"][0]]}
    reply = {"id": "2", "timestamp": STAMP, "type": "gemini", "content": DONE}
    path.write_text(json.dumps(header) + "\n" + json.dumps(reply) + "\n")
    session = _read(tmp_path)
    assert session.prompts == [PROMPT]
    assert [t.text for t in session.turns] == [PROMPT, DONE]


def test_a_document_of_the_wrong_shape_is_counted_not_read(tmp_path: Path) -> None:
    path = _write_chat(tmp_path, {})
    for shape in ([1, 2], {"messages": "none"}):
        path.write_text(json.dumps(shape))
        (group,) = gemini.discover(gemini_roots({}, tmp_path))
        assert gemini.read_session(group) is None


def test_odd_records_are_counted_and_the_rest_read(tmp_path: Path) -> None:
    odd_call = "not a call"
    _write_chat(
        tmp_path,
        _chat(
            "not a message",
            {"type": "compression", "content": "summary"},
            {"type": "info", "content": "Request cancelled."},
            {"type": "warning", "content": "quota"},
            _reply(
                toolCalls=[odd_call, {"name": "run_shell_command", "status": "cancelled"}],
                thoughts=[{"subject": "Plan"}, "not a thought", {"description": "run it"}],
                tokens={"input": 10, "output": 5, "thoughts": 2, "cached": -1},
            ),
        ),
    )
    session = _read(tmp_path)
    assert session.stats.malformed == {"bad_shape": 1}
    assert session.stats.unknown_types == {"compression": 1}  # the CLI's own notes are not
    (call,) = session.tool_calls
    assert call.is_error and call.kind == "shell"  # a cancelled call did not succeed
    reply = session.turns[-1]
    assert reply.thinking == "Plan\nrun it"
    assert (session.usage.input_tokens, session.usage.output_tokens) == (10, 7)
    assert session.usage.cache_read_tokens == 0


def test_results_come_from_function_responses_or_text_parts(tmp_path: Path) -> None:
    def call(ident: str, result: Any) -> dict[str, Any]:
        return {"id": ident, "name": "read_file", "args": {}, "result": result, "status": "success"}

    error_part = {"functionResponse": {"response": {"error": "denied", "llmContent": "see log"}}}
    _write_chat(
        tmp_path,
        _chat(
            _reply(
                toolCalls=[
                    call("r1", [{"text": "plain text part"}, {"inlineData": {}}]),
                    call("r2", [error_part]),
                    call("r3", "a bare string"),
                    call("r4", {"status": "ok"}),
                ]
            )
        ),
    )
    results = [c.result for c in _read(tmp_path).tool_calls]
    # a shape of its own is kept whole, as JSON, rather than lost
    assert results == ["plain text part", "denied\nsee log", "a bare string", '{"status":"ok"}']


def test_content_as_a_list_of_parts(tmp_path: Path) -> None:
    _write_chat(
        tmp_path,
        {
            "sessionId": "abc",
            "projectHash": HASH,
            "messages": [
                {"type": "user", "content": [{"text": "fix"}, {"text": "the cart"}]},
                {"type": "gemini", "content": [{"text": "done"}]},
            ],
        },
    )
    session = _read(tmp_path)
    assert session.prompts == ["fix\nthe cart"]
    assert session.started_at is None  # no time anywhere: unknown, not made up


def test_a_path_outside_the_project_does_not_place_it(tmp_path: Path) -> None:
    _write_chat(
        tmp_path,
        _chat(
            _reply(
                toolCalls=[
                    {"name": "read_file", "args": {"absolute_path": "/etc/hosts"}},
                    {"name": "read_file", "args": {"path": "relative/cart.py"}},
                    {"name": "read_file", "args": {"file_path": 7}},
                ]
            )
        ),
    )
    session = _read(tmp_path)
    assert session.cwd is None
    assert session.project == f"gemini-{HASH[:8]}"


def test_a_folder_that_is_not_a_hash_names_the_project(tmp_path: Path) -> None:
    # newer Gemini CLIs name the folder after the project instead of hashing its path
    chat = _chat(_reply(toolCalls=[{"name": "read_file", "args": {"file_path": EDITED}}]))
    del chat["projectHash"]
    _write_chat(tmp_path, chat, folder="shop-app")
    session = _read(tmp_path)
    assert session.cwd is None
    assert session.project == "shop-app"


def test_a_project_hint_wins_over_the_hash(tmp_path: Path) -> None:
    _write_chat(tmp_path, _chat(_reply()))
    (group,) = gemini.discover(gemini_roots({}, tmp_path))
    session = gemini.read_session(group, project_hint="storefront")
    assert session is not None and session.project == "storefront"


def test_gemini_cli_home_moves_the_store(tmp_path: Path) -> None:
    assert gemini_roots({"GEMINI_CLI_HOME": str(tmp_path)}, Path("/nowhere")) == [
        tmp_path / ".gemini" / "tmp"
    ]
    assert gemini_roots({"GEMINI_CLI_HOME": " "}, tmp_path) == [tmp_path / ".gemini" / "tmp"]


def test_roots_that_do_not_exist_are_skipped(tmp_path: Path) -> None:
    _write_chat(tmp_path, _chat(_reply()))
    roots = [tmp_path / "gone", *gemini_roots({}, tmp_path)]
    assert [g.session_id for g in gemini.discover(roots)] == ["2026-01-05T10-00-abc"]
