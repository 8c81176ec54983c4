"""The options both faces accept, declared once: name, parser, default, choices, help.

The CLI (add_option, below) turns an entry into an argparse option spelled `flag`; the
Action (action/config.py) reads the input called `input` and checks it with the same parser.
So `engram ingest --provider X` and `provider: X` accept the same X, default alike and fail
alike — with one error whose fix each face words its own way (errors.Fix): `--budget` on the
command line, "the `budget` input" in a job's log. action.yml's inputs that are no entry here
are listed, each with its reason, in action/config.ACTION_ONLY_INPUTS (a test keeps it so).

Parsers are plain functions `str -> value` raising ValueError with what the option wants
("a number of characters >= 1,000"); the heavy modules they need are imported when they run,
so building the CLI's parser stays cheap.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from engram_ci.errors import FatalError, Fix
from engram_ci.transcripts.project_names import PROJECT_NAME_RULES

__all__ = [
    "DEFAULT_PROVIDER",
    "OPTIONS",
    "PROVIDERS",
    "Option",
    "add_option",
    "option",
    "provider_or_none",
]

#: knowledge extractors: `offline` needs no LLM; the others are knowledge.llm's providers
PROVIDERS = ("offline", "anthropic", "openai", "ollama")
DEFAULT_PROVIDER = "offline"

#: text: one value; switch: true/false (a CLI flag without a value); list: repeatable
#: (the CLI repeats the flag, the Action takes one per line)
Kind = Literal["text", "switch", "list"]


def provider_or_none(name: str | None) -> str | None:
    """The LLM provider to call, or None for the offline extractor."""
    return None if name in (None, "", DEFAULT_PROVIDER) else name


def _budget(text: str) -> int:
    from engram_ci.knowledge.context import parse_budget

    return parse_budget(text)


def _gist_id(text: str) -> str:
    from engram_ci.sync.gist_id import parse_gist_id

    return parse_gist_id(text)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _duration(text: str) -> float:
    """`30s`, `5m`, `2h`, `1d`, `1w` (a bare number is seconds) -> seconds."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not match:
        raise ValueError("a duration like 30s, 5m, 2h or 1d")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError("a whole number >= 1")
    return value


@dataclass(frozen=True)
class Option:
    """One setting. `name` is the Action's input; the CLI spells it `flag` (--name unless
    given; None: the Action's only); `input` None: the CLI's only. `default` is the value
    both faces fall back to, as action.yml writes it ("" is none, "false" for a switch);
    `action_default` only where the Action's runner needs another (say why beside it)."""

    name: str
    help: str
    kind: Kind = "text"
    default: str = ""
    choices: tuple[str, ...] = ()
    parse: Callable[[str], object] | None = None
    metavar: str | None = None
    flag: str | None = ""
    input: str | None = ""
    action_default: str | None = None

    @property
    def cli_flag(self) -> str | None:
        return None if self.flag is None else self.flag or f"--{self.name}"

    @property
    def action_input(self) -> str | None:
        return None if self.input is None else self.input or self.name

    @property
    def input_default(self) -> str:
        return self.default if self.action_default is None else self.action_default

    def invalid(self, text: str, wants: str) -> FatalError:
        """The one error for a value this option refuses, worded by each face."""
        return FatalError(
            f"invalid {self.name} {text!r}",
            title=f"invalid input {self.action_input or self.name}",
            fix=Fix(f"{{option}} wants {wants}", flag=self.cli_flag, input=self.action_input),
        )

    def value(self, text: str) -> object:
        """`text` parsed and checked (choices, parser); None for empty text; FatalError else."""
        if not text.strip():
            return None
        if self.choices and text not in self.choices:
            raise self.invalid(text, "one of " + ", ".join(self.choices))
        if self.parse is None:
            return text
        try:
            return self.parse(text)
        except ValueError as error:
            raise self.invalid(text, str(error)) from None


