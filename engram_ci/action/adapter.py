"""The GitHub Action's adapter: INPUT_* in, the CLI's own library calls, outputs and a summary out.

Order matters: every secret is masked with `::add-mask::` before anything else is printed,
then the inputs are parsed into a frozen config (bad input → one `::error::` naming the
input), then ingest and the mode's sync run through the same functions as `engram`, each in a
`::group::`. Exit 0 ok, 1 a user error (annotation + summary), 3 a bug (masked traceback).

Inside the Docker action the runner's ~/.claude is not visible, so paths are relative to the
workspace, and what we write there is handed back to the workspace's owner afterwards.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from engram_ci import log
from engram_ci.action.ghactions import AnnotationFormatter, Runner
from engram_ci.action.ownership import give_back
from engram_ci.errors import EXIT_BUG, EXIT_OK, EXIT_USER_ERROR, FatalError, environment_error

if TYPE_CHECKING:
    from engram_ci.ingest import IngestReport
    from engram_ci.sync.crypto import Cipher
    from engram_ci.sync.gistsync import GistPullResult, GistPushResult
    from engram_ci.sync.reposync import RepoPullResult, RepoPushResult

MODES = ("push", "pull", "push-repo", "pull-repo", "ingest")
#: every input action.yml declares (tests keep the two in step), with the adapter's default
INPUT_DEFAULTS: dict[str, str] = {
    "mode": "push",
    "project": "",  # the repository's name
    "gist-id": "",
    "version": "",
    "repo-path": ".",
    "branch": "",
    "token": "",
    "api-url": "",  # GITHUB_API_URL
    "sessions-path": ".engram-sessions",
    "codex-sessions-path": "",
    "memory-path": ".engram-memory",
    "skip-ingest": "false",
    "description": "",
    "message": "",
    "push-remote": "false",
    "fetch-remote": "false",
    "force": "false",
    "provider": "offline",
    "provider-url": "",
    "model": "",
    "context-file": "",
    "encrypt": "false",
    "recipients": "",
    "identity": "",
    "passphrase": "",
    "git-user-name": "",  # the repository's identity, else engram-ci's
    "git-user-email": "",
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
        if value is None:
            value = env.get(key.replace("-", "_"), "")
        raw[name] = value
    return raw


def mask_secrets(raw: Mapping[str, str], env: Mapping[str, str], runner: Runner) -> None:
    every_kind = runner.mask_environment(env)  # any variable whose name says secret
    for value in [*(raw[name] for name in SECRET_INPUTS), *(env.get(n, "") for n in SECRET_ENV)]:
        if value.strip():
            runner.add_mask(value)
            log.register_secret(value.strip())
            for line in value.splitlines():
                log.register_secret(line.strip())
    for value in every_kind:
        log.register_secret(value.strip())


@dataclass(frozen=True)
class ActionConfig:
    mode: str
    project: str
    workspace: Path
    memory_dir: Path
    sessions_paths: tuple[Path, ...]
    codex_paths: tuple[Path, ...]
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
    context_file: Path | None
    encrypt: bool
    recipients: tuple[str, ...]
    identities: tuple[str, ...]
    passphrase: str | None = field(repr=False)
    git_user: tuple[str, str]
    commit_url_base: str | None  # <server>/<owner>/<repo>/commit/ when repo-path is the workspace


def _bool(raw: Mapping[str, str], name: str) -> bool:
    value = raw[name].strip() or INPUT_DEFAULTS[name]
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise FatalError(
        f"input {name!r} must be true or false (YAML 1.2 core schema: true | True | TRUE | "
        f"false | False | FALSE), got {value!r}",
        title=f"invalid input {name}",
    )


def _text(raw: Mapping[str, str], name: str) -> str | None:
    return raw[name].strip() or INPUT_DEFAULTS[name] or None


def _lines(raw: Mapping[str, str], name: str) -> tuple[str, ...]:
    value = raw[name] or INPUT_DEFAULTS[name]
    return tuple(part.strip() for part in value.replace(",", "\n").splitlines() if part.strip())


def _path(workspace: Path, value: str) -> Path:
    # `~` is the container's HOME (/github/home) in the Docker action, the runner's on the host
    path = Path(value).expanduser()
    return path if path.is_absolute() else workspace / path


def parse_config(raw: Mapping[str, str], env: Mapping[str, str]) -> ActionConfig:
    from engram_ci.sync.tokens import resolve_api_url
    from engram_ci.transcripts.model import check_project_name

    mode = (raw["mode"].strip() or INPUT_DEFAULTS["mode"]).lower()
    if mode not in MODES:
        raise FatalError(
            f"unknown mode {raw['mode']!r}: use one of {', '.join(MODES)}",
            title="invalid input mode",
        )
    workspace = Path(env.get("GITHUB_WORKSPACE") or os.getcwd())
    repository = env.get("GITHUB_REPOSITORY", "")
    project = _text(raw, "project") or repository.rpartition("/")[2]
    if not project:
        raise FatalError(
            "no project: set the `project` input (GITHUB_REPOSITORY is not set either)",
            title="missing input project",
        )
    repo_path = _path(workspace, _text(raw, "repo-path") or ".")
    server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    is_workspace_repo = bool(repository) and repo_path.resolve() == workspace.resolve()
    token = _text(raw, "token")
    return ActionConfig(
        mode=mode,
        project=check_project_name(project),
        workspace=workspace,
        memory_dir=_path(workspace, _text(raw, "memory-path") or ".engram-memory"),
        sessions_paths=tuple(_path(workspace, p) for p in _lines(raw, "sessions-path")),
        codex_paths=tuple(_path(workspace, p) for p in _lines(raw, "codex-sessions-path")),
        skip_ingest=_bool(raw, "skip-ingest"),
        gist_id=_text(raw, "gist-id"),
        version=_text(raw, "version"),
        repo_path=repo_path,
        branch=_text(raw, "branch"),
        token=token,
        api_url=resolve_api_url(_text(raw, "api-url") or env.get("GITHUB_API_URL")),
        description=_text(raw, "description"),
        message=_text(raw, "message"),
        push_remote=_bool(raw, "push-remote"),
        fetch_remote=_bool(raw, "fetch-remote"),
        force=_bool(raw, "force"),
        provider=_text(raw, "provider"),
        provider_url=_text(raw, "provider-url"),
        model=_text(raw, "model"),
        context_file=_path(workspace, c) if (c := _text(raw, "context-file")) else None,
        encrypt=_bool(raw, "encrypt"),
        recipients=_lines(raw, "recipients"),
        identities=_identities(raw["identity"]),
        passphrase=raw["passphrase"].strip() or env.get("ENGRAM_PASSPHRASE") or None,
        git_user=(_text(raw, "git-user-name") or "", _text(raw, "git-user-email") or ""),
        commit_url_base=f"{server}/{repository}/commit/" if is_workspace_repo else None,
    )


@dataclass
class Outcome:
    """What happened, for the outputs and the job summary (filled in phase by phase)."""

    ingest: IngestReport | None = None
    gist: GistPushResult | GistPullResult | None = None
    repo: RepoPushResult | RepoPullResult | None = None
    context_written: bool | None = None


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
        raise FatalError("input 'identity' holds a private key without its -----END line")
    return tuple(keys)


def run(config: ActionConfig, runner: Runner) -> Outcome:
    outcome = Outcome()
    # everything this run may write inside the workspace, handed back to its owner at the end
    written = [config.memory_dir]
    if config.mode in ("push-repo", "pull-repo"):
        written.append(config.repo_path)
    if config.context_file is not None:
        written.append(config.context_file)
    fresh_memory = not config.memory_dir.exists()
    try:
        if not config.skip_ingest:
            with runner.group("engram: ingest transcripts"):
                outcome.ingest = _ingest(config)
        if config.mode != "ingest":
            with runner.group(f"engram: {config.mode} {config.project}"):
                _sync(config, outcome)
        if config.context_file is not None:
            from engram_ci.action.claudemd import write_context
            from engram_ci.memory.paths import MemoryLayout

            with runner.group(f"engram: context into {config.context_file.name}"):
                outcome.context_written = write_context(
                    MemoryLayout(config.memory_dir), config.project, config.context_file
                )
    finally:
        if fresh_memory:
            _keep_out_of_git(config.memory_dir, config.workspace)
        give_back(written, config.workspace)
    return outcome


def _keep_out_of_git(memory_dir: Path, workspace: Path) -> None:
    """A memory dir we created inside the checkout must not show up in `git status`."""
    from engram_ci.memory.fsutil import atomic_write_text

    inside = memory_dir.resolve().is_relative_to(workspace.resolve())
    if inside and memory_dir.is_dir() and not (memory_dir / ".gitignore").exists():
        atomic_write_text(memory_dir / ".gitignore", "# engram-ci memory: not for this repo\n*\n")


def _ingest(config: ActionConfig) -> IngestReport | None:
    from engram_ci.ingest import IngestOptions, run_ingest

    roots = tuple(p for p in config.sessions_paths if p.is_dir())
    codex = tuple(p for p in config.codex_paths if p.is_dir())
    for missing in sorted({*config.sessions_paths, *config.codex_paths} - {*roots, *codex}):
        log.logger.warning(
            "no transcripts at %s: copy them there first (see the examples: "
            "cp -r ~/.claude/projects/. .engram-sessions/) or set sessions-path",
            missing,
        )
    if not roots and not codex and config.mode != "ingest":
        return None  # nothing to ingest; the sync still runs on what memory holds
    report = run_ingest(
        IngestOptions(
            memory_dir=config.memory_dir,
            claude_roots=roots,
            codex_roots=codex,
            force=config.force and config.mode not in ("pull", "pull-repo"),
            provider=config.provider,
            provider_url=config.provider_url,
            model=config.model,
        )
    )
    if report.projects and config.project not in report.projects:
        log.logger.warning(
            "the transcripts belong to project(s) %s, not %r: set the `project` input to sync them",
            ", ".join(sorted(report.projects)[:10]),
            config.project,
        )
    return report


def _cipher(config: ActionConfig) -> Cipher | None:
    """Encrypt on push when asked; decrypt on pull whenever a key or passphrase is given.

    The same completion as the CLI's --encrypt: ENGRAM_AGE_RECIPIENTS / _IDENTITY /
    ENGRAM_PASSPHRASE fill in what the inputs leave empty, and an identity alone also
    encrypts to its own public key.
    """
    from engram_ci.sync.crypto import cipher_from_options

    pulling = config.mode in ("pull", "pull-repo")
    has_key = bool(config.identities or config.passphrase)
    if not (config.encrypt or (pulling and has_key)):
        return None
    cipher = cipher_from_options(
        recipients=config.recipients, identities=config.identities, passphrase=config.passphrase
    )
    if pulling and not (cipher.identities or cipher.passphrase):
        raise FatalError(
            "encrypt: true on a pull needs the `identity` input (an age or SSH private key, "
            "from a secret) or `passphrase`",
            title="missing input identity",
        )
    if not pulling and not (cipher.recipients or cipher.passphrase):
        raise FatalError(
            "encrypt: true needs the `recipients` input (age or SSH public keys), an age "
            "`identity`, or `passphrase` (from a secret)",
            title="missing input recipients",
        )
    return cipher


def _sync(config: ActionConfig, outcome: Outcome) -> None:
    from engram_ci.sync import gistsync, reposync

    cipher = _cipher(config)

    if config.mode == "push":
        outcome.gist = gistsync.push(
            config.memory_dir,
            config.project,
            gist_id=config.gist_id,
            description=config.description,
            token=config.token,
            api_url=config.api_url,
            cipher=cipher,
        )
    elif config.mode == "pull":
        outcome.gist = gistsync.pull(
            config.memory_dir,
            config.project,
            config.gist_id or _find_gist(config),
            force=config.force,
            version=config.version,
            token=config.token,
            api_url=config.api_url,
            cipher=cipher,
        )
    elif config.mode == "push-repo":
        outcome.repo = reposync.push_repo(
            config.memory_dir,
            config.project,
            config.repo_path,
            branch=config.branch,
            message=config.message,
            push_remote=config.push_remote,
            token=config.token,
            cipher=cipher,
        )
    else:
        outcome.repo = reposync.pull_repo(
            config.memory_dir,
            config.project,
            config.repo_path,
            branch=config.branch,
            fetch_remote=config.fetch_remote,
            token=config.token,
            cipher=cipher,
        )


def _find_gist(config: ActionConfig) -> str:
    """Pull without gist-id: the gist memory remembers, else the owner's newest for the project."""
    from engram_ci.sync import gistsync

    remembered = gistsync.remembered_gist(config.memory_dir, config.project)
    if remembered:
        return remembered
    found = gistsync.list_gists(config.project, token=config.token, api_url=config.api_url)
    if not found:
        raise FatalError(
            f"no gist of the token's owner holds project {config.project!r}: set the `gist-id` "
            "input (a push step's gist-id output) or push first",
            title="gist not found",
        )
    log.logger.info("pulling gist %s, the newest holding %s", found[0].id, config.project)
    return found[0].id


