"""Fixtures the ingest package's module tests share: the bundled samples, copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engram_ci.cli.ingest_cmd import samples_dir
from engram_ci.transcripts import claude
from engram_ci.transcripts.model import TranscriptGroup

INVOICE_1 = "c7a2e815-4d9b-4f36-8e0c-51b7d2a9f4e6"


@pytest.fixture(name="samples")
def samples_fixture(tmp_path: Path) -> Path:
    """A writable copy of the bundled samples (some tests grow or touch them)."""
    return Path(shutil.copytree(samples_dir(), tmp_path / "projects"))


@pytest.fixture(name="invoice")
def invoice_fixture(samples: Path) -> TranscriptGroup:
    """The group of INVOICE_1, the invoice-cli sample session."""
    return next(g for g in claude.discover([samples]) if g.session_id == INVOICE_1)
