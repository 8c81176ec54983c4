"""synced_base.py: the merge base and the lineage a machine remembers per store — written
private, read back exactly, and a damaged record costs a warning (the next sync merges
without a base), never a crash."""

from __future__ import annotations

import logging
import stat

import pytest

from engram_ci.memory.paths import MemoryLayout
from engram_ci.sync.synced_base import (
    Base,
    forget_base,
    read_base,
    read_lineage,
    write_base,
    write_lineage,
)

STORE = "https://gist.github.com/abc?x=1"  # any text: made safe as a folder name


def test_a_base_reads_back_as_written_and_is_private(memory: MemoryLayout) -> None:
    base = Base("v1", {"decisions.md": "## Session: s1\n- kept\n"})
    write_base(memory, STORE, "shop", base)
    assert read_base(memory, STORE, "shop") == base
    (path,) = (memory.state_dir / "sync").rglob("shop.json")
    assert "/" not in path.parent.name and "?" not in path.parent.name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_base(memory, "another store", "shop") is None  # bases are per store
    forget_base(memory, STORE, "shop")
    assert read_base(memory, STORE, "shop") is None
    forget_base(memory, STORE, "shop")  # forgetting twice is fine


def test_a_base_without_a_version_keeps_none(memory: MemoryLayout) -> None:
    write_base(memory, STORE, "shop", Base(None, {}))
    assert read_base(memory, STORE, "shop") == Base(None, {})


@pytest.mark.parametrize(
    "text", ["{broken", "[]", '{"version": "v1"}', '{"files": ["a"]}', '{"files": null}']
)
def test_a_damaged_base_is_a_warning_and_no_base(
    text: str, memory: MemoryLayout, caplog: pytest.LogCaptureFixture
) -> None:
    write_base(memory, STORE, "shop", Base("v1", {}))
    (path,) = (memory.state_dir / "sync").rglob("shop.json")
    path.write_text(text)
    with caplog.at_level(logging.WARNING, logger="engram_ci"):
        assert read_base(memory, STORE, "shop") is None
    assert "merges without a base" in caplog.text


def test_lineage_reads_back_and_damage_reads_as_none(memory: MemoryLayout) -> None:
    assert read_lineage(memory, "shop") is None
    write_lineage(memory, "shop", "gist:abc", "v7")
    assert read_lineage(memory, "shop") == {"origin": "gist:abc", "version": "v7"}
    path = memory.state_dir / "sync" / "lineage" / "shop.json"
    for text in ("{broken", '["gist:abc"]'):
        path.write_text(text)
        assert read_lineage(memory, "shop") is None
