"""Ingest: agent transcripts in, engram's memory layout out — incrementally and idempotently.

One run: discover transcript groups through every selected reader (transcripts/registry.py:
one per agent; groups of one session found twice are merged), skip those the manifest says are
unchanged (a `stat`, no parse), read the rest one session at a time, extract its knowledge and
stage its archive (conversations/, summaries/) — all of it WITHOUT the memory lock, so a model
server that stalls never keeps sync or another ingest waiting. Then, under the lock, the write
phase: the manifest is read again and a session another run recorded meanwhile from other
bytes is left to that run (memory/staging.py); the rest have their archive renamed in, and
each touched project's knowledge files (read again now: a pull may have changed them) are
written ONCE with every new `## Session:` block upserted (a re-ingested session replaces its
block, blocks written by engram or pulled by sync are kept), then context.md. The manifest is
saved last: a run killed half-way redoes its sessions next time, harmlessly.

The modules, in the order a run goes through them:

- options.py: IngestOptions, what a run is asked to do (the faces' flags)
- discovery.py: default_readers, and which groups changed since the manifest's record
- extractor.py: the (injectable) knowledge extractor, and the redaction of what it returns
- per_session.py: read → extract → stage one group, unlocked, in worker processes when it pays
- write_phase.py: under the lock: re-check the manifest, apply the outcomes, commit
- project_knowledge.py: one project's queued blocks, upserted into its files in one write
- report.py: IngestReport (--json) and summary_lines; PHASES, the timings' phases
- run.py: run_ingest, which strings them together

The names below are the package's public face (what the faces, tests and benchmarks use):
import them from `engram_ci.ingest`; the modules' own __all__ serve the package and its tests.
"""

from __future__ import annotations

from engram_ci.ingest.discovery import default_readers
from engram_ci.ingest.extractor import Extractor
from engram_ci.ingest.options import IngestOptions
from engram_ci.ingest.report import PHASES, IngestReport, summary_lines
from engram_ci.ingest.run import run_ingest

__all__ = [
    "PHASES",
    "Extractor",
    "IngestOptions",
    "IngestReport",
    "default_readers",
    "run_ingest",
    "summary_lines",
]
