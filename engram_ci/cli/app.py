"""The `engram` command: parse arguments, run one command, turn failures into exit codes.

Exit codes: 0 ok, 1 a user error (FatalError: one line that names the fix), 3 a bug.
Each command area registers its own subcommands (a module of engram_ci/cli/ with a
`register(subparsers, common)`, listed in COMMANDS), so this module only owns the frame:
global options, error handling and the exit code.

Start-up is part of every command's time (hooks run `engram ingest` after each session): the
parser holds only the commands argv can reach, so only their modules are imported and only
their parsers built. A command module keeps its imports and register() cheap and imports
its implementation (GitPython, PyGithub, the readers, the redactor...) in its handlers.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NoReturn

from engram_ci import __version__, log
from engram_ci.errors import EXIT_BUG, EXIT_USER_ERROR, FatalError, environment_error
from engram_ci.options import add_option

if TYPE_CHECKING:
    from engram_ci.cli.common import Subparsers

__all__ = ["COMMANDS", "SYNC_COMMANDS", "build_parser", "main"]

#: the module whose register() adds each command, in `engram --help` order: a new command
#: is added there and named here. "sync" is the group of SYNC_COMMANDS.
#: (tests/test_cli_startup.py checks both tables against what the modules register)
COMMANDS: dict[str, tuple[str, ...]] = {
    "engram_ci.cli.ingest_cmd": ("ingest",),
    "engram_ci.cli.memory": ("projects", "recall", "export"),
    "engram_ci.cli.memory_edit": ("add", "forget", "search", "status"),
    "engram_ci.cli.import_cmd": ("import",),
    "engram_ci.cli.demo": ("demo",),
    "sync": ("sync",),
}
SYNC_COMMANDS: dict[str, tuple[str, ...]] = {
    "engram_ci.cli.sync_gist": ("push", "pull", "restore", "clone", "list", "history"),
    "engram_ci.cli.sync_repo": ("init-repo", "push-repo", "pull-repo", "merge", "merge-driver"),
    "engram_ci.cli.sync_s3": ("push-s3", "pull-s3", "history-s3"),
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is a FatalError (exit 1, one line) rather than exit 2."""

    def error(self, message: str) -> NoReturn:
        raise FatalError(f"{message} (see `{self.prog} --help`)", title="invalid arguments")

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        # argparse (3.11) gives a positional an empty list for `P -- --`: one value it is
        for action in self._actions:
            value = getattr(parsed, action.dest, None)
            if not action.option_strings and action.nargs is None and isinstance(value, list):
                self.error(f"argument {action.metavar or action.dest}: expected one value")
        return parsed, extras


def common_options() -> argparse.ArgumentParser:
    """Options every command accepts, before or after the subcommand name."""
    common = argparse.ArgumentParser(add_help=False)
    add_option(common, "memory-path", default=argparse.SUPPRESS)
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="more detail"
    )
    return common


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The `engram` parser. Given argv, it holds only the commands argv reaches; without
    argv, or when argv names no command (`engram --help`, a typo), every command, since
    the help and the error list them all."""
    common = common_options()
    # every subparser is a _Parser too (argparse builds them from the parent's class)
    parser = _Parser(
        prog="engram",
        description="Memory for AI coding agents: ingest transcripts, recall, export and sync.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"engram-ci {__version__}")
    scan = _scan(argv)
    if scan.version and not scan.help:
        return parser  # argparse prints the version before it would look at any command
    commands: Subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", help="what to do (engram COMMAND --help for more)"
    )
    commands.required = True
    command, sync_command = (None, None) if scan.help else (*scan.words, None, None)[:2]
    for module in _modules_for(COMMANDS, command):
        if module == "sync":
            _add_sync(commands, common, sync_command)
        else:
            importlib.import_module(module).register(commands, common)
    return parser


def _add_sync(
    commands: Subparsers, common: argparse.ArgumentParser, sync_command: str | None
) -> None:
    sync = commands.add_parser(
        "sync",
        parents=[common],
        help="share memory through GitHub Gists, git repositories or S3 buckets",
    )
    sync_commands: Subparsers = sync.add_subparsers(
        dest="sync_command",
        metavar="SYNC_COMMAND",
        help="where and how (engram sync SYNC_COMMAND --help for more)",
    )
    sync_commands.required = True
    for module in _modules_for(SYNC_COMMANDS, sync_command):
        importlib.import_module(module).register(sync_commands, common)


def _modules_for(table: Mapping[str, tuple[str, ...]], command: str | None) -> list[str]:
    """The module registering `command`, or all of them when it is none of the table's."""
    return [m for m, names in table.items() if command in names] or list(table)


class _ScanError(Exception):
    pass


class _Scanner(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _ScanError(message)


class _BeforeCommand(argparse.Action):
    """A flag that counts only before the command words (after them it is the command's)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=False)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        if not getattr(namespace, "words", None):
            setattr(namespace, self.dest, True)


def _scan(argv: Sequence[str] | None) -> argparse.Namespace:
    """What argv asks for: the command words it starts with (`ingest`, `sync push-s3 ...`),
    read past the global options and their values as the parser reads them, and whether
    --help or --version comes before them. Nothing when argv is None or cannot be read
    (the parser reports that, with every command at hand)."""
    nothing = argparse.Namespace(words=[], help=False, version=False)
    if argv is None:
        return nothing
    scanner = _Scanner(add_help=False, parents=[common_options()])
    scanner.add_argument("-h", "--help", action=_BeforeCommand)
    scanner.add_argument("--version", action=_BeforeCommand)
    scanner.add_argument("words", nargs="*")
    try:
        return scanner.parse_known_args(argv)[0]
    except _ScanError:
        return nothing


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI; inside a GitHub Actions step, nothing it prints can forge a workflow command
    (a project named `::stop-commands::x` listed at a line start stays text)."""
    if os.environ.get("GITHUB_ACTIONS") == "true":
        with log.inert_streams():
            return _main(argv)
    return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    log.configure()
    try:
        if argv is None:
            argv = sys.argv[1:]
        args = build_parser(argv).parse_args(argv)
        log.configure(verbose=getattr(args, "verbose", False))
        return int(args.handler(args))
    except FatalError as error:
        print(log.mask(f"engram: error: {error}"), file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("engram: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as error:
        fatal = environment_error(error)
        if fatal is None:
            return _bug()
        print(log.mask(f"engram: error: {fatal}"), file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception:
        return _bug()


def _bug() -> int:
    """A bug: show the traceback so it can be reported, masked like everything else."""
    print(log.mask(traceback.format_exc()), file=sys.stderr, end="")
    print(
        "engram: internal error (a bug, exit 3): please report it with the traceback above",
        file=sys.stderr,
    )
    return EXIT_BUG


if __name__ == "__main__":
    raise SystemExit(main())
