"""The frame: exit codes and one-line errors, whatever the command."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engram_ci.cli import app as cli


def test_unknown_command_is_one_line_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["no-such-command"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "engram --help" in err


def test_a_bug_exits_3_with_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def explode(_args: object) -> int:
        raise ZeroDivisionError("boom")

    def parser_with_a_bug(_argv: object = None) -> cli._Parser:
        parser = cli._Parser(prog="engram")
        parser.set_defaults(handler=explode)
        return parser

    monkeypatch.setattr(cli, "build_parser", parser_with_a_bug)
    assert cli.main([]) == 3
    err = capsys.readouterr().err
    assert "ZeroDivisionError" in err and "a bug, exit 3" in err


def test_fatal_error_is_masked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from engram_ci import log
    from engram_ci.errors import FatalError

    log.register_secret("ghp_tokenvalue_in_error")

    def fail(_args: object) -> int:
        raise FatalError("bad token ghp_tokenvalue_in_error: set GITHUB_TOKEN")

    def parser(_argv: object = None) -> cli._Parser:
        p = cli._Parser(prog="engram")
        p.set_defaults(handler=fail)
        return p

    monkeypatch.setattr(cli, "build_parser", parser)
    assert cli.main([]) == 1
    err = capsys.readouterr().err
    assert "ghp_tokenvalue_in_error" not in err and "set GITHUB_TOKEN" in err


def test_python_dash_m_runs_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "engram_ci", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("engram-ci ")


def _actions(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, argparse.Action]]:
    for action in parser._actions:
        yield path, action
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _actions(sub, f"{path} {name}")


def test_every_command_and_positional_has_help() -> None:
    missing = [
        f"{path}: {action.dest}"
        for path, action in _actions(cli.build_parser(), "engram")
        if not action.help and (not action.option_strings or action.dest != "help")
    ]
    assert not missing


def test_inside_a_workflow_step_printed_data_cannot_forge_a_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15: `engram projects` prints project names at line starts; under
    GITHUB_ACTIONS a hostile name stays text."""
    from engram_ci.cli import app as cli_app

    knowledge = tmp_path / "memory" / "knowledge" / "::stop-commands::pwned"
    knowledge.mkdir(parents=True)
    (knowledge / "decisions.md").write_text(
        "# Decisions\n\n## Session: s1 (2025-01-01T00:00:00Z)\n\n- x\n"
    )
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code = cli_app.main(["projects", "--memory-dir", str(tmp_path / "memory")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "stop-commands::pwned" in out
    assert not [ln for ln in (out + err).splitlines() if ln.lstrip().startswith("::")]


@pytest.mark.parametrize(
    "command",
    [
        ["ingest", "--samples"],
        ["add", "p", "a note"],
        ["projects"],
        ["status"],
        ["recall", "p"],
        ["search", "p", "word"],
        ["export", "p", "json"],
        ["forget", "p", "s1"],
    ],
)
def test_a_file_as_the_memory_dir_is_one_line_exit_1_for_every_command(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "memory"
    afile.write_text("a file, not a folder")
    assert cli.main(["--memory-dir", str(afile), *command]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a file, not a folder: point --memory-dir" in err
    assert afile.read_text() == "a file, not a folder"


def test_a_file_inside_the_memory_dir_is_one_line_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "knowledge").write_text("a file where a folder goes")
    assert cli.main(["--memory-dir", str(tmp_path), "add", "p", "a note"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a file stands where a folder must be" in err


def test_a_positional_given_as_an_empty_list_by_argparse_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # argparse (3.11) turns `P -- --` into FILE=[]: refused as a usage error, not a crash
    assert cli.main(["import", "--", "json", "--"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "argument FILE: expected one value" in err


def test_a_path_with_a_name_too_long_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long_name = str(tmp_path / ("a" * 300))
    for argv in (
        ["--memory-dir", str(tmp_path / "m"), "ingest", "--gemini-dir", long_name],
        ["--memory-dir", long_name, "add", "p", "a note"],
    ):
        assert cli.main(argv) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "use a shorter path" in err
