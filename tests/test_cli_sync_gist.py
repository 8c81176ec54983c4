"""`engram sync push|pull|clone|list|history` as a user runs them, errors included."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from engram_ci.cli import app as cli
from engram_ci.memory.paths import MemoryLayout
from tests.conftest import ROOT
from tests.github_server import GitHubStandIn

TOKEN = "ghp_CliTestTokenValue0000000000000000001"


@pytest.fixture
def gh(github_as: Callable[..., GitHubStandIn]) -> GitHubStandIn:
    return github_as(TOKEN, retry_seconds=1)


def block(session: str) -> str:
    return f"## Session: {session} (2025-01-01T00:00:00Z)\n\n- note of {session}\n"


def seed(layout: MemoryLayout, project: str, *sessions: str) -> None:
    directory = layout.knowledge_dir(project)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "decisions.md").write_text("# Decisions\n\n" + "\n".join(map(block, sessions)))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_push_prints_id_url_and_the_pull_command(
    gh: GitHubStandIn, memory: MemoryLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(memory, "proj", "s1")
    code, out, _ = run(capsys, "sync", "push", "proj", "--memory-dir", str(memory.root))
    assert code == 0
    (gist_id,) = gh.gists
    assert gist_id in out and f"{gh.api_url}/gist/{gist_id}" in out
    assert f"engram sync pull proj {gist_id}" in out
    code, out, _ = run(capsys, "sync", "push", "proj", "--json", "--memory-dir", str(memory.root))
    result = json.loads(out)
    assert (code, result["gist_id"], result["changed"]) == (0, gist_id, False)
    assert TOKEN not in out


def test_pull_clone_list_and_history(
    gh: GitHubStandIn, memory: MemoryLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(memory, "proj", "s1")
    mem = ["--memory-dir", str(memory.root)]
    run(capsys, "sync", "push", "proj", *mem)
    (gist_id,) = gh.gists
    code, out, _ = run(capsys, "sync", "clone", gist_id, "copy", *mem)
    assert code == 0 and "pulled gist" in out
    assert "s1" in (memory.knowledge_dir("copy") / "decisions.md").read_text()
    code, out, _ = run(capsys, "sync", "pull", "proj", gist_id, "--json", *mem)
    assert (code, json.loads(out)["changed"]) == (0, False)
    code, out, _ = run(capsys, "sync", "list", "proj", "--json", *mem)
    assert [g["id"] for g in json.loads(out)] == [gist_id]
    code, out, _ = run(capsys, "sync", "list", "proj", *mem)
    assert gist_id in out
    code, out, _ = run(capsys, "sync", "history", gist_id, *mem)
    version = gh.gists[gist_id].head.version
    assert code == 0 and re.search(rf"^{version}\s+\S+\s+octocat\s+\+\d+ -0$", out, re.M)
    code, out, _ = run(capsys, "sync", "history", gist_id, "--version", version, "--json", *mem)
    data = json.loads(out)
    assert data["version"] == version and "decisions.md" in data["files"]


@pytest.mark.parametrize(
    ("token", "scopes", "expected"),
    [
        (None, (), r"GITHUB_TOKEN or GH_TOKEN"),
        ("ghp_UnknownToken000000000000000000000001", None, r"bad credentials"),
        ("ghp_ScopelessToken0000000000000000000001", ("repo",), r"`gist` scope.*GITHUB_TOKEN"),
    ],
)
def test_auth_errors_are_one_line_with_the_fix(
    github_server: GitHubStandIn,
    memory: MemoryLayout,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    token: str | None,
    scopes: tuple[str, ...] | None,
    expected: str,
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", github_server.api_url)
    monkeypatch.setenv("PATH", "/nonexistent")  # no `gh auth token` fallback
    if token:
        monkeypatch.setenv("GH_TOKEN", token)
        if scopes is not None:
            github_server.add_token(token, scopes)
    seed(memory, "proj", "s1")
    code, out, err = run(capsys, "sync", "push", "proj", "--memory-dir", str(memory.root))
    assert code == 1
    assert re.search(expected, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not token or token not in out + err


def test_unknown_gist_id(
    gh: GitHubStandIn, memory: MemoryLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "sync", "pull", "proj", "0badc0de", "--memory-dir", str(memory.root))
    assert code == 1
    assert "Gist not found: 0badc0de; check the id with `engram sync list proj`" in err
    assert not memory.knowledge_dir("proj").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["pull", "proj", "../../user"],
        ["clone", "../user", "other"],
        ["history", "x?per_page=1"],
        ["push", "proj", "--gist-id", "../user"],
        ["restore", "proj", "--gist-id", "../user", "--version", "abcdef1"],
    ],
)
def test_an_id_that_is_no_gist_id_never_reaches_a_url(
    argv: list[str], gh: GitHubStandIn, memory: MemoryLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(memory, "proj", "s1")
    code, _, err = run(capsys, "sync", *argv, "--memory-dir", str(memory.root))
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "the hex string that ends the gist's URL" in err
    assert gh.requests == []  # refused before any request was sent


def test_a_projects_name_given_for_a_gist_id_names_its_gist(
    gh: GitHubStandIn, memory: MemoryLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(memory, "proj", "s1")
    assert run(capsys, "sync", "push", "proj", "--memory-dir", str(memory.root))[0] == 0
    (gist_id,) = gh.gists
    code, _, err = run(capsys, "sync", "history", "proj", "--memory-dir", str(memory.root))
    assert code == 1 and f"'proj' is a project, and its gist is {gist_id}" in err
    url = f"https://gist.github.com/octocat/{gist_id}"  # what a browser shows
    code, out, _ = run(capsys, "sync", "history", url, "--memory-dir", str(memory.root))
    assert code == 0 and out.strip()


@pytest.mark.slow
def test_processes_pushing_to_one_gist_at_once_lose_no_block(
    gh: GitHubStandIn, tmp_path: Path
) -> None:
    """N real processes, each with its own memory (a different machine's sessions), push to
    one gist at the same moment: all succeed and the gist ends up with every block."""
    writers = 6
    seed_layout = MemoryLayout(tmp_path / "seed")
    seed(seed_layout, "proj", "seed")
    assert cli.main(["sync", "push", "proj", "--memory-dir", str(seed_layout.root)]) == 0
    (gist_id,) = gh.gists
    gh.patch_delay = 0.05  # widen the read-to-write window so the pushes really interleave
    env = {**os.environ, "ENGRAM_HTTP_RETRY_SECONDS": "30"}
    expected = {"seed"}
    procs = []
    for n in range(writers):
        layout = MemoryLayout(tmp_path / f"machine-{n}")
        mine = [f"m{n}-a", f"m{n}-b"]
        expected.update(mine)
        seed(layout, "proj", *mine)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "engram_ci", "sync", "push", "proj", "--gist-id",
                 gist_id, "--memory-dir", str(layout.root)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )  # fmt: skip
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    final = gh.files(gist_id)["decisions.md"]
    assert set(re.findall(r"^## Session: (\S+)", final, re.M)) == expected


def live_sessions(text: str) -> set[str]:
    from engram_ci.knowledge import blocks as knowledge

    return {b.session_id for b in knowledge.parse(text).live_blocks()}


def test_a_gist_of_another_project_is_refused_unless_adopted(
    gh: GitHubStandIn, memory: MemoryLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    mem = ["--memory-dir", str(memory.root)]
    seed(memory, "alpha", "a1")
    seed(memory, "beta", "b1")
    assert run(capsys, "sync", "push", "alpha", *mem)[0] == 0
    (alpha,) = gh.gists
    for argv in (("push", "beta", "--gist-id", alpha), ("pull", "beta", alpha)):
        code, _, err = run(capsys, "sync", *argv, *mem)
        assert code == 1 and len(err.strip().splitlines()) == 1, err
        assert "project 'alpha', not 'beta'" in err and "--adopt" in err
    assert gh.revisions(alpha) == 1
    assert live_sessions((memory.knowledge_dir("beta") / "decisions.md").read_text()) == {"b1"}
    code, _, err = run(capsys, "sync", "push", "beta", "--gist-id", alpha, "--adopt", *mem)
    assert code == 0, err
    assert json.loads(gh.files(alpha)["metadata.json"])["project"] == "beta"


def test_restore_sticks_and_versions_take_seven_characters(
    gh: GitHubStandIn, memory: MemoryLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    mem = ["--memory-dir", str(memory.root)]
    seed(memory, "proj", "v1")
    code, out, _ = run(capsys, "sync", "push", "proj", *mem)
    (gist_id,) = gh.gists
    first = gh.gists[gist_id].head.version
    assert f"revision {first}" in out  # the whole sha: history and pull accept it
    seed(memory, "proj", "v1", "v2")
    assert run(capsys, "sync", "push", "proj", *mem)[0] == 0
    code, out, _ = run(capsys, "sync", "restore", "proj", first[:7], *mem)
    assert code == 0 and f"restored version {first} of gist {gist_id}" in out
    assert run(capsys, "sync", "push", "proj", *mem)[0] == 0
    assert live_sessions(gh.files(gist_id)["decisions.md"]) == {"v1"}  # v2 not merged back
    # pull P <version prefix> is the same restore; history takes the prefix too
    code, out, _ = run(capsys, "sync", "pull", "proj", first[:8], *mem)
    assert code == 0 and f"restored version {first}" in out
    code, out, _ = run(capsys, "sync", "history", gist_id, "--version", first[:7], "--json", *mem)
    assert code == 0 and json.loads(out)["version"] == first
    # an unknown version and an unknown gist are different errors
    code, _, err = run(capsys, "sync", "restore", "proj", "deadbeef", *mem)
    assert code == 1 and "version deadbeef not found in gist" in err
    code, _, err = run(capsys, "sync", "restore", "proj", first[:7], "--gist-id", "0badc0de", *mem)
    assert code == 1 and "Gist not found: 0badc0de" in err


def test_pull_without_an_id_finds_the_projects_gist_as_the_action_does(
    gh: GitHubStandIn, memory: MemoryLayout, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The gist lookup is the library's (gistsync.find_gist), shared by both faces: the gist
    the project last synced with, else the owner's newest holding it."""
    other = ["--memory-dir", str(tmp_path / "fresh")]
    code, _, err = run(capsys, "sync", "pull", "proj", *other)
    assert code == 1
    assert "no gist of the token's owner holds project 'proj'" in err
    assert "`engram sync pull PROJECT ID`" in err and "gist-id` input" not in err
    seed(memory, "proj", "s1")
    run(capsys, "sync", "push", "proj", "--memory-dir", str(memory.root))
    (gist_id,) = gh.gists
    code, out, _ = run(capsys, "sync", "pull", "proj", "--json", *other)
    assert (code, json.loads(out)["gist_id"]) == (0, gist_id)
    assert "s1" in (tmp_path / "fresh" / "knowledge" / "proj" / "decisions.md").read_text()
