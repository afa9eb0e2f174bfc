"""Card sources: where the card of a tap is, and how to open a transport to it.

One description (:class:`app.card_source.CardSource`) serves the CLI, the desktop app, the
attack lab and the pytest plugin: an emulated card from a profile (with its
faults and optional realistic timing), a card in a PC/SC reader, or a card on an
nfcpy device. :func:`open_transport` waits for a card on a real reader in short
slices, so a user's cancel is honoured within a fraction of a second; drivers
are imported only when a real reader is used, so the emulated card works on a
machine without pcscd, libpcsclite or libusb.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from app.card_source import DEFAULT_NFC_DEVICE, DEFAULT_PROFILE, CardSource, SourceKind
from app.errors import ConfigurationError, NoCardError, TransportError
from app.transports.base import Transport
from app.transports.emulated import EmulatedTransport
from card_emulation.applet import EmvCard
from card_emulation.errors import CardEmulationError
from card_emulation.faults import FaultPlan
from card_emulation.image import CardImage, ImageFile
from card_emulation.personalise import ensure_card_image, ensure_card_image_loaded
from card_emulation.profile import list_profiles, load_profile
from card_emulation.timing import PacedCard
from protocol.errors import ProtocolError

Notify = Callable[[str], None]

#: How long one wait for a card lasts before a cancel request is looked at again.
CARD_POLL_S = 0.3


class CancellableTransport:
    """A transport that stops with a TransportError once ``cancelled`` is set."""

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


def prepare_emulated(source: CardSource, data_dir: Path | None) -> Path:
    """Personalise and cache the emulated card (first use only); its keys join the key store."""
    _check_profile(source)
    try:
        return ensure_card_image(source.profile, source.seed, data_dir=data_dir)
    except (CardEmulationError, ProtocolError, OSError) as exc:
        raise ConfigurationError(f"the emulated card {source.profile} could not be prepared: {exc}") from None


def prepare_emulated_image(source: CardSource, data_dir: Path | None) -> tuple[Path, CardImage]:
    """:func:`prepare_emulated`, and the card's image as its file holds it now (the file read once for both)."""
    _check_profile(source)
    try:
        return ensure_card_image_loaded(source.profile, source.seed, data_dir=data_dir)
    except (CardEmulationError, ProtocolError, OSError) as exc:
        raise ConfigurationError(f"the emulated card {source.profile} could not be prepared: {exc}") from None


def _check_profile(source: CardSource) -> None:
    if source.profile not in list_profiles():
        raise ConfigurationError(f"unknown card profile {source.profile!r}; known: {', '.join(list_profiles())}")


def parse_faults(spec: str) -> FaultPlan:
    """A fault plan from its text form (docs/faults.md); a bad spec is a ConfigurationError."""
    if not spec.strip():
        return FaultPlan()
    try:
        return FaultPlan.parse(spec)
    except (CardEmulationError, ProtocolError, OSError, ValueError) as exc:
        raise ConfigurationError(f"fault spec {spec!r}: {exc}") from None


def emulated_card(source: CardSource, data_dir: Path | None, *, with_faults: bool = True) -> EmvCard:
    """A fresh emulated card from its cached image; counters persist in the image file."""
    path = prepare_emulated(source, data_dir)
    faults = parse_faults(source.faults) if with_faults else FaultPlan()
    try:
        return EmvCard.from_file(path, faults=faults)
    except (CardEmulationError, ProtocolError, OSError) as exc:
        raise ConfigurationError(f"the emulated card {source.profile} could not be loaded: {exc}") from None


def emulated_image(source: CardSource, data_dir: Path | None) -> CardImage:
    return emulated_card(source, data_dir, with_faults=False).image


def emulated_transport(source: CardSource, data_dir: Path | None, *, with_faults: bool = True) -> Transport:
    return _transport(source, emulated_card(source, data_dir, with_faults=with_faults))


def prepared_emulated_transport(source: CardSource, path: Path, image: CardImage | None = None) -> Transport:
    """:func:`emulated_transport` (with the faults) for a card already prepared at ``path``.

    ``image``: the image just read from ``path`` (:func:`prepare_emulated_image`),
    so the file is not read again; ``None`` reads it.
    """
    faults = parse_faults(source.faults)
    try:
        if image is None:
            card = EmvCard.from_file(path, faults=faults)
        else:
            card = EmvCard(image, sink=ImageFile(path), faults=faults)  # what from_file builds
    except (CardEmulationError, ProtocolError, OSError) as exc:
        raise ConfigurationError(f"the emulated card {source.profile} could not be loaded: {exc}") from None
    return _transport(source, card)


def _transport(source: CardSource, card: EmvCard) -> Transport:
    target = PacedCard(card, enabled=True) if source.timing else card
    return EmulatedTransport(target, name=load_profile(source.profile).title)


def open_transport(
    source: CardSource,
    *,
    data_dir: Path | None = None,
    wait_s: float | None = 30.0,
    waiting: Notify | None = None,
    cancelled: threading.Event | None = None,
    prepared: tuple[Path, CardImage | None] | None = None,
) -> Transport | None:
    """Open the card ``source`` names.

    On a real reader, waits up to ``wait_s`` seconds (``None``: until cancelled)
    for a card, telling ``waiting`` what it waits for. Returns ``None`` when
    cancelled while waiting; raises NoCardError when the wait times out.
    ``prepared``: for an emulated card already prepared, its image path and the
    image just read from it (:func:`prepare_emulated_image`; ``None`` to read it).
    """
    if source.kind is SourceKind.EMULATED:
        if prepared is not None:
            return prepared_emulated_transport(source, *prepared)
        return emulated_transport(source, data_dir)
    cancelled = cancelled or threading.Event()
    notify = waiting or (lambda _text: None)
    if source.kind is SourceKind.PCSC:
        return _open_pcsc(source.reader, wait_s, notify, cancelled)
    return _open_nfc(source.device, wait_s, notify, cancelled)


def _deadline(wait_s: float | None) -> Callable[[], bool]:
    end = None if wait_s is None else time.monotonic() + wait_s
    return lambda: end is not None and time.monotonic() >= end


def _open_pcsc(reader: str, wait_s: float | None, waiting: Notify, cancelled: threading.Event) -> Transport | None:
    from app.transports import pcsc  # the driver is loaded only when a reader is used

    if not reader:
        raise ConfigurationError("name a PC/SC reader (trustone readers lists them)")
    expired = _deadline(wait_s)
    told = False
    while not cancelled.is_set():
        try:
            pcsc.wait_for_card(reader, CARD_POLL_S)
            return pcsc.PcscTransport(reader)
        except NoCardError:
            if expired():
                raise NoCardError(f"no card was presented to {reader} within {wait_s:g} s") from None
            if not told:
                waiting(f"Waiting for a card on {reader}…")
                told = True
    return None


def _open_nfc(device: str, wait_s: float | None, waiting: Notify, cancelled: threading.Event) -> Transport | None:
    from app.transports import nfc  # the driver is loaded only when a reader is used

    expired = _deadline(wait_s)
    waiting(f"Waiting for a card on the NFC device {device}…")
    while not cancelled.is_set():
        try:
            return nfc.NfcTransport(device, timeout_s=CARD_POLL_S * 2)
        except NoCardError:
            if expired():
                raise NoCardError(f"no card was presented to {device} within {wait_s:g} s") from None
    return None




__all__ = ["CancellableTransport", "CardSource", "SourceKind", "emulated_card", "emulated_image",
           "emulated_transport", "open_transport", "parse_faults", "prepare_emulated"]
