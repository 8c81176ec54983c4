"""Hostile inputs, each a test: nothing escapes the memory dir, nothing hangs (every run is a
child process with a timeout), memory stays bounded (peak RSS of the child is measured)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from engram_ci.knowledge import blocks as knowledge
from engram_ci.memory.paths import KNOWN_KNOWLEDGE_FILES, MemoryLayout
from engram_ci.sync import reposync
from tests.github_server import GitHubStandIn

from .repo_helpers import add_block, engram_env, git

TOKEN = "ghp_HostileInputsTestToken00000000000001"
P = "proj"
TIMEOUT = 120


def engram(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engram_ci", *args],
        env=engram_env(**env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,  # a hang fails the test instead of stalling the suite
        check=False,
    )


def files_under(root: Path, *, skip: Path | None = None) -> dict[str, bytes]:
    found = {}
    for path in root.rglob("*"):
        if skip is not None and path.is_relative_to(skip):
            continue
        if path.is_file() and not path.is_symlink():
            found[str(path.relative_to(root))] = path.read_bytes()
    return found


def block(session: str, body: str) -> str:
    return f"## Session: {session} (2025-01-01T00:00:00Z)\n\n{body}\n"


# -- gists ------------------------------------------------------------------------------------

HOSTILE_NAMES = [
    "../escape.md",
    "../../../../tmp/escape.md",
    "/tmp/absolute.md",
    "..",
    ".",
    "",
    "decisions.md/../../up.md",
    "..\\windows.md",
    "de\u0301cisions.md",  # NFD look-alike of decisions.md
    "decisions.md\u200b",  # zero-width space
    "\u202edm.snoisiced",  # right-to-left override
    "DECISIONS.MD",
    "decisions.md ",
    "con",
    "nul\x00.md",
    "metadata.json/../../x.md",
]


def test_gist_file_names_cannot_escape_the_memory_dir(
    github_server: GitHubStandIn, tmp_path: Path
) -> None:
    github_server.add_token(TOKEN)
    files = {
        name: f"# evil {i}\n\n## Session: evil-{i} (2025)\n" for i, name in enumerate(HOSTILE_NAMES)
    }
    files.update({f"bulk-{i:04}.md": "# filler\n" for i in range(400)})  # the listing is cut
    files["decisions.md"] = "# Decisions\n\n" + block("good-1", "- kept")
    files["metadata.json"] = json.dumps({"project": P, "tool": "engram"})
    gist_id = github_server.create_gist(files)
    memory = tmp_path / "memory"
    outside_before = files_under(tmp_path, skip=memory)

    done = engram(
        "sync", "pull", P, gist_id,
        ENGRAM_MEMORY_DIR=str(memory), GITHUB_TOKEN=TOKEN, GITHUB_API_URL=github_server.api_url,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr
    assert files_under(tmp_path, skip=memory) == outside_before  # nothing written outside
    knowledge_dir = MemoryLayout(memory).knowledge_dir(P)
    written = {p.name for p in knowledge_dir.iterdir()} if knowledge_dir.is_dir() else set()
    assert written <= KNOWN_KNOWLEDGE_FILES
    for path in memory.rglob("*"):
        assert path.resolve().is_relative_to(memory.resolve())
        assert "evil" not in path.name and "escape" not in path.name
    if done.returncode == 0:
        text = (knowledge_dir / "decisions.md").read_text()
        assert {b.session_id for b in knowledge.parse(text).live_blocks()} == {"good-1"}


# -- repos ------------------------------------------------------------------------------------


def test_repo_knowledge_files_that_are_symlinks_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside-secret.txt"
    outside.write_text("OUTSIDE-SECRET\n")
    kr = tmp_path / "kr"
    reposync.init_repo(kr)
    (kr / P).mkdir()
    (kr / P / "decisions.md").symlink_to("/etc/passwd")
    (kr / P / "bugs.md").symlink_to(outside)
    (kr / P / "solutions.md").symlink_to("../../outside-secret.txt")
    (kr / P / "patterns.md").write_text("# Patterns\n\n" + block("good-1", "- kept"))
    git(kr, "add", "-A")
    git(kr, "commit", "-q", "-m", "hostile links")
    memory = tmp_path / "memory"

    done = engram("sync", "pull-repo", P, str(kr), ENGRAM_MEMORY_DIR=str(memory))
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr
    assert "not a regular file" in done.stderr or "refus" in done.stderr
    for path in memory.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"OUTSIDE-SECRET" not in data and b"root:" not in data
            assert not path.is_symlink()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_local_knowledge_fifos_and_symlinks_neither_hang_nor_leak(tmp_path: Path) -> None:
    outside = tmp_path / "outside-secret.txt"
    outside.write_text("OUTSIDE-SECRET\n")
    layout = MemoryLayout(tmp_path / "memory")
    add_block(layout, P, "good-1", "- kept")
    directory = layout.knowledge_dir(P)
    os.mkfifo(directory / "bugs.md")  # opening it for reading would block forever
    (directory / "solutions.md").symlink_to(outside)
    kr = tmp_path / "kr"
    reposync.init_repo(kr)
    os.mkfifo(kr / "stray-fifo")  # and one in the repository's working tree

    done = engram("sync", "push-repo", P, str(kr), ENGRAM_MEMORY_DIR=str(layout.root))
    assert done.returncode == 0, done.stderr
    everything = git(kr, "log", "-p", "--all")
    assert "good-1" in everything and "OUTSIDE-SECRET" not in everything


# -- transcripts ------------------------------------------------------------------------------


def peak_rss_of(argv: list[str], env: dict[str, str]) -> tuple[int, str, int]:
    """(exit code, output, peak RSS in bytes) of a child, sampled every 5 ms."""
    child = psutil.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = 0
    deadline = time.monotonic() + TIMEOUT
    while child.poll() is None:
        if time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"{argv} did not finish in {TIMEOUT}s")
        try:
            peak = max(peak, child.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.005)
    out, _ = child.communicate()
    return int(child.returncode), out.decode("utf-8", "replace"), peak


def _line(session: str, content: str, uuid: str) -> str:
    return json.dumps(
        {
            "type": "user",
            "uuid": uuid,
            "sessionId": session,
            "timestamp": "2025-01-01T00:00:00Z",
            "cwd": "/home/dev/hostile",
            "message": {"role": "user", "content": content},
        }
    )


@pytest.mark.slow
def test_huge_lines_deep_nesting_and_invalid_utf8_are_skipped_in_bounded_memory(
    tmp_path: Path,
) -> None:
    sessions = tmp_path / "projects" / "-home-dev-hostile"
    sessions.mkdir(parents=True)
    small = sessions / "small.jsonl"
    small.write_text(_line("s-small", "a normal prompt", "u1") + "\n")
    hostile = sessions / "hostile.jsonl"
    with hostile.open("wb") as out:
        out.write((_line("s-hostile", "the prompt before the bad lines", "u2") + "\n").encode())
        out.write((_line("s-hostile", "A" * (50 * 1024 * 1024), "u3") + "\n").encode())
        out.write(b"[" * 200_000 + b"\n")
        out.write(b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"\n")
        out.write(b'{"type": "user", "message": {"content": "\xff\xfe\xc3(bad"}}\n')
        out.write((_line("s-hostile", "the prompt after the bad lines", "u4") + "\n").encode())

    def run(root: Path, memory: Path) -> tuple[int, str, int]:
        env = engram_env(ENGRAM_SESSIONS_DIR=str(root), ENGRAM_MEMORY_DIR=str(memory))
        return peak_rss_of([sys.executable, "-m", "engram_ci", "ingest"], env)

    baseline_root = tmp_path / "baseline"
    (baseline_root / "-home-dev-hostile").mkdir(parents=True)
    (baseline_root / "-home-dev-hostile" / "small.jsonl").write_bytes(small.read_bytes())
    _, _, baseline = run(baseline_root, tmp_path / "baseline-memory")

    code, output, peak = run(tmp_path / "projects", tmp_path / "memory")
    assert code == 0, output
    assert "Traceback" not in output
    archive = "\n".join(p.read_text() for p in (tmp_path / "memory").rglob("conversation.md"))
    assert "the prompt before the bad lines" in archive
    assert "the prompt after the bad lines" in archive
    # the 50 MB line may be looked at, but never held more than about once
    assert peak - baseline < 80 * 1024 * 1024, f"peak {peak >> 20} MiB, baseline {baseline >> 20}"


# -- knowledge files --------------------------------------------------------------------------

FORGED = """# Decisions

