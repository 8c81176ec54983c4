"""The action's adapter in-process: INPUT_* in, the runner's files out, exit codes, masking.

Gist modes talk to the GitHub stand-in (a real HTTP server on 127.0.0.1); repo modes use
real git repositories in tmp dirs.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from engram_ci.action import adapter as action
from engram_ci.action import config as action_config
from engram_ci.action.claudemd import begin_marker
from engram_ci.action.ghactions import Runner, parse_file_command
from engram_ci.action.handoff import NO_MEMORY
from engram_ci.action.outputs import Outcome, outputs
from engram_ci.errors import EXIT_BUG, EXIT_OK, EXIT_USER_ERROR, FatalError
from engram_ci.memory.paths import MemoryLayout
from tests.docker_support import PROJECT, REPOSITORY, make_workspace_repo, run_git
from tests.docker_support import stage_transcripts as stage
from tests.github_server import GitHubStandIn

TOKEN = "ghp_actionTestToken0123456789abcdefABCD"


@dataclass
class Step:
    """One action step: the runner's environment and files, and what the step printed."""

    workspace: Path
    temp: Path
    output_file: Path
    summary_file: Path
    monkeypatch: pytest.MonkeyPatch
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)

    def run(self, capsys: pytest.CaptureFixture[str], **inputs: str) -> int:
        """Set INPUT_* exactly as the runner does (hyphens kept) and run the adapter."""
        for name in list(os.environ):
            if name.startswith("INPUT_"):
                self.monkeypatch.delenv(name)
        for name, value in inputs.items():
            self.monkeypatch.setenv(f"INPUT_{name.replace('_', '-').upper()}", value)
        self.output_file.write_text("")
        self.summary_file.write_text("")
        code = action.main([])
        captured = capsys.readouterr()
        self.stdout, self.stderr = captured.out, captured.err
        self.outputs = parse_file_command(self.output_file.read_text())
        return code

    @property
    def printed(self) -> str:
        """Everything the step wrote except the mask commands (which must hold the secrets)."""
        lines = [line for line in self.stdout.splitlines() if not line.startswith("::add-mask::")]
        return "\n".join(lines) + self.stderr

    @property
    def summary(self) -> str:
        return self.summary_file.read_text()

    @property
    def memory(self) -> MemoryLayout:
        return MemoryLayout(self.temp / "engram-memory")

    @property
    def sessions(self) -> Path:
        """Where the examples stage transcripts: the runner's temp folder, not the checkout."""
        return self.temp / "engram-sessions"


@pytest.fixture
def step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Step]:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    temp = tmp_path / "runner_temp"
    temp.mkdir()
    monkeypatch.setenv("RUNNER_TEMP", str(temp))
    commands = tmp_path / "file_commands"
    commands.mkdir()
    out, summary = commands / "set_output_1", commands / "step_summary_1"
    monkeypatch.setenv("GITHUB_WORKSPACE", str(workspace))
    monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(workspace)
    yield Step(workspace, temp, out, summary, monkeypatch)


@pytest.fixture
def gist_server(github_server: GitHubStandIn) -> GitHubStandIn:
    github_server.add_token(TOKEN)
    return github_server


def _gist_inputs(server: GitHubStandIn, **more: str) -> dict[str, str]:
    return {"token": TOKEN, "api_url": server.api_url, **more}


# -- gist modes ----------------------------------------------------------------------------


