"""Ingest benchmark (issue 2, item 9): throughput, re-ingest cost and memory, in one run.

    python benchmarks/ingest.py            # a 60 MB corpus; RSS at 60 MB and 240 MB
    python benchmarks/ingest.py --quick    # a 12 MB corpus; RSS at 10 MB and 40 MB

It writes a synthetic Claude Code corpus into a temporary folder (realistic line types and
sizes: prompts, one-block-per-line assistant replies with thinking and tool calls, tool
results repeated in toolUseResult, progress and file-history-snapshot lines, flat 2.0.x and
2.1.x subagents), then prints, all measured in this run (each timing the best of 5: the
machine this runs on is shared and noisy, and the best run is the one it disturbed least):
- the real pipeline's throughput, `engram_ci.ingest.run_ingest` with default options (offline
  knowledge extraction included), and its ratio to a bare `json.loads`-per-line loop over the
  same files (target >= 1.0); the readers alone as well;
- a second, unchanged ingest's time as a fraction of the first (target <= 2 %);
- peak RSS of a child process reading (readers only) and ingesting (the whole pipeline) one
  very large transcript, at two sizes, so the growth of each part is visible.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engram_ci.ingest import IngestOptions, run_ingest  # noqa: E402
from engram_ci.transcripts import claude  # noqa: E402

MB = 1024 * 1024
_VOCABULARY = (
    "the cache config request handler returns None when retry timeout session token parse "
    "file path test fails because value error import module function class self async await "
    "def return if else for in with open read write json line assert expected actual diff"
)


class Text:
    """Cheap realistic-looking text: windows into one big pre-generated pool."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        lines = []
        words = _VOCABULARY.split()
        for n in range(20_000):
            indent = " " * (4 * rng.randrange(4))
            sentence = " ".join(rng.choice(words) for _ in range(rng.randrange(3, 14)))
            lines.append(f"{n % 400 + 1:>6}\u2192{indent}{sentence}")
        self.pool = "\n".join(lines)

    def __call__(self, size: int) -> str:
        start = self.rng.randrange(0, max(1, len(self.pool) - size))
        chunk = self.pool[start : start + size]
        while len(chunk) < size:  # bigger than the pool: repeat it
            chunk += self.pool[: size - len(chunk)]
        return chunk