def outputs(outcome: Outcome) -> dict[str, str]:
    """The action's outputs; every declared output is always set (empty when not applicable)."""
    gist, repo, report = outcome.gist, outcome.repo, outcome.ingest
    synced = gist or repo
    files = synced.files_synced if synced else ()
    redacted = getattr(synced, "secrets_redacted", 0) if synced else 0
    return {
        "gist-id": gist.gist_id if gist else "",
        "gist-url": gist.url if gist else "",
        "gist-revision": gist.revision if gist else "",
        "commit-sha": repo.commit_sha if repo else "",
        "branch": repo.branch if repo else "",
        "changed": _flag(bool(synced and synced.changed) or bool(outcome.context_written)),
        "sessions-ingested": str(report.sessions_ingested if report else 0),
        "files-synced": str(len(files)),
        "files": "\n".join(files),
        "secrets-redacted": str(redacted),
        "blocks-added": str(synced.blocks_added if synced else 0),
        "blocks-removed": str(synced.blocks_removed if synced else 0),
    }


def _flag(value: bool) -> str:
    return "true" if value else "false"


def summary(config: ActionConfig, outcome: Outcome) -> str:
    """The job summary: what was ingested, what was synced, and where it went."""
    lines = [f"### engram-ci: `{config.mode}` for project `{config.project}`", ""]
    report = outcome.ingest
    if report is not None:
        lines.append(
            f"- **Ingested** {report.sessions_ingested} new session(s) of "
            f"{report.transcripts_found} transcript(s) ({report.sessions_unchanged} unchanged), "
            f"{report.blocks_written} knowledge block(s) written"
        )
    elif config.skip_ingest:
        lines.append("- Ingest skipped (`skip-ingest: true`)")
    else:
        lines.append("- No transcripts at `sessions-path`: nothing ingested")
    synced = outcome.gist or outcome.repo
    if synced is not None:
        verb = "Pushed" if config.mode.startswith("push") else "Pulled"
        state = "changed" if synced.changed else "nothing changed"
        lines.append(
            f"- **{verb}** {len(synced.files_synced)} file(s) ({state}): "
            f"+{synced.blocks_added} / -{synced.blocks_removed} block(s)"
        )
        redacted = getattr(synced, "secrets_redacted", 0)
        if redacted:
            lines.append(f"- **Redacted** {redacted} secret(s) before upload")
    if outcome.gist is not None:
        gist = outcome.gist
        lines.append(f"- Gist [`{gist.gist_id}`]({gist.url}) at revision `{gist.revision[:12]}`")
    if outcome.repo is not None:
        repo = outcome.repo
        sha = f"`{repo.commit_sha[:12]}`"
        pushed = getattr(repo, "pushed", False)
        if config.commit_url_base and (pushed or config.mode == "pull-repo"):
            sha = f"[{sha}]({config.commit_url_base}{repo.commit_sha})"
        lines.append(f"- Branch `{repo.branch}` at commit {sha}" + (" (pushed)" if pushed else ""))
    if config.context_file is not None and outcome.context_written is not None:
        state = "updated" if outcome.context_written else "already up to date"
        lines.append(f"- Context section in `{config.context_file.name}` {state}")
    return "\n".join(lines) + "\n"


