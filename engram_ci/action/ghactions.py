"""The GitHub Actions runner's command formats, in one place.

Workflow commands (`::add-mask::`, `::group::`, `::error title=...::`) go to stdout; outputs
and the job summary go to the files the runner names in GITHUB_OUTPUT and GITHUB_STEP_SUMMARY.
The escaping and the `name<<DELIMITER` file format come from actions-toolkit (its `command` and
`file_command` modules only: `actions_toolkit.core` imports requests, ~80 ms we don't need).
Nothing else in engram_ci knows these formats.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TextIO

from actions_toolkit.command import Command
from actions_toolkit.file_command import prepare_key_value_message

from engram_ci.log import neutralise_commands
from engram_ci.sync.secret_shapes import secret_name_kind

__all__ = ["SUMMARY_LIMIT", "AnnotationFormatter", "Runner", "parse_file_command"]

#: the shell's own variables whose names only look like secrets (PWD: the working directory)
_SHELL_STATE = frozenset({"PWD", "OLDPWD"})
#: the runner's own tokens, masked like any other
_RUNNER_TOKENS = ("ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
#: GitHub refuses step summaries over 1 MiB; keep well inside it
SUMMARY_LIMIT = 1024 * 1024 - 4096


class Runner:
    """Talks to the Actions runner: stdout for workflow commands, files for outputs/summary."""

    def __init__(
        self, *, stdout: TextIO | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        self._stdout = stdout
        self._env = os.environ if env is None else env

    @property
    def stdout(self) -> TextIO:
        # resolved late so pytest's capsys (which swaps sys.stdout) sees what we print
        return self._stdout or sys.stdout

    def command(self, name: str, message: str = "", **properties: str) -> None:
        self.stdout.write(str(Command(name, properties, message)) + "\n")
        self.stdout.flush()

    def add_mask(self, secret: str | None) -> None:
        """Mask a secret in the job log — each line too, since the runner masks line by line."""
        if not secret:
            return
        values = {secret.strip(), *(line.strip() for line in secret.splitlines())}
        for value in sorted(v for v in values if v):
            self.command("add-mask", value)

    def mask_environment(self, env: Mapping[str, str]) -> list[str]:
        """Mask the value of every variable whose name says secret (GITHUB_TOKEN, ENGRAM_GIT_TOKEN,
        *_API_KEY, ENGRAM_PASSPHRASE, ENGRAM_AGE_IDENTITY, AWS_SECRET_ACCESS_KEY...), whatever
        kind of token it holds. Returns the values masked (to register them with log.mask)."""
        masked = []
        for name, value in sorted(env.items()):
            runner_owned = name.startswith(("INPUT_", "GITHUB_ACTION", "RUNNER_", "ACTIONS_"))
            if runner_owned and name not in _RUNNER_TOKENS:
                continue  # inputs are masked by name; runner paths and ids are no secrets
            if name in _SHELL_STATE or secret_name_kind(name) is None or not _worth_masking(value):
                continue
            self.add_mask(value)
            masked.append(value)
        return masked

    @contextlib.contextmanager
    def group(self, title: str) -> Iterator[None]:
        self.command("group", title)
        try:
            yield
        finally:
            self.command("endgroup")

    def error(self, message: str, *, title: str) -> None:
        self.command("error", message, title=title)

    def warning(self, message: str) -> None:
        self.command("warning", message)

    def notice(self, message: str) -> None:
        self.command("notice", message)

    def set_output(self, name: str, value: str) -> None:
        """Append `name<<DELIM\\nvalue\\nDELIM` (random delimiter: any value is safe)."""
        path = self._env.get("GITHUB_OUTPUT", "")
        if not path:
            # not under a runner (a local try-out): show the value instead
            self.stdout.write(neutralise_commands(f"output {name}={value}") + "\n")
            return
        with open(path, "a", encoding="utf-8", newline="") as handle:
            handle.write(prepare_key_value_message(name, value) + os.linesep)

    def append_summary(self, markdown: str) -> None:
        path = self._env.get("GITHUB_STEP_SUMMARY", "")
        if not path:
            return
        file = Path(path)
        used = file.stat().st_size if file.exists() else 0
        room = SUMMARY_LIMIT - used
        if room <= 0:
            return
        data = markdown.encode("utf-8")
        if len(data) > room:
            data = data[: room - 64] + b"\n\n_(summary cut at GitHub's 1 MiB limit)_\n"
        with file.open("ab") as handle:
            handle.write(data)


class AnnotationFormatter(logging.Formatter):
    """Log records as the runner shows them: warnings and errors become annotations."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            return str(Command("error", {}, message))
        if record.levelno >= logging.WARNING:
            return str(Command("warning", {}, message))
        if record.levelno <= logging.DEBUG:
            return str(Command("debug", {}, message))
        # info lines are printed as they are: data in them must not become a command
        return neutralise_commands(message)


def _worth_masking(value: str) -> bool:
    """A value that masking would not garble the whole log with (`true`, `1`, a path)."""
    value = value.strip()
    return len(value) >= 6 and value.lower() not in ("true", "false") and not value.isdigit()


def parse_file_command(text: str) -> dict[str, str]:
    """Read a GITHUB_OUTPUT/GITHUB_ENV file the way the runner does (both line formats).

    The runner's reader, not ours: tests use it to check what a later step would see.
    """
    values: dict[str, str] = {}
    lines = text.replace("\r\n", "\n").split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            while index < len(lines) and lines[index] != delimiter:
                body.append(lines[index])
                index += 1
            if index >= len(lines):
                raise ValueError(f"output {name!r}: delimiter {delimiter!r} never closed")
            index += 1
            values[name] = "\n".join(body)
        else:
            name, _, value = line.partition("=")
            values[name] = value
    return values
