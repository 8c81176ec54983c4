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
