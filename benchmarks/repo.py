"""push-repo into a big knowledge repo vs the hand-written script CI jobs use today.

Builds (with git fast-import) a bare remote holding 1,000 projects and 5,000 commits, then
times, in the same run, from a FRESH job (nothing local: the realistic CI case):

  baseline  git clone --depth 1 --single-branch; cp; git add; git commit; git push
            (it overwrites the project's files: no merge at all, the least work possible)
  engram    git clone --bare --depth 1 --filter=blob:none --single-branch   (no checkout)
            + engram sync push-repo P CLONE --push-remote   (block-level merge, retry-safe)

and, for context, push-repo after the baseline's own full clone, and from a warm clone that
is one push behind (a self-hosted runner with a cache). Each figure is the median of several
interleaved runs; every run pushes a new block, so the remote grows as it would in CI.

    python benchmarks/repo.py [--projects 1000] [--commits 5000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CATEGORIES = ("decisions", "solutions", "patterns")


def _block(session: str, text: str) -> str:
    return f"\n\n## Session: {session} (2025-01-01T00:00:00Z)\n\n- {text}\n"


def _data(text: str) -> bytes:
    raw = text.encode()
    return b"data %d\n" % len(raw) + raw + b"\n"


def build_remote(remote: Path, projects: int, commits: int) -> None:
    """A bare repo: one commit adding every project, then commits appending one block each."""
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    files: dict[str, str] = {}
    for p in range(projects):
        for c in CATEGORIES:
            files[f"project-{p:04d}/{c}.md"] = f"# {c.capitalize()}\n" + _block(f"p{p}-s0", c)
        files[f"project-{p:04d}/context.md"] = f"# Project context: project-{p:04d}\n"
        files[f"project-{p:04d}/metadata.json"] = json.dumps({"project": f"project-{p:04d}"})
    files["README.md"] = "# Knowledge repository\n"
    stream = bytearray()
    when = 1_700_000_000

    def commit(message: str, changed: dict[str, str], index: int) -> None:
        stream.extend(b"commit refs/heads/main\n")
        stream.extend(b"committer bench <bench@example.invalid> %d +0000\n" % (when + index))
        stream.extend(_data(message))
        for path, text in changed.items():
            stream.extend(b"M 100644 inline " + path.encode() + b"\n" + _data(text))

    commit("initial", files, 0)
    for index in range(1, commits):
        p, c = index % projects, CATEGORIES[index % len(CATEGORIES)]
        path = f"project-{p:04d}/{c}.md"
        files[path] += _block(f"p{p}-s{index}", f"entry {index}")
        commit(f"update {path}", {path: files[path]}, index)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=remote, input=bytes(stream), check=True)
    subprocess.run(["git", "-C", str(remote), "gc", "-q"], check=True)
    # what GitHub allows: partial clone filters
    subprocess.run(
        ["git", "-C", str(remote), "config", "uploadpack.allowFilter", "true"], check=True
    )


def _memory(base: Path, project: str, session: str) -> Path:
    knowledge = base / "knowledge" / project
    knowledge.mkdir(parents=True, exist_ok=True)
    (knowledge / "decisions.md").write_text(
        "# Decisions\n" + _block(session, f"learned in {session}")
    )
    return base


def _sh(*args: str, cwd: Path | None = None) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)


def _engram(*args: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run(
        [sys.executable, "-m", "engram_ci", *args], check=True, env=env, capture_output=True
    )


def baseline(url: str, work: Path, memory: Path, project: str) -> None:
    clone = work / "baseline"
    _sh("git", "clone", "-q", "--depth", "1", "--single-branch", "-b", "main", url, str(clone))
    (clone / project).mkdir(exist_ok=True)
    for source in (memory / "knowledge" / project).iterdir():
        shutil.copy(source, clone / project / source.name)
    _sh("git", "add", project, cwd=clone)
    _sh("git", "commit", "-q", "-m", f"update {project}", cwd=clone)
    _sh("git", "push", "-q", "origin", "main", cwd=clone)


def engram_fresh(url: str, work: Path, memory: Path, project: str) -> None:
    clone = work / "engram.git"
    _sh(
        "git",
        "clone",
        "-q",
        "--bare",
        "--depth",
        "1",
        "--filter=blob:none",
        "--single-branch",
        "-b",
        "main",
        url,
        str(clone),
    )
    _engram("--memory-dir", str(memory), "sync", "push-repo", project, str(clone), "--push-remote")


def engram_after_full_clone(url: str, work: Path, memory: Path, project: str) -> None:
    clone = work / "engram-full"
    _sh("git", "clone", "-q", "--depth", "1", "--single-branch", "-b", "main", url, str(clone))
    _engram("--memory-dir", str(memory), "sync", "push-repo", project, str(clone), "--push-remote")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="engram-bench-repo-") as tmp_name:
        tmp = Path(tmp_name)
        os.environ.update(
            GIT_CONFIG_GLOBAL=str(tmp / "gitconfig"),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_AUTHOR_NAME="bench",
            GIT_AUTHOR_EMAIL="bench@example.invalid",
            GIT_COMMITTER_NAME="bench",
            GIT_COMMITTER_EMAIL="bench@example.invalid",
        )
        (tmp / "gitconfig").write_text("")
        started = time.perf_counter()
        remote = tmp / "remote.git"
        build_remote(remote, args.projects, args.commits)
        built = time.perf_counter() - started
        url = remote.as_uri()
        warm = tmp / "warm"
        _sh("git", "clone", "-q", url, str(warm))
        project = f"project-{args.projects // 2:04d}"
        contenders: dict[str, Callable[[str, Path, Path, str], None]] = {
            "baseline: clone --depth 1 + cp + commit + push": baseline,
            "engram: bare blobless clone + push-repo": engram_fresh,
            "engram: clone --depth 1 + push-repo": engram_after_full_clone,
        }
        times: dict[str, list[float]] = {name: [] for name in contenders}
        times["engram: warm clone (1 behind) + push-repo"] = []
        for run in range(args.runs):
            for index, (name, contender) in enumerate(contenders.items()):
                work = tmp / f"run-{run}-{index}"
                memory = _memory(work / "memory", project, f"bench-{run}-{index}")
                begin = time.perf_counter()
                contender(url, work, memory, project)
                times[name].append(time.perf_counter() - begin)
                shutil.rmtree(work)
            memory = _memory(tmp / f"warm-mem-{run}", project, f"warm-{run}")
            begin = time.perf_counter()
            _engram(
                "--memory-dir",
                str(memory),
                "sync",
                "push-repo",
                project,
                str(warm),
                "--push-remote",
            )
            times["engram: warm clone (1 behind) + push-repo"].append(time.perf_counter() - begin)
        count = subprocess.run(
            ["git", "-C", str(remote), "rev-list", "--count", "main"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    print(f"remote: {args.projects} projects, {count} commits (built in {built:.1f}s)")
    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians["baseline: clone --depth 1 + cp + commit + push"]
    for name, value in medians.items():
        print(f"  {name:<48} {value * 1000:8.0f} ms   {value / base:5.2f}x")
    ratio = medians["engram: bare blobless clone + push-repo"] / base
    print(f"fresh-job ratio engram/baseline: {ratio:.2f}x (target <= 1.0x)")
    return 0 if ratio <= 1.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
