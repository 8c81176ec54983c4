"""Encrypted sync end to end: gists through the GitHub stand-in, repos through real git.

The remote must hold only ciphertext and the manifest (no block text, no session ids), pull
must decrypt, two machines must still merge at block level (decrypt, merge, encrypt), and a
wrong or missing key must fail with exit 1 leaving every local file as it was.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pyrage import x25519

from engram_ci.errors import FatalError
from engram_ci.memory.paths import MemoryLayout
from engram_ci.sync import crypto, gistsync, reposync
from engram_ci.sync.crypto import MANIFEST_FILE, PAYLOAD_FILE, Cipher
from tests.github_server import GitHubStandIn

from .repo_helpers import add_block, engram_env, git, run_engram

TOKEN = "ghp_EncryptedSyncTestToken0000000000001"
P = "proj"
MARKER = "PLAINTEXT-NEEDLE"


@pytest.fixture
def gh(github_as: Callable[..., GitHubStandIn]) -> GitHubStandIn:
    return github_as(TOKEN)


def new_key() -> tuple[str, str]:
    identity = x25519.Identity.generate()
    return str(identity), str(identity.to_public())


@pytest.fixture
def team() -> tuple[Cipher, Cipher]:
    """Two machines sharing one recipient set, each with its own identity."""
    (secret_a, public_a), (secret_b, public_b) = new_key(), new_key()
    recipients = (public_a, public_b)
    return (
        Cipher(recipients=recipients, identities=(secret_a,)),
        Cipher(recipients=recipients, identities=(secret_b,)),
    )


def machine(tmp_path: Path, name: str, *sessions: str) -> MemoryLayout:
    layout = MemoryLayout(tmp_path / name)
    for session in sessions:
        add_block(layout, P, session, f"- {MARKER} learned in {session}")
    return layout


def sessions_of(text: str) -> set[str]:
    return set(re.findall(r"^## Session: (\S+)", text, re.M))


def local_sessions(layout: MemoryLayout) -> set[str]:
    return sessions_of((layout.knowledge_dir(P) / "decisions.md").read_text())


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under the memory root except the (empty) lock file a sync may create."""
    files = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    files.pop(".engram-ci/memory.lock", None)
    return files


def assert_only_ciphertext(files: dict[str, str], *sessions: str) -> None:
    assert set(files) <= {MANIFEST_FILE, PAYLOAD_FILE, "metadata.json"}
    assert {MANIFEST_FILE, PAYLOAD_FILE} <= set(files)
    everything = "\n".join(files.values())
    assert MARKER not in everything
    for session in sessions:
        assert session not in everything


# -- gists ------------------------------------------------------------------------------------


def test_gist_holds_only_ciphertext_and_pull_decrypts(
    gh: GitHubStandIn, tmp_path: Path, team: tuple[Cipher, Cipher]
) -> None:
    alice, bob = team
    a = machine(tmp_path, "a", "sess-a1", "sess-a2")
    pushed = gistsync.push(a.root, P, cipher=alice)
    assert_only_ciphertext(gh.files(pushed.gist_id), "sess-a1", "sess-a2")
    assert gh.files(pushed.gist_id)[PAYLOAD_FILE].startswith("-----BEGIN AGE ENCRYPTED FILE-----")

    b = machine(tmp_path, "b")
    gistsync.pull(b.root, P, pushed.gist_id, cipher=bob)
    assert local_sessions(b) == {"sess-a1", "sess-a2"}
    assert (b.knowledge_dir(P) / "decisions.md").read_text() == (
        a.knowledge_dir(P) / "decisions.md"
    ).read_text()


