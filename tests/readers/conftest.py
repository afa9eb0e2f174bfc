"""Reader discovery tests: a private pcscd for the ones that need readers.

``PCSCLITE_CSOCK_NAME`` is exported at import (collection time), before any PC/SC
call in this process: the client library reads it once (docs/pcsc.md). Tests of
absence run ``trustone readers`` in subprocesses with their own environment.
"""

from __future__ import annotations

import pytest

from app.errors import DriverMissingError
from app.transports import pcsc
from tests.support.pcscd import PrivatePcscd, client_socket_path, private_pcscd
from tests.support.require import missing

__all__ = ["private_pcscd"]

client_socket_path()


@pytest.fixture(scope="session")
def pcsc_stack(private_pcscd: PrivatePcscd) -> PrivatePcscd:
    """The private pcscd, once pyscard is usable (skip locally, fail under CI=true)."""
    try:
        pcsc.list_readers()
    except DriverMissingError as exc:
        missing(str(exc))
    return private_pcscd
