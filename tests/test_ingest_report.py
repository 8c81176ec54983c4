"""engram_ci/ingest/report.py: the --json shape scripts parse, and the summary people read."""

from __future__ import annotations

from engram_ci.ingest import PHASES, IngestReport, summary_lines
from engram_ci.transcripts.model import Usage


def test_to_json_is_sorted_and_keeps_its_keys() -> None:
    report = IngestReport(memory_dir="/m", projects=["web", "api"])
    report.sessions = [("web", "b"), ("api", "a")]
    report.malformed_lines = {"z": 1, "a": 2}
    report.timings["read"] = 3.0
    shape = report.to_json()
    assert list(shape) == [
        "memory_dir", "dry_run", "transcripts_found", "sessions_ingested",
        "sessions_unchanged", "not_sessions", "sessions_failed", "subagents", "projects",
        "tool_calls", "tool_errors", "blocks_written", "knowledge_files_written", "bytes_read",
        "skipped_lines", "sessions", "llm",
    ]  # fmt: skip
    assert shape["projects"] == ["api", "web"]
    assert shape["sessions"] == [
        {"project": "api", "session_id": "a"},
        {"project": "web", "session_id": "b"},
    ]
    assert list(shape["skipped_lines"]["malformed"]) == ["a", "z"]
    assert "timings" not in shape  # they differ from run to run
    assert set(report.timings) == set(PHASES)


def test_a_dry_run_says_would_and_writes_no_knowledge_line() -> None:
    lines = summary_lines(IngestReport(memory_dir="/m", dry_run=True, sessions_ingested=2))
    assert lines[0].startswith("Would ingest 2 session(s)")
    assert not any(line.startswith("Knowledge:") for line in lines)


def test_the_summary_names_skipped_lines_model_use_and_failures() -> None:
    report = IngestReport(memory_dir="/m", provider="anthropic", llm_sessions=1, sessions_failed=2)
    report.malformed_lines = {"bad json": 3}
    report.unknown_types = {"ghost": 1}
    report.llm_tokens = Usage(input_tokens=10, output_tokens=5)
    lines = summary_lines(report)
    assert "Skipped lines: bad json 3, unknown type 'ghost' 1" in lines
    assert any(line.startswith("Model (anthropic): 1 session(s)") for line in lines)
    assert lines[-1] == "Failed (see warnings above; retried next run): 2"
