"""STUB — owned by the security helper. Secret redaction before anything is uploaded."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class RedactionReport:
    counts: Counter[str] = field(default_factory=Counter)  # kind -> how many replaced

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def redact_text(text: str, report: RedactionReport | None = None) -> str:
    """Replace every secret in `text` with `[REDACTED:kind]`."""
    raise NotImplementedError


def redact_files(files: Mapping[str, str]) -> tuple[dict[str, str], RedactionReport]:
    report = RedactionReport()
    return {name: redact_text(text, report) for name, text in files.items()}, report
