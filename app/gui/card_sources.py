"""Opening the card a tap talks to: emulated, in a PC/SC reader, or on an NFC reader.

Used by :mod:`app.gui.worker` on the worker thread only. Drivers are imported
lazily, when a real reader is used, so the app starts without pyscard or nfcpy.
Waiting for a card is cancellable: every wait lasts :data:`CARD_POLL_S` before
the cancel flag is looked at again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from app.errors import AppError, NoCardError, TransportError
from app.gui.requests import CardSource, SourceKind
from app.transports.base import Transport
from app.transports.emulated import EmulatedTransport
from card_emulation.applet import EmvCard
from card_emulation.errors import CardEmulationError
from card_emulation.faults import FaultPlan
from card_emulation.personalise import ensure_card_image
from card_emulation.profile import load_profile
from protocol.errors import ProtocolError

Notify = Callable[[str], None]

#: How long one wait for a card lasts before the cancel flag is looked at again.
CARD_POLL_S = 0.3


class TapProblem(Exception):
    """The tap could not start (input, reader, driver); the message is for people."""


class Cancellable:
    """A transport that refuses to go on once the user cancelled."""

    def __init__(self, inner: Transport, cancelled: threading.Event) -> None:
        self._inner, self._cancelled = inner, cancelled

    @property
    def description(self) -> str:
        return self._inner.description

    def transmit(self, apdu: bytes) -> bytes:
        if self._cancelled.is_set():
            raise TransportError("cancelled by the user")
        return self._inner.transmit(apdu)

    def close(self) -> None:
        self._inner.close()


def prepare_emulated(source: CardSource, data_dir: Path) -> Path:
    """Personalise and cache the emulated card (first use only); its keys join the key store."""
    try:
        return ensure_card_image(source.profile, data_dir=data_dir)
    except (CardEmulationError, ProtocolError, OSError) as exc:
        raise TapProblem(f"The emulated card could not be prepared: {exc}") from None


def emulated_transport(source: CardSource, data_dir: Path, *, with_faults: bool = True) -> Transport:
    """A fresh emulated card from its cached image (counters persist in the image file)."""
    try:
        faults = FaultPlan.parse(source.faults) if with_faults and source.faults.strip() else FaultPlan()
        path = ensure_card_image(source.profile, data_dir=data_dir)
        return EmulatedTransport(EmvCard.from_file(path, faults=faults), name=load_profile(source.profile).title)
    except (CardEmulationError, ProtocolError, OSError) as exc:
        raise TapProblem(f"The emulated card could not be prepared: {exc}") from None


def open_transport(
    source: CardSource, *, data_dir: Path, waiting: Notify, cancelled: threading.Event
) -> Transport | None:
    """Open the card ``source`` names; waits (cancellably) for a card on a real reader.

    Returns ``None`` when the user cancelled while waiting.
    """
    if source.kind is SourceKind.EMULATED:
        return emulated_transport(source, data_dir)
    if source.kind is SourceKind.PCSC:
        return _open_pcsc(source.reader, waiting, cancelled)
    return _open_nfc(source.nfc_path, waiting, cancelled)


def _open_pcsc(reader: str, waiting: Notify, cancelled: threading.Event) -> Transport | None:
    from app.transports import pcsc  # the driver is loaded only when a reader is used

    if not reader:
        raise TapProblem("Choose a PC/SC reader first (none is connected, or none is selected).")
    told = False
    while not cancelled.is_set():
        try:
            pcsc.wait_for_card(reader, CARD_POLL_S)
        except NoCardError:
            if not told:
                waiting(f"Waiting for a card on {reader}…")
                told = True
            continue
        except AppError as exc:
            raise TapProblem(str(exc)) from None
        try:
            return pcsc.PcscTransport(reader)
        except NoCardError:
            continue  # the card left between the two calls: wait again
        except AppError as exc:
            raise TapProblem(str(exc)) from None
    return None


def _open_nfc(path: str, waiting: Notify, cancelled: threading.Event) -> Transport | None:
    from app.transports import nfc  # the driver is loaded only when a reader is used

    waiting(f"Waiting for a card on the NFC reader {path}…")
    while not cancelled.is_set():
        try:
            return nfc.NfcTransport(path, timeout_s=CARD_POLL_S * 2)
        except NoCardError:
            continue
        except AppError as exc:
            raise TapProblem(str(exc)) from None
    return None
