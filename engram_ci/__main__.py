from engram_ci.cli.app import main

raise SystemExit(main())
