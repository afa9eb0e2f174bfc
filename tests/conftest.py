"""Suite-wide test set-up.

* Qt: without a display a PySide6 process aborts, so the tests run Qt on the
  ``offscreen`` platform unless a display (e.g. Xvfb's ``DISPLAY``) is given.
* Real parts: a test that needs pcscd, vpcd, Xvfb or tshark calls
  :func:`tests.support.require.require_executable`; it skips on a developer
  machine without them but *fails* under ``CI=true`` (DEVELOPERS.md rule 2).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
