"""Stage 1: agents' transcripts → `Session`s (model.py). One reader module per agent format."""

__all__: list[str] = []
