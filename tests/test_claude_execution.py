"""claude-code-action's execution file read as a session (transcripts/claude_execution.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engram_ci.errors import FatalError
from engram_ci.transcripts import claude_execution as reader
from engram_ci.transcripts.registry import get_reader
from tests.test_action import EXECUTION_SESSION, write_execution_file


def test_session_id_model_and_cwd_come_from_system_init(tmp_path: Path) -> None:
    path = write_execution_file(tmp_path / "claude-execution-output.json")
    [group] = reader.discover([path, tmp_path / "missing.json"])
    session = reader.read_session(group, project_hint="fallback")
    assert session is not None
    assert session.session_id == EXECUTION_SESSION
    assert session.project == "app"  # the cwd's last component wins over the fallback
    assert session.cwd == "/home/runner/work/app/app"
    assert session.models == ["claude-sonnet-4-5"]
    [call] = session.tool_calls
    assert call.name == "Bash" and call.is_error
    assert "No module named pytest" in (call.result or "")
    assert session.usage.output_tokens == 25


def test_subagent_messages_become_subagents(tmp_path: Path) -> None:
    path = write_execution_file(tmp_path / "exec.json")
    messages = json.loads(path.read_text())
    messages.insert(
        2,
        {
            "type": "assistant",
            "parent_tool_use_id": "toolu_task",
            "session_id": EXECUTION_SESSION,
            "message": {"id": "msg_sub", "content": [{"type": "text", "text": "searched"}]},
        },
    )
    path.write_text(json.dumps(messages))
    session = reader.read_session(reader.discover([path])[0])
    assert session is not None
    [agent] = session.subagents
    assert agent.agent_id == "toolu_task" and agent.project == "app"
    assert all(turn.text != "searched" for turn in session.turns)


def test_unknown_message_types_are_counted_not_fatal(tmp_path: Path) -> None:
    path = write_execution_file(tmp_path / "exec.json")
    messages = json.loads(path.read_text())
    messages.append({"type": "stream_event", "event": {}})
    path.write_text(json.dumps(messages))
    session = reader.read_session(reader.discover([path])[0])
    assert session is not None and session.stats.unknown_types["stream_event"] == 1


def test_a_file_without_conversation_is_not_a_session(tmp_path: Path) -> None:
    path = tmp_path / "exec.json"
    path.write_text(json.dumps([{"type": "system", "subtype": "init", "session_id": "s1"}]))
    assert reader.read_session(reader.discover([path])[0]) is None


@pytest.mark.parametrize("text", ['{"type": "system"', '{"not": "a list"}'])
def test_a_broken_file_is_skipped_by_discovery_and_named_by_read_messages(
    tmp_path: Path, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "exec.json"
    path.write_text(text)
    assert reader.discover([path]) == []  # a reader never raises on a file
    assert "skipping" in caplog.text
    with pytest.raises(FatalError) as error:
        reader.read_messages(path)  # what the Action checks for a file the user named
    assert "the `execution-file` input" in error.value.worded("action")
    assert "--claude-action-dir" in str(error.value)


def test_registered_with_the_runners_temp_folder_as_its_store(tmp_path: Path) -> None:
    spec = get_reader("claude-execution")
    assert spec.option == "claude-action-dir"
    assert spec.default_roots({"RUNNER_TEMP": str(tmp_path)}, tmp_path) == [tmp_path]
    assert spec.default_roots({}, tmp_path) == [tmp_path / "work" / "_temp"]
    write_execution_file(tmp_path / reader.FILE_NAME)
    [group] = spec.discover([tmp_path])  # a folder holding the file
    assert group.source == "claude-execution"


def test_without_cwd_the_project_is_the_repositorys_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/widget")
    path = write_execution_file(tmp_path / "exec.json", cwd=None)
    session = reader.read_session(reader.discover([path])[0])
    assert session is not None and session.project == "widget"


def test_a_file_that_is_missing_or_huge_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(FatalError, match=r"cannot read execution file .*No such file"):
        reader.read_messages(tmp_path / "gone.json")
    huge = tmp_path / "exec.json"
    with huge.open("wb") as out:
        out.truncate(reader.MAX_BYTES + 1)  # sparse: never read
    with pytest.raises(FatalError, match=f"over {reader.MAX_BYTES}") as error:
        reader.read_messages(huge)
    assert "\n" not in str(error.value)


def test_a_file_naming_no_session_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_execution_file(tmp_path / "exec.json")
    messages = [
        {k: v for k, v in m.items() if k != "session_id"} for m in json.loads(path.read_text())
    ]
    path.write_text(json.dumps(messages))
    assert reader.discover([path]) == []
    assert "no message names a session_id" in caplog.text
    messages[2]["session_id"] = "from-a-later-message"  # without init, any message may name it
    path.write_text(json.dumps(messages))
    assert [g.session_id for g in reader.discover([path])] == ["from-a-later-message"]


def test_a_file_broken_after_discovery_is_no_session(tmp_path: Path) -> None:
    path = write_execution_file(tmp_path / "exec.json")
    [group] = reader.discover([path])
    path.write_text('[{"type": "assistant"')  # the action was still writing it
    assert reader.read_session(group) is None


def test_messages_without_content_are_counted_and_inits_model_comes_first(
    tmp_path: Path,
) -> None:
    path = write_execution_file(tmp_path / "exec.json")
    messages = json.loads(path.read_text())
    messages[0]["model"] = "claude-opus-4-1"  # the session's model, not the first reply's
    messages += [
        {"type": "assistant", "session_id": EXECUTION_SESSION},
        {"type": "user", "session_id": EXECUTION_SESSION, "message": {"role": "user"}},
        "not a message",
    ]
    path.write_text(json.dumps(messages))
    session = reader.read_session(reader.discover([path])[0])
    assert session is not None
    assert session.stats.malformed["bad_shape"] == 2
    assert session.models == ["claude-opus-4-1", "claude-sonnet-4-5"]