def test_two_machines_merge_blocks_through_an_encrypted_gist(
    gh: GitHubStandIn, tmp_path: Path, team: tuple[Cipher, Cipher]
) -> None:
    alice, bob = team
    a = machine(tmp_path, "a", "sess-a1")
    gist_id = gistsync.push(a.root, P, cipher=alice).gist_id
    b = machine(tmp_path, "b", "sess-b1")  # b has its own block and never pulled
    gistsync.push(b.root, P, gist_id=gist_id, cipher=bob)
    add_block(a, P, "sess-a2", "- later on a")
    gistsync.push(a.root, P, gist_id=gist_id, cipher=alice)

    assert local_sessions(a) == {"sess-a1", "sess-a2", "sess-b1"}
    remote = crypto.open_files(gh.files(gist_id), bob)
    assert sessions_of(remote["decisions.md"]) == {"sess-a1", "sess-a2", "sess-b1"}
    assert_only_ciphertext(gh.files(gist_id), "sess-a1", "sess-a2", "sess-b1")
    gistsync.pull(b.root, P, gist_id, cipher=bob)
    assert local_sessions(b) == {"sess-a1", "sess-a2", "sess-b1"}


def test_an_unchanged_encrypted_push_sends_no_patch(
    gh: GitHubStandIn, tmp_path: Path, team: tuple[Cipher, Cipher]
) -> None:
    alice, _ = team
    a = machine(tmp_path, "a", "sess-a1")
    first = gistsync.push(a.root, P, cipher=alice)
    revisions = gh.revisions(first.gist_id)
    again = gistsync.push(a.root, P, cipher=alice)
    assert not again.changed
    assert gh.revisions(first.gist_id) == revisions


def test_a_new_team_member_gets_the_gist_resealed(
    gh: GitHubStandIn, tmp_path: Path, team: tuple[Cipher, Cipher]
) -> None:
    alice, _ = team
    a = machine(tmp_path, "a", "sess-a1")
    gist_id = gistsync.push(a.root, P, cipher=alice).gist_id
    carol_secret, carol_public = new_key()
    grown = Cipher(recipients=(*alice.recipients, carol_public), identities=alice.identities)
    assert gistsync.push(a.root, P, gist_id=gist_id, cipher=grown).changed
    carol = machine(tmp_path, "c")
    gistsync.pull(carol.root, P, gist_id, cipher=Cipher(identities=(carol_secret,)))
    assert local_sessions(carol) == {"sess-a1"}


def test_a_job_holding_only_public_keys_can_create_the_encrypted_gist(
    gh: GitHubStandIn, tmp_path: Path, team: tuple[Cipher, Cipher]
) -> None:
    """CI with the team's recipients and no private key: the first push creates the gist
    (nothing to read back); a later push must merge, so it asks for an identity."""
    alice, _ = team
    public_only = Cipher(recipients=alice.recipients)
    ci = machine(tmp_path, "ci", "sess-ci1")
    result = gistsync.push(ci.root, P, cipher=public_only)
    assert result.created and result.blocks_added == 1
    assert_only_ciphertext(gh.files(result.gist_id), "sess-ci1")

    add_block(ci, P, "sess-ci2", f"- {MARKER} later")
    with pytest.raises(FatalError, match="identity"):
        gistsync.push(ci.root, P, cipher=public_only)
    laptop = machine(tmp_path, "laptop")
    gistsync.pull(laptop.root, P, result.gist_id, cipher=alice)
    assert local_sessions(laptop) == {"sess-ci1"}


def test_gist_pull_with_a_wrong_or_missing_key_touches_nothing(
    gh: GitHubStandIn, tmp_path: Path, team: tuple[Cipher, Cipher]
) -> None:
    alice, _ = team
    gist_id = gistsync.push(machine(tmp_path, "a", "sess-a1").root, P, cipher=alice).gist_id
    b = machine(tmp_path, "b", "sess-b1")
    before = snapshot(b.root)
    stranger = Cipher(identities=(new_key()[0],))
    with pytest.raises(FatalError, match="none of your identities"):
        gistsync.pull(b.root, P, gist_id, cipher=stranger)
    with pytest.raises(FatalError, match="encrypted") as keyless:
        gistsync.pull(b.root, P, gist_id)
    assert "--identity FILE (or $ENGRAM_AGE_IDENTITY)" in keyless.value.worded("cli")
    assert "the `identity` input (or $ENGRAM_AGE_IDENTITY)" in keyless.value.worded("action")
    with pytest.raises(FatalError, match="none of your identities"):
        gistsync.push(b.root, P, gist_id=gist_id, cipher=stranger)
    assert snapshot(b.root) == before
    assert crypto.open_files(gh.files(gist_id), alice)  # and the gist is still alice's


