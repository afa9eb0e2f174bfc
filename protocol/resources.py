"""Locate the data files under the top-level ``resources/`` folder.

The data (EMV tag dictionary, currency and country codes, CA public keys, card
profiles) is kept as files, not code, so that it can be read and reviewed as data.
``importlib.resources`` finds it both in a source checkout and in an installed wheel.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any


def resource_path(*parts: str) -> Traversable:
    """A file or folder below ``resources/``."""
    node: Traversable = files("resources")
    for part in parts:
        node = node / part
    return node


@cache
def load_toml(*parts: str) -> dict[str, Any]:
    """Parse a TOML file below ``resources/`` (cached: the files are read-only data)."""
    return tomllib.loads(resource_path(*parts).read_text(encoding="utf-8"))
