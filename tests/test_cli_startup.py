"""Start-up (issue 14): a command imports and builds only what it needs, and says the same.

The parser holds only the commands argv reaches (cli/app.py), and command modules import
their implementation in their handlers. These tests run the real command in a fresh
interpreter and look at sys.modules after it, and check that the lazily built parser prints
exactly what the whole tree prints.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from engram_ci.cli import app as cli
from engram_ci.errors import FatalError
from engram_ci.transcripts.registry import READERS

#: third-party libraries and our own heavy modules that no start-up below may pay for
HEAVY = (
    "github",  # PyGithub
    "git",  # GitPython
    "httpx",
    "boto3",
    "botocore",
    "pyrage",
    "zstandard",
    "engram_ci.sync.redact",
    "engram_ci.sync.gistsync",
    "engram_ci.sync.reposync",
    "engram_ci.sync.s3sync",
    "engram_ci.knowledge.llm",
)
#: what a command's --help must not import on top of HEAVY: the ingest pipeline
PIPELINE = ("engram_ci.ingest", "engram_ci.knowledge.extract")

#: runs main(argv) in a fresh interpreter; writes its exit code and the modules it imported
#: to argv[1] (not those loaded before it ran: under CI's coverage run, coverage has already
#: loaded its own, sqlite3 among them)
PROBE = """
import sys
before = set(sys.modules)
import json
from engram_ci.cli.app import main
try:
    code = main(sys.argv[2:])
except SystemExit as done:
    code = done.code
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "modules": sorted(set(sys.modules) - before)}, out)
"""


def loaded_by(tmp_path: Path, *argv: str, env: Mapping[str, str] | None = None) -> set[str]:
    report = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), *argv], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(report.read_text())
    assert result["code"] in (0, None), done.stderr
    return set(result["modules"])


def heavy_in(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m in names or m.split(".")[0] in names)


def command_modules(modules: set[str]) -> set[str]:
    return {m for m in modules if m.startswith("engram_ci.cli.") and m != "engram_ci.cli.app"}


def test_version_imports_no_command(tmp_path: Path) -> None:
    modules = loaded_by(tmp_path, "--version")
    assert heavy_in(modules, HEAVY + PIPELINE) == []
    assert command_modules(modules) == set()


def test_ingest_help_imports_only_ingest_s_options(tmp_path: Path) -> None:
    modules = loaded_by(tmp_path, "ingest", "--help")
    assert heavy_in(modules, HEAVY + PIPELINE) == []
    assert command_modules(modules) == {"engram_ci.cli.common", "engram_ci.cli.ingest_cmd"}


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["sync", "--help"],
        ["sync", "push", "--help"],
        ["sync", "push-repo", "--help"],
        ["sync", "push-s3", "--help"],
        ["export", "--help"],
        ["demo", "--help"],
    ],
    ids=" ".join,
)
def test_help_imports_no_implementation(tmp_path: Path, argv: list[str]) -> None:
    assert heavy_in(loaded_by(tmp_path, *argv), HEAVY + PIPELINE) == []


def test_an_offline_ingest_imports_no_sync_llm_or_other_command(tmp_path: Path) -> None:
    memory = tmp_path / "memory"
    modules = loaded_by(tmp_path, "ingest", "--samples", "--jobs", "1", "--memory-dir", str(memory))
    assert (memory / "knowledge").is_dir()  # it ran: the samples were ingested
    # extracted knowledge is redacted before it is written: the redactor is the one sync module
    sync = {m for m in modules if m.startswith("engram_ci.sync.")}
    assert {m for m in sync if not m.startswith("engram_ci.sync.secret_")} == {
        "engram_ci.sync.redact"
    }
    assert heavy_in(modules, (*HEAVY, "engram_ci.knowledge.providers")) == ["engram_ci.sync.redact"]
    assert command_modules(modules) == {"engram_ci.cli.common", "engram_ci.cli.ingest_cmd"}


#: what reading a store other than Claude Code's imports: the reader modules and their helpers
OTHER_READERS = {r.module for r in READERS if r.name != "claude-code"} | {
    "engram_ci.transcripts.chat_store",
    "engram_ci.transcripts.anthropic_blocks",
    "engram_ci.transcripts.codex_rollout",
    "engram_ci.transcripts.codex_items",
    "sqlite3",  # opencode's database
}
#: environment variables that move an agent's store away from the home folder
STORE_VARIABLES = [
    "ENGRAM_SESSIONS_DIR",
    "CLAUDE_CONFIG_DIR",
    "CODEX_HOME",
    "CURSOR_CONFIG_DIR",
    "CLINE_HOME",
    "XDG_CONFIG_HOME",
    "APPDATA",
    "COPILOT_HOME",
    "GEMINI_CLI_HOME",
    "XDG_DATA_HOME",
    "AMP_HOME",
    "RUNNER_TEMP",
]


def test_ingest_help_imports_no_reader_nor_the_session_model(tmp_path: Path) -> None:
    """The registry lists every agent's flag and store without importing its reader."""
    modules = loaded_by(tmp_path, "ingest", "--help")
    readers = {r.module for r in READERS} | OTHER_READERS | {"engram_ci.transcripts.claude"}
    assert modules & readers == set()
    assert "engram_ci.transcripts.model" not in modules


