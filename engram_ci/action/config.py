"""The Action's inputs -> one frozen ActionConfig (bad input: a FatalError naming the input).

Inputs arrive as INPUT_<NAME> with hyphens kept (`INPUT_GIST-ID`); `read_inputs` also takes
the underscore spelling the host variant's composite step sets. Defaults live here and in
action.yml (a test keeps them equal); `${{ runner.temp }}` in a default means the runner's
temp folder, which the runner mounts at /github/runner_temp inside the Docker action.

Paths: relative ones are relative to the workspace; `~` is the container's HOME
(/github/home) in the Docker action, the runner's in the host variant. Paths this Action
reports in outputs are translated back to the host's view (`HostPaths`), since later steps
run on the host.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from engram_ci.errors import FatalError
from engram_ci.memory.paths import check_memory_dir
from engram_ci.options import OPTIONS, Option, provider_or_none

if TYPE_CHECKING:
    from engram_ci.ingest import IngestOptions

__all__ = [
    "ACTION_ONLY_INPUTS",
    "INPUT_DEFAULTS",
    "MODES",
    "PULL_MODES",
    "SECRET_ENV",
    "SECRET_INPUTS",
    "ActionConfig",
    "HostPaths",
    "host_temp_from_args",
    "parse_config",
    "read_inputs",
    "secret_values",
]

MODES = ("push", "pull", "push-repo", "pull-repo", "ingest")
PULL_MODES = ("pull", "pull-repo")
RUNNER_TEMP = "${{ runner.temp }}"
#: action.yml's inputs that are no shared option (engram_ci.options), each with its default
#: and why the CLI has no such option
ACTION_ONLY_INPUTS: dict[str, tuple[str, str]] = {
    "mode": ("push", "the CLI has a command per mode"),
    "project": ("", "the repository's name; the CLI names the project as an argument"),
    "repo-path": (".", "the CLI's repo commands take the repo's PATH as an argument"),
    "api-url": ("", "GITHUB_API_URL, which the CLI reads too"),
    "sessions-path": (
        f"{RUNNER_TEMP}/engram-sessions",
        "the CLI's --sessions-dir, --codex-dir, ... come from the reader registry",
    ),
    "codex-sessions-path": ("", "the CLI's --codex-dir comes from the reader registry"),
    "execution-file": ("", "claude-code-action's output; the CLI reads a folder of them"),
    "skip-ingest": ("false", "the CLI runs ingest and sync as separate commands"),
    "context-file": (f"{RUNNER_TEMP}/engram-context.md", "the CLI prints it: `engram recall`"),
    "claude-md": ("", "the CLI writes it with `engram recall --into FILE`"),
    "passphrase": ("", "a secret: the CLI reads $ENGRAM_PASSPHRASE, never argv"),
    "git-user-name": ("", "the CLI commits as the repository's git config says"),
    "git-user-email": ("", "the CLI commits as the repository's git config says"),
    "runner-temp": (RUNNER_TEMP, "the runner's temp folder as the host sees it"),
}
#: every input action.yml declares (tests keep the two in step), with the adapter's default
INPUT_DEFAULTS: dict[str, str] = {
    **{o.action_input: o.input_default for o in OPTIONS.values() if o.action_input},
    **{name: default for name, (default, _) in ACTION_ONLY_INPUTS.items()},
}
SECRET_INPUTS = ("token", "passphrase", "identity")
#: provider keys reach the container through the step's env; mask them too
SECRET_ENV = (
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "ENGRAM_GIT_TOKEN",
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "ENGRAM_PASSPHRASE",
    "ENGRAM_AGE_IDENTITY",  # a key's text (a path is harmless to mask)
)
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})


def read_inputs(env: Mapping[str, str]) -> dict[str, str]:
    """Each input as the runner sets it (`INPUT_GIST-ID`), or spelled `INPUT_GIST_ID`."""
    raw: dict[str, str] = {}
    for name in INPUT_DEFAULTS:
        key = "INPUT_" + name.replace(" ", "_").upper()
        value = env.get(key)
        raw[name] = value if value is not None else env.get(key.replace("-", "_"), "")
    return raw


def secret_values(raw: Mapping[str, str], env: Mapping[str, str]) -> list[str]:
    """Every secret the inputs and the step's env hold, whole and line by line (the runner
    masks line by line, so a multi-line key needs each line masked too)."""
    found: list[str] = []
    for value in [*(raw[name] for name in SECRET_INPUTS), *(env.get(n, "") for n in SECRET_ENV)]:
        if value.strip():
            found.append(value.strip())
            found += [line.strip() for line in value.splitlines() if line.strip()]
    return list(dict.fromkeys(found))


def host_temp_from_args(argv: Sequence[str]) -> str | None:
    """action.yml passes the host's temp folder in args: the runner translates env, not args."""
    parser = argparse.ArgumentParser(prog="engram-ci-action", add_help=False)
    parser.add_argument("--runner-temp-on-host", default=None)
    known, _ = parser.parse_known_args(list(argv))
    value: str | None = known.runner_temp_on_host
    return value or None


