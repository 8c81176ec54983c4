"""Stage 4: share a project's knowledge with a remote (gist, git repository, ...), and what
every upload passes through (redaction, encryption, tokens)."""

__all__: list[str] = []
