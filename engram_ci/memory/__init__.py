"""Stage 3: the on-disk store in engram's layout: archives, knowledge files, the manifest,
block merges and atomic, locked writes."""

__all__: list[str] = []
