"""amp.py: Amp threads — where the store is, how a tool_result's `run` says it failed, where
the workspace comes from, and what a thread of the wrong shape costs (nothing but a count)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engram_ci.transcripts import amp
from engram_ci.transcripts.registry import amp_roots

from .agent_stores import CWD, PROJECT, PROMPT, the_session, write_json

THREAD = "T-0a0a0a0a-1111-4222-8333-444444444444"


def _write(home: Path, thread: Any) -> Path:
    return write_json(home / ".local" / "share" / "amp" / "threads" / f"{THREAD}.json", thread)


def _read(home: Path) -> Any:
    return the_session("amp", home)


def _thread(*messages: Any, **fields: Any) -> dict[str, Any]:
    prompt = {"role": "user", "content": [{"type": "text", "text": PROMPT}]}
    return {"v": 1, "id": THREAD, "messages": [prompt, *messages], **fields}


def _call(ident: str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": ident, "name": "Bash", "input": {"cmd": "make"}}],
    }


def _result(ident: str, run: Any) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "tool_result", "toolUseID": ident, "run": run}]}


def test_the_store_moves_with_amp_home_or_xdg_data_home(tmp_path: Path) -> None:
    home = Path("/home/dev")
    assert amp_roots({"AMP_HOME": str(tmp_path)}, home) == [tmp_path / "threads"]
    assert amp_roots({"XDG_DATA_HOME": str(tmp_path)}, home) == [tmp_path / "amp" / "threads"]
    assert amp_roots({"AMP_HOME": " ", "XDG_DATA_HOME": ""}, home) == [
        home / ".local" / "share" / "amp" / "threads"
    ]


@pytest.mark.parametrize(
    ("run", "result", "failed"),
    [
        ({"status": "done", "result": "ok"}, "ok", False),
        ({"status": "error", "result": {"output": "exit 1"}}, '{"output":"exit 1"}', True),
        ({"status": "cancelled"}, "[cancelled]", True),  # no output: the status says what happened
        ({"status": "rejected-by-user"}, "[rejected-by-user]", True),
        ({"status": "in-progress", "progress": "compiling"}, "compiling", False),
        (None, "", False),  # no run at all: paired, with nothing to show
    ],
)
def test_a_runs_status_says_whether_the_call_failed(
    run: Any, result: str | None, failed: bool, tmp_path: Path
) -> None:
    _write(tmp_path, _thread(_call("tu1"), _result("tu1", run)))
    (call,) = _read(tmp_path).tool_calls
    assert (call.result, call.is_error) == (result, failed)


def test_a_result_may_name_its_call_the_anthropic_way(tmp_path: Path) -> None:
    block = {"type": "tool_result", "tool_use_id": "tu1", "run": {"status": "done", "result": "ok"}}
    _write(tmp_path, _thread(_call("tu1"), {"role": "user", "content": [block]}))
    (call,) = _read(tmp_path).tool_calls
    assert call.result == "ok"


@pytest.mark.parametrize(
    ("env", "cwd"),
    [
        ({"initial": {"cwd": "/srv/shop", "trees": [{"uri": f"file://{CWD}"}]}}, "/srv/shop"),
        ({"initial": {"trees": [{"uri": f"file://{CWD}"}, {"uri": "file:///other"}]}}, CWD),
        ({"initial": {"trees": []}}, None),
        ({"initial": {"trees": ["file:///x"]}}, None),
        ({"initial": {"trees": "file:///x"}}, None),
        ({"initial": "somewhere"}, None),
        ("env", None),
        (None, None),
    ],
)
def test_the_workspace_is_the_first_tree(env: Any, cwd: str | None, tmp_path: Path) -> None:
    _write(tmp_path, _thread({"role": "assistant", "content": "hi"}, env=env))
    assert _read(tmp_path).cwd == cwd


def test_odd_messages_are_counted_and_the_rest_read(tmp_path: Path) -> None:
    _write(
        tmp_path,
        _thread(
            "not a message",
            {"role": "info", "content": "context compacted"},
            {"role": "system", "content": "You are Amp"},
            {
                "role": "assistant",
                "content": [{"type": "text", "text": "done"}],
                "usage": {
                    "model": 7,
                    "inputTokens": 100,
                    "outputTokens": 20,
                    "cacheReadInputTokens": 30,
                    "cacheCreationInputTokens": 5,
                },
                "meta": {"sentAt": 1736000000000},
            },
            title=["not", "a", "title"],
            created=1736000000000,
        ),
    )
    session = _read(tmp_path)
    assert session.stats.malformed == {"bad_shape": 1}
    assert session.stats.unknown_types == {"system": 1}  # info is Amp's own note
    assert session.title is None
    assert session.models == []  # a model that is not a name is not kept
    assert session.project == "amp"  # no workspace: the agent's name
    usage = session.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total) == (100, 20, 155)
    assert session.started_at == "2025-01-04T14:13:20.000Z"
    assert session.turns[-1].timestamp == "2025-01-04T14:13:20.000Z"


@pytest.mark.parametrize("thread", [[], {"messages": {}}, {"id": THREAD}, "thread"])
def test_a_thread_of_the_wrong_shape_is_not_a_session(thread: Any, tmp_path: Path) -> None:
    _write(tmp_path, thread)
    assert _read(tmp_path) is None


def test_the_thread_id_and_a_hint_name_the_session(tmp_path: Path) -> None:
    thread = _thread({"role": "assistant", "content": "hi"}, title="Fix cart tests")
    del thread["id"]
    _write(tmp_path, thread)
    (group,) = amp.discover(amp_roots({}, tmp_path))
    session = amp.read_session(group, project_hint=PROJECT)
    assert session is not None
    assert session.session_id == THREAD  # from the file name when the thread has no id
    assert (session.project, session.title) == (PROJECT, "Fix cart tests")


def test_only_thread_files_are_discovered(tmp_path: Path) -> None:
    path = _write(tmp_path, _thread())
    (path.parent / "index.json").write_text("{}")
    (path.parent / "T-draft.json.tmp").write_text("{}")
    roots = [tmp_path / "gone", *amp_roots({}, tmp_path)]
    assert [g.session_id for g in amp.discover(roots)] == [THREAD]