def test_push_ingests_then_pushes_and_reports(
    step: Step, gist_server: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(step.sessions)
    assert step.run(capsys, **_gist_inputs(gist_server)) == EXIT_OK, step.stdout + step.stderr

    out = step.outputs
    assert set(out) == set(outputs(Outcome()))
    gist_id = out["gist-id"]
    assert gist_id in gist_server.gists
    assert out["gist-url"]
    assert out["gist-revision"] == gist_server.gists[gist_id].head.version
    assert out["changed"] == "true"
    assert out["sessions-ingested"] == "1"
    assert int(out["files-synced"]) == len(out["files"].splitlines()) > 0
    assert "patterns.md" in gist_server.files(gist_id)
    assert out["commit-sha"] == ""
    # phases are grouped; the summary says what happened and links the gist
    assert "::group::engram: ingest transcripts" in step.stdout
    assert f"::group::engram: push {PROJECT}" in step.stdout
    assert "**Ingested** 1 new session(s)" in step.summary
    assert f"[`{gist_id}`]({out['gist-url']})" in step.summary
    # nothing is written into the checkout: memory and staging live in the runner's temp
    assert list(step.workspace.iterdir()) == []


def test_a_second_push_with_nothing_new_changes_nothing(
    step: Step, gist_server: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(step.sessions)
    assert step.run(capsys, **_gist_inputs(gist_server)) == EXIT_OK
    gist_id = step.outputs["gist-id"]
    revisions = gist_server.revisions(gist_id)
    assert step.run(capsys, **_gist_inputs(gist_server)) == EXIT_OK
    assert step.outputs["gist-id"] == gist_id  # found again, not a second gist
    assert step.outputs["changed"] == "false"
    assert step.outputs["sessions-ingested"] == "0"
    assert gist_server.revisions(gist_id) == revisions
    assert len(gist_server.gists) == 1


def test_pull_writes_memory_and_the_claude_md_section(
    step: Step, gist_server: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(step.sessions)
    assert step.run(capsys, **_gist_inputs(gist_server, memory_path="pusher-memory")) == EXIT_OK
    gist_id = step.outputs["gist-id"]
    (step.workspace / "CLAUDE.md").write_text("# House rules\n\nBe kind.\n")

    code = step.run(
        capsys,
        **_gist_inputs(gist_server, mode="pull", gist_id=gist_id, claude_md="CLAUDE.md"),
        skip_ingest="true",
    )
    assert code == EXIT_OK, step.stdout
    assert step.outputs["gist-id"] == gist_id
    assert step.outputs["changed"] == "true"
    assert (step.memory.knowledge_dir(PROJECT) / "patterns.md").is_file()
    claude_md = (step.workspace / "CLAUDE.md").read_text()
    assert claude_md.startswith("# House rules\n\nBe kind.\n")
    assert begin_marker(PROJECT) in claude_md
    assert "Ingest skipped" in step.summary
    assert "CLAUDE.md` updated" in step.summary


def test_pull_without_gist_id_finds_the_projects_gist(
    step: Step, gist_server: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(step.sessions)
    assert step.run(capsys, **_gist_inputs(gist_server, memory_path="elsewhere")) == EXIT_OK
    gist_id = step.outputs["gist-id"]
    assert step.run(capsys, **_gist_inputs(gist_server, mode="pull")) == EXIT_OK, step.stdout
    assert step.outputs["gist-id"] == gist_id


def test_pull_of_a_project_nobody_pushed_yet_is_a_green_no_op(
    step: Step, gist_server: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first run of the @claude workflow: nothing to pull is not a failure, and the
    context file the agent step is told to read exists all the same."""
    code = step.run(capsys, **_gist_inputs(gist_server, mode="pull"))
    assert code == EXIT_OK, step.stdout
    assert f"::notice::engram-ci: nothing to do: no gist holds '{PROJECT}' yet" in step.stdout
    assert step.outputs["changed"] == "false"
    assert step.outputs["gist-id"] == ""
    context = Path(step.outputs["context-file"])
    assert context == step.temp / "engram-context.md"
    assert context.read_text().endswith(NO_MEMORY)


def test_a_token_without_gist_scope_is_a_user_error_with_the_fix(
    step: Step, github_server: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    github_server.add_token(TOKEN, scopes=("repo",))
    stage(step.sessions)
    code = step.run(capsys, **_gist_inputs(github_server))
    assert code == EXIT_USER_ERROR
    error = next(line for line in step.stdout.splitlines() if line.startswith("::error"))
    assert "gist" in error
    assert "engram-ci failed" in step.summary
    assert TOKEN not in step.printed + step.summary


# -- repo modes ------------------------------------------------------------------------------


def test_push_repo_into_the_workspace_repo(
    step: Step, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    make_workspace_repo(step.workspace)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    run_git(step.workspace, "remote", "add", "origin", str(remote))
    run_git(step.workspace, "push", "-q", "origin", "main")
    stage(step.sessions)

    code = step.run(capsys, mode="push-repo", push_remote="true", message="engram: from CI")
    assert code == EXIT_OK, step.stdout + step.stderr
    sha = step.outputs["commit-sha"]
    assert sha == run_git(step.workspace, "rev-parse", "main")
    assert sha == run_git(remote, "rev-parse", "main")
    assert run_git(step.workspace, "log", "-1", "--format=%s") == "engram: from CI"
    assert step.outputs["branch"] == "main"
    assert step.outputs["gist-id"] == ""
    assert f"[`{sha[:12]}`](https://github.com/{REPOSITORY}/commit/{sha})" in step.summary
    assert (step.workspace / PROJECT / "patterns.md").is_file()
    # the memory folder is ignored, the staged sessions are the user's business
    status = run_git(step.workspace, "status", "--porcelain")
    assert ".engram-memory" not in status


def test_pull_repo_merges_a_branch_into_memory(
    step: Step, capsys: pytest.CaptureFixture[str]
) -> None:
    make_workspace_repo(step.workspace)
    stage(step.sessions)
    assert step.run(capsys, mode="push-repo", branch="memory", memory_path="m1") == EXIT_OK
    pushed = step.outputs["commit-sha"]
    assert run_git(step.workspace, "branch", "--show-current") == "main"  # not checked out

    code = step.run(
        capsys, mode="pull-repo", branch="memory", skip_ingest="true", claude_md="CLAUDE.md"
    )
    assert code == EXIT_OK, step.stdout + step.stderr
    assert step.outputs["commit-sha"] == pushed
    assert step.outputs["changed"] == "true"
    assert (step.memory.knowledge_dir(PROJECT) / "patterns.md").is_file()
    assert begin_marker(PROJECT) in (step.workspace / "CLAUDE.md").read_text()


def test_pull_repo_of_a_branch_nobody_pushed_yet_is_a_green_notice_in_inputs_words(
    step: Step, capsys: pytest.CaptureFixture[str]
) -> None:
    """Like a pull of a gist nobody made yet: not a failure, and the notice says which run
    makes the branch, worded as inputs (mode, branch, fetch-remote), not as CLI flags."""
    make_workspace_repo(step.workspace)
    code = step.run(capsys, mode="pull-repo", branch="memory", skip_ingest="true")
    assert code == EXIT_OK, step.stdout + step.stderr
    notice = next(line for line in step.stdout.splitlines() if "nothing to do" in line)
    assert notice.startswith("::notice::engram-ci: nothing to do:"), notice
    assert "mode push-repo and branch memory" in notice and "`fetch-remote` input" in notice
    assert "--" not in notice  # no CLI flag
    assert step.outputs["changed"] == "false"


def test_pull_repo_takes_force_and_version_like_pull(
    step: Step, capsys: pytest.CaptureFixture[str]
) -> None:
    """`force` and `version` mean in pull-repo what they mean in pull (and in the CLI's
    pull-repo): replace local knowledge; restore the project as of a commit."""
    from tests.repo_helpers import add_block

    make_workspace_repo(step.workspace)
    stage(step.sessions)
    assert step.run(capsys, mode="push-repo", branch="memory", memory_path="m1") == EXIT_OK
    first = step.outputs["commit-sha"]
    add_block(MemoryLayout(step.workspace / "m1"), PROJECT, "later", "- added later")
    inputs = {"branch": "memory", "skip_ingest": "true"}
    assert step.run(capsys, mode="push-repo", memory_path="m1", **inputs) == EXIT_OK
    decisions = step.memory.knowledge_dir(PROJECT) / "decisions.md"

    assert step.run(capsys, mode="pull-repo", version=first[:12], **inputs) == EXIT_OK
    assert "added later" not in decisions.read_text()  # a tombstone for it stays
    add_block(step.memory, PROJECT, "local-only", "- only here")
    assert step.run(capsys, mode="pull-repo", force="true", **inputs) == EXIT_OK
    assert "added later" in decisions.read_text() and "only here" not in decisions.read_text()


def test_repo_modes_outside_a_repository_fail_cleanly(
    step: Step, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(step.sessions)
    assert step.run(capsys, mode="push-repo") == EXIT_USER_ERROR
    assert "::error title=" in step.stdout
    assert step.outputs == {}


def test_a_file_as_the_memory_path_names_the_input(
    step: Step, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(step.sessions)
    (step.workspace / "mem").write_text("a file")
    assert step.run(capsys, mode="ingest", memory_path="mem") == EXIT_USER_ERROR
    assert "is a file, not a folder: point the `memory-path` input" in step.stdout
    assert "::error title=" in step.stdout and step.outputs == {}


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_what_the_action_writes_is_given_back_to_the_workspace_owner(
    step: Step, capsys: pytest.CaptureFixture[str]
) -> None:
    make_workspace_repo(step.workspace)
    stage(step.sessions)
    (step.workspace / "CLAUDE.md").write_text("rules\n")
    for folder, dirs, files in os.walk(step.workspace):
        for name in [".", *dirs, *files]:
            os.lchown(os.path.join(folder, name), 4321, 4321)
    assert step.run(capsys, mode="push-repo", claude_md="CLAUDE.md") == EXIT_OK, step.stdout
    owners = {
        os.lstat(os.path.join(folder, name)).st_uid
        for folder, dirs, files in os.walk(step.workspace)
        for name in [*dirs, *files]
    }
    assert owners == {4321}


# -- ingest only, and missing transcripts ------------------------------------------------------


def test_ingest_mode_only_ingests(step: Step, capsys: pytest.CaptureFixture[str]) -> None:
    stage(step.workspace / "transcripts")
    assert step.run(capsys, mode="ingest", sessions_path="transcripts") == EXIT_OK
    assert step.outputs["sessions-ingested"] == "1"
    assert step.outputs["gist-id"] == step.outputs["commit-sha"] == ""
    assert step.outputs["changed"] == "false"
    assert (step.memory.knowledge_dir(PROJECT) / "patterns.md").is_file()
    assert f"::group::engram: ingest {PROJECT}" not in step.stdout


@pytest.mark.parametrize("mode", ["ingest", "push", "push-repo", "pull", "pull-repo"])
def test_no_transcripts_is_a_green_no_op_in_every_mode(
    mode: str, step: Step, capsys: pytest.CaptureFixture[str]
) -> None:
    """The agent step failed before Claude started: no second red error under always()."""
    make_workspace_repo(step.workspace)
    step.monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")  # must not be called
    step.monkeypatch.setenv("ENGRAM_HTTP_RETRY_SECONDS", "1")  # (pull calls it, and fails)
    code = step.run(capsys, mode=mode, token=TOKEN)
    if mode in ("pull", "pull-repo"):
        # a pull's remote is not transcripts: an unreachable one is still a real failure
        assert "nothing to do: no transcripts" not in step.stdout
        return
    assert code == EXIT_OK, step.stdout
    assert "::notice::engram-ci: nothing to do: no transcripts at" in step.stdout
    assert "::error" not in step.stdout and "::warning" not in step.stdout
    assert step.outputs["changed"] == "false"
    assert step.outputs["sessions-ingested"] == "0"
    assert step.outputs["gist-id"] == step.outputs["commit-sha"] == step.outputs["files"] == ""
    assert "Nothing to do: no transcripts" in step.summary


@pytest.mark.parametrize("mode", ["ingest", "push"])
def test_a_sessions_path_laid_out_wrong_says_how_it_should_be(
    mode: str, step: Step, capsys: pytest.CaptureFixture[str]
) -> None:
    # ~/.claude staged whole: the project folders sit one level deeper than sessions-path
    stage(step.workspace / "claude-home" / "projects")
    step.monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")  # must not be called
    assert step.run(capsys, mode=mode, token=TOKEN, sessions_path="claude-home") == EXIT_OK
    said = f"nothing to do: no transcripts in {step.workspace / 'claude-home'}: sessions-path"
    assert said in step.stdout and "laid out like ~/.claude/projects" in step.stdout
    assert "::error" not in step.stdout
    assert step.outputs["changed"] == "false"


def test_push_without_transcripts_warns_and_pushes_what_memory_holds(
    step: Step, gist_server: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(step.workspace / "old")
    assert step.run(capsys, mode="ingest", sessions_path="old") == EXIT_OK
    assert step.run(capsys, **_gist_inputs(gist_server)) == EXIT_OK, step.stdout
    assert step.outputs["gist-id"] in gist_server.gists
    assert step.outputs["sessions-ingested"] == "0"
    assert "Nothing to do" not in step.summary


def test_sessions_of_another_project_get_a_warning(
    step: Step, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(step.sessions)
    assert step.run(capsys, mode="ingest", project="other") == EXIT_OK
    assert "::warning::the transcripts belong to project(s) app, not 'other'" in step.stdout


# -- inputs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["true", "True", "TRUE", "false", "False", "FALSE", ""])
def test_yaml_core_booleans_are_accepted(
    value: str, step: Step, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(step.sessions)
    assert step.run(capsys, mode="ingest", force=value) == EXIT_OK


@pytest.mark.parametrize("value", ["yes", "1", "on", "tRUE", "false "])
def test_other_booleans_are_refused_naming_the_input(
    value: str, step: Step, capsys: pytest.CaptureFixture[str]
) -> None:
    code = step.run(capsys, mode="ingest", push_remote=value if value != "false " else "no")
    assert code == EXIT_USER_ERROR
    assert "::error title=invalid input push-remote::invalid push-remote " in (step.stdout)
    assert "invalid input push-remote" in step.summary
    assert step.outputs == {}


def test_surrounding_whitespace_is_trimmed_like_the_toolkit() -> None:
    assert action_config._bool({"force": " true\n"}, "force") is True


def test_an_unknown_mode_is_refused(step: Step, capsys: pytest.CaptureFixture[str]) -> None:
    assert step.run(capsys, mode="sync") == EXIT_USER_ERROR
    assert "::error title=invalid input mode::unknown mode 'sync'" in step.stdout


def test_inputs_are_read_with_hyphens_kept_or_underscores() -> None:
    env = {"INPUT_GIST-ID": "abc", "INPUT_REPO_PATH": "repo", "INPUT_MODE": "pull"}
    raw = action_config.read_inputs(env)
    assert raw["gist-id"] == "abc"
    assert raw["repo-path"] == "repo"
    assert raw["mode"] == "pull"
    # the runner's own spelling wins when both are present
    both = action_config.read_inputs({"INPUT_GIST-ID": "runner", "INPUT_GIST_ID": "other"})
    assert both["gist-id"] == "runner"


def test_config_defaults_and_paths(tmp_path: Path) -> None:
    env = {"GITHUB_WORKSPACE": str(tmp_path), "GITHUB_REPOSITORY": "octo/My-Repo"}
    config = action_config.parse_config(action_config.read_inputs(env), env)
    assert config.mode == "push"
    assert config.project == "My-Repo"
    temp = Path(tempfile.gettempdir())  # RUNNER_TEMP unset: a local try-out
    assert config.memory_dir == temp / "engram-memory"
    assert config.sessions_paths == (temp / "engram-sessions",)
    assert config.context_file == temp / "engram-context.md"
    assert config.claude_md is None
    assert config.repo_path == tmp_path
    assert config.api_url == "https://api.github.com"
    assert config.commit_url_base == "https://github.com/octo/My-Repo/commit/"
    with pytest.raises(AttributeError):
        config.mode = "pull"  # type: ignore[misc]
    absolute = action_config.parse_config(
        action_config.read_inputs(
            {**env, "INPUT_SESSIONS-PATH": "/abs/one\nrel/two,three\n", "INPUT_API-URL": ""}
        ),
        {**env, "GITHUB_API_URL": "https://ghes.example/api/v3"},
    )
    assert absolute.sessions_paths == (Path("/abs/one"), tmp_path / "rel" / "two,three")
    assert absolute.api_url == "https://ghes.example/api/v3"


def test_identity_input_holds_age_keys_and_ssh_key_blocks() -> None:
    ssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\nBBBB\n-----END OPENSSH PRIVATE KEY-----"
    keys = action_config._identities(f"# comment\nAGE-SECRET-KEY-1ABC\n{ssh}\n")
    assert keys == ("AGE-SECRET-KEY-1ABC", ssh + "\n")
    with pytest.raises(FatalError, match="private key without its -----END line"):
        action_config._identities("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n")  # cut short


def test_without_a_project_input_or_repository_the_project_is_asked_for(tmp_path: Path) -> None:
    env = {"GITHUB_WORKSPACE": str(tmp_path)}
    with pytest.raises(FatalError, match="set the `project` input") as error:
        action_config.parse_config(action_config.read_inputs(env), env)
    assert error.value.title == "missing input project"


def test_an_unknown_provider_is_refused_naming_the_known_ones(tmp_path: Path) -> None:
    env = {"GITHUB_WORKSPACE": str(tmp_path), "GITHUB_REPOSITORY": "o/r", "INPUT_PROVIDER": "gpt"}
    with pytest.raises(FatalError) as raised:
        action_config.parse_config(action_config.read_inputs(env), env)
    assert raised.value.worded("action") == (
        "invalid provider 'gpt': the `provider` input wants one of offline, anthropic, openai, "
        "ollama"
    )


def test_encrypt_without_keys_names_the_missing_input(
    step: Step, gist_server: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(step.sessions)
    assert step.run(capsys, **_gist_inputs(gist_server, encrypt="true")) == EXIT_USER_ERROR
    assert "::error title=missing recipients::" in step.stdout
    assert "the `recipients` input" in step.stdout  # the Action's words, not --recipient
    assert "--recipient" not in step.stdout
    assert gist_server.gists == {}  # nothing left the runner in plain text


def test_encrypted_push_then_pull_with_the_identity(
    step: Step, gist_server: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    from pyrage import x25519

    key = x25519.Identity.generate()
    identity = f"# created: by the test\n# public key: {key.to_public()}\n{key}\n"
    stage(step.sessions)
    # the usual CI setup: one secret age key; push encrypts to its public half and reads the
    # gist's sealed form back with it to merge
    code = step.run(capsys, **_gist_inputs(gist_server, encrypt="true"), identity=identity)
    assert code == EXIT_OK, step.stdout + step.stderr
    gist_id = step.outputs["gist-id"]
    remote = gist_server.files(gist_id)
    assert "knowledge.age" in remote
    assert "patterns.md" not in remote
    # no plaintext knowledge left the runner (the session's stated preference is in it)
    assert "overall length" not in "".join(remote.values())

    assert step.run(capsys, **_gist_inputs(gist_server, mode="pull")) == EXIT_USER_ERROR
    assert "encrypted" in step.stdout

    code = step.run(
        capsys,
        **_gist_inputs(gist_server, mode="pull", gist_id=gist_id, memory_path="fresh"),
        identity=identity,
        skip_ingest="true",
    )
    assert code == EXIT_OK, step.stdout + step.stderr
    pulled = step.workspace / "fresh" / "knowledge" / PROJECT / "patterns.md"
    assert "Keep it same overall length" in pulled.read_text()
    assert str(key) not in step.printed + step.summary


# -- secrets and failures ----------------------------------------------------------------------


def test_secrets_are_masked_before_anything_else_is_printed(
    step: Step, gist_server: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(step.sessions)
    identity = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"
    step.monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-secretvalue")
    # ingest: a named identity would switch encryption on (the shared policy), and this one
    # is no real key; masking must not depend on the mode anyway
    code = step.run(
        capsys,
        **_gist_inputs(gist_server, mode="ingest"),
        passphrase="correct horse battery",
        identity=identity,
    )
    assert code == EXIT_OK
    lines = step.stdout.splitlines()
    masks = [line for line in lines if line.startswith("::add-mask::")]
    assert lines[: len(masks)] == masks  # every mask comes first
    masked = {line.removeprefix("::add-mask::") for line in masks}
    assert {TOKEN, "correct horse battery", identity, "sk-ant-api03-secretvalue"} <= masked
    rest = "\n".join(lines[len(masks) :]) + step.stderr + step.summary
    rest += step.output_file.read_text()
    for secret in (TOKEN, "correct horse battery", identity):
        assert secret not in rest


def test_a_bug_exits_3_with_a_masked_traceback(
    step: Step, gist_server: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    class BrokenRunner(Runner):
        def set_output(self, name: str, value: str) -> None:
            raise RuntimeError(f"output file vanished (token {TOKEN})")

    stage(step.sessions)
    for name, value in _gist_inputs(gist_server).items():
        step.monkeypatch.setenv(f"INPUT_{name.replace('_', '-').upper()}", value)
    code = action.main([], runner=BrokenRunner())
    captured = capsys.readouterr()
    assert code == EXIT_BUG
    assert "Traceback" in captured.err
    assert "RuntimeError: output file vanished (token ***)" in captured.err
    unmasked = [line for line in captured.out.splitlines() if not line.startswith("::add-mask::")]
    assert TOKEN not in captured.err + "\n".join(unmasked)
    assert "::error title=engram-ci bug::" in captured.out
    assert "engram-ci failed: engram-ci bug" in step.summary


def test_outside_a_runner_outputs_are_printed(
    step: Step, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(step.sessions)
    step.monkeypatch.delenv("GITHUB_OUTPUT")
    step.monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    step.monkeypatch.setenv("INPUT_MODE", "ingest")
    stdout = io.StringIO()
    assert action.main([], runner=Runner(stdout=stdout, env=os.environ)) == EXIT_OK
    assert "output sessions-ingested=1" in stdout.getvalue()


def test_importing_the_adapter_has_no_side_effects_and_stays_light() -> None:
    code = (
        "import sys, engram_ci.action.adapter as a; "
        "heavy = {'github', 'git', 'httpx', 'requests', 'yaml'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
    assert done.stderr == ""


# -- the next agent, claude-code-action's execution file ---------------------------------------

EXECUTION_SESSION = "5f0e2c1a-7b3d-4e8f-9a6b-1c2d3e4f5a6b"


def write_execution_file(path: Path, *, cwd: str | None = "/home/runner/work/app/app") -> Path:
    """What claude-code-action leaves in $RUNNER_TEMP: one JSON array of Agent SDK messages."""
    init: dict[str, object] = {
        "type": "system",
        "subtype": "init",
        "session_id": EXECUTION_SESSION,
        "model": "claude-sonnet-4-5",
        "tools": ["Bash", "Read", "Edit"],
    }
    if cwd is not None:
        init["cwd"] = cwd
    messages = [
        init,
        {
            "type": "assistant",
            "session_id": EXECUTION_SESSION,
            "parent_tool_use_id": None,
            "message": {
                "id": "msg_01",
                "model": "claude-sonnet-4-5",
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "The tests fail because pytest is missing."},
                    {
                        "type": "tool_use",
                        "id": "toolu_01",
                        "name": "Bash",
                        "input": {"command": "python -m pytest -q"},
                    },
                ],
                "usage": {"input_tokens": 10, "output_tokens": 5},
            },
        },
        {
            "type": "user",
            "session_id": EXECUTION_SESSION,
            "parent_tool_use_id": None,
            "message": {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01",
                        "content": "/usr/bin/python: No module named pytest",
                        "is_error": True,
                    }
                ],
            },
        },
        {
            "type": "assistant",
            "session_id": EXECUTION_SESSION,
            "parent_tool_use_id": None,
            "message": {
                "id": "msg_02",
                "model": "claude-sonnet-4-5",
                "role": "assistant",
                "content": [
                    {
                        "type": "text",
                        "text": "Decided to install pytest with pip install -e '.[test]' "
                        "because the test extra pins it; that fixed the run.",
                    }
                ],
                "usage": {"input_tokens": 12, "output_tokens": 20},
            },
        },
        {
            "type": "result",
            "subtype": "success",
            "is_error": False,
            "num_turns": 2,
            "result": "Installed pytest; tests pass.",
            "session_id": EXECUTION_SESSION,
        },
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(messages, indent=2))
    return path


def test_the_execution_file_is_a_transcript_source(
    step: Step, capsys: pytest.CaptureFixture[str]
) -> None:
    execution = write_execution_file(step.temp / "claude-execution-output.json")
    assert step.run(capsys, mode="ingest", execution_file=str(execution)) == EXIT_OK, step.stdout
    assert step.outputs["sessions-ingested"] == "1"
    meta = json.loads(
        (step.memory.root / "conversations" / PROJECT / EXECUTION_SESSION / "meta.json").read_text()
    )
    assert meta["session_id"] == EXECUTION_SESSION
    assert "`app`" in step.summary


def test_an_execution_file_without_cwd_takes_the_repositorys_name(
    step: Step, capsys: pytest.CaptureFixture[str]
) -> None:
    execution = write_execution_file(step.temp / "exec.json", cwd=None)
    step.monkeypatch.setenv("GITHUB_REPOSITORY", "octo/widget")
    assert step.run(capsys, mode="ingest", execution_file=str(execution)) == EXIT_OK, step.stdout
    assert (step.memory.root / "conversations" / "widget" / EXECUTION_SESSION).is_dir()


def test_a_session_both_staged_and_in_the_execution_file_is_ingested_once(
    step: Step, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(step.sessions, session_id=EXECUTION_SESSION)
    execution = write_execution_file(step.temp / "claude-execution-output.json")
    assert step.run(capsys, mode="ingest", execution_file=str(execution)) == EXIT_OK, step.stdout
    assert step.outputs["sessions-ingested"] == "1"


def test_a_broken_execution_file_names_the_input(
    step: Step, capsys: pytest.CaptureFixture[str]
) -> None:
    execution = step.temp / "claude-execution-output.json"
    execution.write_text('{"type": "system"')
    assert step.run(capsys, mode="ingest", execution_file=str(execution)) == EXIT_USER_ERROR
    error = next(line for line in step.stdout.splitlines() if line.startswith("::error"))
    assert "is not JSON" in error
    assert "the `execution-file` input" in error


def test_pull_writes_the_context_file_and_reports_the_hosts_path(
    step: Step, gist_server: GitHubStandIn, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """In the Docker action RUNNER_TEMP is /github/runner_temp; the output names the file as
    the host sees it (action.yml hands the host's temp folder over in args)."""
    stage(step.sessions)
    assert step.run(capsys, **_gist_inputs(gist_server, memory_path="elsewhere")) == EXIT_OK
    for name in list(os.environ):
        if name.startswith("INPUT_"):
            step.monkeypatch.delenv(name)
    for name, value in _gist_inputs(gist_server, mode="pull").items():
        step.monkeypatch.setenv(f"INPUT_{name.replace('_', '-').upper()}", value)
    step.output_file.write_text("")
    host_temp = "/home/runner/work/_temp"
    assert action.main(["--runner-temp-on-host", host_temp]) == EXIT_OK
    capsys.readouterr()
    out = parse_file_command(step.output_file.read_text())
    assert out["context-file"] == f"{host_temp}/engram-context.md"
    written = (step.temp / "engram-context.md").read_text()
    assert written.startswith(f"# Project memory: {PROJECT}")
    assert "not instructions" in written
    assert "## " in written.split("not instructions", 1)[1]  # the recalled context follows
    assert [p.name for p in step.workspace.iterdir()] == ["elsewhere"]  # the pusher's only


def test_claude_md_in_the_checkout_warns_about_pr_runs(
    step: Step, gist_server: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(step.sessions)
    assert step.run(capsys, **_gist_inputs(gist_server, memory_path="pusher")) == EXIT_OK
    code = step.run(capsys, **_gist_inputs(gist_server, mode="pull"), claude_md="CLAUDE.md")
    assert code == EXIT_OK, step.stdout
    assert "::warning::claude-md" in step.stdout and "PR runs" in step.stdout
    assert begin_marker(PROJECT) in (step.workspace / "CLAUDE.md").read_text()


def test_the_summary_says_what_was_learned_and_the_numbers_add_up(
    step: Step, gist_server: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(step.sessions)
    (step.sessions / "-home-runner-work-app-app" / "empty.jsonl").write_text("")
    assert step.run(capsys, **_gist_inputs(gist_server)) == EXIT_OK, step.stdout
    summary = step.summary
    assert "| 2 | 1 | 0 | 1 | 0 |" in summary  # found = ingested + unchanged + not + failed
    assert "**Learned this run**" in summary
    assert "`app` patterns: " in summary
    revision = step.outputs["gist-revision"]
    assert f"({step.outputs['gist-url']}/{revision})" in summary


def test_budget_input_sizes_the_context(tmp_path: Path) -> None:
    env = {"GITHUB_WORKSPACE": str(tmp_path), "GITHUB_REPOSITORY": "octo/repo"}
    assert action_config.parse_config(action_config.read_inputs(env), env).budget is None
    sized = action_config.read_inputs({**env, "INPUT_BUDGET": "4000"})
    assert action_config.parse_config(sized, env).budget == 4000
    with pytest.raises(FatalError) as refused:
        action_config.parse_config(action_config.read_inputs({**env, "INPUT_BUDGET": "tiny"}), env)
    assert refused.value.worded("action") == (
        "invalid budget 'tiny': the `budget` input wants a number of characters >= 1,000"
    )


def test_a_hostile_project_name_cannot_issue_runner_commands(
    step: Step, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15: the project name is data; whatever the step prints about it stays text."""
    stage(step.sessions)
    code = step.run(capsys, mode="ingest", project="::stop-commands::pwned")
    assert code in (EXIT_OK, EXIT_USER_ERROR), step.stdout + step.stderr
    for line in (step.stdout + step.stderr).splitlines():
        assert not line.lstrip().startswith(("::stop-commands", "::pwned")), line


def test_the_host_variants_user_memory_gets_the_section_without_a_warning(
    step: Step, gist_server: GitHubStandIn, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """host/action.yml's default claude-md: ~/.claude/CLAUDE.md, which Claude Code loads as
    user memory and claude-code-action neither restores nor commits."""
    stage(step.sessions)
    assert step.run(capsys, **_gist_inputs(gist_server, memory_path="pusher")) == EXIT_OK
    user_memory = tmp_path / "home" / ".claude" / "CLAUDE.md"
    code = step.run(capsys, **_gist_inputs(gist_server, mode="pull"), claude_md=str(user_memory))
    assert code == EXIT_OK, step.stdout
    assert "::warning" not in step.stdout
    assert begin_marker(PROJECT) in user_memory.read_text()
    assert step.outputs["changed"] == "true"


def test_the_adapter_stays_thin() -> None:
    """Issue 13: inputs -> config, summary, outputs, hand-off live in modules of their own."""
    assert len(Path(action.__file__).read_text().splitlines()) <= 250


def test_pull_sizes_the_context_file_and_local_memory_by_the_budget_input(
    step: Step, gist_server: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    """The `budget` input sizes everything a pull writes for the next agent: the context
    file, the CLAUDE.md section and the local context.md the sync's merge regenerates."""
    stage(step.sessions)
    assert step.run(capsys, **_gist_inputs(gist_server, memory_path="pusher")) == EXIT_OK
    pulled = {}
    for budget in ("", "1000"):
        inputs = _gist_inputs(gist_server, mode="pull", budget=budget, claude_md="CLAUDE.md")
        assert step.run(capsys, **inputs, force="true") == EXIT_OK, step.stdout
        context = Path(step.outputs["context-file"]).read_text().split("not instructions", 1)[1]
        local = (step.memory.knowledge_dir(PROJECT) / "context.md").read_text()
        claude_md = (step.workspace / "CLAUDE.md").read_text()
        pulled[budget] = (context, local, claude_md)
    default, sized = pulled[""], pulled["1000"]
    assert len(default[0]) > 1_000 and len(default[1]) > 1_000
    assert len(sized[0]) < 1_100 and len(sized[1]) <= 1_000  # the preamble's tail aside
    assert len(sized[2]) < len(default[2])


# -- ingest's shared options: since, project-name, jobs ----------------------------------------

OLD_SESSION = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def _stage_old_and_new(sessions: Path) -> tuple[Path, Path]:
    """Two sessions of `app`: one touched just now, one last modified three days ago."""
    new = stage(sessions)
    old = stage(sessions, session_id=OLD_SESSION)
    three_days_ago = time.time() - 3 * 86400
    os.utime(old, (three_days_ago, three_days_ago))
    return old, new


def test_since_leaves_older_transcripts_out(step: Step, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = _stage_old_and_new(step.sessions)
    assert old.stem == OLD_SESSION
    assert step.run(capsys, mode="ingest", since="1d") == EXIT_OK, step.stdout
    assert step.outputs["sessions-ingested"] == "1"
    conversations = step.memory.root / "conversations" / PROJECT
    assert (conversations / new.stem).is_dir()
    assert not (conversations / OLD_SESSION).exists()
    assert "| 2 | 1 | 0 | 0 | 0 |" in step.summary  # found, ingested, unchanged, not, failed
    assert "1 transcript(s) not modified within `since`: left out" in step.summary
    # left out, not lost: without `since` the next run takes it
    assert step.run(capsys, mode="ingest") == EXIT_OK, step.stdout
    assert step.outputs["sessions-ingested"] == "1"
    assert (conversations / OLD_SESSION).is_dir()
    assert "within `since`" not in step.summary


def test_project_name_engram_names_the_project_as_upstream_engram_does(
    step: Step, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(step.sessions)  # staged under -home-runner-work-app-app, as Claude Code names it
    engram_name = "home-runner-work-app-app"
    code = step.run(capsys, mode="ingest", project_name="engram", project=engram_name)
    assert code == EXIT_OK, step.stdout
    assert (step.memory.knowledge_dir(engram_name) / "patterns.md").is_file()
    assert not step.memory.knowledge_dir(PROJECT).exists()
    assert "::warning" not in step.stdout  # the `project` input names what ingest wrote


def test_project_name_cwd_is_the_default(step: Step, capsys: pytest.CaptureFixture[str]) -> None:
    stage(step.sessions)
    assert step.run(capsys, mode="ingest", project_name="cwd") == EXIT_OK, step.stdout
    assert (step.memory.knowledge_dir(PROJECT) / "patterns.md").is_file()


def test_jobs_reaches_ingest_and_two_workers_ingest_every_session(
    step: Step, capsys: pytest.CaptureFixture[str]
) -> None:
    _stage_old_and_new(step.sessions)
    assert step.run(capsys, mode="ingest", jobs="2") == EXIT_OK, step.stdout
    assert step.outputs["sessions-ingested"] == "2"
    env = {**os.environ}
    config = action_config.parse_config(action_config.read_inputs(env), env)
    assert config.jobs == 2
    assert config.ingest_options((step.sessions,), (), ()).jobs == 2


@pytest.mark.parametrize(
    ("name", "value", "wants"),
    [
        ("jobs", "0", "a whole number >= 1"),
        ("jobs", "abc", "a whole number >= 1"),
        ("since", "yesterday", "a duration like 30s, 5m, 2h or 1d"),
        ("project-name", "folder", "one of cwd, engram"),
        ("gist-id", "../user", "a gist id: the hex string that ends the gist's URL"),
    ],
)
def test_a_bad_ingest_option_is_refused_naming_the_input(
    name: str, value: str, wants: str, step: Step, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(step.sessions)
    assert step.run(capsys, mode="ingest", **{name: value}) == EXIT_USER_ERROR
    assert (
        f"::error title=invalid input {name}::invalid {name} {value!r}: "
        f"the `{name}` input wants {wants}"
    ) in step.stdout
    assert f"--{name}" not in step.stdout  # the Action's words, not the CLI's flag
    assert f"invalid input {name}" in step.summary
    assert step.outputs == {}
    assert not step.memory.root.exists()  # refused before anything was ingested
