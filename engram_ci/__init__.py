"""engram-ci: memory for AI coding agents, carried across machines, agents and CI runs."""

__version__ = "0.1.0"