def test_an_ingest_imports_only_the_readers_of_the_stores_on_the_machine(tmp_path: Path) -> None:
    """The registry knows every agent's flag and store without its module: a machine with
    only Claude Code's store pays for no other reader (issue 14)."""
    home = tmp_path / "home"
    shutil.copytree(Path(__file__).parent / "claude_samples", home / ".claude" / "projects")
    env = {k: v for k, v in os.environ.items() if k not in STORE_VARIABLES} | {"HOME": str(home)}
    memory = tmp_path / "memory"
    modules = loaded_by(tmp_path, "ingest", "--jobs", "1", "--memory-dir", str(memory), env=env)
    assert (memory / "knowledge").is_dir()  # it ran: the store was ingested
    assert "engram_ci.transcripts.claude" in modules
    assert sorted(modules & OTHER_READERS) == []


def test_recall_imports_no_redactor(tmp_path: Path) -> None:
    """`engram recall` runs at every session start (a hook): it reads context.md, it never
    redacts, so it does not pay for the redactor's rules."""
    memory = str(tmp_path / "memory")
    assert cli.main(["add", "app", "tests run with uv run pytest", "--memory-dir", memory]) == 0
    modules = loaded_by(tmp_path, "recall", "app", "--memory-dir", memory)
    assert heavy_in(modules, HEAVY + PIPELINE) == []
    assert command_modules(modules) == {"engram_ci.cli.common", "engram_ci.cli.memory"}


# -- the lazily built parser says what the whole tree says ------------------------------------


def command_paths(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from command_paths(sub, (*path, name))


FULL_TREE = dict(command_paths(cli.build_parser()))


@pytest.mark.parametrize("path", list(FULL_TREE), ids=lambda p: " ".join(("engram", *p)))
def test_help_is_the_whole_tree_s(
    path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    expected = FULL_TREE[path].format_help()
    with pytest.raises(SystemExit) as done:
        cli.main([*path, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out == expected


@pytest.mark.parametrize(
    "argv",
    [["--help", "ingest"], ["-vh"], ["--help", "--version"], ["-h", "sync", "push"]],
    ids=" ".join,
)
def test_help_before_the_command_lists_every_command(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit):
        cli.main(argv)
    assert capsys.readouterr().out == FULL_TREE[()].format_help()


@pytest.mark.parametrize(
    "argv", [["--version"], ["--version", "ingest"], ["-v", "--version", "sync"]], ids=" ".join
)
def test_version(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(argv)
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("engram-ci ")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nope"],
        ["sync"],
        ["sync", "nope"],
        ["--memory-dir"],
        ["--ver"],
        ["ingest", "--version"],
        ["ingest", "--bogus"],
        ["sync", "-v", "push"],
        ["recall"],
    ],
    ids=lambda argv: " ".join(argv) or "(none)",
)
def test_errors_are_the_whole_tree_s(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(FatalError) as expected:
        cli.build_parser().parse_args(argv)
    assert cli.main(argv) == 1
    assert capsys.readouterr().err == f"engram: error: {expected.value}\n"


@pytest.mark.parametrize(
    ("argv", "commands"),
    [
        (["ingest", "--samples"], {"ingest"}),
        (["-v", "--memory-dir", "ingest", "recall", "P"], {"projects", "recall", "export"}),
        (["--mem=/tmp/m", "add", "P", "note"], {"add", "forget", "search", "status"}),
        (["sync", "push-s3", "P", "s3://b"], {"sync"}),
        (["nope"], {name for names in cli.COMMANDS.values() for name in names}),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_the_parser_holds_only_the_commands_argv_reaches(
    argv: list[str], commands: set[str]
) -> None:
    subparsers = next(
        a for a in cli.build_parser(argv)._actions if isinstance(a, argparse._SubParsersAction)
    )
    assert set(subparsers.choices) == commands


def test_the_tables_list_the_commands_in_help_order() -> None:
    top = [path[0] for path in FULL_TREE if len(path) == 1]
    sync = [path[1] for path in FULL_TREE if len(path) == 2 and path[0] == "sync"]
    assert top == [name for names in cli.COMMANDS.values() for name in names]
    assert sync == [name for names in cli.SYNC_COMMANDS.values() for name in names]


@pytest.mark.parametrize(
    ("prefix", "names"),
    [((), names) for module, names in cli.COMMANDS.items() if module != "sync"]
    + [(("sync",), names) for names in cli.SYNC_COMMANDS.values()],
    ids=lambda v: " ".join(v),
)
def test_each_module_registers_the_commands_listed_under_it(
    prefix: tuple[str, ...], names: tuple[str, ...]
) -> None:
    """A command is looked up in COMMANDS / SYNC_COMMANDS to know which module to import:
    each module must register exactly the commands listed under it."""
    level = dict(command_paths(cli.build_parser([*prefix, names[0]])))[prefix]
    subparsers = next(a for a in level._actions if isinstance(a, argparse._SubParsersAction))
    assert tuple(subparsers.choices) == names
