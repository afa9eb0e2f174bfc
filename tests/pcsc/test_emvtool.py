"""An EMV reader written by someone else reads every emulated profile through PC/SC.

python-emv's ``emvtool`` (PyPI ``emv``) talks to the private pcscd; the emulated
card sits behind the vpcd virtual reader. ``listapps`` walks the PSE directory,
``info`` selects the application and reads its metadata with GET DATA, and
``appdata`` runs GET PROCESSING OPTIONS and reads every AFL record — so this is
the issue's acceptance check that a third-party reader cannot tell the card from
a real one.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator

import pytest

from app.errors import DriverMissingError
from app.transports import pcsc
from card_emulation.applet import EmvCard
from card_emulation.personalise import personalise
from card_emulation.profile import list_profiles, load_profile
from card_emulation.vpcd import VpcdBridge
from protocol.masking import mask_pan
from tests.pcsc.helpers import CARD_TIMEOUT
from tests.support.emvtool import ensure_emvtool
from tests.support.pcscd import PrivatePcscd
from tests.support.require import missing

pytestmark = [pytest.mark.pcsc, pytest.mark.slow]


@pytest.fixture(scope="module")
def emvtool() -> str:
    return str(ensure_emvtool())


@pytest.fixture(params=list_profiles())
def served(request: pytest.FixtureRequest, private_pcscd: PrivatePcscd) -> Iterator[tuple[str, PrivatePcscd]]:
    try:
        pcsc.list_readers()
    except DriverMissingError as exc:
        missing(str(exc))
    card = EmvCard(personalise(request.param, "emvtool").image)
    bridge = VpcdBridge(card, port=private_pcscd.port)
    bridge.start()
    try:
        pcsc.wait_for_card(private_pcscd.reader_name, CARD_TIMEOUT)
        yield request.param, private_pcscd
    finally:
        bridge.stop()
        pcsc.wait_for_removal(private_pcscd.reader_name, CARD_TIMEOUT)


def _emvtool(emvtool: str, pcscd: PrivatePcscd, *args: str) -> str:
    # Reader index 0 is slot 0 ("Virtual PCD 00 00") of the private pcscd.
    result = subprocess.run(
        [emvtool, "-r", "0", *args], env={**os.environ, **pcscd.env()},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, f"emvtool {' '.join(args)} failed:\n{result.stdout[-1500:]}{result.stderr[-1500:]}"
    # Drop the VT100 line-drawing segments of its tables (ESC ( 0 ... ESC ( B).
    return re.sub(r"\x1b\(0.*?\x1b\(B", " ", result.stdout)


def _hex_spaced(data: bytes) -> str:
    return " ".join(f"{b:02X}" for b in data)


def test_emvtool_reads_the_card(emvtool: str, served: tuple[str, PrivatePcscd]) -> None:
    name, pcscd = served
    profile = load_profile(name)
    first = profile.applications[0]

    listing = _emvtool(emvtool, pcscd, "listapps")
    for app in profile.applications:
        assert _hex_spaced(app.aid) in listing, f"{app.label} missing from:\n{listing}"
        assert app.label in listing

    info = _emvtool(emvtool, pcscd, "info")
    assert first.label in info
    assert re.search(r"\batc\s+0\b", info), info  # GET DATA 9F36 answered: no transaction yet

    appdata = _emvtool(emvtool, pcscd, "appdata", "0")
    # emvtool redacts by default; the PAN's first six digits and the expiry still show.
    assert "Application Primary Account Number" in appdata or "PAN" in appdata, appdata
    assert mask_pan(first.pan)[:6] in appdata.replace(" ", "")
    assert "Issuer Public Key Certificate" in appdata or "Signed Static Application Data" in appdata
