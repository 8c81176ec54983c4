"""Small session stores of our own for the chat-store agents, laid out where each agent keeps
them under a HOME, written from the formats documented in shared/FACTS.md and the agents'
public source (never copies of real sessions).

Every store holds one session of the same story, so one set of expectations fits all: the
human asks to fix the failing tests in /home/dev/src/shop, the agent runs `pytest -q` (which
fails), edits cart.py, runs it again (passes) and says it is done. Each writer returns the
store's root as the agent's reader finds it by default.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engram_ci.transcripts.model import Session
from engram_ci.transcripts.registry import get_reader

CWD = "/home/dev/src/shop"
PROJECT = "shop"
PROMPT = "Please fix the failing cart tests"
DONE = "Fixed: the discount was applied twice. All 12 tests pass now."
FAILED_OUTPUT = "FAILED tests/test_cart.py::test_discount - assert 90 == 81"
PASSED_OUTPUT = "12 passed in 0.4s"
EDITED = f"{CWD}/shop/cart.py"


def write_json(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1))
    return path


def the_session(agent: str, home: Path) -> Session | None:
    """The session read from the one group `agent`'s reader discovers in its store under
    `home` (None when that group reads as no session)."""
    reader = get_reader(agent)
    (group,) = reader.discover(reader.default_roots({}, home))
    return reader.read_session(group)


def _lines(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def cursor(home: Path) -> Path:
    root = home / ".cursor" / "projects"
    user = {"type": "text", "text": f"<user_query>\n{PROMPT}\n</user_query>"}
    rules = {"type": "text", "text": "<rules>always run the tests</rules>"}
    _lines(
        root
        / "home-dev-src-shop"
        / "agent-transcripts"
        / "c0ffee01-aaaa-bbbb-cccc-000000000001.jsonl",
        [
            {"role": "user", "message": {"content": [rules, user]}},
            {
                "role": "assistant",
                "message": {
                    "content": [
                        {"type": "text", "text": "Running the tests first."},
                        {
                            "type": "tool_use",
                            "id": "t1",
                            "name": "run_terminal_cmd",
                            "input": {"command": "pytest -q"},
                        },
                    ]
                },
            },
            {
                "role": "user",
                "message": {
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "t1",
                            "content": FAILED_OUTPUT,
                            "is_error": True,
                        }
                    ]
                },
            },
            {
                "role": "assistant",
                "message": {
                    "content": [
                        {
                            "type": "tool_use",
                            "id": "t2",
                            "name": "edit_file",
                            "input": {"target_file": EDITED},
                        },
                        {
                            "type": "tool_use",
                            "id": "t3",
                            "name": "run_terminal_cmd",
                            "input": {"command": "pytest -q"},
                        },
                    ]
                },
            },
            {
                "role": "user",
                "message": {
                    "content": [
                        {"type": "tool_result", "tool_use_id": "t2", "content": "ok"},
                        {"type": "tool_result", "tool_use_id": "t3", "content": PASSED_OUTPUT},
                    ]
                },
            },
            {"role": "assistant", "message": {"content": [{"type": "text", "text": DONE}]}},
            {"type": "turn_ended"},
        ],
    )
    return root


def cline(home: Path) -> Path:
    storage = home / ".config" / "Code" / "User" / "globalStorage" / "saoudrizwan.claude-dev"
    task = storage / "tasks" / "1736000000000"
    env = (
        f"<environment_details>\n# Current Working Directory ({CWD}) Files\ncart.py\n"
        "</environment_details>"
    )
    write_json(
        task / "api_conversation_history.json",
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": f"<task>\n{PROMPT}\n</task>"},
                    {"type": "text", "text": env},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "text",
                        "text": "Running the tests first.\n<execute_command>\n"
                        "<command>pytest -q</command>\n"
                        "<requires_approval>false</requires_approval>\n</execute_command>",
                    }
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "[execute_command for 'pytest -q'] Result:\nCommand failed\n"
                        + FAILED_OUTPUT,
                    },
                    {"type": "text", "text": env},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_2",
                        "name": "replace_in_file",
                        "input": {"path": EDITED},
                    },
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_2", "content": "ok"}],
            },
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_3",
                        "name": "execute_command",
                        "input": {"command": "pytest -q"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_3", "content": PASSED_OUTPUT}
                ],
            },
            {"role": "assistant", "content": [{"type": "text", "text": DONE}]},
        ],
    )
    write_json(
        task / "ui_messages.json",
        [{"ts": 1736000000000, "type": "say", "say": "task", "text": PROMPT}],
    )
    write_json(task / "task_metadata.json", {"files_in_context": []})
    return storage / "tasks"


def copilot(home: Path) -> Path:
    root = home / ".copilot" / "session-state"
    sid = "5e55e55e-0000-4000-8000-000000000001"

    def event(kind: str, data: dict[str, Any], n: int) -> dict[str, Any]:
        return {
            "type": kind,
            "id": f"e{n}",
            "timestamp": f"2026-01-05T10:00:{n:02d}.000Z",
            "parentId": None,
            "data": data,
        }

    _lines(
        root / sid / "events.jsonl",
        [
            event(
                "session.start",
                {
                    "sessionId": sid,
                    "version": 1,
                    "producer": "copilot-agent",
                    "copilotVersion": "0.0.400",
                    "context": {"cwd": CWD, "branch": "main"},
                },
                1,
            ),
            event("session.info", {"infoType": "folder_trust", "message": "trusted"}, 2),
            event(
                "user.message",
                {"content": PROMPT, "transformedContent": f"<reminder>x</reminder>{PROMPT}"},
                3,
            ),
            event(
                "assistant.message",
                {
                    "messageId": "m1",
                    "content": "Running the tests first.",
                    "toolRequests": [
                        {"toolCallId": "c1", "name": "bash", "arguments": {"command": "pytest -q"}}
                    ],
                },
                4,
            ),
            event("tool.execution_start", {"toolCallId": "c1", "toolName": "bash"}, 5),
            event(
                "tool.execution_complete",
                {"toolCallId": "c1", "success": False, "result": {"content": FAILED_OUTPUT}},
                6,
            ),
            event(
                "assistant.message",
                {
                    "messageId": "m2",
                    "content": "",
                    "toolRequests": [
                        {
                            "toolCallId": "c2",
                            "name": "str_replace_editor",
                            "arguments": {"path": EDITED},
                        },
                        {"toolCallId": "c3", "name": "bash", "arguments": {"command": "pytest -q"}},
                    ],
                },
                7,
            ),
            event(
                "tool.execution_complete",
                {"toolCallId": "c2", "success": True, "result": {"content": "ok"}},
                8,
            ),
            event(
                "tool.execution_complete",
                {"toolCallId": "c3", "success": True, "result": {"content": PASSED_OUTPUT}},
                9,
            ),
            event("assistant.message", {"messageId": "m3", "content": DONE}, 10),
            event(
                "assistant.usage",
                {"model": "claude-sonnet-4.5", "inputTokens": 1200, "outputTokens": 300},
                11,
            ),
        ],
    )
    return root


def gemini(home: Path) -> Path:
    root = home / ".gemini" / "tmp"
    project_hash = hashlib.sha256(CWD.encode()).hexdigest()
    stamp = "2026-01-05T10:00:00.000Z"

    def call(
        ident: str, name: str, args: dict[str, Any], output: str, status: str
    ) -> dict[str, Any]:
        response = {"functionResponse": {"id": ident, "name": name, "response": {"output": output}}}
        return {
            "id": ident,
            "name": name,
            "args": args,
            "result": [response],
            "status": status,
            "timestamp": stamp,
        }

    write_json(
        root / project_hash / "chats" / "session-2026-01-05T10-00-abc12345.json",
        {
            "sessionId": "abc12345-0000-4000-8000-000000000001",
            "projectHash": project_hash,
            "startTime": stamp,
            "lastUpdated": stamp,
            "messages": [
                {"id": "1", "timestamp": stamp, "type": "user", "content": PROMPT},
                {
                    "id": "2",
                    "timestamp": stamp,
                    "type": "gemini",
                    "content": "Running the tests first.",
                    "model": "gemini-2.5-pro",
                    "thoughts": [
                        {"subject": "Plan", "description": "run the suite", "timestamp": stamp}
                    ],
                    "tokens": {
                        "input": 900,
                        "output": 120,
                        "cached": 0,
                        "thoughts": 40,
                        "total": 1060,
                    },
                    "toolCalls": [
                        call(
                            "g1",
                            "run_shell_command",
                            {"command": "pytest -q"},
                            FAILED_OUTPUT,
                            "error",
                        )
                    ],
                },
                {"id": "3", "timestamp": stamp, "type": "info", "content": "Request cancelled."},
                {
                    "id": "4",
                    "timestamp": stamp,
                    "type": "gemini",
                    "content": "",
                    "toolCalls": [
                        call("g2", "replace", {"file_path": EDITED}, "ok", "success"),
                        call(
                            "g3",
                            "run_shell_command",
                            {"command": "pytest -q"},
                            PASSED_OUTPUT,
                            "success",
                        ),
                    ],
                },
                {"id": "5", "timestamp": stamp, "type": "gemini", "content": DONE},
            ],
        },
    )
    return root


def _opencode_records() -> tuple[dict[str, Any], list[tuple[dict[str, Any], list[dict[str, Any]]]]]:
    info: dict[str, Any] = {
        "id": "ses_01",
        "projectID": "prj1",
        "directory": CWD,
        "title": "Fix cart tests",
        "version": "1.3.0",
        "time": {"created": 1736000000000, "updated": 1736000100000},
    }
    messages: list[tuple[dict[str, Any], list[dict[str, Any]]]] = [
        (
            {
                "id": "msg_01",
                "sessionID": "ses_01",
                "role": "user",
                "time": {"created": 1736000000000},
            },
            [{"id": "prt_01", "type": "text", "text": PROMPT}],
        ),
        (
            {
                "id": "msg_02",
                "sessionID": "ses_01",
                "role": "assistant",
                "modelID": "claude-sonnet-4-5",
                "time": {"created": 1736000001000},
                "path": {"cwd": CWD, "root": CWD},
                "tokens": {
                    "input": 1000,
                    "output": 200,
                    "reasoning": 0,
                    "cache": {"read": 50, "write": 0},
                },
            },
            [
                {"id": "prt_02", "type": "text", "text": "Running the tests first."},
                {
                    "id": "prt_03",
                    "type": "tool",
                    "tool": "bash",
                    "callID": "call_1",
                    "state": {
                        "status": "error",
                        "input": {"command": "pytest -q"},
                        "error": FAILED_OUTPUT,
                    },
                },
                {
                    "id": "prt_04",
                    "type": "tool",
                    "tool": "edit",
                    "callID": "call_2",
                    "state": {"status": "completed", "input": {"filePath": EDITED}, "output": "ok"},
                },
                {
                    "id": "prt_05",
                    "type": "tool",
                    "tool": "bash",
                    "callID": "call_3",
                    "state": {
                        "status": "completed",
                        "input": {"command": "pytest -q"},
                        "output": PASSED_OUTPUT,
                    },
                },
                {"id": "prt_06", "type": "text", "text": DONE},
            ],
        ),
    ]
    return info, messages


def opencode(home: Path) -> Path:
    """The JSON store of OpenCode 1.3 and earlier."""
    root = home / ".local" / "share" / "opencode"
    storage = root / "storage"
    info, messages = _opencode_records()
    write_json(storage / "session" / "prj1" / "ses_01.json", info)
    for message, parts in messages:
        write_json(storage / "message" / "ses_01" / f"{message['id']}.json", message)
        for part in parts:
            write_json(
                storage / "part" / message["id"] / f"{part['id']}.json",
                {**part, "messageID": message["id"], "sessionID": "ses_01"},
            )
    return root


def opencode_db(home: Path) -> Path:
    """The SQLite store of OpenCode 1.4 and later."""
    root = home / ".local" / "share" / "opencode"
    root.mkdir(parents=True, exist_ok=True)
    info, messages = _opencode_records()
    with sqlite3.connect(root / "opencode.db") as db:
        db.execute(
            "CREATE TABLE session (id TEXT PRIMARY KEY, project_id TEXT, parent_id TEXT,"
            " directory TEXT, title TEXT, version TEXT, time_created INTEGER)"
        )
        db.execute(
            "CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT,"
            " time_created INTEGER, data TEXT)"
        )
        db.execute(
            "CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT, session_id TEXT,"
            " time_created INTEGER, data TEXT)"
        )
        db.execute(
            "INSERT INTO session VALUES (?, ?, NULL, ?, ?, ?, ?)",
            (info["id"], "prj1", CWD, info["title"], "1.4.0", info["time"]["created"]),
        )
        for message, parts in messages:
            data = {k: v for k, v in message.items() if k not in ("id", "sessionID")}
            db.execute(
                "INSERT INTO message VALUES (?, ?, ?, ?)",
                (message["id"], "ses_01", message["time"]["created"], json.dumps(data)),
            )
            for part in parts:
                db.execute(
                    "INSERT INTO part VALUES (?, ?, ?, ?, ?)",
                    (
                        part["id"],
                        message["id"],
                        "ses_01",
                        0,
                        json.dumps({k: v for k, v in part.items() if k != "id"}),
                    ),
                )
    return root


def amp(home: Path) -> Path:
    root = home / ".local" / "share" / "amp" / "threads"
    write_json(
        root / "T-0a0a0a0a-1111-4222-8333-444444444444.json",
        {
            "v": 12,
            "id": "T-0a0a0a0a-1111-4222-8333-444444444444",
            "created": 1736000000000,
            "title": "Fix cart tests",
            "env": {"initial": {"trees": [{"displayName": "shop", "uri": f"file://{CWD}"}]}},
            "messages": [
                {
                    "role": "user",
                    "messageId": 0,
                    "content": [{"type": "text", "text": PROMPT}],
                    "meta": {"sentAt": 1736000000000},
                },
                {
                    "role": "assistant",
                    "messageId": 1,
                    "content": [
                        {"type": "text", "text": "Running the tests first."},
                        {
                            "type": "tool_use",
                            "id": "tu1",
                            "name": "Bash",
                            "input": {"cmd": "pytest -q"},
                        },
                    ],
                    "usage": {"model": "claude-sonnet-4-5", "inputTokens": 800, "outputTokens": 90},
                },
                {
                    "role": "user",
                    "messageId": 2,
                    "content": [
                        {
                            "type": "tool_result",
                            "toolUseID": "tu1",
                            "run": {
                                "status": "error",
                                "result": {"output": FAILED_OUTPUT, "exitCode": 1},
                            },
                        }
                    ],
                },
                {
                    "role": "assistant",
                    "messageId": 3,
                    "content": [
                        {
                            "type": "tool_use",
                            "id": "tu2",
                            "name": "edit_file",
                            "input": {"path": EDITED},
                        },
                        {
                            "type": "tool_use",
                            "id": "tu3",
                            "name": "Bash",
                            "input": {"cmd": "pytest -q"},
                        },
                    ],
                },
                {
                    "role": "user",
                    "messageId": 4,
                    "content": [
                        {
                            "type": "tool_result",
                            "toolUseID": "tu2",
                            "run": {"status": "done", "result": "ok"},
                        },
                        {
                            "type": "tool_result",
                            "toolUseID": "tu3",
                            "run": {
                                "status": "done",
                                "result": {"output": PASSED_OUTPUT, "exitCode": 0},
                            },
                        },
                    ],
                },
                {"role": "assistant", "messageId": 5, "content": [{"type": "text", "text": DONE}]},
            ],
        },
    )
    return root


#: reader name -> store writer
STORES: dict[str, Callable[[Path], Path]] = {
    "cursor": cursor,
    "cline": cline,
    "copilot": copilot,
    "gemini": gemini,
    "opencode": opencode,
    "amp": amp,
}