@dataclass(frozen=True)
class HostPaths:
    """Container path -> the path later steps (on the host) see.

    The runner mounts its temp folder at /github/runner_temp and translates env values, but
    not outputs; the host's temp folder reaches the container untranslated through the
    action's args (`--runner-temp-on-host`), see action.yml.
    """

    container_temp: Path | None = None
    host_temp: Path | None = None

    def to_host(self, path: Path) -> Path:
        if self.container_temp and self.host_temp and path.is_relative_to(self.container_temp):
            return self.host_temp / path.relative_to(self.container_temp)
        return path


@dataclass(frozen=True)
class ActionConfig:
    mode: str
    project: str
    workspace: Path
    memory_dir: Path
    sessions_paths: tuple[Path, ...]
    codex_paths: tuple[Path, ...]
    execution_files: tuple[Path, ...]
    skip_ingest: bool
    gist_id: str | None
    version: str | None
    repo_path: Path
    branch: str | None
    token: str | None
    api_url: str
    description: str | None
    message: str | None
    push_remote: bool
    fetch_remote: bool
    force: bool
    provider: str | None
    provider_url: str | None
    model: str | None
    #: context.md's size in characters; None for context.DEFAULT_BUDGET
    budget: int | None
    #: only transcripts modified within this many seconds; None: every one
    since_seconds: float | None
    #: "cwd" (ours) or "engram" (upstream's folder decoding)
    project_name: str
    #: ingest's worker processes; None: one per CPU
    jobs: int | None
    context_file: Path | None
    claude_md: Path | None
    encrypt: bool
    recipients: tuple[str, ...]
    identities: tuple[str, ...]
    passphrase: str | None = field(repr=False)
    git_user: tuple[str, str]
    commit_url_base: str | None  # <server>/<owner>/<repo>/commit/ when repo-path is the workspace
    event: str = ""
    host: HostPaths = HostPaths()

    @property
    def pulling(self) -> bool:
        return self.mode in PULL_MODES

    def ingest_options(
        self, claude: tuple[Path, ...], codex: tuple[Path, ...], executions: tuple[Path, ...]
    ) -> IngestOptions:
        """What `engram ingest` is asked by these inputs (the CLI's ingest_cmd.options_from):
        the transcript folders and files that exist, and each shared option as its flag has it."""
        from engram_ci.ingest import IngestOptions
        from engram_ci.transcripts.claude_execution import SOURCE

        return IngestOptions(
            memory_dir=self.memory_dir,
            claude_roots=claude,
            codex_roots=codex,
            roots={SOURCE: executions} if executions else {},
            force=self.force and not self.pulling,  # a pull's force replaces local files
            provider=self.provider,
            provider_url=self.provider_url,
            model=self.model,
            context_budget=self.budget,
            since_seconds=self.since_seconds,
            project_name=self.project_name,
            jobs=self.jobs,
        )


def _invalid(name: str, message: str) -> FatalError:
    return FatalError(message, title=f"invalid input {name}")


def _spec(name: str) -> Option:
    """The shared option behind input `name`; an Action-only input gets a spec of its own."""
    shared = OPTIONS.get(name)
    return shared if shared and shared.action_input == name else Option(name, "", flag=None)


def _bool(raw: Mapping[str, str], name: str) -> bool:
    value = raw[name].strip() or INPUT_DEFAULTS[name]
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _spec(name).invalid(
        value, "true or false (YAML 1.2 core schema: true | True | TRUE | false | False | FALSE)"
    )


