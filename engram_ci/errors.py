"""The one exception a user should ever see.

Every expected failure (bad input, missing token, unknown gist, rejected push, ...) raises
FatalError with a single line that names the fix. `cli.main` and the action adapter catch it
once, print it, and exit 1. Anything else escaping is a bug and exits 3.
"""

import errno

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_BUG = 3


class FatalError(Exception):
    """A user-facing failure. The message is one line: what went wrong, then the fix."""

    def __init__(self, message: str, *, title: str = "engram failed") -> None:
        # One line, always: a multi-line message would break `::error::` annotations.
        super().__init__(" ".join(message.split()))
        self.title = title


#: what the machine, not the program, got wrong: each with its fix
_ENVIRONMENT_ERRORS = {
    errno.ENOSPC: "the disk is full: free some space and run the command again",
    errno.EDQUOT: "the disk quota is used up: free some space and run the command again",
    errno.EROFS: "the file system is read-only: point --memory-dir at a writable folder",
    errno.EACCES: "permission denied: fix the folder's permissions or use another --memory-dir",
    errno.EPERM: "operation not permitted: fix the folder's permissions or ownership",
}


def environment_error(error: OSError) -> FatalError | None:
    """A full disk, a read-only or forbidden folder as a one-line FatalError; else None.

    Writes are atomic (temp file + rename), so such a failure leaves the old files whole.
    """
    fix = _ENVIRONMENT_ERRORS.get(error.errno or 0)
    if fix is None:
        return None
    where = f" {error.filename}" if error.filename else ""
    return FatalError(
        f"cannot write{where} ({error.strerror}): {fix}; nothing was changed",
        title="cannot write",
    )
