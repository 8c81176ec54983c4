"""Stage 2: a `Session` → knowledge blocks in engram's seven categories, and their synthesis
into context.md. Offline (deterministic) or through an LLM provider."""

__all__: list[str] = []
