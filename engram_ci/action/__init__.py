"""The GitHub Action face: INPUT_* → a frozen config → the library calls the CLI makes."""

__all__: list[str] = []
