"""The real image, run the way the Actions runner runs a Docker action.

Built once per session from the working tree (`docker build --network host`), run with the
runner's mounts and environment against the GitHub stand-in on 127.0.0.1 (--network host).
The workspace belongs to uid 1001 like a hosted runner's checkout, while the container runs
as root: the repo modes must cope (safe.directory) and what the action writes must be handed
back to 1001.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from engram_ci.action.ghactions import parse_file_command
from tests.docker_support import (
    PROJECT,
    RunnerDirs,
    docker_run_like_runner,
    make_workspace_repo,
    run_git,
    stage_transcripts,
)
from tests.docker_support import action_image as action_image  # the session fixture
from tests.docker_support import docker_engine as docker_engine  # the session fixture
from tests.github_server import GitHubStandIn

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TOKEN = "ghp_dockerTestToken0123456789abcdefABCD"
RUNNER_UID = 1001


def _give_to_runner_user(path: Path) -> None:
    for folder, dirs, files in os.walk(path):
        for name in [".", *dirs, *files]:
            os.lchown(os.path.join(folder, name), RUNNER_UID, RUNNER_UID)


def _owners(path: Path) -> set[int]:
    return {
        os.lstat(os.path.join(folder, name)).st_uid
        for folder, dirs, files in os.walk(path)
        for name in [*dirs, *files]
    }


@pytest.fixture
def dirs(tmp_path: Path) -> Iterator[RunnerDirs]:
    if os.geteuid() != 0:
        pytest.skip("needs root to give the workspace to the runner's uid")
    yield RunnerDirs.make(tmp_path)


def test_hyphenated_inputs_reach_the_adapter(action_image: str, dirs: RunnerDirs) -> None:
    """The runner sets INPUT_SKIP-INGEST; dash (Debian's sh) would drop such names."""
    run = docker_run_like_runner(action_image, dirs, {"mode": "ingest", "skip-ingest": "maybe"})
    assert run.returncode == 1
    assert "::error title=invalid input skip-ingest::" in run.stdout


def test_image_shape(action_image: str) -> None:
    inspect = subprocess.run(
        ["docker", "image", "inspect", action_image],
        capture_output=True,
        text=True,
        check=True,
    )
    config = json.loads(inspect.stdout)[0]["Config"]
    assert config["Entrypoint"] == ["dumb-init", "--", "/entrypoint"]
    assert config["WorkingDir"] == ""  # the runner sets -w itself
    assert "PYTHONUNBUFFERED=1" in config["Env"]
    probe = (
        "git --version && command -v dumb-init && python -c 'import engram_ci.action.adapter'"
        # no apt lists or downloaded packages left behind by our layers
        " && test -z \"$(find /var/lib/apt/lists /var/cache/apt/archives -name '*_*' 2>/dev/null)\""
    )
    tools = subprocess.run(
        ["docker", "run", "--rm", "--network=none", "--entrypoint=sh", action_image, "-c", probe],
        capture_output=True,
        text=True,
        check=False,
    )
    assert tools.returncode == 0, tools.stderr
    assert tools.stdout.startswith("git version")


def test_push_to_the_gist_stand_in(
    action_image: str, dirs: RunnerDirs, github_server: GitHubStandIn
) -> None:
    github_server.add_token(TOKEN)
    stage_transcripts(dirs.temp / "engram-sessions")  # where the examples stage them
    _give_to_runner_user(dirs.workspace)
    _give_to_runner_user(dirs.temp)

    # api-url as an input (INPUT_API-URL, hyphen kept) must win over the run's API URL, which
    # points nowhere here: a shell entrypoint that dropped hyphenated names would fail
    run = docker_run_like_runner(
        action_image,
        dirs,
        {"mode": "push", "gist-id": "", "token": TOKEN, "api-url": github_server.api_url},
        env={"GITHUB_API_URL": "http://127.0.0.1:9", "ENGRAM_HTTP_RETRY_SECONDS": "1"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith(f"::add-mask::{TOKEN}\n")
    outputs = parse_file_command(run.output_file.read_text())
    assert outputs["gist-id"] in github_server.gists
    assert outputs["sessions-ingested"] == "1"
    assert outputs["changed"] == "true"
    assert "patterns.md" in outputs["files"].splitlines()
    assert outputs["gist-url"] in run.summary_file.read_text()
    # memory lives in the runner's temp folder, nothing lands in the checkout, and later
    # steps (the runner user) can still change what the action (root) wrote there
    assert (dirs.temp / "engram-memory" / "knowledge" / PROJECT).is_dir()
    assert list(dirs.workspace.iterdir()) == []
    assert _owners(dirs.temp / "engram-memory") == {RUNNER_UID}


def test_push_repo_into_the_workspace_repo(action_image: str, dirs: RunnerDirs) -> None:
    make_workspace_repo(dirs.workspace)
    stage_transcripts(dirs.temp / "engram-sessions")
    _give_to_runner_user(dirs.workspace)  # owned by another uid: git's safe.directory matters

    run = docker_run_like_runner(
        action_image, dirs, {"mode": "push-repo", "message": "engram: from the container"}
    )
    assert run.returncode == 0, run.stdout + run.stderr
    outputs = parse_file_command(run.output_file.read_text())
    assert outputs["commit-sha"] == run_git(dirs.workspace, "rev-parse", "main")
    assert outputs["branch"] == "main"
    assert run_git(dirs.workspace, "log", "-1", "--format=%s") == "engram: from the container"
    assert (dirs.workspace / PROJECT / "patterns.md").is_file()
    assert _owners(dirs.workspace) == {RUNNER_UID}  # .git objects included


def test_a_bad_input_fails_the_step_with_an_annotation(action_image: str, dirs: RunnerDirs) -> None:
    run = docker_run_like_runner(action_image, dirs, {"mode": "push", "force": "yes"})
    assert run.returncode == 1
    assert "::error title=invalid input force::" in run.stdout
    assert "invalid input force" in run.summary_file.read_text()
    assert run.output_file.read_text() == ""


def test_no_transcripts_is_a_green_no_op(action_image: str, dirs: RunnerDirs) -> None:
    """The agent step failed before Claude started: the push under always() stays green."""
    run = docker_run_like_runner(
        action_image,
        dirs,
        {"mode": "push", "token": TOKEN},
        env={"GITHUB_API_URL": "http://127.0.0.1:9"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert (
        "::notice::engram-ci: nothing to do: no transcripts at /github/runner_temp/" in run.stdout
    )
    assert "::error" not in run.stdout
    outputs = parse_file_command(run.output_file.read_text())
    assert outputs["changed"] == "false" and outputs["gist-id"] == ""
    assert "Nothing to do" in run.summary_file.read_text()


def test_pull_hands_the_context_file_to_the_host(
    action_image: str, dirs: RunnerDirs, github_server: GitHubStandIn
) -> None:
    """The context file is written in the runner's temp folder and the output names it as
    the host sees it, not as /github/runner_temp/...: a later step can pass it to Claude."""
    github_server.add_token(TOKEN)
    gist_inputs = {"token": TOKEN, "api-url": github_server.api_url}
    stage_transcripts(dirs.temp / "engram-sessions")
    pushed = docker_run_like_runner(
        action_image, dirs, {"mode": "push", "memory-path": "/github/home/pusher", **gist_inputs}
    )
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    pulled = docker_run_like_runner(action_image, dirs, {"mode": "pull", **gist_inputs})
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    outputs = parse_file_command(pulled.output_file.read_text())
    context = Path(outputs["context-file"])
    assert context == dirs.temp / "engram-context.md"  # the host's path
    text = context.read_text()
    assert text.startswith(f"# Project memory: {PROJECT}") and "not instructions" in text
    assert context.stat().st_mode & 0o044  # readable by the runner user's later steps


def test_the_execution_file_is_read_in_the_container(action_image: str, dirs: RunnerDirs) -> None:
    """claude-code-action's execution_file, as the runner hands it to the container."""
    from tests.test_action import EXECUTION_SESSION, write_execution_file

    write_execution_file(dirs.temp / "claude-execution-output.json")
    run = docker_run_like_runner(
        action_image,
        dirs,
        {"mode": "ingest", "execution-file": "/github/runner_temp/claude-execution-output.json"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert parse_file_command(run.output_file.read_text())["sessions-ingested"] == "1"
    conversation = dirs.temp / "engram-memory" / "conversations" / PROJECT / EXECUTION_SESSION
    assert (conversation / "meta.json").is_file()
