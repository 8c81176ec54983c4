"""Ingest benchmark (issue 14): the whole `engram ingest` command on histories shaped like
real ones, against a bare json.loads loop and an orjson loop over the same files.

    python benchmarks/ingest.py            # ~56 MB history, 3 x 20 MB transcripts, mixed, real
    python benchmarks/ingest.py --quick    # the same shapes, about a quarter of the size

For each shape (benchmarks/ingest_shapes.py generates them; `real` is a copy of
/work/shared/corpus/claude-code/projects, or --real DIR, when it exists) it prints, all
measured in this run, each timing the best of --runs (the machine is shared and noisy; the
best run is the one it disturbed least):
- the whole `engram ingest` command, run as a subprocess (interpreter start-up and imports
  included, bytecode cached as in an installed package), into a fresh memory dir: MB/s and
  its ratio to a `json.loads`-per-line loop and to an `orjson.loads` loop over the same
  files, both run in this process (no start-up: the stricter comparison). Target >= 1.0x;
- a second, unchanged ingest: the command's time, and run_ingest's own (in-process) as a
  share of a full in-process ingest. Target <= 2 %;
- where a one-process run spends its time (IngestReport.timings: discover, read, extract,
  archive, write) and the command's throughput at --jobs 1..N;
- that --jobs 1 and --jobs N write byte-identical trees;
- the floor: the orjson loop plus writing the command's output tree the plainest way
  (mkdir, open/write/close, one sync), as a ratio to the json.loads loop — what any tool
  that reads these files and writes engram's layout pays on one core;
and, for one very large transcript at two sizes, the peak RSS of reading and of ingesting it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.ingest_shapes import (  # noqa: E402
    MB,
    Text,
    make_history,
    make_huge,
    make_mixed,
    write_session,
)
from engram_ci.ingest import PHASES, IngestOptions, run_ingest  # noqa: E402
from engram_ci.transcripts import claude  # noqa: E402

REAL_CORPUS = Path("/work/shared/corpus/claude-code/projects")


@dataclass(frozen=True)
class Shape:
    name: str
    claude_root: Path
    codex_root: Path | None = None

    def files(self) -> list[Path]:
        roots = [self.claude_root, *([self.codex_root] if self.codex_root else [])]
        return sorted(p for root in roots for p in root.rglob("*.jsonl"))


def build_shapes(
    work: Path, quick: bool, real: Path | None, wanted: Callable[[str], bool]
) -> list[Shape]:
    shapes = []
    if wanted("history"):
        history = work / "history"
        make_history(history, 110 if quick else 450)
        shapes.append(Shape("history", history))
    if wanted("huge"):
        huge = work / "huge"
        make_huge(huge, 3, (5 if quick else 20) * MB)
        shapes.append(Shape("huge", huge))
    if wanted("mixed"):
        mixed = work / "mixed"
        make_mixed(mixed / "claude", mixed / "codex" / "sessions", 40 if quick else 150)
        shapes.append(Shape("mixed", mixed / "claude", mixed / "codex" / "sessions"))
    if wanted("real") and real is not None and real.is_dir():
        shutil.copytree(real, work / "real")
        shapes.append(Shape("real", work / "real"))
    return shapes


def json_loop(files: list[Path]) -> float:
    start = time.perf_counter()
    for path in files:
        with path.open("rb") as fh:
            for line in fh:
                try:  # noqa: SIM105 - suppress() would slow the baseline down
                    json.loads(line)
                except ValueError:
                    pass
    return time.perf_counter() - start


def orjson_loop(files: list[Path]) -> float:
    start = time.perf_counter()
    for path in files:
        with path.open("rb") as fh:
            for line in fh:
                try:  # noqa: SIM105 - suppress() would slow the baseline down
                    orjson.loads(line)
                except orjson.JSONDecodeError:
                    pass
    return time.perf_counter() - start


def plain_writes(tree: Path, into: Path) -> float:
    """Write `tree`'s folders and files again under `into` the plainest way (mkdir, then
    open/write/close each file, one sync at the end as the command's one barrier): what
    the kernel alone charges for the output engram's layout needs, measured in this run."""
    folders = sorted(p.relative_to(tree) for p in tree.rglob("*") if p.is_dir())
    files = [(p.relative_to(tree), p.read_bytes()) for p in tree.rglob("*") if p.is_file()]
    shutil.rmtree(into, ignore_errors=True)
    start = time.perf_counter()
    into.mkdir()
    for folder in folders:
        (into / folder).mkdir()
    for name, data in files:
        with open(into / name, "wb") as fh:
            fh.write(data)
    os.sync()
    return time.perf_counter() - start


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Command:
    """`engram ingest` as a user runs it: a fresh interpreter, cached bytecode."""

    def __init__(self, work: Path, code: Path = ROOT) -> None:
        self.env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",)}
        self.env |= {
            "PYTHONPATH": str(code),
            "PYTHONPYCACHEPREFIX": str(work / "pycache"),
            "CODEX_HOME": str(work / "no-codex"),
        }
        # `python -m` puts its working directory before PYTHONPATH: run from one that holds no
        # checkout, or a run started inside a checkout would time that checkout's code
        self.cwd = work
        #: CPU seconds (user + system, workers included) of each run, in order
        self.cpu: list[float] = []
        #: sessions each run ingested (--json), to check it read what the loops read
        self.ingested: list[int] = []
        self.run(["--help"])  # compiles the bytecode once, as installing the package does

    def run(self, args: list[str]) -> float:
        env = self.env
        # ingest ends with one syncfs: flush what the generator (or the last run's clean-up)
        # left dirty first, so a run pays for its own writes only
        os.sync()
        used = _children_cpu()
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "engram_ci", "ingest", *args],
            env=env,
            cwd=self.cwd,
            capture_output=True,  # stderr: the progress lines, shown only if the run fails
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"engram ingest {' '.join(args)} failed:\n{done.stderr.decode()}")
        wall = time.perf_counter() - start
        self.cpu.append(_children_cpu() - used)
        if "--json" in args:
            self.ingested.append(json.loads(done.stdout)["sessions_ingested"])
        return wall

    def ingest(self, shape: Shape, memory: Path, *extra: str) -> float:
        args = ["--sessions-dir", str(shape.claude_root), "--memory-dir", str(memory), "--json"]
        if shape.codex_root:
            args += ["--codex-dir", str(shape.codex_root)]
        return self.run([*args, *extra])


