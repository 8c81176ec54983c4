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
    probe = "git --version && command -v dumb-init && python -c 'import engram_ci.action.adapter'"
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
    stage_transcripts(dirs.workspace / ".engram-sessions")
    _give_to_runner_user(dirs.workspace)

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
    # later steps run as the runner user: nothing the action wrote may stay root's
    assert (dirs.workspace / ".engram-memory" / "knowledge" / PROJECT).is_dir()
    assert _owners(dirs.workspace) == {RUNNER_UID}
    # HOME is /github/home, not the workspace
    assert not (dirs.workspace / "memory").exists()


def test_push_repo_into_the_workspace_repo(action_image: str, dirs: RunnerDirs) -> None:
    make_workspace_repo(dirs.workspace)
    stage_transcripts(dirs.workspace / ".engram-sessions")
    _give_to_runner_user(dirs.workspace)  # owned by another uid: git's safe.directory matters

    run = docker_run_like_runner(
        action_image, dirs, {"mode": "push-repo", "message": "engram: from the container"}
    )
    assert run.returncode == 0, run.stdout + run.stderr
    outputs = parse_file_command(run.output_file.read_text())
    assert outputs["commit-sha"] == run_git(dirs.workspace, "rev-parse", "main")
    assert outputs["branch"] == "main"
    assert run_git(dirs.workspace, "log", "-1", "--format=%s") == "engram: from the container"
    assert (dirs.workspace / PROJECT / "decisions.md").is_file()
    assert _owners(dirs.workspace) == {RUNNER_UID}  # .git objects included


def test_a_bad_input_fails_the_step_with_an_annotation(action_image: str, dirs: RunnerDirs) -> None:
    run = docker_run_like_runner(action_image, dirs, {"mode": "push", "force": "yes"})
    assert run.returncode == 1
    assert "::error title=invalid input force::" in run.stdout
    assert "invalid input force" in run.summary_file.read_text()
    assert run.output_file.read_text() == ""
