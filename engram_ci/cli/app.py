"""The `engram` command: parse arguments, run one command, turn failures into exit codes.

Exit codes: 0 ok, 1 a user error (FatalError: one line that names the fix), 3 a bug.
Each command area registers its own subcommands (engram_ci/commands/*), so this module only
owns the frame: global options, error handling and the exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from engram_ci import __version__, log
from engram_ci.cli import demo, import_cmd, memory, memory_edit, sync_gist, sync_repo, sync_s3
from engram_ci.cli import ingest_cmd as ingest
from engram_ci.cli.common import add_option
from engram_ci.errors import EXIT_BUG, EXIT_USER_ERROR, FatalError, environment_error

if TYPE_CHECKING:
    from engram_ci.cli.common import Subparsers


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is a FatalError (exit 1, one line) rather than exit 2."""

    def error(self, message: str) -> NoReturn:
        raise FatalError(f"{message} (see `{self.prog} --help`)", title="invalid arguments")


def common_options() -> argparse.ArgumentParser:
    """Options every command accepts, before or after the subcommand name."""
    common = argparse.ArgumentParser(add_help=False)
    add_option(common, "memory-path", default=argparse.SUPPRESS)
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="more detail"
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    # every subparser is a _Parser too (argparse builds them from the parent's class)
    parser = _Parser(
        prog="engram",
        description="Memory for AI coding agents: ingest transcripts, recall, export and sync.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"engram-ci {__version__}")
    commands: Subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", help="what to do (engram COMMAND --help for more)"
    )
    commands.required = True
    ingest.register(commands, common)
    memory.register(commands, common)
    memory_edit.register(commands, common)
    import_cmd.register(commands, common)
    demo.register(commands, common)
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
    sync_gist.register(sync_commands, common)
    sync_repo.register(sync_commands, common)
    sync_s3.register(sync_commands, common)
    return parser


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
        args = build_parser().parse_args(argv)
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
