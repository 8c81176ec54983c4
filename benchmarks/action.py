"""The Docker action's size and start-up cost.

    python benchmarks/action.py [--runs N]

Targets (issue 5): image <= 200 MB, a cold `docker run` of a no-op sync <= 1.5 s, the
adapter's import <= 250 ms. Baselines measured in the same run: the base image's own size,
`docker run` of the base image doing nothing (`python -c pass`), and a bare `python -c pass`.
Each layer the action adds over the base is listed with its size (no apt caches among them).

Needs a Docker engine (bash ../shared/docker/start-dockerd.sh) and the base image
(bash ../shared/docker/offline-base-image.sh). The base here is a local stand-in for
python:3.12-slim (Debian's full python3 + pip + git, ~290 MB), so the figure that carries over
to the official base is what the action's own layers add.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engram_ci.action.ghactions import parse_file_command  # noqa: E402
from tests.docker_support import RunnerDirs, docker_run_like_runner  # noqa: E402
from tests.github_server import GitHubStandIn  # noqa: E402

IMAGE = "engram-ci-action:bench"
BASE = "python:3.12-slim"
TOKEN = "ghp_BenchmarkToken00000000000000000000005"  # noqa: S105 - the stand-in's
MB = 1_000_000


def timed(command: Sequence[str], runs: int) -> float:
    """Median wall time of `command` over `runs` runs, in seconds."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def image_size(tag: str) -> int:
    out = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{.Size}}", tag],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(out.strip())


def layers_over_base(tag: str, base: str) -> list[tuple[int, str]]:
    """(bytes, instruction) of each layer `tag` adds on top of `base`, oldest first."""

    def history(image: str) -> list[tuple[int, str]]:
        out = subprocess.run(
            [
                "docker",
                "history",
                "--no-trunc",
                "--human=false",
                "--format",
                "{{.Size}}\t{{.CreatedBy}}",
                image,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows = [line.split("\t", 1) for line in out.splitlines() if line]
        return [(int(size), created) for size, created in reversed(rows)]

    return history(tag)[len(history(base)) :]


def docker_noop_runs(runs: int) -> tuple[float, float]:
    """Median seconds of (mode ingest on an empty sessions dir, push with nothing new)."""
    ingest, push = [], []
    server = GitHubStandIn().serve()
    server.add_token(TOKEN)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            dirs = RunnerDirs.make(Path(tmp))
            (dirs.temp / "engram-sessions").mkdir()
            knowledge = dirs.temp / "engram-memory" / "knowledge" / "app"
            knowledge.mkdir(parents=True)
            (knowledge / "decisions.md").write_text(
                "# Decisions\n\n## Session: s1 (2026-01-01T00:00:00Z)\n- keep it simple\n"
            )
            push_inputs = {"mode": "push", "token": TOKEN, "api-url": server.api_url}
            first = docker_run_like_runner(IMAGE, dirs, push_inputs)  # creates the gist
            assert first.returncode == 0, first.stdout + first.stderr
            for _ in range(runs):
                start = time.perf_counter()
                run = docker_run_like_runner(IMAGE, dirs, {"mode": "ingest"})
                ingest.append(time.perf_counter() - start)
                assert run.returncode == 0, run.stdout + run.stderr
                start = time.perf_counter()
                run = docker_run_like_runner(IMAGE, dirs, push_inputs)
                push.append(time.perf_counter() - start)
                assert run.returncode == 0, run.stdout + run.stderr
                assert parse_file_command(run.output_file.read_text())["changed"] == "false"
    finally:
        server.shutdown()
    return statistics.median(ingest), statistics.median(push)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    subprocess.run(
        ["docker", "build", "--network", "host", "-q", "-t", IMAGE, str(ROOT)],
        check=True,
        capture_output=True,
    )
    size, base = image_size(IMAGE), image_size(BASE)
    print(f"image size             {size / MB:7.1f} MB   (target <= 200 MB)")
    print(f"  base image ({BASE}) {base / MB:7.1f} MB   (local stand-in)")
    print(f"  added by the action  {(size - base) / MB:7.1f} MB   (git layer + deps + package)")
    for layer_size, created in layers_over_base(IMAGE, BASE):
        if layer_size:
            step = " ".join(created.replace("/bin/sh -c ", "").split())
            print(f"    {layer_size / MB:7.2f} MB  {step[:90]}")

    bare_run = timed(
        ["docker", "run", "--rm", "--network", "none", BASE, "python3", "-c", "pass"], args.runs
    )
    ingest, push = docker_noop_runs(args.runs)
    print(f"cold docker run, no-op ingest   {ingest:5.2f} s   (target <= 1.5 s)")
    print(f"cold docker run, no-op push     {push:5.2f} s   (stand-in on 127.0.0.1)")
    print(
        f"  baseline: docker run {BASE} python -c pass  {bare_run:5.2f} s"
        f"  -> ingest {ingest / bare_run:4.1f}x, push {push / bare_run:4.1f}x"
    )

    python = sys.executable
    bare = timed([python, "-c", "pass"], args.runs * 4)
    adapter = timed([python, "-c", "import engram_ci.action.adapter"], args.runs * 4)
    print(
        f"import engram_ci.action.adapter {(adapter - bare) * 1000:6.0f} ms over a bare interpreter"
        f" ({adapter * 1000:.0f} ms vs {bare * 1000:.0f} ms; target <= 250 ms)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
