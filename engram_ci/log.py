"""Logging for the CLI and the action, with secrets masked on the way out.

Library code logs through `logging.getLogger("engram_ci")` and never prints; the front end
(cli.py or action.py) decides how warnings look. Every secret the process learns (tokens,
passphrases) is registered here first, and a filter replaces it in every record, so a token
cannot reach a log line even through an exception message.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import sys
from collections.abc import Iterator
from typing import TextIO

__all__ = [
    "MASK",
    "InertLines",
    "configure",
    "inert_streams",
    "logger",
    "mask",
    "neutralise_commands",
    "register_secret",
    "registered_secrets",
]

logger = logging.getLogger("engram_ci")

_SECRETS: set[str] = set()
MASK = "***"


def register_secret(value: str | None) -> None:
    """Remember a secret so it is masked everywhere this process writes text."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def mask(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


#: a line a CI runner would read as a command: GitHub's `::name::` (and its legacy `##[name]`)
_RUNNER_COMMAND = re.compile(r"^([ \t]*)(::|##\[)", re.MULTILINE)
#: U+2060 WORD JOINER: invisible, and not whitespace the runner would trim before `::`
_INERT = "\u2060"


def neutralise_commands(text: str) -> str:
    """Text safe to print where a runner reads workflow commands: a line of data starting
    with `::` (a project named `::add-mask::x`, knowledge saying `::stop-commands::t`, a file
    name, an error quoting them) gets an invisible character first, so it stays text."""
    return _RUNNER_COMMAND.sub(lambda m: m.group(1) + _INERT + m.group(2), text)


class InertLines(io.TextIOBase):
    """A text stream whose lines cannot start a runner command (see neutralise_commands),
    however the text arrives: `print` writes a line's text and its newline separately."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._at_line_start = True

    def write(self, text: str) -> int:
        pieces = []
        for piece in text.splitlines(keepends=True):
            pieces.append(neutralise_commands(piece) if self._at_line_start else piece)
            self._at_line_start = piece.endswith(("\n", "\r"))
        self._stream.write("".join(pieces))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def writable(self) -> bool:
        return True


@contextlib.contextmanager
def inert_streams() -> Iterator[None]:
    """stdout and stderr as InertLines, for a command running inside a workflow step."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = InertLines(saved[0]), InertLines(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def registered_secrets() -> frozenset[str]:
    return frozenset(_SECRETS)


class _MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.getMessage())
        record.args = None
        return True


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at emit time, not the one seen at configure time
    (test runners and the action swap it; a closed old stream must not swallow warnings)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


class _PlainFormatter(logging.Formatter):
    # the CLI runs inside workflow steps too: no log line may turn into a runner command
    def format(self, record: logging.LogRecord) -> str:
        message = neutralise_commands(record.getMessage())
        if record.levelno >= logging.ERROR:
            return f"error: {message}"
        if record.levelno >= logging.WARNING:
            return f"warning: {message}"
        return message


def configure(
    *,
    verbose: bool = False,
    stream: TextIO | None = None,
    formatter: logging.Formatter | None = None,
) -> None:
    """Send engram_ci's records to `stream` (stderr), replacing any handler set before."""
    for old in list(logger.handlers):
        logger.removeHandler(old)
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _CurrentStderrHandler()
    )
    handler.setFormatter(formatter or _PlainFormatter())
    handler.addFilter(_MaskingFilter())
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
