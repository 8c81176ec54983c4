"""One redaction step for every upload (sync/outbound.py): a planted secret never leaves by
any path — gist create and update, encrypted or not, repo push, the Action's push, export —
and the local copy keeps it. Every revision / commit the store ever received is searched,
not just the last one. (Comment out the redaction in outbound.redact_outbound and every test
here fails: that is the point.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from engram_ci.cli import app as cli
from engram_ci.memory.paths import MemoryLayout
from engram_ci.sync import crypto, gistsync, reposync
from engram_ci.sync.crypto import Cipher
from engram_ci.sync.outbound import redact_outbound, redact_value
from tests.github_server import GitHubStandIn
from tests.test_action import Step, step  # noqa: F401  (the Action's step fixture)

from .repo_helpers import add_block, engram_env, git

TOKEN = "ghp_OutboundTestToken0000000000000000001"
SECRET = "ghp_Pl4nt3dS3cr3tV4lu3Xy9Zq8Wp7Lm6Kj5Hg4"
LATER = "ghp_L4t3rPl4nt3dT0k3nQw3rTy8Uu7Ii6Oo5Pp4Zz"
P = "proj"


@pytest.fixture
def gh(github_as: Callable[..., GitHubStandIn]) -> GitHubStandIn:
    return github_as(TOKEN)


def planted(tmp_path: Path, name: str = "mem", project: str = P) -> MemoryLayout:
    layout = MemoryLayout(tmp_path / name)
    add_block(layout, project, "s1", f"- logged in with {SECRET} to deploy")
    return layout


def every_revision(gh: GitHubStandIn, gist_id: str) -> str:
    return "".join("".join(rev.files.values()) for rev in gh.gists[gist_id].revisions)


def local_text(layout: MemoryLayout, project: str = P) -> str:
    return (layout.knowledge_dir(project) / "decisions.md").read_text()


def test_the_step_redacts_a_copy_and_drops_blank_files() -> None:
    files = {"decisions.md": f"token {SECRET}\n", "bugs.md": "  \n"}
    out, found = redact_outbound(files)
    assert found == 1 and set(out) == {"decisions.md"} and SECRET not in out["decisions.md"]
    assert SECRET in files["decisions.md"]  # the caller's copy untouched
    value = redact_value({"k": [SECRET, 3], SECRET: None})
    assert SECRET not in json.dumps(value) and value["k"][1] == 3


def test_gist_create_and_update(gh: GitHubStandIn, tmp_path: Path) -> None:
    layout = planted(tmp_path)
    created = gistsync.push(layout.root, P)
    add_block(layout, P, "s2", f"- and later {LATER}")
    updated = gistsync.push(layout.root, P)
    assert updated.changed and gh.revisions(created.gist_id) == 2
    uploaded = every_revision(gh, created.gist_id)
    assert SECRET not in uploaded and LATER not in uploaded
    assert SECRET in local_text(layout) and LATER in local_text(layout)


def test_encrypted_gist_create_and_update(gh: GitHubStandIn, tmp_path: Path) -> None:
    cipher = Cipher(passphrase="correct horse battery staple")
    layout = planted(tmp_path)
    created = gistsync.push(layout.root, P, cipher=cipher)
    add_block(layout, P, "s2", f"- and later {LATER}")
    gistsync.push(layout.root, P, cipher=cipher)
    revisions = gh.gists[created.gist_id].revisions
    assert len(revisions) == 2
    for rev in revisions:
        opened = "".join(crypto.open_files(rev.files, cipher, source="test").values())
        assert "s1" in opened and SECRET not in opened and LATER not in opened
    assert SECRET in local_text(layout)


def test_repo_push(tmp_path: Path) -> None:
    repo = tmp_path / "kr"
    reposync.init_repo(repo)
    layout = planted(tmp_path)
    reposync.push_repo(layout.root, P, repo)
    add_block(layout, P, "s2", f"- and later {LATER}")
    reposync.push_repo(layout.root, P, repo)
    history = git(repo, "log", "-p", "--all")
    assert "s2" in history and SECRET not in history and LATER not in history
    assert SECRET in local_text(layout) and LATER in local_text(layout)


def test_the_actions_push(
    step: Step,  # noqa: F811
    github_server: GitHubStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    github_server.add_token(TOKEN)
    memory = step.memory
    add_block(memory, "app", "s1", f"- logged in with {SECRET} to deploy")
    code = step.run(
        capsys, token=TOKEN, api_url=github_server.api_url, project="app", skip_ingest="true"
    )
    assert code == 0, step.stdout + step.stderr
    gist_id = step.outputs["gist-id"]
    assert "s1" in every_revision(github_server, gist_id)
    assert SECRET not in every_revision(github_server, gist_id)
    assert int(step.outputs["secrets-redacted"]) >= 1
    assert SECRET in local_text(memory, "app")


@pytest.mark.parametrize("fmt", ["json", "markdown", "html"])
def test_export(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    layout = planted(tmp_path)
    meta = layout.conversation_dir(P, "s1") / "meta.json"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"session_id": "s1", "title": f"used {LATER}"}))
    assert cli.main(["export", P, fmt, "--memory-dir", str(layout.root)]) == 0
    out = capsys.readouterr().out
    assert "s1" in out and SECRET not in out and LATER not in out
    assert cli.main(["export", P, fmt, "--no-redact", "--memory-dir", str(layout.root)]) == 0
    assert SECRET in capsys.readouterr().out


def test_export_to_a_file_for_gpg(tmp_path: Path) -> None:
    layout = planted(tmp_path)
    target = tmp_path / "out.json"
    done = subprocess.run(
        [sys.executable, "-m", "engram_ci", "export", P, "json", "-o", str(target)],
        env=engram_env(ENGRAM_MEMORY_DIR=str(layout.root)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert SECRET not in target.read_text()
