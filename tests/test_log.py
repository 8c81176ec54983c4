from __future__ import annotations

import io
import logging

from engram_ci import log


def test_registered_secrets_are_masked_in_every_record() -> None:
    stream = io.StringIO()
    log.configure(stream=stream)
    log.register_secret("ghp_supersecretvalue123")
    logging.getLogger("engram_ci").warning("push failed for %s", "ghp_supersecretvalue123")
    logging.getLogger("engram_ci.sub").info("token=ghp_supersecretvalue123 again")
    out = stream.getvalue()
    assert "ghp_supersecretvalue123" not in out
    assert "warning: push failed for ***" in out
    assert "token=*** again" in out


def test_short_values_are_not_registered() -> None:
    log.register_secret("ab")
    assert log.mask("tab") == "tab"


def test_default_handler_follows_the_current_stderr(capsys) -> None:  # type: ignore[no-untyped-def]
    import contextlib
    import io as _io

    log.configure()
    old = _io.StringIO()
    with contextlib.redirect_stderr(old):
        log.configure()
    old.close()  # the stream seen at configure time is gone
    logging.getLogger("engram_ci").warning("still visible")
    assert "warning: still visible" in capsys.readouterr().err


def test_inert_lines_keep_data_from_starting_a_runner_command() -> None:
    """Issue 15: inside a workflow step, a line the CLI prints (a project named
    `::stop-commands::x`, knowledge text) cannot become a workflow command, however `print`
    splits it; JSON output is untouched (its strings are quoted)."""
    import io as _io

    from engram_ci.log import InertLines

    sink = _io.StringIO()
    stream = InertLines(sink)
    print("::stop-commands::x", file=stream)
    print("proj ::add-mask:: in the middle", "::", file=stream)
    stream.write('  ##[set-env name=A;]b\n{"name": "::x"}\n')
    lines = sink.getvalue().splitlines()
    assert not [ln for ln in lines if ln.lstrip().startswith(("::", "##["))]
    assert lines[1] == "proj ::add-mask:: in the middle ::"
    assert lines[3] == '{"name": "::x"}'


def test_errors_are_labelled_and_cannot_start_a_runner_command() -> None:
    sink = io.StringIO()
    log.configure(stream=sink)
    try:
        logging.getLogger("engram_ci").error("::error::forged annotation")
        logging.getLogger("engram_ci").info("plain")
    finally:
        log.configure()
    first, *_ = sink.getvalue().splitlines()
    assert first.startswith("error: ") and not first.removeprefix("error: ").startswith("::")


def test_inert_lines_stand_in_for_a_writable_text_stream() -> None:
    sink = io.StringIO()
    stream = log.InertLines(sink)
    assert stream.writable()
    stream.writelines(["a\n", "::b\n"])  # io's own helpers accept it
    stream.flush()
    assert sink.getvalue().splitlines()[0] == "a"
    assert not sink.getvalue().splitlines()[1].startswith("::")
