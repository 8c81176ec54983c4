"""HTTP requests and gist revisions per sync operation, against the GitHub stand-in.

    python benchmarks/gist.py

Targets (issue 3): a no-op push costs <= 1 request and 0 revisions; a push with changes
<= 2 requests + any merge reads. The baseline, measured in the same run, is a naive sync that
reads the gist and PATCHes every file on each push (one revision per push, changed or not).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engram_ci.knowledge.blocks import KNOWLEDGE_CATEGORIES  # noqa: E402
from engram_ci.memory.paths import MemoryLayout  # noqa: E402
from engram_ci.memory.projectfiles import read_local  # noqa: E402
from engram_ci.sync import gistsync  # noqa: E402
from engram_ci.sync.github_api import GistStore  # noqa: E402
from tests.github_server import GitHubStandIn  # noqa: E402

TOKEN = "ghp_BenchmarkToken00000000000000000000001"  # noqa: S105 - the stand-in's
PROJECT = "bench"
BLOCKS_PER_FILE = 200


def block(session: str) -> str:
    return (
        f"## Session: {session} (2025-01-01T00:00:00Z) [confidence:high]\n\n"
        f"- decided something about {session}; ran `pytest -q` and it passed\n"
    )


def seed(layout: MemoryLayout, prefix: str, count: int) -> None:
    directory = layout.knowledge_dir(PROJECT)
    directory.mkdir(parents=True, exist_ok=True)
    for category in KNOWLEDGE_CATEGORIES:
        path = directory / f"{category}.md"
        old = path.read_text() if path.exists() else f"# {category.capitalize()}\n\n"
        new = "\n".join(block(f"{prefix}-{category}-{i}") for i in range(count))
        path.write_text(old + "\n" + new)


def add_block(layout: MemoryLayout, session: str) -> None:
    path = layout.knowledge_dir(PROJECT) / "decisions.md"
    path.write_text(path.read_text() + "\n" + block(session))


def measure(
    server: GitHubStandIn, gist_id: str | None, action: Callable[[], object]
) -> tuple[int, int, float]:
    revisions_before = server.revisions(gist_id) if gist_id else 0
    server.clear_log()
    start = time.perf_counter()
    action()
    elapsed = time.perf_counter() - start
    gist = gist_id or next(iter(server.gists))
    return len(server.requests), server.revisions(gist) - revisions_before, elapsed


def naive_push(layout: MemoryLayout, gist_id: str) -> None:
    """The baseline: read the gist, then upload every file, whether it changed or not."""
    with GistStore(TOKEN, os.environ["GITHUB_API_URL"]) as gists:
        gists.get(gist_id)
        gists.update(gist_id, read_local(layout, PROJECT))


def main() -> int:
    server = GitHubStandIn().serve()
    server.add_token(TOKEN)
    os.environ.update(GITHUB_TOKEN=TOKEN, GITHUB_API_URL=server.api_url)
    rows: list[tuple[str, int, int, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        a, b = MemoryLayout(Path(tmp) / "a"), MemoryLayout(Path(tmp) / "b")
        seed(a, "a", BLOCKS_PER_FILE)

        def push_a() -> object:
            return gistsync.push(a.root, PROJECT)

        rows.append(("first push (create)", *measure(server, None, push_a), "-"))
        gist_id = next(iter(server.gists))
        rows.append(("no-op push (GET 200)", *measure(server, gist_id, push_a), "<=1 req, 0 rev"))
        rows.append(("no-op push (GET 304)", *measure(server, gist_id, push_a), "<=1 req, 0 rev"))
        add_block(a, "new-1")
        rows.append(("push, 1 new block", *measure(server, gist_id, push_a), "<=2 req"))
        b_pull = measure(server, gist_id, lambda: gistsync.pull(b.root, PROJECT, gist_id))
        rows.append(("pull into a new machine", *b_pull, "-"))
        add_block(b, "from-b")
        gistsync.push(b.root, PROJECT)
        add_block(a, "new-2")
        rows.append(
            ("push, other machine pushed", *measure(server, gist_id, push_a), "<=2 + merge")
        )
        # a writer slipping in between our read and our PATCH: one merge read + one re-PATCH
        foreign = server.files(gist_id)["decisions.md"] + "\n" + block("sneaky")
        server.before("PATCH", gist_id, lambda: server.write(gist_id, {"decisions.md": foreign}))
        add_block(a, "new-3")
        rows.append(("push, write in between", *measure(server, gist_id, push_a), "<=2 + merge"))
        naive = measure(server, gist_id, lambda: naive_push(a, gist_id))
        rows.append(("baseline: naive no-op push", *naive, "-"))
    server.shutdown()

    print(f"{'operation':32} {'requests':>8} {'revisions':>9} {'ms':>8}  target")
    for name, requests, revisions, seconds, target in rows:
        print(f"{name:32} {requests:>8} {revisions:>9} {seconds * 1000:>8.1f}  {target}")
    noop = [r for r in rows if r[0].startswith("no-op")]
    change = next(r for r in rows if r[0] == "push, 1 new block")
    ok = all(r[1] <= 1 and r[2] == 0 for r in noop) and change[1] <= 2
    print(
        f"no-op push: {max(r[1] for r in noop)} request(s), 0 revisions vs the naive sync's "
        f"{naive[0]} requests and {naive[1]} revision — targets {'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
