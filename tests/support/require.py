"""Skip locally, fail in CI: how tests ask for real components.

DEVELOPERS.md: "In CI (``CI=true``) a test that needs pcscd, vpcd or Xvfb must run,
not skip." These helpers enforce it in one place.
"""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str) -> None:
    """Skip the calling test with ``reason`` — or fail it when running in CI."""
    if in_ci():
        pytest.fail(f"required component missing in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def require_executable(name: str, hint: str = "") -> str:
    """Path of executable ``name``; skip (or fail in CI) when it is not installed."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        missing(f"{name} is not installed{': ' + hint if hint else ''}")
    return path  # type: ignore[return-value]
