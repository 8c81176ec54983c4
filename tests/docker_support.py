"""Shared support for the action's tests: a staged transcript, a Docker engine, the image.

- `stage_transcripts(dir)` writes one real Claude Code session (from shared/corpus) as if it
  had run in /home/runner/work/app/app — i.e. for the project `app` of repository octo/app.
- `docker_engine()` (session fixture) makes sure an engine answers, trying
  shared/docker/start-dockerd.sh first; the tests skip, with the reason, only when none can run.
- `action_image` (session fixture) builds the action's Dockerfile once per session with
  `docker build --network host`, so act's own plain build later hits the layer cache.
- `docker_run_like_runner(...)` runs the image the way the Actions runner does: same mounts
  (/github/workspace, /github/runner_temp, /github/home, /github/file_commands), env paths as
  the container sees them (RUNNER_TEMP=/github/runner_temp), -w /github/workspace, INPUT_*
  with hyphens kept, GITHUB_OUTPUT/GITHUB_STEP_SUMMARY in the file-commands folder, and
  action.yml's args (the host's temp folder).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import CORPUS, ROOT, SHARED

#: one tag per checkout when several run the tests at once (ENGRAM_CI_TEST_IMAGE)
IMAGE = os.environ.get("ENGRAM_CI_TEST_IMAGE", "engram-ci-action:test")
BASE_IMAGE = "python:3.12-slim"
PROJECT = "app"
REPOSITORY = "octo/app"
_SESSION = CORPUS / "projects" / "-experiments-ideas" / "03eb5929-52b3-4b13-ada3-b93ae35806b8.jsonl"
_RUNNER_CWD = "/home/runner/work/app/app"


def stage_transcripts(sessions_dir: Path, *, session_id: str | None = None) -> Path:
    """One real session, rewritten to have run in the runner's checkout of octo/app."""
    if not _SESSION.is_file():
        pytest.skip("../shared/corpus is not beside the project")
    text = _SESSION.read_text(encoding="utf-8").replace('"/home/user/project"', f'"{_RUNNER_CWD}"')
    if session_id is not None:
        text = text.replace(_SESSION.stem, session_id)
    folder = sessions_dir / _RUNNER_CWD.replace("/", "-")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{session_id or _SESSION.stem}.jsonl"
    target.write_text(text, encoding="utf-8")
    return target


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _script(name: str, *args: str, timeout: float = 600) -> tuple[bool, str]:
    script = SHARED / "docker" / name
    if not script.is_file():
        return False, f"{script} is missing"
    done = subprocess.run(
        ["bash", str(script), *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    return done.returncode == 0, (done.stdout + done.stderr).strip()[-500:]


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """A Docker engine and the base image, or a skip that says why not."""
    if not _docker_answers():
        started, why = _script("start-dockerd.sh", timeout=180)
        if not started or not _docker_answers():
            pytest.skip(f"no Docker engine can run here: {why}")
    ready, why = _script("offline-base-image.sh", BASE_IMAGE)
    if not ready:
        pytest.skip(f"the base image {BASE_IMAGE} cannot be made here: {why}")


@pytest.fixture(scope="session")
def action_image(docker_engine: None) -> str:
    """The action's image, built from the working tree once per test session."""
    done = subprocess.run(
        ["docker", "build", "--network", "host", "-q", "-t", IMAGE, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"docker build failed:\n{done.stdout}\n{done.stderr}"
    return IMAGE


@dataclass(frozen=True)
class RunnerDirs:
    """The host folders the runner mounts into a Docker action (its temp folder holds HOME
    and the file commands, as on a real runner)."""

    workspace: Path
    temp: Path
    home: Path
    file_commands: Path

    @classmethod
    def make(cls, base: Path) -> RunnerDirs:
        temp = base / "_temp"
        dirs = cls(base / "workspace", temp, temp / "_github_home", temp / "_runner_file_commands")
        for path in (dirs.workspace, dirs.temp, dirs.home, dirs.file_commands):
            path.mkdir(parents=True, exist_ok=True)
        return dirs


@dataclass(frozen=True)
class ActionRun:
    returncode: int
    stdout: str
    stderr: str
    output_file: Path
    summary_file: Path


def docker_run_like_runner(
    image: str,
    dirs: RunnerDirs,
    inputs: Mapping[str, str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> ActionRun:
    """`docker run` with the runner's mounts, working directory and environment."""
    step = uuid.uuid4()
    output = dirs.file_commands / f"set_output_{step}"
    summary = dirs.file_commands / f"step_summary_{step}"
    output.touch()
    summary.touch()
    environment = {
        "HOME": "/github/home",
        "RUNNER_TEMP": "/github/runner_temp",
        "GITHUB_WORKSPACE": "/github/workspace",
        "GITHUB_OUTPUT": f"/github/file_commands/{output.name}",
        "GITHUB_STEP_SUMMARY": f"/github/file_commands/{summary.name}",
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        **{f"INPUT_{name.replace(' ', '_').upper()}": value for name, value in inputs.items()},
        **(env or {}),
    }
    args = ["docker", "run", "--rm", "--network", "host", "--workdir", "/github/workspace"]
    for name in environment:
        args += ["-e", name]  # values travel in the environment, not argv (like the runner)
    args += [
        "-v",
        f"{dirs.temp}:/github/runner_temp",
        "-v",
        f"{dirs.home}:/github/home",
        "-v",
        f"{dirs.file_commands}:/github/file_commands",
        "-v",
        f"{dirs.workspace}:/github/workspace",
        image,
        # action.yml's args: the host's temp folder, untranslated
        "--runner-temp-on-host",
        str(dirs.temp),
    ]
    done = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **environment},
    )
    return ActionRun(done.returncode, done.stdout, done.stderr, output, summary)


def run_git(repo: Path, *args: str) -> str:
    """git in `repo`, trusted even when another uid owns it (the tests hand it to uid 1001)."""
    done = subprocess.run(
        ["git", "-c", "safe.directory=*", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


def make_workspace_repo(workspace: Path) -> str:
    """The checkout actions/checkout would leave: a repo with one commit on main."""
    workspace.mkdir(parents=True, exist_ok=True)
    run_git(workspace, "init", "-q", "-b", "main")
    (workspace / "README.md").write_text("# app\n")
    run_git(workspace, "add", "README.md")
    run_git(workspace, "commit", "-q", "-m", "initial")
    return run_git(workspace, "rev-parse", "HEAD")


__all__ = ["ROOT", "action_image", "docker_engine"]