def _fail_summary(title: str, message: str) -> str:
    return f"### engram-ci failed: {title}\n\n> {message}\n"


def _configure_git(config: ActionConfig) -> None:
    """The committer the inputs name, if any (else the repo layer's fallback identity)."""
    name, email = config.git_user
    for key, value in (("NAME", name), ("EMAIL", email)):
        for role in ("AUTHOR", "COMMITTER"):
            if value:
                os.environ[f"GIT_{role}_{key}"] = value


def main(argv: Sequence[str] | None = None, *, runner: Runner | None = None) -> int:
    del argv  # inputs arrive in the environment, as the runner sets them
    env = os.environ
    runner = runner or Runner()
    raw = read_inputs(env)
    mask_secrets(raw, env, runner)  # before anything else reaches the log
    log.configure(stream=runner.stdout, formatter=AnnotationFormatter(), verbose=_debug(env))
    try:
        config = parse_config(raw, env)
        if config.mode in ("push-repo", "pull-repo"):
            _configure_git(config)
        outcome = run(config, runner)
        for name, value in outputs(outcome).items():
            runner.set_output(name, value)
        runner.append_summary(summary(config, outcome))
        return EXIT_OK
    except Exception as caught:
        # a full disk or read-only folder is the machine's fault: one line like FatalError
        error = caught if isinstance(caught, FatalError) else None
        if isinstance(caught, OSError):
            error = environment_error(caught)
        if error is not None:
            message = log.mask(str(error))
            runner.error(message, title=error.title)
            runner.append_summary(_fail_summary(error.title, message))
            return EXIT_USER_ERROR
        # a bug: the traceback goes to the log (masked) so it can be reported
        sys.stdout.flush()
        trace = log.neutralise_commands(log.mask(traceback.format_exc()))
        print(trace, file=sys.stderr, end="", flush=True)
        message = "internal error (a bug, exit 3): please report it with the traceback above"
        runner.error(message, title="engram-ci bug")
        runner.append_summary(_fail_summary("engram-ci bug", message))
        return EXIT_BUG


def _debug(env: Mapping[str, str]) -> bool:
    return env.get("RUNNER_DEBUG") == "1" or env.get("ACTIONS_STEP_DEBUG") == "true"


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
