"""How an ingest makes its work durable (ingest/write_phase.py's commit, fsutil.StagedWrites).

The manifest may only call a session done once its files would survive a power loss: one
barrier covers every archive and knowledge file of the run, and it comes before the
manifest is written. The barrier is injected (run_ingest's `barrier` seam), so these tests
see exactly what is on disk at that moment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from engram_ci.cli.ingest_cmd import samples_dir
from engram_ci.ingest import IngestOptions, run_ingest
from engram_ci.memory import fsutil, projectfiles
from engram_ci.memory.manifest import MANIFEST_NAME
from engram_ci.memory.paths import MemoryLayout


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    return Path(shutil.copytree(samples_dir(), tmp_path / "projects"))


def _visible(root: Path, pattern: str) -> list[Path]:
    return [p for p in root.rglob(pattern) if not p.name.startswith(".")]


def test_the_manifest_is_written_only_after_one_barrier_over_all_the_files(
    samples: Path, tmp_path: Path
) -> None:
    layout = MemoryLayout(tmp_path / "memory")
    seen: list[dict[str, object]] = []

    def barrier(paths: Iterable[Path]) -> None:
        root = layout.root
        seen.append(
            {
                "paths": list(paths),
                "manifest": (layout.state_dir / MANIFEST_NAME).exists(),
                "archives": len(_visible(root / "conversations", "conversation.md")),
                "knowledge_visible": len(_visible(root / "knowledge", "*.md")),
                "knowledge_staged": len(list((root / "knowledge").rglob(".*.tmp"))),
            }
        )
        fsutil.sync_filesystems(paths)

    options = IngestOptions(memory_dir=layout.root, claude_roots=(samples,), jobs=2)
    report = run_ingest(options, barrier=barrier)
    assert report.sessions_ingested > 1
    assert len(seen) == 1, "one barrier for the whole run, not one per file"
    at_barrier = seen[0]
    assert at_barrier["manifest"] is False  # nothing recorded before the files are durable
    assert at_barrier["archives"] == report.sessions_ingested  # the workers' files, synced
    assert at_barrier["knowledge_visible"] == 0  # staged only: renamed in after the barrier
    assert at_barrier["knowledge_staged"] == report.knowledge_files_written
    assert layout.root / "conversations" in at_barrier["paths"]  # type: ignore[operator]
    assert (layout.state_dir / MANIFEST_NAME).exists()
    assert not list(layout.root.rglob(".*.tmp"))
    assert len(_visible(layout.root / "knowledge", "*.md")) == report.knowledge_files_written


def test_an_unchanged_reingest_syncs_nothing(samples: Path, tmp_path: Path) -> None:
    layout = MemoryLayout(tmp_path / "memory")
    options = IngestOptions(memory_dir=layout.root, claude_roots=(samples,))
    run_ingest(options)
    manifest = layout.state_dir / MANIFEST_NAME
    before = manifest.stat().st_mtime_ns
    calls: list[object] = []
    report = run_ingest(options, barrier=calls.append)
    assert report.sessions_ingested == 0 and report.sessions_unchanged > 0
    assert calls == []
    assert manifest.stat().st_mtime_ns == before


def test_a_failure_before_the_barrier_records_nothing_and_leaves_no_temp_files(
    samples: Path, tmp_path: Path
) -> None:
    layout = MemoryLayout(tmp_path / "memory")

    def failing(paths: Iterable[Path]) -> None:
        raise OSError(5, "I/O error")

    options = IngestOptions(memory_dir=layout.root, claude_roots=(samples,), jobs=1)
    with pytest.raises(OSError):
        run_ingest(options, barrier=failing)
    assert not (layout.state_dir / MANIFEST_NAME).exists()  # the next run redoes everything
    assert not list(layout.root.rglob(".*.tmp"))
    assert not _visible(layout.root / "knowledge", "*.md")
    report = run_ingest(options)
    assert report.sessions_ingested > 1 and (layout.state_dir / MANIFEST_NAME).exists()


def test_staged_writes_are_invisible_until_commit_then_byte_identical(tmp_path: Path) -> None:
    """Batched (staged) knowledge writes give the same files as one atomic write each."""
    files = {"bugs.md": "# Bugs\n\n## Session: s1 (t)\n\n- x\n", "context.md": "# ctx\n"}
    direct = MemoryLayout(tmp_path / "direct")
    batched = MemoryLayout(tmp_path / "batched")
    projectfiles.write_local(direct, "app", files)
    staged = fsutil.StagedWrites()
    result = projectfiles.write_local(batched, "app", files, staged=staged)
    assert result.written == ("bugs.md", "context.md") and len(staged) == 2
    assert projectfiles.read_local(batched, "app") == {}  # nothing visible yet
    staged.commit()
    folder = batched.knowledge_dir("app")
    assert projectfiles.read_local(batched, "app") == projectfiles.read_local(direct, "app")
    assert sorted(os.listdir(folder)) == ["bugs.md", "context.md"]
    for name in files:
        assert (folder / name).stat().st_mode == (direct.knowledge_dir("app") / name).stat().st_mode


def test_staged_writes_discarded_leave_the_old_files(tmp_path: Path) -> None:
    target = tmp_path / "k" / "bugs.md"
    fsutil.atomic_write_text(target, "old\n")
    staged = fsutil.StagedWrites()
    staged.add(target, "new\n")
    staged.discard()
    staged.commit()  # nothing left to commit: no barrier, no rename
    assert target.read_text() == "old\n"
    assert os.listdir(target.parent) == ["bugs.md"]


def test_sync_filesystems_tolerates_missing_paths(tmp_path: Path) -> None:
    fsutil.sync_filesystems([tmp_path, tmp_path / "missing", tmp_path])
    fsutil.sync_filesystems([])


def test_an_offline_ingest_never_imports_the_http_stack() -> None:
    """httpx (and the CLI tools it pulls in) was a tenth of a second of every ingest's
    start-up: only an LLM provider imports it."""
    code = (
        "import sys; from engram_ci.cli import app; from engram_ci.knowledge import extract; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'rich', 'click')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_an_unchanged_reingest_never_loads_the_extractor(samples: Path, tmp_path: Path) -> None:
    """The extractor and the redactor are a good part of a run's start-up: a run that finds
    nothing to extract does not import them."""
    memory = tmp_path / "memory"
    run_ingest(IngestOptions(memory_dir=memory, claude_roots=(samples,)))
    code = (
        "import sys; from pathlib import Path; "
        "from engram_ci.ingest import IngestOptions, run_ingest; "
        f"r = run_ingest(IngestOptions(memory_dir=Path({str(memory)!r}), "
        f"claude_roots=(Path({str(samples)!r}),))); "
        "print(r.sessions_ingested, r.sessions_unchanged > 0, "
        "sorted(m for m in ('engram_ci.knowledge.extract', 'engram_ci.sync.redact') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "True", "[]"]