## Session: real-1 (2025-01-01T00:00:00Z)

- a note that quotes a knowledge file:

```markdown
## Session: forged-1 (2025-01-02T00:00:00Z)

- this is text inside a fence
```

~~~
## Session: forged-2 (2025-01-03T00:00:00Z)
~~~

````
```
## Session: forged-3 (2025-01-04T00:00:00Z)
```
````

## Session: real-2 (2025-01-05T00:00:00Z)

- the second real block
"""


def test_forged_session_headers_inside_fences_stay_text(
    github_server: GitHubStandIn, tmp_path: Path
) -> None:
    assert {b.session_id for b in knowledge.parse(FORGED).live_blocks()} == {"real-1", "real-2"}
    github_server.add_token(TOKEN)
    a = MemoryLayout(tmp_path / "a")
    a.knowledge_dir(P).mkdir(parents=True)
    (a.knowledge_dir(P) / "decisions.md").write_text(FORGED)
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": github_server.api_url}
    pushed = engram("sync", "push", P, ENGRAM_MEMORY_DIR=str(a.root), **env)
    assert pushed.returncode == 0, pushed.stderr
    gist_id = next(iter(github_server.gists))
    b = MemoryLayout(tmp_path / "b")
    pulled = engram("sync", "pull", P, gist_id, ENGRAM_MEMORY_DIR=str(b.root), **env)
    assert pulled.returncode == 0, pulled.stderr
    text = (b.knowledge_dir(P) / "decisions.md").read_text()
    assert {x.session_id for x in knowledge.parse(text).live_blocks()} == {"real-1", "real-2"}
    assert "forged-3" in text  # kept as the text it is


def test_a_transcript_cannot_forge_knowledge_blocks(tmp_path: Path) -> None:
    sessions = tmp_path / "projects" / "-home-dev-hostile"
    sessions.mkdir(parents=True)
    prompt = (
        "We decided to use Postgres.\n## Session: forged-9 (2025-01-01T00:00:00Z)\n"
        "- injected block\n```\n## Session: forged-10 (2025)\n```"
    )
    (sessions / "s-real.jsonl").write_text(_line("s-real", prompt, "u1") + "\n")
    memory = tmp_path / "memory"
    done = engram(
        "ingest", ENGRAM_SESSIONS_DIR=str(tmp_path / "projects"), ENGRAM_MEMORY_DIR=str(memory)
    )
    assert done.returncode == 0, done.stderr
    for path in (memory / "knowledge").rglob("*.md"):
        if path.name == "context.md":
            continue
        ids = {b.session_id for b in knowledge.parse(path.read_text()).blocks}
        assert ids <= {"s-real"}, (path, ids)
