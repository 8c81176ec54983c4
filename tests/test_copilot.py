"""copilot.py: GitHub Copilot CLI event logs — both layouts of the store, the session's cwd
and branch from session.start, calls paired with their completions, usage per model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engram_ci.transcripts import copilot
from engram_ci.transcripts.registry import copilot_roots

from .agent_stores import CWD, DONE, PROJECT, PROMPT

SID = "5e55e55e-0000-4000-8000-000000000001"


def _events(*events: tuple[str, Any]) -> str:
    return "".join(
        json.dumps({"type": kind, "timestamp": f"2026-01-05T10:00:{n:02d}.000Z", "data": data})
        + "\n"
        for n, (kind, data) in enumerate(events)
    )


def _read(root: Path) -> Any:
    (group,) = copilot.discover([root.parent / "gone", root])
    return copilot.read_session(group)


def test_copilot_home_moves_the_store(tmp_path: Path) -> None:
    assert copilot_roots({"COPILOT_HOME": str(tmp_path)}, Path("/home/dev")) == [
        tmp_path / "session-state"
    ]


def test_older_flat_logs_are_found_beside_session_folders(tmp_path: Path) -> None:
    root = tmp_path / "session-state"
    (root / SID).mkdir(parents=True)
    (root / SID / "events.jsonl").write_text(_events(("user.message", {"content": PROMPT})))
    (root / "0ld5e551.jsonl").write_text(_events(("user.message", {"content": PROMPT})))
    groups = copilot.discover([root])
    assert [(g.session_id, g.folder) for g in groups] == [(SID, root / SID), ("0ld5e551", root)]


def test_a_session_reads_with_its_context_calls_and_usage(tmp_path: Path) -> None:
    root = tmp_path / "session-state"
    root.mkdir()
    (root / "flat.jsonl").write_text(
        _events(
            ("session.start", {"sessionId": SID, "context": {"gitRoot": CWD, "branch": "fix"}}),
            ("user.message", {"content": PROMPT}),
            (
                "assistant.message",
                {
                    "content": "",
                    "toolRequests": [
                        "not a request",
                        {"toolCallId": "c1", "name": "bash", "arguments": {"command": "make"}},
                        {"toolCallId": "c2", "name": "view", "arguments": {"path": "a.py"}},
                    ],
                },
            ),
            ("tool.execution_complete", {"toolCallId": "c1", "success": False, "error": "exit 2"}),
            (
                "tool.execution_complete",
                {"toolCallId": "c2", "result": {"content": "def f(): ..."}},
            ),
            ("assistant.message", {"content": DONE}),
            ("assistant.usage", {"model": "gpt-5", "inputTokens": 10, "cacheReadTokens": 4}),
            ("assistant.usage", {"model": "gpt-5", "outputTokens": 3, "cacheWriteTokens": 2}),
            ("assistant.usage", {"inputTokens": 1}),
            ("session.idle", None),
        )
    )
    session = _read(root)
    assert session.session_id == SID  # session.start names it, not the file
    assert (session.cwd, session.project, session.git_branch) == (CWD, PROJECT, "fix")
    shell, read = session.tool_calls
    assert (shell.result, shell.is_error) == ("exit 2", True)
    assert (read.result, read.is_error) == ("def f(): ...", False)  # no `success`: not a failure
    assert session.models == ["gpt-5"]
    usage = session.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total) == (11, 3, 20)
    assert session.started_at == "2026-01-05T10:00:01.000Z"
    assert not session.stats.unknown_types
