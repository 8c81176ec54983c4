"""memory/staging.py: archive files staged outside the memory lock, put in place under it,
and a sweep that never removes what a live run staged, however long ago."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from engram_ci.cli.ingest_cmd import samples_dir
from engram_ci.ingest import IngestOptions, run_ingest
from engram_ci.memory import fsutil, staging
from engram_ci.memory.paths import MemoryLayout


def _hours_ago(*paths: Path, hours: float = 2) -> None:
    then = time.time() - hours * 3600
    for path in paths:
        os.utime(path, (then, then))


def test_staged_files_are_invisible_until_put_in_place(tmp_path: Path) -> None:
    target = tmp_path / "session" / "conversation.md"
    write = staging.StagedFiles()
    assert write(target, ["# one", "\n"], False)
    assert not target.exists()  # only a dot-named temp file beside it so far
    [(tmp_name, where)] = write.files
    assert Path(tmp_name).parent == target.parent and where == str(target)
    staging.put_in_place(write.files)
    assert target.read_text() == "# one\n"
    assert os.listdir(target.parent) == ["conversation.md"]


def test_a_file_already_holding_the_bytes_is_not_staged(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    target.write_text("same\n")
    write = staging.StagedFiles()
    assert not write(target, ["same\n"], True)
    assert write(target, ["other\n"], True)
    staging.discard(write.files)
    staging.discard(write.files)  # twice: nothing left, no error
    assert os.listdir(tmp_path) == ["summary.md"] and target.read_text() == "same\n"


def test_the_sweep_waits_while_another_run_stages(tmp_path: Path) -> None:
    layout = MemoryLayout(tmp_path / "memory")
    target = layout.root / "conversations" / "p" / "s" / "conversation.md"
    tmp_name = fsutil.stage_chunks(target, ["staged by a slow model run\n"])
    assert tmp_name is not None
    _hours_ago(Path(tmp_name))  # a model run may stage for hours before its write phase
    with staging.staging_lease(layout), staging.staging_lease(layout) as ours:
        staging.sweep_hourly(layout, ours)  # the first lease: another run, still staging
        assert Path(tmp_name).exists()
        assert not (layout.state_dir / "swept").exists()  # not done: the next run tries
    with staging.staging_lease(layout) as ours:
        staging.sweep_hourly(layout, ours)  # alone now: the leftover is swept
    assert not Path(tmp_name).exists() and (layout.state_dir / "swept").exists()


def test_an_ingest_never_sweeps_a_live_runs_staged_files(tmp_path: Path) -> None:
    samples = Path(shutil.copytree(samples_dir(), tmp_path / "projects"))
    layout = MemoryLayout(tmp_path / "memory")
    options = IngestOptions(memory_dir=layout.root, claude_roots=(samples,))
    run_ingest(options)
    live = fsutil.stage_chunks(layout.root / "summaries" / "x.md", ["a live run's\n"])
    dead = layout.knowledge_dir("weather-api") / ".bugs.md.k1lled00.tmp"
    dead.write_text("half a file")
    assert live is not None
    _hours_ago(Path(live), dead, layout.state_dir / "swept")
    with staging.staging_lease(layout):  # the live run, still extracting
        run_ingest(options)
        assert Path(live).exists() and dead.exists()
    run_ingest(options)  # nobody else staging: the killed run's file and the old one go
    assert not Path(live).exists() and not dead.exists()
