"""progress.py: a redrawn bar on a TTY (throttled), occasional plain lines otherwise."""

from __future__ import annotations

import io

from engram_ci.progress import MB, NullProgress, Progress


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_tty_bar_is_redrawn_in_place_at_most_ten_times_a_second() -> None:
    out, clock = io.StringIO(), FakeClock()
    bar = Progress(out, is_tty=True, clock=clock)
    bar.start(files=1000, total_bytes=1000 * MB)
    for _ in range(1000):
        clock.now += 0.001  # a whole run of 1 s
        bar.advance(MB)
    draws = out.getvalue().count("\r")
    assert 5 <= draws <= 11
    assert "\n" not in out.getvalue()  # one line, redrawn
    last = out.getvalue().rsplit("\r", 1)[1]
    assert "transcripts" in last and "MB/s" in last and "[" in last


def test_tty_finish_clears_the_line() -> None:
    out, clock = io.StringIO(), FakeClock()
    bar = Progress(out, is_tty=True, clock=clock)
    bar.start(files=2, total_bytes=2 * MB)
    clock.now += 1
    bar.advance(MB)
    bar.finish()
    assert out.getvalue().endswith("\r\x1b[K")


def test_not_a_tty_prints_plain_lines_every_few_seconds_and_none_for_short_runs() -> None:
    out, clock = io.StringIO(), FakeClock()
    plain = Progress(out, is_tty=False, clock=clock)
    plain.start(files=100, total_bytes=100 * MB)
    for _ in range(10):
        clock.now += 0.1
        plain.advance(MB)
    assert out.getvalue() == ""  # a one-second run says nothing
    for _ in range(90):
        clock.now += 0.5
        plain.advance(MB)
    plain.finish()
    lines = out.getvalue().splitlines()
    assert 7 <= len(lines) <= 10
    assert all(line.startswith("ingest: ") and "\r" not in line for line in lines)
    assert "\x1b" not in out.getvalue()


def test_rate_and_counts_in_the_status_line() -> None:
    out, clock = io.StringIO(), FakeClock()
    bar = Progress(out, is_tty=False, clock=clock)
    bar.start(files=4, total_bytes=8 * MB)
    clock.now += 2
    bar.advance(4 * MB)
    assert bar.line(clock.now) == "1/4 transcripts  4.0/8.0 MB  2.0 MB/s"


def test_null_progress_does_nothing() -> None:
    sink = NullProgress()
    sink.start(1, 1)
    sink.advance(1)
    sink.finish()