def test_cli_gist_pull_wrong_key_exits_1_right_key_merges(
    gh: GitHubStandIn, tmp_path: Path, team: tuple[Cipher, Cipher]
) -> None:
    alice, _ = team
    gist_id = gistsync.push(machine(tmp_path, "a", "sess-a1").root, P, cipher=alice).gist_id
    b = machine(tmp_path, "b", "sess-b1")
    before = snapshot(b.root)
    wrong = tmp_path / "wrong.key"
    wrong.write_text(new_key()[0] + "\n")
    env = engram_env(ENGRAM_AGE_IDENTITY=str(wrong), ENGRAM_MEMORY_DIR=str(b.root))
    done = run_engram("sync", "pull", P, gist_id, "--encrypt", env=env)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot(b.root) == before

    right = engram_env(ENGRAM_AGE_IDENTITY=alice.identities[0], ENGRAM_MEMORY_DIR=str(b.root))
    done = run_engram("sync", "pull", P, gist_id, "--encrypt", env=right)
    assert done.returncode == 0, done.stderr
    assert local_sessions(b) == {"sess-a1", "sess-b1"}
    assert alice.identities[0] not in done.stdout + done.stderr


# -- repos ------------------------------------------------------------------------------------


@pytest.fixture
def kr(tmp_path: Path) -> Path:
    path = tmp_path / "kr"
    reposync.init_repo(path)
    return path


def every_blob(repo: Path) -> str:
    """The text of every object in the repository, reachable or not."""
    listing = git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)")
    return "\n".join(git(repo, "cat-file", "-p", sha) for sha in listing.split())


def test_repo_holds_only_ciphertext_and_pull_decrypts(
    kr: Path, tmp_path: Path, team: tuple[Cipher, Cipher]
) -> None:
    alice, bob = team
    a = machine(tmp_path, "a", "sess-a1")
    reposync.push_repo(a.root, P, kr, cipher=alice)
    names = set(git(kr, "ls-tree", "--name-only", f"HEAD:{P}").split())
    assert names == {MANIFEST_FILE, PAYLOAD_FILE, "metadata.json"}
    assert MARKER not in every_blob(kr) and "sess-a1" not in every_blob(kr)
    assert MARKER not in "".join(p.read_text() for p in (kr / P).iterdir())  # working tree

    b = machine(tmp_path, "b")
    reposync.pull_repo(b.root, P, kr, cipher=bob)
    assert local_sessions(b) == {"sess-a1"}


def test_two_machines_merge_blocks_through_an_encrypted_repo(
    tmp_path: Path, team: tuple[Cipher, Cipher]
) -> None:
    alice, bob = team
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    clones = []
    for name in ("kr-a", "kr-b"):
        reposync.init_repo(tmp_path / name)
        git(tmp_path / name, "remote", "add", "origin", str(remote))
        clones.append(tmp_path / name)
    git(clones[0], "push", "-q", "origin", "main")
    git(clones[1], "fetch", "-q", "origin")
    git(clones[1], "reset", "-q", "--hard", "origin/main")

    a = machine(tmp_path, "a", "sess-a1")
    b = machine(tmp_path, "b", "sess-b1")
    reposync.push_repo(a.root, P, clones[0], cipher=alice, push_remote=True)
    reposync.push_repo(b.root, P, clones[1], cipher=bob, push_remote=True, sleep=lambda _: None)
    reposync.pull_repo(a.root, P, clones[0], cipher=alice, fetch_remote=True)

    assert local_sessions(a) == {"sess-a1", "sess-b1"}
    assert local_sessions(b) == {"sess-a1", "sess-b1"}
    blobs = every_blob(remote)
    assert MARKER not in blobs and "sess-b1" not in blobs


