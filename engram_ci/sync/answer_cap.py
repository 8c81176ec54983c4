"""A cap on an HTTP answer's body, enforced while it is read — not after.

requests (what PyGithub speaks) reads a whole body into memory before anyone can look at
its length: a hostile or broken server sending an endless answer, or 1 GB of one, would fill
memory first. A session with `cap_answers` refuses a body whose Content-Length announces more
than the cap without reading any of it, and reads the others in chunks, counting, so one
that goes past the cap (no length announced, chunked, or a length that lies) is cut there.
Memory holds at most the cap. Each read still waits under the caller's overall deadline
(engram_ci.deadline.call_within): a body that trickles in under the cap is cut by time.
"""

from __future__ import annotations

import functools
from typing import Any

import requests

__all__ = ["AnswerTooLarge", "cap_answers"]

CHUNK_BYTES = 64 * 1024


class AnswerTooLarge(Exception):
    """The answer's body is (or announces it is) bigger than the cap."""

    def __init__(self, limit: int, announced: int | None = None) -> None:
        self.limit = limit
        self.announced = announced
        size = f"{announced / 1e6:.0f} MB announced" if announced is not None else "cut there"
        super().__init__(f"larger than {limit // 2**20} MB ({size})")


def cap_answers(session: requests.Session, limit: int) -> None:
    """Make every answer `session` reads whole (stream=False) stop at `limit` bytes."""
    session.hooks["response"].append(functools.partial(_read_capped, limit=limit))


def _read_capped(
    answer: requests.Response, *args: Any, limit: int, **kwargs: Any
) -> requests.Response:
    """A response hook: requests calls it before it reads the body itself, so reading it
    here, counting, is the only read there is."""
    if kwargs.get("stream"):
        return answer  # the caller reads the stream itself (and bounds it)
    announced = answer.headers.get("content-length", "")
    if announced.isdigit() and int(announced) > limit:
        answer.close()  # not drained: the connection is dropped, not reused
        raise AnswerTooLarge(limit, int(announced))
    body = bytearray()
    try:
        # iter_content: requests' own decoding and its translation of read errors
        for chunk in answer.iter_content(CHUNK_BYTES):
            body += chunk
            if len(body) > limit:
                raise AnswerTooLarge(limit)
    except BaseException:
        answer.close()
        raise
    answer._content = bytes(body)  # what requests keeps once it has read the body
    return answer
