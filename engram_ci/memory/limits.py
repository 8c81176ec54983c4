"""How much remote content a pull accepts: per file and per project, gist or repo alike.

A knowledge project is a few files of markdown; a remote offering hundreds of megabytes is
broken or hostile, and reading it would cost memory and disk before anything could check it.
Sizes are checked before content is fetched (the gist API and git both say how big a file
is) and again on what arrived (a server may lie); over a cap the pull stops with one line
naming the file and the setting, and nothing is written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from engram_ci.errors import FatalError

__all__ = ["DEFAULT_FILE_BYTES", "DEFAULT_PROJECT_BYTES", "PullLimits", "check_sizes"]

DEFAULT_FILE_BYTES = 10 * 2**20  # a gist file past 10 MB cannot even be served by the API
DEFAULT_PROJECT_BYTES = 50 * 2**20
FILE_ENV = "ENGRAM_MAX_FILE_BYTES"
PROJECT_ENV = "ENGRAM_MAX_PROJECT_BYTES"


def _setting(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise FatalError(f"invalid {name}={raw!r}: use a whole number of bytes, e.g. {default}")
    return int(raw)


@dataclass(frozen=True)
class PullLimits:
    file_bytes: int = DEFAULT_FILE_BYTES
    project_bytes: int = DEFAULT_PROJECT_BYTES

    @classmethod
    def from_env(cls) -> PullLimits:
        return cls(
            _setting(FILE_ENV, DEFAULT_FILE_BYTES), _setting(PROJECT_ENV, DEFAULT_PROJECT_BYTES)
        )


def _limit(size: int) -> str:
    megabytes = f" ({size / 2**20:.0f} MB)" if size >= 2**20 else ""
    return f"{size:,}-byte limit{megabytes}"


def check_sizes(sizes: Mapping[str, int], source: str, limits: PullLimits | None = None) -> None:
    """FatalError when a file of `source` (name -> bytes) or all of them pass the caps."""
    limits = limits or PullLimits.from_env()
    for name, size in sorted(sizes.items()):
        if size > limits.file_bytes:
            raise FatalError(
                f"{name} in {source} is {size:,} bytes, over the {_limit(limits.file_bytes)} "
                f"for one file: nothing was written — remove or split it there, or raise "
                f"{FILE_ENV} if it is really yours",
                title="remote file too large",
            )
    total = sum(sizes.values())
    if total > limits.project_bytes:
        raise FatalError(
            f"{source} holds {total:,} bytes, over the {_limit(limits.project_bytes)} "
            f"for one project: nothing was written — split the project, or raise {PROJECT_ENV}",
            title="remote project too large",
        )
