"""The GitHub Action's adapter: INPUT_* in, the CLI's own library calls, outputs and a summary out.

Order matters: every secret is masked with `::add-mask::` before anything else is printed,
then the inputs become a frozen config (action/config.py; bad input → one `::error::` naming
the input), then ingest, the mode's sync and the hand-off to the next agent run through the
same library functions as `engram`, each in a `::group::`. Exit 0 ok, 1 a user error
(annotation + summary, worded with input names), 3 a bug (masked traceback).

No transcripts is not a failure: the agent step may have failed before Claude started, and a
second red error under `if: always()` would only hide the first. Such a run is a notice and
exit 0, with `changed=false`; so is a pull of a project nobody has pushed yet.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from engram_ci import log
from engram_ci.action import summary as job_summary
from engram_ci.action.config import (
    ActionConfig,
    host_temp_from_args,
    parse_config,
    read_inputs,
    secret_values,
)
from engram_ci.action.ghactions import AnnotationFormatter, Runner
from engram_ci.action.outputs import Outcome, outputs
from engram_ci.action.workspace import give_back, keep_out_of_git
from engram_ci.errors import EXIT_BUG, EXIT_OK, EXIT_USER_ERROR, FatalError, environment_error
from engram_ci.memory.paths import MemoryLayout

if TYPE_CHECKING:
    from engram_ci.ingest import IngestReport

__all__ = ["main", "run"]


def run(config: ActionConfig, runner: Runner) -> Outcome:
    outcome = Outcome()
    layout = MemoryLayout(config.memory_dir)
    # everything this run may write inside the workspace, handed back to its owner at the end
    written = [config.memory_dir, *filter(None, (config.claude_md, config.context_file))]
    if config.mode in ("push-repo", "pull-repo"):
        written.append(config.repo_path)
    fresh_memory = not config.memory_dir.exists()
    try:
        if not config.skip_ingest:
            with runner.group("engram: ingest transcripts"):
                outcome.ingest = _ingest(config)
        if config.mode == "ingest":
            if outcome.ingest is None or outcome.ingest.transcripts_found == 0:
                outcome.noop = _nothing_to_push(config, outcome.ingest)
        elif not config.pulling and config.project not in layout.projects():
            outcome.noop = _nothing_to_push(config, outcome.ingest)
        else:
            with runner.group(f"engram: {config.mode} {config.project}"):
                _sync(config, outcome)
        if config.pulling:
            with runner.group("engram: context for the next agent"):
                _hand_off(config, layout, outcome)
    finally:
        if fresh_memory:
            keep_out_of_git(config.memory_dir, config.workspace)
        for root in (config.workspace, *filter(None, (config.host.container_temp,))):
            give_back(written, root)
    return outcome


def _nothing_to_push(config: ActionConfig, report: IngestReport | None) -> str:
    where = ", ".join(str(p) for p in (*config.sessions_paths, *config.execution_files))
    if report is None and not config.skip_ingest:
        return f"no transcripts at {where or 'sessions-path'} (did the agent step run?)"
    if report is not None and report.transcripts_found == 0:
        # the folder is there but holds nothing a reader knows: most likely staged one level
        # too deep or too shallow
        return (
            f"no transcripts in {where or 'sessions-path'}: sessions-path wants a folder laid "
            "out like ~/.claude/projects (a folder per project holding <session>.jsonl files)"
        )
    return f"memory holds no knowledge of project {config.project!r} to push"


def _ingest(config: ActionConfig) -> IngestReport | None:
    from engram_ci.ingest import run_ingest

    roots = tuple(p for p in config.sessions_paths if p.is_dir())
    codex = tuple(p for p in config.codex_paths if p.is_dir())
    executions = tuple(p for p in config.execution_files if p.is_file())
    for missing in sorted({*config.sessions_paths, *config.codex_paths} - {*roots, *codex}):
        log.logger.info("no transcripts at %s", missing)
    if not roots and not codex and not executions:
        return None
    if executions:
        from engram_ci.transcripts.claude_execution import read_messages

        for path in executions:  # named by the user: a broken one is an error naming the input
            read_messages(path)
    report = run_ingest(config.ingest_options(roots, codex, executions))
    if report.projects and config.project not in report.projects:
        log.logger.warning(
            "the transcripts belong to project(s) %s, not %r: set the `project` input to sync them",
            ", ".join(sorted(report.projects)[:10]),
            config.project,
        )
    return report


def _sync(config: ActionConfig, outcome: Outcome) -> None:
    from engram_ci.sync import gistsync, reposync
    from engram_ci.sync.backend import StoreNotFound
    from engram_ci.sync.crypto import encryption_for

    keys = encryption_for(
        pulling=config.pulling,
        encrypt=config.encrypt,
        recipients=config.recipients,
        identities=config.identities,
        passphrase=config.passphrase,
    )
    # what every mode passes: the token, the keys and the size of the local context.md
    shared: dict[str, Any] = {"token": config.token, "cipher": keys.cipher, "budget": config.budget}
    if not config.pulling:
        shared["encrypt"] = keys.encrypt
    where = (config.memory_dir, config.project)
    gist: dict[str, Any] = {"token": config.token, "api_url": config.api_url}
    if config.mode == "push":
        outcome.gist = gistsync.push(
            *where, gist_id=config.gist_id, description=config.description, **shared | gist
        )
    elif config.mode == "pull":
        try:
            gist_id = config.gist_id or gistsync.find_gist(*where, **gist)
        except StoreNotFound:
            outcome.noop = f"no gist holds {config.project!r} yet (the first push makes one)"
            return
        outcome.gist = gistsync.pull(
            *where, gist_id, force=config.force, version=config.version, **shared | gist
        )
    elif config.mode == "push-repo":
        outcome.repo = reposync.push_repo(
            *where,
            config.repo_path,
            branch=config.branch,
            message=config.message,
            push_remote=config.push_remote,
            **shared,
        )
    else:
        outcome.repo = reposync.pull_repo(
            *where,
            config.repo_path,
            branch=config.branch,
            fetch_remote=config.fetch_remote,
            force=config.force,
            version=config.version,
            **shared,
        )
        # a branch nobody pushed yet: green, with what would give the next pull something
        outcome.noop = outcome.repo.worded_notice("action")


def _hand_off(config: ActionConfig, layout: MemoryLayout, outcome: Outcome) -> None:
    from engram_ci.action.handoff import write_claude_md, write_context_file

    if config.context_file is not None:
        write_context_file(layout, config.project, config.context_file, budget=config.budget)
        outcome.context_file = config.host.to_host(config.context_file)
    if config.claude_md is not None:
        outcome.claude_md_changed = write_claude_md(
            layout,
            config.project,
            config.claude_md,
            workspace=config.workspace,
            budget=config.budget,
        )


def _configure_git(config: ActionConfig) -> None:
    """The committer the inputs name, if any (else the repo layer's fallback identity)."""
    name, email = config.git_user
    for key, value in (("NAME", name), ("EMAIL", email)):
        for role in ("AUTHOR", "COMMITTER"):
            if value:
                os.environ[f"GIT_{role}_{key}"] = value


def main(argv: Sequence[str] | None = None, *, runner: Runner | None = None) -> int:
    env = os.environ  # inputs arrive in the environment, as the runner sets them
    runner = runner or Runner()
    raw = read_inputs(env)
    for secret in secret_values(raw, env):  # masked before anything else reaches the log
        runner.add_mask(secret)
        log.register_secret(secret)
    for secret in runner.mask_environment(env):  # any variable whose name says secret
        log.register_secret(secret)
    log.configure(stream=runner.stdout, formatter=AnnotationFormatter(), verbose=_debug(env))
    try:
        config = parse_config(raw, env, host_temp=host_temp_from_args(argv or ()))
        if config.mode in ("push-repo", "pull-repo"):
            _configure_git(config)
        outcome = run(config, runner)
        if outcome.noop:
            runner.notice(f"engram-ci: nothing to do: {outcome.noop}")
        for name, value in outputs(outcome).items():
            runner.set_output(name, value)
        runner.append_summary(job_summary.summary(config, outcome))
        return EXIT_OK
    except Exception as caught:
        # a full disk or a read-only folder is the machine's fault: one line, like FatalError
        error = caught if isinstance(caught, FatalError) else None
        if isinstance(caught, OSError):
            error = environment_error(caught)
        if error is not None:
            message = log.mask(error.worded("action"))
            runner.error(message, title=error.title)
            runner.append_summary(job_summary.failure(error.title, message))
            return EXIT_USER_ERROR
        # a bug: the traceback goes to the log (masked, and inert for the runner)
        sys.stdout.flush()
        trace = log.neutralise_commands(log.mask(traceback.format_exc()))
        print(trace, file=sys.stderr, end="", flush=True)
        message = "internal error (a bug, exit 3): please report it with the traceback above"
        runner.error(message, title="engram-ci bug")
        runner.append_summary(job_summary.failure("engram-ci bug", message))
        return EXIT_BUG


def _debug(env: Mapping[str, str]) -> bool:
    return env.get("RUNNER_DEBUG") == "1" or env.get("ACTIONS_STEP_DEBUG") == "true"


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
