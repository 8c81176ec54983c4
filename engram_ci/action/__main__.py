"""`python -m engram_ci.action`: the Docker action's entry point (see entrypoint)."""

import sys

from engram_ci.action.adapter import main

__all__: list[str] = []

raise SystemExit(main(sys.argv[1:]))