class SessionWriter:
    """Writes one transcript in Claude Code's shape, line by line."""

    def __init__(self, path: Path, session_id: str, cwd: str, rng: random.Random, text: Text):
        self.fh = path.open("w", encoding="utf-8")
        self.sid, self.cwd, self.rng, self.text = session_id, cwd, rng, text
        self.n = 0
        self.parent: str | None = None
        self.clock = 1_700_000_000.0

    def _base(self, kind: str, sidechain: bool = False) -> dict[str, Any]:
        self.n += 1
        self.clock += self.rng.uniform(0.5, 20)
        uuid = f"{self.sid[:8]}-{self.n:08d}-0000-0000-000000000000"
        obj = {
            "parentUuid": self.parent,
            "isSidechain": sidechain,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": self.sid,
            "version": "2.1.42",
            "gitBranch": "main",
            "type": kind,
            "uuid": uuid,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(self.clock)),
        }
        self.parent = uuid
        return obj

    def write(self, obj: dict[str, Any]) -> None:
        self.fh.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))
        self.fh.write("\n")

    def prompt(self, sidechain: bool = False) -> None:
        obj = self._base("user", sidechain)
        obj["message"] = {"role": "user", "content": self.text(self.rng.randrange(40, 1500))}
        self.write(obj)

    def reply(self, calls: int, sidechain: bool = False) -> None:
        mid = f"msg_{self.sid[:6]}{self.n:010d}"
        usage = {"input_tokens": 9, "cache_read_input_tokens": 30_000, "output_tokens": 1}
        blocks: list[dict[str, Any]] = [
            {"type": "text", "text": self.text(self.rng.randrange(100, 1200))}
        ]
        if self.rng.random() < 0.3:
            thinking = self.text(self.rng.randrange(200, 1500))
            blocks.insert(0, {"type": "thinking", "thinking": thinking, "signature": "x" * 300})
        ids = []
        for _ in range(calls):
            tool_id = f"toolu_{self.sid[:6]}{self.n:012d}"
            ids.append(tool_id)
            tool = self.rng.choice(["Read", "Bash", "Edit", "Grep"])
            args = {"file_path": f"{self.cwd}/src/mod{self.n % 50}.py", "command": "pytest -q"}
            if tool == "Edit":
                args |= {"old_string": self.text(800), "new_string": self.text(900)}
            blocks.append({"type": "tool_use", "id": tool_id, "name": tool, "input": args})
            self.n += 1
        for block in blocks:  # one content block per line, sharing message.id
            obj = self._base("assistant", sidechain)
            usage["output_tokens"] += 40
            obj["requestId"] = f"req_{mid}"
            obj["message"] = {
                "id": mid,
                "type": "message",
                "role": "assistant",
                "model": "claude-opus-4-7",
                "content": [block],
                "usage": dict(usage),
            }
            self.write(obj)
        for tool_id in ids:
            size = self._result_size()
            out = self.text(size)
            obj = self._base("user", sidechain)
            is_error = self.rng.random() < 0.08
            obj["message"] = {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": tool_id,
                        "content": out,
                        "is_error": is_error,
                    }
                ],
            }
            obj["toolUseResult"] = {"stdout": out, "stderr": "", "interrupted": False}
            self.write(obj)
            if self.rng.random() < 0.5:
                self.progress()

    def _result_size(self) -> int:
        roll = self.rng.random()  # shaped like the real corpus: mostly small, a few huge
        if roll < 0.65:
            return self.rng.randrange(100, 2500)
        if roll < 0.97:
            return self.rng.randrange(2500, 15_000)
        return self.rng.randrange(50_000, 300_000)

    def progress(self) -> None:
        obj = self._base("progress")
        obj["data"] = {
            "type": "agent_progress",
            "message": {
                "type": "assistant",
                "message": {"content": [{"type": "text", "text": self.text(2000)}]},
            },
        }
        obj["toolUseID"] = obj["parentToolUseID"] = "toolu_x"
        self.write(obj)

    def snapshot(self) -> None:
        files = {f"src/mod{i}.py": {"backupFileName": f"{i}@v2", "version": 2} for i in range(40)}
        self.write(
            {
                "type": "file-history-snapshot",
                "messageId": "m",
                "snapshot": {"trackedFileBackups": files},
                "isSnapshotUpdate": True,
            }
        )

    def misc(self) -> None:
        self.write(
            {
                "type": "queue-operation",
                "operation": "enqueue",
                "timestamp": "2026-01-01T00:00:00Z",
                "sessionId": self.sid,
            }
        )
        obj = self._base("system")
        obj |= {"subtype": "turn_duration", "durationMs": 1234, "isMeta": False}
        self.write(obj)
        self.write({"type": "last-prompt", "lastPrompt": "go", "sessionId": self.sid})

    def close(self) -> int:
        self.fh.close()
        return self.n


def write_session(
    path: Path,
    sid: str,
    cwd: str,
    target: int,
    rng: random.Random,
    text: Text,
    *,
    sidechain: bool = False,
) -> None:
    writer = SessionWriter(path, sid, cwd, rng, text)
    writer.write({"type": "summary", "summary": "Benchmark session", "leafUuid": "x"})
    while writer.fh.tell() < target:
        writer.prompt(sidechain)
        for _ in range(rng.randrange(1, 6)):
            writer.reply(rng.randrange(0, 4), sidechain)
        if rng.random() < 0.3:
            writer.snapshot()
        if rng.random() < 0.3:
            writer.misc()
    writer.close()


def make_corpus(root: Path, total: int, seed: int = 7) -> None:
    """~`total` bytes of sessions over 5 projects, with flat (2.0.x) and 2.1.x subagents."""
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    text = Text(rng)
    n = 0
    while sum(p.stat().st_size for p in root.rglob("*.jsonl")) < total:
        project = f"proj{n % 5}"
        folder = root / f"-home-dev-code-{project}"
        folder.mkdir(parents=True, exist_ok=True)
        sid = f"{n:08d}-1111-4222-8333-{n:012d}"
        cwd = f"/home/dev/code/{project}"
        size = rng.randrange(400_000, 3_000_000)
        write_session(folder / f"{sid}.jsonl", sid, cwd, size, rng, text)
        if n % 3 == 0:
            agent = folder / f"agent-{n:08x}.jsonl"
            write_session(agent, sid, cwd, 150_000, rng, text, sidechain=True)
        if n % 4 == 1:
            sub = folder / sid / "subagents"
            sub.mkdir(parents=True)
            write_session(
                sub / f"agent-a{n:016x}.jsonl", sid, cwd, 200_000, rng, text, sidechain=True
            )
            meta = '{"agentType": "Explore", "description": "bench"}'
            (sub / f"agent-a{n:016x}.meta.json").write_text(meta)
        n += 1


