"""The emulated EMV card: an :class:`~card_emulation.interface.ApduCard` over a card image.

:meth:`EmvCard.process` takes a command APDU and returns response data and status
word, never raising:

1. A malformed APDU (anything :meth:`protocol.apdu.CommandApdu.parse` rejects)
   answers ``6700`` (wrong length, ISO/IEC 7816-4 §5.6).
2. CLA: ``00`` for the ISO inter-industry commands (SELECT, READ RECORD, VERIFY,
   INTERNAL AUTHENTICATE, GET CHALLENGE), ``80`` for the EMV proprietary ones
   (GET PROCESSING OPTIONS, GET DATA, GENERATE AC) (EMV 4.4 Book 3 §6.3.2); any
   other class ``6E00``. An unknown INS under CLA 00 or 80 answers ``6D00``.
3. The command's handler (one module per command group, see
   :mod:`card_emulation.applet`) answers or raises a status word.
4. Anything unexpected inside the card answers ``6F00`` (no precise diagnosis)
   and is logged without card data.

Faults (:mod:`card_emulation.faults`) are applied around the handlers; the
estimated duration of every exchange is kept in :attr:`EmvCard.last_timing`
(:mod:`card_emulation.timing`) whether or not anything paces the answers.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from card_emulation.applet import authentication, cardholder, generate_ac, reading, relay, selection
from card_emulation.applet.runtime import CardRuntime, Effects, ImageSink
from card_emulation.applet.status import CardStatus, Reply, Sw
from card_emulation.commands import INSTRUCTIONS, CommandKind, classify
from card_emulation.faults import (
    AlterAip,
    CorruptCryptogram,
    CorruptSignature,
    Delay,
    FaultPlan,
    Mute,
    OverrideStatus,
    RollbackAtc,
    clone_image,
)
from card_emulation.image import ApplicationCounters, CardImage, ImageFile
from card_emulation.timing import BitRate, ExchangeTiming, estimate_exchange
from protocol.apdu import CommandApdu
from protocol.errors import MalformedDataError

log = logging.getLogger(__name__)

_TRIGGERED = (OverrideStatus, CorruptCryptogram, CorruptSignature, Delay, Mute, AlterAip)

_HANDLERS: dict[CommandKind, Callable[[CardRuntime, CommandApdu], Reply]] = {
    CommandKind.SELECT: selection.select,
    CommandKind.READ_RECORD: reading.read_record,
    CommandKind.GPO: reading.get_processing_options,
    CommandKind.GET_DATA: cardholder.get_data,
    CommandKind.VERIFY: cardholder.verify,
    CommandKind.GET_CHALLENGE: cardholder.get_challenge,
    CommandKind.INTERNAL_AUTHENTICATE: authentication.internal_authenticate,
    CommandKind.GENERATE_AC: generate_ac.generate_ac,
    CommandKind.EXCHANGE_RELAY_RESISTANCE_DATA: relay.exchange_relay_resistance_data,
}


class EmvCard:
    """An emulated EMV card.

    ``image`` is the personalised card; ``sink`` persists it when a counter changes
    (``None``: in memory only); ``faults`` scripts misbehaviour; ``random_bytes``
    is the card's random source (ICC dynamic numbers, GET CHALLENGE); ``sleep``
    implements fault delays; ``bit_rate`` is used for timing estimates.
    """

    def __init__(
        self,
        image: CardImage,
        *,
        sink: ImageSink | None = None,
        faults: FaultPlan = FaultPlan(),
        random_bytes: Callable[[int], bytes] = os.urandom,
        sleep: Callable[[float], None] = time.sleep,
        bit_rate: BitRate = BitRate.KBPS_106,
    ) -> None:
        self.faults = faults
        clone = faults.clone
        if clone is not None:
            image, sink = clone_image(image, clone.source, clone.keys), None  # never overwrite a real image
        self._rt = CardRuntime(image, sink=sink, random_bytes=random_bytes)
        self._sleep = sleep
        self.bit_rate = BitRate(bit_rate)
        self.last_timing: ExchangeTiming | None = None
        self._counts: dict[CommandKind | None, int] = {}
        self._torn = False
        self._apply_rollback()

    @classmethod
    def from_file(
        cls,
        path: Path | str,
        *,
        faults: FaultPlan = FaultPlan(),
        random_bytes: Callable[[int], bytes] = os.urandom,
        sleep: Callable[[float], None] = time.sleep,
        bit_rate: BitRate = BitRate.KBPS_106,
    ) -> EmvCard:
        """Load a card image file; the card persists its counters back to it."""
        store = ImageFile(path)
        return cls(store.load(), sink=store, faults=faults, random_bytes=random_bytes, sleep=sleep, bit_rate=bit_rate)

    # ------------------------------------------------------------------ ApduCard

    @property
    def atr(self) -> bytes:
        return self._rt.image.profile.atr

    @property
    def historical_bytes(self) -> bytes:
        return self._rt.image.profile.historical_bytes

    @property
    def image(self) -> CardImage:
        """The current image, counters included."""
        return self._rt.image

    def power_on(self) -> None:
        self._rt.reset()
        self._counts = {}
        self._torn = False

    def power_off(self) -> None:
        self._rt.reset()

    def process(self, apdu: bytes) -> bytes:
        if not isinstance(apdu, bytes | bytearray | memoryview):
            return Reply(sw=Sw.WRONG_LENGTH).encode()  # not even bytes: as malformed as it gets
        try:
            return self._process(bytes(apdu))
        except Exception:  # the card answers, whatever happens inside it
            log.exception("emulated card: internal error, answering 6F00")
            self._rt.effects = Effects()
            return Reply(sw=Sw.NO_PRECISE_DIAGNOSIS).encode()

    # ------------------------------------------------------------------ internals

    def _apply_rollback(self) -> None:
        for fault in self.faults.of_type(RollbackAtc):
            for app in self._rt.image.applications:
                c = self._rt.counters(app)
                lowered = ApplicationCounters(max(0, c.atc - fault.by), c.last_online_atc, c.pin_tries_left)
                self._rt.store_counters(app, lowered)

    def _process(self, apdu: bytes) -> bytes:
        kind = classify(apdu)
        self._counts[None] = self._counts.get(None, 0) + 1
        self._counts[kind] = self._counts.get(kind, 0) + 1
        tear = self.faults.tear_after
        if self._torn or (tear is not None and self._counts[None] > tear):
            self._torn = True
            self.last_timing = None
            return b""
        matching = [f for f in self.faults.faults if isinstance(f, _TRIGGERED) and f.when.matches(kind, self._counts)]
        delay_ms = sum(f.ms for f in matching if isinstance(f, Delay))
        if delay_ms:
            self._sleep(delay_ms / 1000)
        if any(isinstance(f, Mute) for f in matching):
            self.last_timing = None
            return b""
        override = next((f for f in matching if isinstance(f, OverrideStatus)), None)
        if override is not None:
            reply = Reply(sw=override.sw)
        else:
            self._rt.effects = _effects(matching)
            self._rt.signed_cda = False
            try:
                reply = self._dispatch(apdu)
            finally:
                self._rt.effects = Effects()
        response = reply.encode()
        self.last_timing = self._estimate(apdu, response, kind, delay_ms)
        return response

    def _dispatch(self, apdu: bytes) -> Reply:
        try:
            cmd = CommandApdu.parse(apdu)
        except MalformedDataError:
            return Reply(sw=Sw.WRONG_LENGTH)
        if cmd.cla not in (0x00, 0x80):
            return Reply(sw=Sw.CLA_NOT_SUPPORTED)
        entry = INSTRUCTIONS.get(cmd.ins)
        if entry is None:
            return Reply(sw=Sw.INS_NOT_SUPPORTED)
        kind, cla = entry
        if cmd.cla != cla:
            return Reply(sw=Sw.CLA_NOT_SUPPORTED)
        try:
            return _HANDLERS[kind](self._rt, cmd)
        except CardStatus as status:
            return Reply(sw=status.sw)

    def _estimate(self, apdu: bytes, response: bytes, kind: CommandKind, delay_ms: float) -> ExchangeTiming:
        name = "generate-ac-cda" if kind is CommandKind.GENERATE_AC and self._rt.signed_cda else kind.value
        processing = self._rt.image.profile.times.for_command(name)
        return estimate_exchange(
            apdu, response, kind=kind, processing_ms=processing, fault_delay_ms=delay_ms, bit_rate=self.bit_rate
        )


def _effects(matching: Sequence[object]) -> Effects:
    aip = [f for f in matching if isinstance(f, AlterAip)]
    clear = 0
    value: bytes | None = None
    for f in aip:
        clear |= f.clear
        value = f.value if f.value is not None else value
    return Effects(
        corrupt_cryptogram=any(isinstance(f, CorruptCryptogram) for f in matching),
        corrupt_signature=any(isinstance(f, CorruptSignature) for f in matching),
        aip_clear=clear,
        aip_value=value,
    )
