from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engram_ci.memory import fsutil


def test_atomic_write_creates_parents_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "file.md"
    fsutil.atomic_write_text(target, "hello")
    assert target.read_text() == "hello"
    assert os.listdir(target.parent) == ["file.md"]


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "file.md"
    target.write_text("old")
    with pytest.raises(TypeError):
        fsutil.atomic_write_bytes(target, "not bytes")  # type: ignore[arg-type]  # fails mid-write
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["file.md"]


def test_read_text_if_exists(tmp_path: Path) -> None:
    assert fsutil.read_text_if_exists(tmp_path / "none") is None
    (tmp_path / "bad").write_bytes(b"ok \xff")
    assert fsutil.read_text_if_exists(tmp_path / "bad") == "ok \ufffd"


def test_only_stale_temp_files_of_ours_are_removed(tmp_path: Path) -> None:
    import tempfile

    folder = tmp_path / "knowledge" / "app"
    folder.mkdir(parents=True)
    (tmp_path / ".git").mkdir()

    def ours(where: Path, name: str) -> Path:
        fd, made = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=where)
        os.close(fd)
        return Path(made)

    stale, fresh, in_git = (
        ours(folder, "bugs.md"),
        ours(folder, "context.md"),
        ours(tmp_path / ".git", "x"),
    )
    lookalike = folder / ".notes.tmp"  # not a name our writes make
    lookalike.write_text("mine")
    link = folder / ".bugs.md.abcd1234.tmp"
    link.symlink_to(tmp_path / "elsewhere")
    hour_ago = 1_000_000.0
    for path in (stale, in_git, lookalike):
        os.utime(path, (hour_ago, hour_ago))

    assert fsutil.remove_stale_temp_files(tmp_path, now=hour_ago + 3601) == 1
    assert not stale.exists()
    assert fresh.exists() and in_git.exists() and lookalike.exists() and link.is_symlink()
    assert fsutil.remove_stale_temp_files(tmp_path / "missing") == 0


@pytest.mark.parametrize(
    "old",
    ["", "abc", "abcdef", "abcdefgh-longer", "xbcdef", "abcdeX", "ab"],
)
def test_chunked_write_if_changed_gives_the_new_bytes_whatever_the_old(
    tmp_path: Path, old: str
) -> None:
    target = tmp_path / "conversation.md"
    target.write_text(old)
    written = fsutil.atomic_write_chunks(target, ["ab", "cd", "", "ef"], only_if_changed=True)
    assert target.read_text() == "abcdef"
    assert written == (old != "abcdef")
    assert os.listdir(tmp_path) == ["conversation.md"]


def test_an_unchanged_file_is_compared_in_place_never_rewritten(tmp_path: Path) -> None:
    target = tmp_path / "meta.json"
    fsutil.atomic_write_chunks(target, ["é" * 5000, "tail\n"], only_if_changed=True)
    before, folder_before = target.stat(), tmp_path.stat().st_mtime_ns
    time.sleep(0.01)  # a temp file made and removed would move the folder's mtime
    again = fsutil.atomic_write_chunks(target, ["é" * 5000, "tail\n"], only_if_changed=True)
    assert again is False
    assert tmp_path.stat().st_mtime_ns == folder_before  # no temp file made to find out
    after = target.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_make_folder_says_whether_it_made_it(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "c"
    assert fsutil.make_folder(deep) is True
    assert fsutil.make_folder(deep) is False
    assert deep.is_dir()


def test_a_chunked_write_that_fails_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "context.md"
    target.write_text("old")

    def pieces() -> Iterator[str]:
        yield "new start, "
        raise RuntimeError("the extractor broke mid-file")

    with pytest.raises(RuntimeError, match="mid-file"):
        fsutil.atomic_write_chunks(target, pieces())
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["context.md"]


def test_a_file_that_shrinks_while_being_rewritten_is_an_error_not_a_torn_file(
    tmp_path: Path,
) -> None:
    target = tmp_path / "decisions.md"
    kept = "## Session: a\n" + "kept\n" * 100_000  # past any read buffer: read from disk again
    target.write_text(kept + "## Session: b\n")

    def pieces() -> Iterator[str]:
        yield kept  # agrees with the old file: not copied yet
        target.write_text("")  # another process truncated it meanwhile
        yield "changed\n"

    with pytest.raises(OSError, match="shrank while being rewritten"):
        fsutil.atomic_write_chunks(target, pieces(), only_if_changed=True)
    assert os.listdir(tmp_path) == ["decisions.md"]  # no temp file left behind


def test_a_staged_write_that_fails_leaves_no_temp_file(tmp_path: Path) -> None:
    staged = fsutil.StagedWrites(barrier=lambda paths: None)
    with pytest.raises(UnicodeEncodeError):
        staged.add(tmp_path / "bugs.md", "a lone surrogate \ud800 cannot be written")
    assert len(staged) == 0
    assert os.listdir(tmp_path) == []


def test_chunked_writes_are_gathered_in_bounded_batches_with_every_byte_kept(
    tmp_path: Path,
) -> None:
    # pieces well past one batch, so several write(2)s; then a rewrite that keeps a prefix of
    # the old file (copied through the same fd) and changes the rest
    pieces = [f"{n:07d}|".ljust(997, "x") + "\n" for n in range(3000)]
    target = tmp_path / "big.md"
    assert fsutil.atomic_write_chunks(target, pieces, durable=False)
    assert target.read_text() == "".join(pieces)
    changed = [*pieces[:2500], "changed\n", *pieces[2600:]]
    assert fsutil.atomic_write_chunks(target, changed, durable=False, only_if_changed=True)
    assert target.read_text() == "".join(changed)
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)
    assert [p.name for p in tmp_path.iterdir()] == ["big.md"]
    assert fsutil.atomic_write_chunks(target, [""], durable=False)
    assert target.read_bytes() == b""
