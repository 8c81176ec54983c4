"""Placeholder: implemented by its owner (see the module docstring once filled in)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engram_ci.commands import Subparsers


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    return None
