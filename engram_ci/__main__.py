from engram_ci.cli.app import main

__all__: list[str] = []

raise SystemExit(main())
