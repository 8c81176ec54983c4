"""engram-ci: memory for AI coding agents, carried across machines, agents and CI runs."""

__all__ = ["__version__"]

__version__ = "0.1.0"