def best(runs: int, measure: Callable[[int], float]) -> float:
    return min(measure(n) for n in range(runs))


def tree_hash(root: Path) -> str:
    """Every file's path and bytes under `root`, engram-ci's own state excluded."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".engram-ci" not in path.parts:
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def in_process(shape: Shape, memory: Path, jobs: int | None = None) -> tuple[float, object]:
    options = IngestOptions(
        memory_dir=memory,
        claude_roots=(shape.claude_root,),
        codex_roots=(shape.codex_root,) if shape.codex_root else (),
        jobs=jobs,
    )
    os.sync()
    start = time.perf_counter()
    report = run_ingest(options)
    return time.perf_counter() - start, report


def bench_shape(
    shape: Shape,
    work: Path,
    command: Command,
    runs: int,
    max_jobs: int,
    other: Command | None = None,
) -> None:
    files = shape.files()
    size = sum(p.stat().st_size for p in files) / MB
    lines = sum(1 for p in files for _ in p.open("rb"))
    print(f"\n== {shape.name}: {size:.1f} MB, {len(files)} files, {lines:,} lines")
    json_loop(files)  # warms the page cache
    # round after round, every measurement once, so the machine's load hits them alike
    names = ["json", "orjson", "command", "other", *(f"jobs{j}" for j in range(1, max_jobs + 1))]
    times: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {"command": [], "other": []}
    for n in range(runs):
        times["json"].append(json_loop(files))
        times["orjson"].append(orjson_loop(files))
        times["command"].append(command.ingest(shape, work / f"cmd-{shape.name}-{n}"))
        cpu["command"].append(command.cpu[-1])
        if other is not None:
            times["other"].append(other.ingest(shape, work / f"other-{shape.name}-{n}"))
            cpu["other"].append(other.cpu[-1])
        for j in range(1, max_jobs + 1):
            memory = work / f"j{j}-{shape.name}-{n}"
            times[f"jobs{j}"].append(command.ingest(shape, memory, "--jobs", str(j)))
    # sessions each full run ingested: all of them, or the comparison is off
    full = {"command": command.ingested[-runs * (1 + max_jobs) :], "other": []}
    if other is not None:
        full["other"] = other.ingested[-runs:]
    best_of = {name: min(values) for name, values in times.items() if values}
    bare, fast = best_of["json"], best_of["orjson"]

    def row(name: str, seconds: float) -> None:
        ratios = f"  {bare / seconds:.2f}x json.loads, {fast / seconds:.2f}x orjson"
        print(f"  {name:<32}: {size / seconds:7.1f} MB/s ({seconds:.3f} s){ratios}")

    row("bare json.loads loop", bare)
    row("orjson loop", fast)
    row("engram ingest (command)", best_of["command"])
    if other is not None:
        row("engram ingest, --compare checkout", best_of["other"])
    # CPU time barely depends on the machine's load: the steadier before/after figure
    spent = f"{min(cpu['command']):.3f}" + (
        f" (--compare checkout: {min(cpu['other']):.3f})" if other is not None else ""
    )
    print(f"  {'command CPU s (workers included)':<32}: {spent}")
    sweep = ", ".join(f"{j}: {size / best_of[f'jobs{j}']:.1f}" for j in range(1, max_jobs + 1))
    print(f"  {'command MB/s by --jobs':<32}: {sweep}")
    again = best(runs, lambda _: command.ingest(shape, work / f"cmd-{shape.name}-0"))
    print(f"  {'re-ingest, unchanged (command)':<32}: {again * 1000:7.1f} ms")
    output = work / f"cmd-{shape.name}-0"
    written = best(runs, lambda n: plain_writes(output, work / f"plain-{shape.name}"))
    floor = fast + written
    count = sum(1 for _ in output.rglob("*"))
    print(
        f"  {'plain writes of its output':<32}: {written:.3f} s ({count} files and folders); "
        f"orjson loop + these writes, one core: {bare / floor:.2f}x json.loads"
    )
    full_in, report = in_process(shape, work / f"inproc-{shape.name}")
    again_in = min(in_process(shape, work / f"inproc-{shape.name}")[0] for _ in range(runs))
    print(
        f"  {'re-ingest, unchanged (in-proc)':<32}: {again_in * 1000:7.1f} ms, "
        f"{100 * again_in / full_in:.2f} % of a full in-process ingest ({full_in:.3f} s)"
    )
    one, split_report = in_process(shape, work / f"split-{shape.name}", jobs=1)
    timings = split_report.timings  # type: ignore[attr-defined]
    parts = ", ".join(f"{phase} {timings[phase]:.3f}" for phase in PHASES)
    print(f"  {'CPU s by phase, --jobs 1':<32}: {parts} (wall {one:.3f})")
    same = tree_hash(work / f"j1-{shape.name}-0") == tree_hash(work / f"j{max_jobs}-{shape.name}-0")
    print(f"  {'--jobs 1 == --jobs N output':<32}: {'identical' if same else 'DIFFERENT'}")
    if other is not None:  # an optimisation must not change a byte of what is written
        ours, theirs = (tree_hash(work / f"{who}-{shape.name}-0") for who in ("cmd", "other"))
        verdict = "identical" if ours == theirs else "DIFFERENT"
        print(f"  {'output == --compare checkout':<32}: {verdict} ({ours[:12]})")
    counts = report.to_json()  # type: ignore[attr-defined]
    for who, full_runs in (("command", full["command"]), ("--compare checkout", full["other"])):
        if set(full_runs) - {counts["sessions_ingested"]}:
            print(f"  WARNING: the {who} ingested {sorted(set(full_runs))} sessions, not all")
    print(
        f"  [{counts['sessions_ingested']} sessions, {counts['subagents']} subagents, "
        f"{counts['tool_calls']} tool calls]"
    )
    for path in work.glob(f"*-{shape.name}*"):
        shutil.rmtree(path, ignore_errors=True)


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
    # VmHWM, not ru_maxrss: the latter survives exec, so a child would report the peak of
    # the forked copy of this (bigger) benchmark process instead of its own
    with open("/proc/self/status", encoding="ascii") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    print(peak)  # KB


def bench_memory(work: Path, sizes: tuple[int, int]) -> None:
    print("\n== peak memory, one transcript")
    floor = child_peak_rss("imports", work, work)
    print(f"  {'peak RSS, imports only':<32}: {floor:7.1f} MB")
    for big_mb in sizes:
        big_root = work / f"big{big_mb}"
        folder = big_root / "-home-dev-code-big"
        folder.mkdir(parents=True)
        rng = random.Random(big_mb)
        path = folder / "b1g00000-0000-4000-8000-000000000000.jsonl"
        write_session(path, "b1g00000", "/home/dev/code/big", big_mb * MB, rng, Text(rng))
        for mode in ("read", "ingest"):
            rss = child_peak_rss(mode, big_root, work / f"mem{big_mb}")
            label = f"peak RSS, {mode} one {big_mb} MB file"
            print(f"  {label:<32}: {rss:7.1f} MB (+{rss - floor:.1f} MB over imports)")
        shutil.rmtree(big_root)


def _timed_run(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True)
    return time.perf_counter() - start


def machine() -> str:
    model = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({model}), Python {sys.version.split()[0]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller shapes, for a smoke run")
    parser.add_argument("--runs", type=int, default=3, help="best of how many runs (default 3)")
    parser.add_argument("--real", type=Path, default=REAL_CORPUS, help="a real projects dir")
    parser.add_argument("--only", help="comma-separated shape names to run")
    parser.add_argument(
        "--code",
        type=Path,
        default=ROOT,
        help="run the command from this checkout (e.g. an older one, for before/after)",
    )
    parser.add_argument(
        "--compare",
        type=Path,
        help="also time the command from this checkout, round by round beside --code's",
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(*args.child)
        return
    print(f"machine: {machine()}")
    floor = best(5, lambda _: _timed_run([sys.executable, "-c", "pass"]))
    print(f"interpreter start-up (python -c pass): {floor * 1000:.1f} ms")
    max_jobs = max(2, os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="engram-bench-") as tmp:
        work = Path(tmp)
        command = Command(work, args.code.resolve())
        print(f"command: engram ingest from {command.env['PYTHONPATH']}")
        other = Command(work, args.compare.resolve()) if args.compare else None
        if other is not None:
            print(f"compared with: engram ingest from {other.env['PYTHONPATH']}")
        only = args.only.split(",") if args.only else None

        def wanted(name: str) -> bool:
            return only is None or name in only

        for shape in build_shapes(work / "shapes", args.quick, args.real, wanted):
            bench_shape(shape, work, command, args.runs, max_jobs, other)
        if wanted("memory"):
            bench_memory(work, (10, 40) if args.quick else (60, 240))


if __name__ == "__main__":
    main()
