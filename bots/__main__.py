from bots.main import main

raise SystemExit(main())
