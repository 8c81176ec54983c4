"""cline.py: Cline / Roo Code / Kilo Code task histories — where every editor keeps them, XML
tool calls of older versions paired with their `[tool] Result:` text, and odd messages
counted, not fatal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engram_ci.transcripts import cline
from engram_ci.transcripts.registry import CLINE_EDITORS, CLINE_EXTENSIONS, cline_roots

from .agent_stores import CWD, PROJECT, PROMPT


def _read(tmp_path: Path, history: Any) -> Any:
    task = tmp_path / "tasks" / "1736000000000"
    task.mkdir(parents=True)
    (task / cline.HISTORY_FILE).write_text(json.dumps(history))
    (group,) = cline.discover([tmp_path / "gone", tmp_path / "tasks"])
    return cline.read_session(group)


def _prompt(*extra: Any) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": f"<task>{PROMPT}</task>"}, *extra]}


def _say(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"type": "text", "text": text}]}


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def test_cline_home_names_one_storage_dir(tmp_path: Path) -> None:
    assert cline_roots({"CLINE_HOME": str(tmp_path)}, Path("/home/dev")) == [tmp_path / "tasks"]


def test_every_editor_and_extension_is_searched(tmp_path: Path) -> None:
    roots = cline_roots({"APPDATA": "C:/Users/dev/AppData/Roaming"}, Path("/home/dev"))
    assert len(roots) == 3 * len(CLINE_EDITORS) * len(CLINE_EXTENSIONS)
    windows = Path("C:/Users/dev/AppData/Roaming/Code/User/globalStorage")
    assert windows / "rooveterinaryinc.roo-cline" / "tasks" in roots
    xdg = cline_roots({"XDG_CONFIG_HOME": str(tmp_path)}, Path("/home/dev"))
    assert tmp_path / "VSCodium/User/globalStorage/kilocode.kilo-code/tasks" in xdg


def test_xml_calls_pair_with_their_results_by_tool_name(tmp_path: Path) -> None:
    session = _read(
        tmp_path,
        [
            _prompt({"type": "text", "text": f"# Current Workspace Directory ({CWD}) Files"}),
            _say(
                "<read_file><path>cart.py</path></read_file>\n"
                "<execute_command><command>pytest -q</command></execute_command>"
            ),
            _user("[execute_command for 'pytest -q'] Result:\nExit code: 1\nFAILED"),
            _user("[read_file for 'cart.py'] Result:\ndef total(): ..."),
            _user("[read_file for 'cart.py'] Result:\nno call is waiting for this one"),
        ],
    )
    assert session.cwd == CWD and session.project == PROJECT
    read, run = session.tool_calls
    assert (read.name, read.kind, read.input) == ("read_file", "read", {"path": "cart.py"})
    assert (run.result, run.is_error) == ("Exit code: 1\nFAILED", True)
    assert (read.result, read.is_error) == ("def total(): ...", False)
    assert session.prompts == [PROMPT]  # a result with no call waiting is not a prompt either
    assert session.turns[-1].is_meta


def test_a_result_for_an_unknown_tool_goes_to_the_oldest_call(tmp_path: Path) -> None:
    session = _read(
        tmp_path,
        [
            _prompt(),
            _say("<list_files><path>.</path></list_files>"),
            _user("[list_code_definition_names for '.'] Result:\ncart.py"),
        ],
    )
    (call,) = session.tool_calls
    assert call.result == "cart.py"


def test_feedback_is_the_humans_and_the_rest_is_context(tmp_path: Path) -> None:
    session = _read(
        tmp_path,
        [
            _prompt(),
            _say("Done?"),
            _user("<feedback>\nno, the discount too\n</feedback>"),
            _user("[TASK RESUMPTION] This task was interrupted 2 minutes ago."),
            {"role": "user", "content": "<answer>yes</answer>"},  # content as a bare string
        ],
    )
    assert session.prompts == [PROMPT, "no, the discount too", "yes"]
    assert [t.is_meta for t in session.turns if t.role == "user"] == [False, False, True, False]


def test_odd_messages_and_blocks_are_counted_or_skipped(tmp_path: Path) -> None:
    session = _read(
        tmp_path,
        [
            "not a message",
            {"role": "system", "content": "You are Cline"},
            {"content": "no role"},
            _prompt("a stray string", {"type": "image", "source": {}}, {"type": "text", "text": 5}),
            _say("On it."),
        ],
    )
    assert session.stats.malformed == {"bad_shape": 3}
    assert session.prompts == [PROMPT]
    assert session.started_at == "2025-01-04T14:13:20.000Z"  # the task id is its start time


@pytest.mark.parametrize("history", [{"messages": []}, "history", 5])
def test_a_history_that_is_not_a_list_is_not_a_session(history: Any, tmp_path: Path) -> None:
    assert _read(tmp_path, history) is None


def test_a_task_named_otherwise_has_no_start_time(tmp_path: Path) -> None:
    task = tmp_path / "tasks" / "imported-task"
    task.mkdir(parents=True)
    (task / cline.HISTORY_FILE).write_text(json.dumps([_prompt(), _say("hi")]))
    (group,) = cline.discover([tmp_path / "tasks"])
    session = cline.read_session(group, project_hint="shop")
    assert session is not None
    assert (session.started_at, session.project) == (None, "shop")