def corpus_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.jsonl"))


def bare_json_loop(files: list[Path]) -> float:
    start = time.perf_counter()
    for path in files:
        with path.open("rb") as fh:
            for line in fh:
                json.loads(line)
    return time.perf_counter() - start


def readers_only(root: Path) -> float:
    start = time.perf_counter()
    for group in claude.discover([root]):
        claude.read_session(group)
    return time.perf_counter() - start


def timed_ingest(root: Path, memory: Path, **options: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    report = run_ingest(IngestOptions(memory_dir=memory, claude_roots=(root,), **options))
    return time.perf_counter() - start, report


def best_ingest(root: Path, work: Path, name: str, runs: int, **options: Any) -> tuple[float, Any]:
    """The fastest of `runs` first ingests, each into a fresh memory dir."""
    results = [timed_ingest(root, work / f"{name}{n}", **options) for n in range(runs)]
    return min(results, key=lambda r: r[0])


def child_peak_rss(mode: str, root: Path, memory: Path) -> float:
    """Peak RSS (MB) of a fresh process that imports, reads or ingests `root`."""
    args = [sys.executable, __file__, "--child", mode, str(root), str(memory)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return float(out.strip()) / 1024


def child_main(mode: str, root: str, memory: str) -> None:
    if mode == "read":
        for group in claude.discover([Path(root)]):
            claude.read_session(group)
    elif mode == "ingest":
        run_ingest(IngestOptions(memory_dir=Path(memory), claude_roots=(Path(root),)))
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small corpus, for a smoke run")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(*args.child)
        return
    corpus_mb, big_sizes = (12, (10, 40)) if args.quick else (60, (60, 240))
    with tempfile.TemporaryDirectory(prefix="engram-bench-") as tmp:
        work = Path(tmp)
        root = work / "projects"
        make_corpus(root, corpus_mb * MB)
        files = corpus_files(root)
        size = sum(p.stat().st_size for p in files)
        lines = sum(1 for p in files for _ in p.open("rb"))
        print(f"corpus: {size / MB:.1f} MB, {len(files)} files, {lines:,} lines")

        runs = 5  # best of five for every figure: a 2-core machine is noisy
        baseline = min(bare_json_loop(files) for _ in range(runs + 1))  # the first warms up
        readers = min(readers_only(root) for _ in range(runs))
        first, report = best_ingest(root, work, "memory", runs)
        skip, _ = best_ingest(root, work, "skip", runs, skip_knowledge=True)
        again = min(timed_ingest(root, work / "memory0")[0] for _ in range(runs))
        _, second = timed_ingest(root, work / "memory0")
        assert report.sessions_ingested > 0 and second.sessions_ingested == 0, second

        def row(name: str, seconds: float, extra: str = "") -> None:
            ratio = f"  ratio {baseline / seconds:.2f}x" if seconds != baseline else ""
            print(f"{name:<28}: {size / MB / seconds:7.1f} MB/s ({seconds:.3f} s){ratio}{extra}")

        row("bare json.loads loop", baseline)
        row("readers only", readers)
        row("ingest --skip-knowledge", skip)
        counts = f"{report.sessions_ingested} sessions, {report.subagents} subagents"
        row("ingest (run_ingest, default)", first, f"  [{counts}, {report.tool_calls} tool calls]")
        share = 100 * again / first
        print(
            f"{'re-ingest, nothing changed':<28}: {again * 1000:.1f} ms, {share:.2f} % of the first"
        )

        floor = child_peak_rss("imports", root, work)
        print(f"{'peak RSS, imports only':<28}: {floor:7.1f} MB")
        for big_mb in big_sizes:
            big_root = work / f"big{big_mb}"
            folder = big_root / "-home-dev-code-big"
            folder.mkdir(parents=True)
            rng = random.Random(big_mb)
            path = folder / "b1g00000-0000-4000-8000-000000000000.jsonl"
            write_session(path, "b1g00000", "/home/dev/code/big", big_mb * MB, rng, Text(rng))
            for mode in ("read", "ingest"):
                rss = child_peak_rss(mode, big_root, work / f"mem{big_mb}")
                label = f"peak RSS, {mode} one {big_mb} MB file"
                print(f"{label:<28}: {rss:7.1f} MB (+{rss - floor:.1f} MB over imports)")


if __name__ == "__main__":
    main()
