"""The one exception a user should ever see.

Every expected failure (bad input, missing token, unknown gist, rejected push, ...) raises
FatalError with a single line that names the fix. `cli.main` and the action adapter catch it
once, print it, and exit 1. Anything else escaping is a bug and exits 3.
"""

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_BUG = 3


class FatalError(Exception):
    """A user-facing failure. The message is one line: what went wrong, then the fix."""

    def __init__(self, message: str, *, title: str = "engram failed") -> None:
        # One line, always: a multi-line message would break `::error::` annotations.
        super().__init__(" ".join(message.split()))
        self.title = title
