"""`git-merge-engram`: the `engram` merge strategy git runs for `git merge -s engram` and,
once engram-ci configured `pull.octopus` / `pull.twohead`, for every plain `git merge`.

git calls `git-merge-<name> [--<option>...] <base>... -- <head> <remote>...` from PATH in the
work tree's top level, and reads the exit code: 0 merged (result in the index and work
tree), 1 conflicts left for the user, 2 "cannot handle it" (git tries its next strategy).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from engram_ci import log
from engram_ci.errors import FatalError

__all__ = ["main", "parse_strategy_args"]

USAGE = "usage: git-merge-engram [--option...] <base>... -- <head> <remote>..."


def parse_strategy_args(argv: Sequence[str]) -> tuple[list[str], str, list[str]] | None:
    """(bases, head, remotes) from git's strategy argv, or None when it is not that shape."""
    args = [a for a in argv if not (a.startswith("--") and a != "--")]  # -X options: none used
    if "--" not in args:
        return None
    split = args.index("--")
    bases, rest = args[:split], args[split + 1 :]
    if len(rest) < 2:
        return None
    return bases, rest[0], rest[1:]


def main(argv: Sequence[str] | None = None) -> int:
    log.configure()
    parsed = parse_strategy_args(sys.argv[1:] if argv is None else argv)
    if parsed is None:
        print(USAGE, file=sys.stderr)
        return 2
    _, head, remotes = parsed
    from engram_ci.sync.git_repo import GitRepo
    from engram_ci.sync.repomerge import run_strategy

    try:
        with GitRepo.open(Path.cwd()) as repo, repo.lock():
            status, message = run_strategy(repo, head, remotes)
    except FatalError as error:
        status, message = 2, f"engram: {error}"
    if message:
        print(log.mask(message), file=sys.stderr)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
