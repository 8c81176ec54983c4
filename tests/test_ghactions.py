"""The runner's formats: workflow commands on stdout, outputs and summary in files."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from engram_ci.action.ghactions import (
    SUMMARY_LIMIT,
    AnnotationFormatter,
    Runner,
    parse_file_command,
)


def _runner(tmp_path: Path) -> tuple[Runner, io.StringIO, Path, Path]:
    out = tmp_path / "output"
    summary = tmp_path / "summary"
    out.touch()
    summary.touch()
    stdout = io.StringIO()
    env = {"GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary)}
    return Runner(stdout=stdout, env=env), stdout, out, summary


def test_outputs_use_a_random_delimiter_so_any_value_round_trips(tmp_path: Path) -> None:
    runner, _, out, _ = _runner(tmp_path)
    tricky = "line one\nEOF\nname=value\nx<<EOF\n\nlast"
    runner.set_output("plain", "abc")
    runner.set_output("tricky", tricky)
    runner.set_output("empty", "")
    text = out.read_text()
    assert text.startswith("plain<<ghadelimiter_")
    assert parse_file_command(text) == {"plain": "abc", "tricky": tricky, "empty": ""}
    delimiters = {line.split("<<", 1)[1] for line in text.splitlines() if "<<ghadelim" in line}
    assert len(delimiters) == 3  # a fresh one per output


def test_parse_file_command_reads_the_old_one_line_format_too() -> None:
    assert parse_file_command("a=1\nb=x=y\r\n") == {"a": "1", "b": "x=y"}
    with pytest.raises(ValueError, match="never closed"):
        parse_file_command("a<<END\nvalue\n")


def test_without_a_runner_outputs_are_shown_not_lost(tmp_path: Path) -> None:
    stdout = io.StringIO()
    Runner(stdout=stdout, env={}).set_output("gist-id", "abc")
    assert stdout.getvalue() == "output gist-id=abc\n"


def test_workflow_commands_are_escaped(tmp_path: Path) -> None:
    runner, stdout, _, _ = _runner(tmp_path)
    runner.error("bad 100%\nsecond line", title="a: b, c")
    runner.warning("careful")
    with runner.group("phase"):
        stdout.write("inside\n")
    assert stdout.getvalue().splitlines() == [
        "::error title=a%3A b%2C c::bad 100%25%0Asecond line",
        "::warning::careful",
        "::group::phase",
        "inside",
        "::endgroup::",
    ]


def test_group_ends_even_when_the_phase_fails(tmp_path: Path) -> None:
    runner, stdout, _, _ = _runner(tmp_path)
    with pytest.raises(RuntimeError), runner.group("phase"):
        raise RuntimeError("boom")
    assert stdout.getvalue().splitlines()[-1] == "::endgroup::"


def test_multiline_secrets_are_masked_whole_and_line_by_line(tmp_path: Path) -> None:
    runner, stdout, _, _ = _runner(tmp_path)
    runner.add_mask("-----BEGIN KEY-----\nabcdef\n-----END KEY-----")
    runner.add_mask("")
    lines = stdout.getvalue().splitlines()
    assert "::add-mask::-----BEGIN KEY-----%0Aabcdef%0A-----END KEY-----" in lines
    assert "::add-mask::abcdef" in lines
    assert all(line.startswith("::add-mask::") for line in lines)


def test_summary_appends_and_stays_under_githubs_limit(tmp_path: Path) -> None:
    runner, _, _, summary = _runner(tmp_path)
    runner.append_summary("# one\n")
    runner.append_summary("# two\n")
    assert summary.read_text() == "# one\n# two\n"
    runner.append_summary("x" * (2 * SUMMARY_LIMIT))
    assert summary.stat().st_size <= SUMMARY_LIMIT
    assert summary.read_text().endswith("1 MiB limit)_\n")
    runner.append_summary("more")  # full: dropped, not an error
    assert summary.stat().st_size <= SUMMARY_LIMIT


def test_log_records_become_annotations() -> None:
    formatter = AnnotationFormatter()

    def record(level: int, msg: str) -> logging.LogRecord:
        return logging.LogRecord("engram_ci", level, __file__, 1, msg, None, None)

    assert formatter.format(record(logging.WARNING, "50% done\nmore")) == (
        "::warning::50%25 done%0Amore"
    )
    assert formatter.format(record(logging.ERROR, "no")) == "::error::no"
    assert formatter.format(record(logging.INFO, "plain")) == "plain"
    assert formatter.format(record(logging.DEBUG, "detail")) == "::debug::detail"


def test_every_variable_whose_name_says_secret_is_masked() -> None:
    """Issue 15: tokens of every kind — GitHub, LLM keys, passphrases, S3 keys — are masked,
    and harmless values (`true`, a number) are not (masking them would garble the log)."""
    out = io.StringIO()
    runner = Runner(stdout=out, env={})
    env = {
        "ENGRAM_GIT_TOKEN": "glpat-Zq8vLx2mW9pT4kR7aa",
        "OPENROUTER_API_KEY": "sk-or-v1-0123abcd4567ef89",
        "ENGRAM_PASSPHRASE": "correct-horse-battery",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMIK7MDENGbPxRfiCYzz",
        "S3_SECRET_KEY": "s3-secret-value-99",
        "PATH": "/usr/local/bin:/usr/bin",
        "PWD": "/github/workspace",
        "USE_TOKEN_CACHE": "true",
        "MAX_TOKENS": "4096",
        "GITHUB_ACTION_PATH": "/home/runner/work/_actions/x",
    }
    masked = runner.mask_environment(env)
    commands = out.getvalue().splitlines()
    for name in ("ENGRAM_GIT_TOKEN", "OPENROUTER_API_KEY", "ENGRAM_PASSPHRASE"):
        assert f"::add-mask::{env[name]}" in commands
    assert f"::add-mask::{env['AWS_SECRET_ACCESS_KEY']}" in commands
    assert f"::add-mask::{env['S3_SECRET_KEY']}" in commands
    assert not any(v in masked for v in ("/usr/local/bin:/usr/bin", "/github/workspace", "true"))


def test_data_at_a_line_start_never_becomes_a_runner_command() -> None:
    """Issue 15: a project name, knowledge text or file name starting with `::` (or the legacy
    `##[`) stays text in the job log, whatever the log level."""
    from engram_ci.log import neutralise_commands

    hostile = "pulled into ::stop-commands::pwn\n::add-mask::oops\n  ##[set-env name=X;]y"
    safe = neutralise_commands(hostile)
    assert not [ln for ln in safe.splitlines() if ln.lstrip().startswith(("::", "##["))]
    assert safe.replace("\u2060", "") == hostile  # only an invisible character was added
    formatter = AnnotationFormatter()
    for level in (logging.INFO, logging.WARNING, logging.ERROR, logging.DEBUG):
        record = logging.LogRecord("engram_ci", level, __file__, 1, hostile, None, None)
        lines = formatter.format(record).splitlines()
        own = [ln for ln in lines if ln.startswith(("::warning::", "::error::", "::debug::"))]
        assert len(own) <= 1
        assert not [ln for ln in lines if ln not in own and ln.lstrip().startswith("::")]
    out = io.StringIO()
    Runner(stdout=out, env={}).set_output("project", "::add-mask::x\n::stop-commands::y")
    assert not [ln for ln in out.getvalue().splitlines() if ln.startswith("::")]


def test_a_summary_other_steps_filled_is_left_alone(tmp_path: Path) -> None:
    runner, _, _, summary = _runner(tmp_path)
    summary.write_bytes(b"y" * SUMMARY_LIMIT)  # earlier steps used the whole 1 MiB
    runner.append_summary("# engram\n")
    assert summary.stat().st_size == SUMMARY_LIMIT
    assert not summary.read_bytes().endswith(b"# engram\n")
