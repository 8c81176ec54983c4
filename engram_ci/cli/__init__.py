"""The `engram` command: one module per command area, registered by `app.build_parser`."""

from engram_ci.cli.app import main

__all__ = ["main"]