OPTIONS: dict[str, Option] = {
    o.name: o
    for o in (
        # where memory lives: the runner's temp folder, so every step of a job sees it
        Option(
            "memory-path",
            "memory root (default: $ENGRAM_MEMORY_DIR, else ~/memory)",
            flag="--memory-dir",
            metavar="DIR",
            action_default="${{ runner.temp }}/engram-memory",
        ),
        # knowledge extraction
        Option(
            "provider",
            "knowledge extractor (default offline; LLM keys from ANTHROPIC_API_KEY etc.)",
            default=DEFAULT_PROVIDER,
            choices=PROVIDERS,
        ),
        Option("provider-url", "the LLM endpoint to use", metavar="URL"),
        Option("model", "the LLM model name", metavar="M"),
        Option(
            "budget",
            "context.md's size in characters (default: 6000, about 1,500 tokens)",
            parse=_budget,
            metavar="N",
        ),
        Option(
            "force",
            "re-ingest unchanged transcripts; a pull: replace local files instead of merging",
            kind="switch",
            default="false",
        ),
        # where a project syncs
        Option("gist-id", "the gist (default: the project's)", parse=_gist_id, metavar="ID"),
        Option("version", "restore this version", metavar="SHA"),
        Option("description", "description of a new gist", metavar="D"),
        Option("branch", "branch to write or read (default: the current branch)"),
        Option("message", "commit message", flag="--message"),
        Option(
            "push-remote",
            "push; merge and retry if the remote moved",
            kind="switch",
            default="false",
        ),
        Option("fetch-remote", "fetch the branch first", kind="switch", default="false"),
        Option(
            "token",
            "a FILE holding the token for an http(s) remote, or `-` to read it from stdin "
            "(default: $ENGRAM_GIT_TOKEN; else $GITHUB_TOKEN, $GH_TOKEN or `gh auth token`, "
            "sent to GitHub hosts only). Passed to git in its environment, never in argv, a "
            "URL or .git/config",
            metavar="FILE|-",  # a token in argv would show in `ps`: the CLI takes where it is
        ),
        # encryption: the policy itself is sync/crypto.encryption_for, shared by both faces
        Option(
            "encrypt",
            "encrypt what is uploaded and decrypt what is downloaded (age); keys from the "
            "options below, ENGRAM_AGE_RECIPIENTS / ENGRAM_AGE_IDENTITY, or ENGRAM_PASSPHRASE",
            kind="switch",
            default="false",
        ),
        Option(
            "recipients",
            "age (age1...) or SSH public key to encrypt to, or a file of them (repeatable)",
            kind="list",
            flag="--recipient",
            metavar="KEY|FILE",
        ),
        Option(
            "identity",
            "age identity file or unencrypted SSH private key to decrypt with (repeatable)",
            kind="list",  # the CLI names key files; the Action's input holds the keys (a secret)
            metavar="FILE",
        ),
        # which sessions ingest reads, how it names their projects, and how many workers
        Option(
            "since",
            "only transcripts modified within DURATION, e.g. 5m, 2h, 1d (what hooks run)",
            parse=_duration,
            metavar="DURATION",
        ),
        Option(
            "jobs",
            "worker processes for reading and extracting (default: one per CPU)",
            parse=_positive_int,
            metavar="N",
        ),
        Option(
            "project-name",
            "name projects by the session cwd's last component (cwd, default) or as upstream "
            "engram decodes the transcript folder (engram), so both tools agree",
            default="cwd",
            choices=PROJECT_NAME_RULES,
        ),
    )
}


def option(name: str) -> Option:
    return OPTIONS[name]


def add_option(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    name: str,
    *aliases: str,
    **overrides: Any,
) -> None:
    """The shared option `name` (engram_ci.options) as this command's flag: its parser,
    default, choices and help; `overrides` only where a command words the help its own way."""
    spec = OPTIONS[name]
    assert spec.cli_flag is not None, f"{name} is an Action input only"
    kwargs: dict[str, Any] = {"help": spec.help}
    if spec.kind == "switch":
        kwargs["action"] = "store_true"
    else:
        kwargs["metavar"] = spec.metavar
        kwargs["choices"] = spec.choices or None
        kwargs["type"] = spec.value if spec.parse else None
        if spec.kind == "list":
            kwargs.update(action="append", default=[])
        else:
            kwargs["default"] = spec.value(spec.default)
    parser.add_argument(spec.cli_flag, *aliases, **(kwargs | overrides))
