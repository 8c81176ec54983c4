"""`engram sync push-s3 / pull-s3 / history-s3` as a user runs them: real processes, a real
S3-compatible server on 127.0.0.1, the standard AWS environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from engram_ci.memory.paths import MemoryLayout

from .repo_helpers import add_block, engram_env, run_engram, sessions_in

P = "webapp"


def aws_env(memory_dir: Path) -> dict[str, str]:
    names = ("AWS_", "HOME", "GIT_")
    keep = {k: v for k, v in os.environ.items() if k.startswith(names)}
    return engram_env(ENGRAM_MEMORY_DIR=str(memory_dir), **keep)


def test_push_pull_history_round_trip(s3_bucket: str, memory: MemoryLayout, tmp_path: Path) -> None:
    url = f"s3://{s3_bucket}/kb"
    add_block(memory, P, "s1", "- deploys need the HTTPS submodule URL")
    pushed = run_engram("sync", "push-s3", P, url, "--json", env=aws_env(memory.root))
    assert pushed.returncode == 0, pushed.stderr
    outcome = json.loads(pushed.stdout)
    assert outcome["created"] and outcome["changed"]

    again = run_engram("sync", "push-s3", P, url, env=aws_env(memory.root))
    assert again.returncode == 0 and "nothing new to push" in again.stdout

    other = tmp_path / "other"
    pulled = run_engram("sync", "pull-s3", P, url, env=aws_env(other))
    assert pulled.returncode == 0, pulled.stderr
    assert "pulled" in pulled.stdout
    assert "HTTPS submodule" in (other / "knowledge" / P / "decisions.md").read_text()

    history = run_engram("sync", "history-s3", P, url, "--json", env=aws_env(memory.root))
    versions = json.loads(history.stdout)
    assert [v["version"] for v in versions] == [outcome["version"]]


def test_processes_pushing_at_once_lose_nothing(s3_bucket: str, tmp_path: Path) -> None:
    url = f"s3://{s3_bucket}"
    procs = []
    for i in range(4):
        layout = MemoryLayout(tmp_path / f"m{i}")
        add_block(layout, P, f"session-{i}", f"- fact {i}")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "engram_ci", "sync", "push-s3", P, url],
                env=aws_env(layout.root),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    final = tmp_path / "final"
    assert run_engram("sync", "pull-s3", P, url, env=aws_env(final)).returncode == 0
    text = (final / "knowledge" / P / "decisions.md").read_text()
    assert sessions_in(text) == {f"session-{i}" for i in range(4)}


def test_errors_are_one_line_with_exit_1(s3_bucket: str, memory: MemoryLayout) -> None:
    add_block(memory, P, "s1", "- x")
    env = aws_env(memory.root)
    for args, words in [
        (("push-s3", P, "s3://no-such-bucket-anywhere"), "does not exist"),
        (("pull-s3", P, f"s3://{s3_bucket}/empty"), "holds no project"),
        (("push-s3", P, "https://example.invalid/x"), "not an S3 location"),
        (("pull-s3", P, f"s3://{s3_bucket}", "--version", "xyz"), "holds no project"),
    ]:
        done = run_engram("sync", *args, env=env)
        assert done.returncode == 1, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], (args, done.stderr)
        assert "Traceback" not in done.stderr
