"""What the readers share: the chunked line reader and the compact set of line-uuid hashes."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engram_ci.transcripts.lines import SeenHashes, iter_lines, read_head
from engram_ci.transcripts.model import ParseStats

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def test_seen_hashes_agree_with_a_set_across_many_merges() -> None:
    rng = random.Random(5)
    seen, reference = SeenHashes(), set()
    for _ in range(30_000):  # enough for several buffers and merged arrays
        value = hash(f"{rng.getrandbits(40):x}")
        assert (value in seen) == (value in reference)
        seen.add(value)
        reference.add(value)
    assert all(v in seen for v in reference)
    assert sum(hash(f"miss{n}") in seen for n in range(2_000)) == 0
    assert len(seen._sorted) > 1 and sum(map(len, seen._sorted)) + len(seen._recent) >= 29_000


@given(st.lists(INT64, max_size=300), st.lists(INT64, max_size=50))
def test_seen_hashes_membership_matches_a_set(members: list[int], probes: list[int]) -> None:
    seen = SeenHashes(buffer=8)  # small buffers: merges happen within a few members
    for value in members:
        seen.add(value)
    assert all(v in seen for v in members)
    assert all((v in seen) == (v in set(members)) for v in probes)


def lines_by_readline(path: Path, stats: ParseStats, max_line_bytes: int) -> list[bytes]:
    """The rule with readline in hand: every line counted, blank ones not yielded, one longer
    than max_line_bytes (newline aside) counted as too_long and never held whole."""
    found = []
    with path.open("rb") as fh:
        while line := fh.readline(max_line_bytes + 1):
            stats.lines += 1
            stats.bytes += len(line)
            if len(line) == max_line_bytes + 1 and not line.endswith(b"\n"):
                while (rest := fh.readline(7)) and not rest.endswith(b"\n"):
                    stats.bytes += len(rest)
                stats.bytes += len(rest)
                stats.malformed["too_long"] += 1
            elif not line.isspace():
                found.append(line)
    return found


def stats_of(stats: ParseStats) -> tuple[Any, ...]:
    return stats.lines, stats.bytes, dict(stats.malformed)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([b"", b" ", b"{}", b"x" * 5, b"y" * 11, b"z" * 40]), max_size=30),
    st.booleans(),
    st.integers(min_value=1, max_value=50),
    st.integers(min_value=1, max_value=64),
)
def test_chunked_lines_match_readline(
    pieces: list[bytes], final_newline: bool, max_line_bytes: int, chunk_bytes: int
) -> None:
    import tempfile

    data = b"\n".join(pieces) + (b"\n" if final_newline and pieces else b"")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.jsonl"
        path.write_bytes(data)
        expected_stats, stats = ParseStats(), ParseStats()
        expected = lines_by_readline(path, expected_stats, max_line_bytes)
        got = list(iter_lines(path, stats, max_line_bytes, chunk_bytes=chunk_bytes))
    assert got == expected
    assert stats_of(stats) == stats_of(expected_stats)
    assert stats.bytes == len(data)


def test_a_huge_line_is_skipped_while_reading_past_it(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"a":1}\n' + b"x" * 5_000_000 + b'\n{"b":2}')
    stats = ParseStats()
    lines = list(iter_lines(path, stats, 1_000_000, chunk_bytes=65_536))
    assert lines == [b'{"a":1}\n', b'{"b":2}']
    assert stats_of(stats) == (3, path.stat().st_size, {"too_long": 1})


def test_read_head_gives_a_files_opening_or_nothing(tmp_path: Path) -> None:
    import zstandard

    plain, packed = tmp_path / "r.jsonl", tmp_path / "r.jsonl.zst"
    body = b'{"type":"session_meta"}\n' * 1000
    plain.write_bytes(body)
    packed.write_bytes(zstandard.ZstdCompressor().compress(body))
    assert read_head(plain, 100) == body[:100] == read_head(packed, 100)
    assert read_head(str(plain), len(body) + 10) == body  # a string path, a short file
    (tmp_path / "broken.jsonl.zst").write_bytes(b"not zstd at all")
    for unreadable in (tmp_path / "missing.jsonl", tmp_path, tmp_path / "broken.jsonl.zst"):
        assert read_head(unreadable, 100) == b""
