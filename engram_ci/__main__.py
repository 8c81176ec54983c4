from engram_ci.cli import main

raise SystemExit(main())
