"""The ``private_pcscd`` test fixture over :mod:`card_emulation.private_pcscd`.

One private pcscd with its own vpcd reader for the whole test session (the PC/SC
client library reads ``PCSCLITE_CSOCK_NAME`` once per process, so every PC/SC test
shares it). Conftests call :func:`client_socket_path` at import time, before any
test talks PC/SC, and re-export the fixture. Without pcscd or vpcd the fixture
skips on a developer machine and fails under ``CI=true``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from card_emulation.private_pcscd import (
    FRIENDLY_NAME,
    PcscdUnavailable,
    PrivatePcscd,
    client_socket_path,
    ensure_private_pcscd,
    free_port_pair,
    stop_private_pcscd,
)
from tests.support.require import missing

__all__ = [
    "FRIENDLY_NAME",
    "PcscdUnavailable",
    "PrivatePcscd",
    "client_socket_path",
    "ensure_private_pcscd",
    "free_port_pair",
    "private_pcscd",
    "stop_private_pcscd",
]


@pytest.fixture(scope="session")
def private_pcscd() -> Iterator[PrivatePcscd]:
    """Session-wide private pcscd with a vpcd reader; skips locally, fails under CI=true."""
    try:
        daemon = ensure_private_pcscd()
    except PcscdUnavailable as exc:
        missing(str(exc))
        raise  # not reached: missing() skips or fails
    yield daemon
    stop_private_pcscd()
