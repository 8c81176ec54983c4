"""THE redaction step: everything that leaves the machine passes through `redact_outbound` —
every sync upload (gist create and update, encrypted or not, repo push, the Action's pushes,
which run the same pipeline) and `engram export`. One function, so a test that breaks it
breaks every path at once, and no path can skip it.

It returns a redacted COPY: local memory keeps the originals (the pipeline never writes this
copy back; sync/threeway.py swaps a store's redacted block for the local original).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engram_ci.memory.projectfiles import for_upload
from engram_ci.sync import redact

__all__ = ["redact_outbound", "redact_value"]


def redact_outbound(files: Mapping[str, str]) -> tuple[dict[str, str], int]:
    """(redacted copies of the files, secrets replaced), without the blocks whose [ttl:] has
    expired. Blank files are dropped: stores like gists refuse empty content."""
    redacted, report = redact.redact_files(for_upload(files))
    return {n: t for n, t in redacted.items() if t.strip()}, report.total


def redact_value(value: Any) -> Any:
    """A JSON-like value with every string in it redacted (keys included)."""
    if isinstance(value, str):
        return redact.redact_text(value)
    if isinstance(value, dict):
        return {redact_value(k): redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value
