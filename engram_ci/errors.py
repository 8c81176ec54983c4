"""The one exception a user should ever see.

Every expected failure (bad input, missing token, unknown gist, rejected push, ...) raises
FatalError with a single line that names the fix. `cli.main` and the action adapter catch it
once, print it, and exit 1. Anything else escaping is a bug and exits 3.

A fix that names a setting travels as data (`Fix`), not as words: the CLI spells the setting as
its flag (`--fetch-remote`), the Action as its input (`fetch-remote`), so a job's log never tells
the user to pass a flag it has no command line for. A fix only the CLI has a setting for
carries the Action's own words (`action_text`: what a workflow's author should do instead).
Notices that name a fix (reposync's "nothing to pull yet") are worded the same way (`worded`).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "EXIT_BUG",
    "EXIT_OK",
    "EXIT_USER_ERROR",
    "Face",
    "FatalError",
    "Fix",
    "environment_error",
    "worded",
]

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_BUG = 3

Face = Literal["cli", "action"]


@dataclass(frozen=True)
class Fix:
    """What to change, with the setting as data. `text` may hold `{option}`, replaced by the
    setting as the face names it: the CLI's `flag`, the Action's `input`, else `$env`.
    `action_text`, when the Action has no input for the setting, replaces `text` there."""

    text: str
    flag: str | None = None
    input: str | None = None
    env: str | None = None
    action_text: str | None = None

    def worded(self, face: Face = "cli") -> str:
        name = self.flag if face == "cli" else self.input and f"the `{self.input}` input"
        if name is None and self.env:
            name = f"${self.env}"
        elif name is not None and self.env:
            name = f"{name} (or ${self.env})"
        own = self.action_text if face == "action" else None
        return (self.text if own is None else own).replace("{option}", name or "the setting")


def worded(problem: str, fix: Fix | None, face: Face = "cli") -> str:
    """`problem: fix` on one line, the fix in the face's words (just `problem` without one)."""
    if fix is None:
        return problem
    return " ".join(f"{problem}: {fix.worded(face)}".split())


class FatalError(Exception):
    """A user-facing failure. The message is one line: what went wrong, then the fix.

    `FatalError("msg")` says it all in the message; with `fix=` the message says what went wrong
    and each face words the fix (`str(error)` is the CLI's wording).
    """

    def __init__(
        self, message: str, *, title: str = "engram failed", fix: Fix | None = None
    ) -> None:
        # One line, always: a multi-line message would break `::error::` annotations.
        self.problem = " ".join(message.split())
        self.fix = fix
        self.title = title
        super().__init__(self.worded("cli"))

    def worded(self, face: Face = "cli") -> str:
        return worded(self.problem, self.fix, face)


#: what the machine, not the program, got wrong: each with its fix
_MEMORY_DIR = Fix("", flag="--memory-dir", input="memory-path")
_ENVIRONMENT_ERRORS = {
    errno.ENOSPC: "the disk is full: free some space and run it again",
    errno.EDQUOT: "the disk quota is used up: free some space and run it again",
    errno.EROFS: "the file system is read-only: point {option} at a writable folder",
    errno.EACCES: "permission denied: fix the folder's permissions or use another {option}",
    errno.EPERM: "operation not permitted: fix the folder's permissions or ownership",
}
#: what is wrong with a path itself, read or written (a sessions dir as much as the memory)
_PATH_ERRORS = {
    errno.ENOTDIR: "a file stands where a folder must be: move it aside, or use another path",
    errno.ENAMETOOLONG: "a name in it is longer than the file system allows: use a shorter path",
}


def environment_error(error: OSError) -> FatalError | None:
    """A full disk, a read-only or forbidden folder, a path that cannot be (a file where a
    folder goes, a name too long) as a one-line FatalError; else None.

    Writes are atomic (temp file + rename), so such a failure leaves the old files whole.
    """
    where = f" {str(error.filename)[:200]}" if error.filename else ""
    if (problem := _PATH_ERRORS.get(error.errno or 0)) is not None:
        return FatalError(
            f"cannot use{where} ({error.strerror}); nothing was changed",
            title="cannot use the path",
            fix=Fix(problem),
        )
    fix = _ENVIRONMENT_ERRORS.get(error.errno or 0)
    if fix is None:
        return None
    return FatalError(
        f"cannot write{where} ({error.strerror}); nothing was changed",
        title="cannot write",
        fix=Fix(fix, flag=_MEMORY_DIR.flag, input=_MEMORY_DIR.input),
    )