def test_repo_pull_with_a_wrong_key_touches_nothing(
    kr: Path, tmp_path: Path, team: tuple[Cipher, Cipher]
) -> None:
    alice, _ = team
    reposync.push_repo(machine(tmp_path, "a", "sess-a1").root, P, kr, cipher=alice)
    b = machine(tmp_path, "b", "sess-b1")
    before = snapshot(b.root)
    with pytest.raises(FatalError, match="none of your identities"):
        reposync.pull_repo(b.root, P, kr, cipher=Cipher(identities=(new_key()[0],)))
    with pytest.raises(FatalError, match="encrypted"):
        reposync.pull_repo(b.root, P, kr)
    assert snapshot(b.root) == before


def test_a_plain_push_never_lands_beside_an_encrypted_project(
    kr: Path, tmp_path: Path, team: tuple[Cipher, Cipher]
) -> None:
    alice, _ = team
    reposync.push_repo(machine(tmp_path, "a", "sess-a1").root, P, kr, cipher=alice)
    head = git(kr, "rev-parse", "HEAD")
    with pytest.raises(FatalError, match="encrypted"):
        reposync.push_repo(machine(tmp_path, "b", "sess-b1").root, P, kr)
    assert git(kr, "rev-parse", "HEAD") == head
    assert "sess-b1" not in every_blob(kr)


# -- the seed's gpg pipeline ------------------------------------------------------------------


def test_export_json_is_pure_json_for_a_gpg_pipeline(tmp_path: Path) -> None:
    layout = machine(tmp_path, "m", "sess-a1")
    env = engram_env(ENGRAM_MEMORY_DIR=str(layout.root))
    export = subprocess.run(
        [sys.executable, "-m", "engram_ci", "export", P, "json"],
        env=env,
        capture_output=True,
        timeout=60,
        check=True,
    )
    import json

    assert json.loads(export.stdout)  # stdout is the document and nothing else
    gpg = shutil.which("gpg")
    if gpg is None:
        pytest.skip("gpg is not installed: the pipe itself can't be run here")
    gnupg_home = tmp_path / "gnupg"
    gnupg_home.mkdir(mode=0o700)
    out = tmp_path / "knowledge.json.gpg"
    pipeline = (
        f"{sys.executable} -m engram_ci export {P} json | {gpg} --batch --yes --quiet "
        f"--pinentry-mode loopback --passphrase x --symmetric -o {out}"
    )
    subprocess.run(
        ["sh", "-c", pipeline],
        env={**env, "GNUPGHOME": str(gnupg_home)},
        check=True,
        timeout=60,
        capture_output=True,
    )
    assert MARKER.encode() not in out.read_bytes()
    decrypted = subprocess.run(
        [gpg, "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", "x", "-d"],
        input=out.read_bytes(),
        env={**env, "GNUPGHOME": str(gnupg_home)},
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert json.loads(decrypted.stdout) == json.loads(export.stdout)


def test_cli_repo_round_trip_and_wrong_key(kr: Path, tmp_path: Path) -> None:
    secret, _ = new_key()
    key_file = tmp_path / "me.key"
    key_file.write_text(secret + "\n")
    a = machine(tmp_path, "a", "sess-a1")
    push = subprocess.run(
        [sys.executable, "-m", "engram_ci", "sync", "push-repo", P, str(kr), "--identity",
         str(key_file)],
        env=engram_env(ENGRAM_MEMORY_DIR=str(a.root)),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert push.returncode == 0, push.stderr
    assert MARKER not in every_blob(kr)

    b = machine(tmp_path, "b", "sess-b1")
    before = snapshot(b.root)
    wrong = tmp_path / "wrong.key"
    wrong.write_text(new_key()[0] + "\n")
    for extra in ([], ["--encrypt"]):
        pull = subprocess.run(
            [sys.executable, "-m", "engram_ci", "sync", "pull-repo", P, str(kr), *extra],
            env=engram_env(ENGRAM_MEMORY_DIR=str(b.root), ENGRAM_AGE_IDENTITY=str(wrong)),
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert pull.returncode == 1, pull.stderr
        assert "Traceback" not in pull.stderr and "crypt" in pull.stderr
        assert secret not in pull.stderr
    assert snapshot(b.root) == before