class _Reader:
    """Typed views of the raw inputs, defaults applied, paths resolved."""

    def __init__(self, raw: Mapping[str, str], workspace: Path, runner_temp: str) -> None:
        self.raw, self.workspace, self.runner_temp = raw, workspace, runner_temp

    def text(self, name: str) -> str | None:
        value = self.raw[name].strip() or INPUT_DEFAULTS[name]
        return value.replace(RUNNER_TEMP, self.runner_temp) or None

    def lines(self, name: str) -> tuple[str, ...]:
        """One value per line, as action.yml says (a comma may be part of a path)."""
        value = (self.raw[name] or INPUT_DEFAULTS[name]).replace(RUNNER_TEMP, self.runner_temp)
        return tuple(part.strip() for part in value.splitlines() if part.strip())

    def path(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.workspace / path

    def paths(self, name: str) -> tuple[Path, ...]:
        return tuple(self.path(p) for p in self.lines(name))

    def value(self, name: str) -> object:
        """A shared option's value: its parser and choices, as the CLI's flag has them."""
        return _spec(name).value(self.text(name) or "")

    def checked(self, name: str) -> str | None:
        """A shared option's text, checked as the CLI's flag checks it (choices, parser)."""
        value = self.value(name)
        return value if isinstance(value, str) else None

    def number(self, name: str) -> int | None:
        value = self.value(name)
        return value if isinstance(value, int) else None

    def seconds(self, name: str) -> float | None:
        value = self.value(name)
        return value if isinstance(value, float) else None

    def optional_path(self, name: str) -> Path | None:
        value = self.text(name)
        return self.path(value) if value else None


def parse_config(
    raw: Mapping[str, str], env: Mapping[str, str], *, host_temp: str | None = None
) -> ActionConfig:
    from engram_ci.sync.tokens import resolve_api_url
    from engram_ci.transcripts.model import check_project_name

    mode = (raw["mode"].strip() or INPUT_DEFAULTS["mode"]).lower()
    if mode not in MODES:
        raise _invalid("mode", f"unknown mode {raw['mode']!r}: use one of {', '.join(MODES)}")
    workspace = Path(env.get("GITHUB_WORKSPACE") or os.getcwd())
    runner_temp = env.get("RUNNER_TEMP") or tempfile.gettempdir()
    read = _Reader(raw, workspace, runner_temp)
    repository = env.get("GITHUB_REPOSITORY", "")
    project = read.text("project") or repository.rpartition("/")[2]
    if not project:
        raise FatalError(
            "no project: set the `project` input (GITHUB_REPOSITORY is not set either)",
            title="missing input project",
        )
    repo_path = read.path(read.text("repo-path") or ".")
    server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    is_workspace_repo = bool(repository) and repo_path.resolve() == workspace.resolve()
    return ActionConfig(
        mode=mode,
        project=check_project_name(project),
        workspace=workspace,
        memory_dir=check_memory_dir(read.path(read.text("memory-path") or ".engram-memory")),
        sessions_paths=read.paths("sessions-path"),
        codex_paths=read.paths("codex-sessions-path"),
        execution_files=read.paths("execution-file"),
        skip_ingest=_bool(raw, "skip-ingest"),
        gist_id=read.checked("gist-id"),
        version=read.text("version"),
        repo_path=repo_path,
        branch=read.text("branch"),
        token=read.text("token"),
        api_url=resolve_api_url(read.text("api-url") or env.get("GITHUB_API_URL")),
        description=read.text("description"),
        message=read.text("message"),
        push_remote=_bool(raw, "push-remote"),
        fetch_remote=_bool(raw, "fetch-remote"),
        force=_bool(raw, "force"),
        provider=provider_or_none(read.checked("provider")),
        provider_url=read.text("provider-url"),
        model=read.text("model"),
        budget=read.number("budget"),
        since_seconds=read.seconds("since"),
        project_name=read.checked("project-name") or OPTIONS["project-name"].default,
        jobs=read.number("jobs"),
        context_file=read.optional_path("context-file"),
        claude_md=read.optional_path("claude-md"),
        encrypt=_bool(raw, "encrypt"),
        recipients=read.lines("recipients"),
        identities=_identities(raw["identity"]),
        passphrase=raw["passphrase"].strip() or None,
        git_user=(read.text("git-user-name") or "", read.text("git-user-email") or ""),
        commit_url_base=f"{server}/{repository}/commit/" if is_workspace_repo else None,
        event=env.get("GITHUB_EVENT_NAME", ""),
        host=HostPaths(Path(runner_temp), Path(host_temp) if host_temp else None),
    )


def _identities(value: str) -> tuple[str, ...]:
    """age keys one per line; an SSH private key is a multi-line PEM-style block."""
    keys: list[str] = []
    block: list[str] = []
    for line in value.strip().splitlines():
        line = line.strip()
        if block or line.startswith("-----BEGIN"):
            block.append(line)
            if line.startswith("-----END"):
                keys.append("\n".join(block) + "\n")
                block = []
        elif line and not line.startswith("#"):
            keys.append(line)
    if block:
        raise _invalid("identity", "input 'identity' holds a private key without its -----END line")
    return tuple(keys)
