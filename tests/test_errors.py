"""FatalError keeps its one-line message; a structured Fix is worded by each face."""

from __future__ import annotations

import errno

from engram_ci.errors import FatalError, Fix, environment_error, worded


def test_a_plain_message_keeps_working_and_stays_one_line() -> None:
    error = FatalError("bad\n  thing:   do this", title="t")
    assert str(error) == "bad thing: do this"
    assert error.worded("action") == str(error)
    assert error.title == "t"


def test_a_fix_names_the_flag_for_the_cli_and_the_input_for_the_action() -> None:
    fix = Fix("fetch it first with {option}", flag="--fetch-remote", input="fetch-remote")
    error = FatalError("branch 'memory' not found", fix=fix)
    assert str(error) == "branch 'memory' not found: fetch it first with --fetch-remote"
    assert error.worded("action") == (
        "branch 'memory' not found: fetch it first with the `fetch-remote` input"
    )
    assert "--" not in error.worded("action")


def test_an_environment_variable_is_offered_beside_the_option_or_alone() -> None:
    both = Fix("set {option}", flag="--token", input="token", env="ENGRAM_GIT_TOKEN")
    assert both.worded("cli") == "set --token (or $ENGRAM_GIT_TOKEN)"
    assert both.worded("action") == "set the `token` input (or $ENGRAM_GIT_TOKEN)"
    cli_only = Fix("set {option}", flag="--jobs", env="ENGRAM_JOBS")
    assert cli_only.worded("action") == "set $ENGRAM_JOBS"  # never a flag in a job


def test_a_fix_the_action_has_no_input_for_carries_the_actions_own_words() -> None:
    fix = Fix(
        "or pass {option} to take it", flag="--adopt", action_text="or take it from a terminal"
    )
    assert fix.worded("cli") == "or pass --adopt to take it"
    assert fix.worded("action") == "or take it from a terminal"  # never "the setting"
    both = Fix("look with {option}", flag="--fetch", input="fetch", action_text="set {option}")
    assert both.worded("action") == "set the `fetch` input"  # its words still name the input
    # a notice words its fix the same way as an error, on one line
    assert worded("nothing\n here", fix, "action") == "nothing here: or take it from a terminal"
    assert worded("nothing here", None, "action") == "nothing here"


def test_the_machines_faults_name_their_fix_and_others_are_bugs() -> None:
    full = environment_error(OSError(errno.ENOSPC, "No space left on device", "/m/bugs.md"))
    assert full is not None
    assert str(full).startswith("cannot write /m/bugs.md (No space left on device); nothing")
    assert "free some space" in str(full)
    read_only = environment_error(OSError(errno.EROFS, "Read-only file system"))
    assert read_only is not None
    assert "point --memory-dir at a writable folder" in str(read_only)
    assert "the `memory-path` input" in read_only.worded("action")
    in_the_way = environment_error(OSError(errno.ENOTDIR, "Not a directory", "/m/knowledge/p"))
    assert in_the_way is not None
    assert "a file stands where a folder must be" in str(in_the_way)
    assert str(in_the_way).startswith("cannot use /m/knowledge/p (Not a directory)")
    too_long = environment_error(OSError(errno.ENAMETOOLONG, "File name too long", "a" * 300))
    assert too_long is not None and "use a shorter path" in str(too_long)
    assert len(str(too_long)) < 400  # the name is cut in the message
    assert environment_error(OSError(errno.ENOENT, "No such file or directory")) is None
    assert environment_error(OSError("no errno at all")) is None
