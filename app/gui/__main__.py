"""``python -m app.gui``: start the desktop app."""

from app.gui.main import main

raise SystemExit(main())
