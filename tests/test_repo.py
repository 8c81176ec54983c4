"""engram_ci.sync.git_repo: the git plumbing layer, against real repositories."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from engram_ci import log
from engram_ci.errors import FatalError
from engram_ci.sync.git_repo import (
    EMPTY_TREE,
    FALLBACK_EMAIL,
    MODE_FILE,
    MODE_LINK,
    MODE_TREE,
    Entry,
    GitRepo,
    PushRejected,
    RefMoved,
    auth_origin,
    public_url,
)

from .repo_helpers import bare_remote, git


@pytest.fixture
def repo_path(tmp_path: Path) -> Path:
    path = tmp_path / "kr"
    git(tmp_path, "init", "-q", "-b", "main", str(path))
    return path


def _commit_files(repo: GitRepo, files: dict[str, bytes], parents: list[str]) -> str:
    names = sorted(files)
    shas = repo.write_blobs([files[n] for n in names])
    sub = repo.write_tree([Entry(n, MODE_FILE, s) for n, s in zip(names, shas, strict=True)])
    return repo.commit_tree(repo.write_tree([Entry("proj", MODE_TREE, sub)]), parents, "test")


def test_not_a_repo_names_init_repo(tmp_path: Path) -> None:
    with pytest.raises(FatalError, match="engram sync init-repo"):
        GitRepo.open(tmp_path)
    with pytest.raises(FatalError, match="not a git repository"):
        GitRepo.open(tmp_path / "missing")


def test_objects_round_trip_without_touching_the_work_tree(repo_path: Path) -> None:
    with GitRepo.open(repo_path) as repo:
        commit = _commit_files(repo, {"decisions.md": b"# D\n", "x.md": b"x\n"}, [])
        entry = repo.subtree(commit, "proj")
        assert entry is not None and entry.is_tree
        names = {e.name: e for e in repo.read_tree(entry.sha)}
        assert repo.read_blob(names["decisions.md"].sha) == b"# D\n"
        assert repo.tree_of(None) == EMPTY_TREE
    assert os.listdir(repo_path) == [".git"]  # nothing checked out


def test_update_branch_is_compare_and_swap(repo_path: Path) -> None:
    with GitRepo.open(repo_path) as repo:
        first = _commit_files(repo, {"a.md": b"1\n"}, [])
        second = _commit_files(repo, {"a.md": b"2\n"}, [first])
        repo.update_branch("side", first, None, "test")
        with pytest.raises(RefMoved):
            repo.update_branch("side", second, None, "test")  # must not exist: it does
        with pytest.raises(RefMoved):
            repo.update_branch("side", second, second, "test")  # stale old value
        repo.update_branch("side", second, first, "test")
        assert repo.branch_tip("side") == second
        assert repo.is_ancestor(first, second) and not repo.is_ancestor(second, first)


def test_advance_branch_updates_only_changed_paths_and_keeps_other_work(
    repo_path: Path,
) -> None:
    (repo_path / "notes.txt").write_text("mine\n")
    git(repo_path, "add", "notes.txt")
    git(repo_path, "commit", "-q", "-m", "user")
    (repo_path / "notes.txt").write_text("uncommitted edit\n")
    (repo_path / "scratch").write_text("untracked\n")
    with GitRepo.open(repo_path) as repo:
        head = repo.head_commit()
        assert head is not None
        root = repo.read_tree(repo.tree_of(head))
        sha = repo.write_blobs([b"# D\n"])[0]
        sub = repo.write_tree([Entry("decisions.md", MODE_FILE, sha)])
        tree = repo.write_tree([*root, Entry("proj", MODE_TREE, sub)])
        new = repo.commit_tree(tree, [head], "add proj")
        repo.advance_branch("main", head, new, "test", sync_work_tree=True)
    assert (repo_path / "proj" / "decisions.md").read_text() == "# D\n"
    assert (repo_path / "notes.txt").read_text() == "uncommitted edit\n"
    assert (repo_path / "scratch").read_text() == "untracked\n"
    status = git(repo_path, "status", "--porcelain")
    assert status.splitlines() == [" M notes.txt", "?? scratch"]


def test_advance_branch_refuses_to_overwrite_uncommitted_edits(repo_path: Path) -> None:
    with GitRepo.open(repo_path) as repo:
        first = _commit_files(repo, {"decisions.md": b"1\n"}, [])
        repo.advance_branch("main", None, first, "test", sync_work_tree=True)
        (repo_path / "proj" / "decisions.md").write_text("my edit\n")
        second = _commit_files(repo, {"decisions.md": b"2\n"}, [first])
        with pytest.raises(FatalError, match="uncommitted changes"):
            repo.advance_branch("main", first, second, "test", sync_work_tree=True)
        assert repo.branch_tip("main") == first
    assert (repo_path / "proj" / "decisions.md").read_text() == "my edit\n"


def test_commits_without_identity_use_the_fallback(
    repo_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    for name in ("EMAIL", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(name, raising=False)
    with GitRepo.open(repo_path) as repo:
        commit = _commit_files(repo, {"a.md": b"a\n"}, [])
    assert git(repo_path, "log", "-1", "--format=%an <%ae>", commit) == (
        f"engram-ci <{FALLBACK_EMAIL}>"
    )


def test_push_is_never_forced_and_reports_rejection(tmp_path: Path, repo_path: Path) -> None:
    remote = bare_remote(tmp_path)
    git(repo_path, "remote", "add", "origin", str(remote))
    with GitRepo.open(repo_path) as repo:
        first = _commit_files(repo, {"a.md": b"1\n"}, [])
        repo.push("origin", first, "main")
        assert repo.fetch_branch("origin", "main") == first
        assert repo.fetch_branch("origin", "nope") is None
        rival = _commit_files(repo, {"a.md": b"rival\n"}, [])  # unrelated history
        with pytest.raises(PushRejected):
            repo.push("origin", rival, "main")
    assert git(remote, "rev-parse", "main") == first


def test_authorize_passes_the_token_in_the_environment_only(repo_path: Path) -> None:
    token = "tok-" + "a" * 20
    with GitRepo.open(repo_path) as repo:
        repo.authorize("https://user@example.invalid/org/repo.git", token)
        env = repo._git.environment()
    header = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    keys = {env[k]: env[k.replace("KEY", "VALUE")] for k in env if k.startswith("GIT_CONFIG_KEY")}
    assert keys["http.https://example.invalid/.extraheader"] == f"AUTHORIZATION: basic {header}"
    assert keys["safe.directory"]
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert token not in (repo_path / ".git" / "config").read_text()
    assert log.mask(f"x {token} {header}") == "x *** ***"


def test_safe_directory_lets_root_use_a_repo_owned_by_another_uid(repo_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to chown the repository to another uid")
    for folder, _, files in os.walk(repo_path):
        for name in [folder, *(os.path.join(folder, f) for f in files)]:
            os.chown(name, 12345, 12345)
    assert "dubious ownership" in _git_stderr(repo_path, "status")
    with GitRepo.open(repo_path) as repo:
        commit = _commit_files(repo, {"a.md": b"a\n"}, [])
        repo.update_branch("main", commit, None, "test")
        assert repo.current_branch() == "main"
        assert repo.branch_tip("main") == commit
    assert "safe" not in Path(os.environ["GIT_CONFIG_GLOBAL"]).read_text()


def _git_stderr(cwd: Path, *args: str) -> str:
    import subprocess

    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True).stderr


def test_url_helpers_hide_credentials() -> None:
    assert public_url("https://x:secret@github.com/o/r.git") == "https://github.com/o/r.git"
    assert auth_origin("https://x:secret@github.com:8443/o/r") == "https://github.com:8443/"
    assert auth_origin("/srv/git/repo.git") is None
    assert auth_origin("git@github.com:o/r.git") is None


def test_an_entry_is_described_in_a_persons_words() -> None:
    def kind(mode: int) -> str:
        return Entry("x", mode, "0" * 40).describe()

    assert kind(MODE_LINK) == "symlink" and kind(MODE_TREE) == "directory"
    # a file, an executable, an old group-writable file: no "mode 100644"
    assert kind(MODE_FILE) == kind(0o100755) == kind(0o100664) == "file"
    assert kind(0o170000) == "tree entry of unknown type (git mode 170000)"


def test_an_old_gits_group_writable_file_is_a_file(repo_path: Path) -> None:
    # git before 1.5 wrote 100664; git itself still reads it as a file, so must we (it was
    # refused as "a file, not a file")
    import subprocess

    with GitRepo.open(repo_path) as repo:
        (blob,) = repo.write_blobs([b"# bugs\n"])
    raw = b"100664 bugs.md\0" + bytes.fromhex(blob)
    tree = (
        subprocess.run(
            ["git", "hash-object", "-t", "tree", "--literally", "-w", "--stdin"],
            cwd=repo_path,
            input=raw,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    with GitRepo.open(repo_path) as repo:
        (entry,) = repo.read_tree(tree)
    assert entry.mode == 0o100664 and entry.is_regular_file and entry.describe() == "file"
    assert not Entry("x", MODE_LINK, blob).is_regular_file
    assert not Entry("x", MODE_TREE, blob).is_regular_file


def test_a_subdirectory_of_a_repo_points_at_the_top_level(repo_path: Path) -> None:
    (repo_path / "proj").mkdir()
    with pytest.raises(FatalError, match=f"inside the git repository {repo_path}"):
        GitRepo.open(repo_path / "proj")


def test_a_token_is_never_sent_to_a_remote_that_is_not_http(repo_path: Path) -> None:
    token = "tok-" + "b" * 20
    with GitRepo.open(repo_path) as repo:
        for url in ("/srv/knowledge.git", "git@github.com:org/repo.git", "file:///srv/k.git"):
            repo.authorize(url, token)
        env = repo._git.environment()
    assert not any(token in value for value in env.values())
    assert not any(k.startswith("GIT_CONFIG_KEY") and "extraheader" in env[k] for k in env)


@pytest.mark.parametrize("name", ["-rf", "a..b", "with space", "end.lock", ""])
def test_branch_names_git_refuses_are_one_line(repo_path: Path, name: str) -> None:
    with GitRepo.open(repo_path) as repo:
        with pytest.raises(FatalError, match=r"invalid branch name .*use a name git accepts"):
            repo.check_branch_name(name)
        assert repo.check_branch_name("agent-a") == "agent-a"


def test_nothing_in_nothing_out(repo_path: Path) -> None:
    with GitRepo.open(repo_path) as repo:
        assert repo.write_blobs([]) == []
        assert repo.subtree(None, "proj") is None  # an unborn branch holds no project


def test_local_config_is_set_read_and_unset(repo_path: Path) -> None:
    with GitRepo.open(repo_path) as repo:
        assert repo.config_get("engram.test") is None
        repo.config_set_local("engram.test", "one")
        assert repo.config_get("engram.test") == "one"
        repo.config_unset_local("engram.test")
        repo.config_unset_local("engram.test")  # unsetting what is not there is fine
        assert repo.config_get("engram.test") is None
