"""ISO/IEC 14443-4 (ISO-DEP) target (PICC) state machine, sans I/O.

Feed every frame the reader (PCD) sends to :meth:`IsoDepTarget.receive`; it
returns what to do: send a frame, stay silent, or hand a complete command APDU to
the card. The caller runs the card (possibly slowly, in another thread), may ask
for more time with :meth:`IsoDepTarget.request_wtx`, and turns the card's answer
into blocks with :meth:`IsoDepTarget.complete`. No sockets, threads or clocks here.

Clauses cited are those of ISO/IEC 14443-4:2008 (same numbering in later
editions for what is used here):

* §5.1 RATS, §5.2 ATS (TL, T0 with FSCI, TA(1) bit rates, TB(1) FWI/SFGI,
  TC(1), historical bytes), §5.3/5.4 PPS request/response, §5.6 activation errors.
* §7.1 block format: PCB (§7.1.1.1), CID (§7.1.1.2), NAD (§7.1.1.3),
  INF (§7.1.2); frames exchanged here carry no EDC (CRC_A is the link's job).
* §7.2 frame waiting time (FWT = 256·16/fc·2^FWI), §7.3 S(WTX) and WTXM.
* §7.5.2 chaining in both directions, §7.5.3 block numbering rules,
  §7.5.4 block handling rules, §7.5.5 error recovery, §8 S(DESELECT).

Scope (what nfcpy's reader uses, and no more): no CID and no NAD. The ATS
announces "CID not supported, NAD not supported" (TC(1) = 00) and, as §7.1.1.2
and §7.1.1.3 require of such a PICC, blocks carrying a CID or NAD are ignored.
Only 106 kbit/s is announced (TA(1) = 00); a PPS asking for anything else is
ignored. FSDI values above 8 (RFU before larger frames were defined) are read as
8 (FSD = 256), which is also the largest FSD nfcpy ever asks for. Every invalid
or unexpected frame is ignored (the PICC stays in receive mode, §7.5.5); the PCD
recovers with R(NAK). Nothing here raises on any received bytes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from protocol.errors import UsageError

#: FSDI/FSCI → frame size in bytes, ISO/IEC 14443-4 §5.1 table 1 (values 0..8).
FRAME_SIZES: tuple[int, ...] = (16, 24, 32, 40, 48, 64, 96, 128, 256)

#: fc, the carrier frequency in Hz, for FWT = (256 × 16 / fc) × 2^FWI (§7.2).
CARRIER_HZ = 13.56e6

_RATS = 0xE0
_PPSS = 0xD0
_S_DESELECT = 0xC2
_S_WTX = 0xF2
_R_ACK = 0xA2
_R_NAK = 0xB2
_I_BLOCK = 0x02
_CHAINING = 0x10
_CID_FOLLOWING = 0x08
_NAD_FOLLOWING = 0x04
_MAX_WTXM = 59  # §7.3: WTXM 1..59, 0 and 60..63 are RFU


def fwt_seconds(fwi: int) -> float:
    """Frame waiting time for ``fwi`` (§7.2): (256 × 16 / fc) × 2^FWI."""
    return 256 * 16 / CARRIER_HZ * (1 << fwi)


class IsoDepUsageError(UsageError):
    """The caller used :class:`IsoDepTarget` out of order (our bug, not the reader's)."""


class TargetState(enum.Enum):
    """Where the target is in the protocol."""

    IDLE = "idle"  # ISO 14443-3 selected, waiting for RATS (§5.1)
    READY = "ready"  # protocol active, waiting for a block (incl. command chaining)
    PROCESSING = "processing"  # a complete APDU is with the card
    SENDING = "sending"  # response chaining: more I-blocks to send (§7.5.2)
    HALTED = "halted"  # after S(DESELECT) (§8): silent until reset()


@dataclass(frozen=True)
class IsoDepConfig:
    """What the target announces in its ATS (§5.2).

    ``max_frame_size`` is a limit of the link below (nfcpy's udp driver carries at
    most 290 bytes); frames never exceed it nor the reader's FSD.
    """

    historical_bytes: bytes = b""
    fsci: int = 8  # FSC = 256: largest frame the target accepts (with EDC)
    fwi: int = 8  # FWT ≈ 77 ms
    sfgi: int = 0
    max_frame_size: int | None = None
    max_apdu_size: int = 65_544  # extended APDU: 4 + 3 + 65535 + 2

    def __post_init__(self) -> None:
        if not 0 <= self.fsci <= 8:
            raise ValueError("fsci must be 0..8 (ISO/IEC 14443-4 §5.2.3)")
        if not 0 <= self.fwi <= 14:
            raise ValueError("fwi must be 0..14 (ISO/IEC 14443-4 §5.2.5)")
        if not 0 <= self.sfgi <= 14:
            raise ValueError("sfgi must be 0..14 (ISO/IEC 14443-4 §5.2.5)")
        if self.max_frame_size is not None and self.max_frame_size < 16:
            raise ValueError("max_frame_size must be at least 16 bytes")


# --- what receive() tells the caller to do ---------------------------------------


@dataclass(frozen=True)
class Action:
    """Base of everything :meth:`IsoDepTarget.receive` returns."""


@dataclass(frozen=True)
class Send(Action):
    """Transmit ``frame`` to the reader."""

    frame: bytes
    description: str


@dataclass(frozen=True)
class Activated(Send):
    """RATS answered: send the ATS in ``frame``; the card is now in a session."""

    fsd: int
    cid: int


@dataclass(frozen=True)
class Deselected(Send):
    """S(DESELECT) answered (§8): send ``frame``; the target is halted."""


@dataclass(frozen=True)
class Ignore(Action):
    """Stay silent (invalid or unexpected frame, §7.5.5)."""

    reason: str


@dataclass(frozen=True)
class ApduReceived(Action):
    """A complete command APDU: give it to the card, then call ``complete``."""

    apdu: bytes


@dataclass(frozen=True)
class WtxAcknowledged(Action):
    """The reader granted FWT × ``multiplier`` (§7.3); keep waiting for the card."""

    multiplier: int


class IsoDepTarget:
    """The PICC side of ISO-DEP for one card, across activations."""

    def __init__(self, config: IsoDepConfig | None = None) -> None:
        self.config = config or IsoDepConfig()
        self._fsc = FRAME_SIZES[self.config.fsci]
        self.reset()

    # --- public state -----------------------------------------------------------

    @property
    def state(self) -> TargetState:
        return self._state

    @property
    def fsd(self) -> int:
        """The reader's frame size (from RATS), 0 before activation."""
        return self._fsd

    @property
    def fwt_s(self) -> float:
        """The frame waiting time this target announced, in seconds (§7.2)."""
        return fwt_seconds(self.config.fwi)

    @property
    def max_wtxm(self) -> int:
        """Largest WTXM keeping FWT × WTXM within FWT(14), capped at 59 (§7.3)."""
        return max(1, min(_MAX_WTXM, 1 << (14 - self.config.fwi)))

    @property
    def wtx_pending(self) -> int | None:
        """Multiplier of the S(WTX) request awaiting the reader's response, if any."""
        return self._wtx_pending

    def reset(self) -> None:
        """Field off or new activation: forget everything, wait for RATS (§5)."""
        self._state = TargetState.IDLE
        self._block_number = 1  # §7.5.3 rule C: PICC block number starts at 1
        self._last_block: bytes | None = None
        self._rx = bytearray()
        self._tx = b""
        self._fsd = 0
        self._cid = 0
        self._pps_allowed = False
        self._wtx_pending: int | None = None

    # --- the card's side --------------------------------------------------------

    def complete(self, response: bytes) -> bytes:
        """The card answered the pending APDU: return the first I-block to send.

        A response longer than the reader's FSD allows is chained (§7.5.2); the
        rest goes out on each R(ACK).
        """
        if self._state is not TargetState.PROCESSING:
            raise IsoDepUsageError(f"complete() with no APDU pending (state {self._state.value})")
        if self._wtx_pending is not None:
            raise IsoDepUsageError("complete() before the reader answered S(WTX)")
        self._tx = bytes(response)
        return self._next_i_block()

    def request_wtx(self, multiplier: int) -> bytes:
        """S(WTX) request asking for FWT × ``multiplier`` more time (§7.3).

        ``multiplier`` is clamped to 1..:attr:`max_wtxm`. Send the frame, then feed
        the reader's answer to :meth:`receive` (→ :class:`WtxAcknowledged`).
        """
        if self._state is not TargetState.PROCESSING or self._wtx_pending is not None:
            raise IsoDepUsageError("request_wtx() needs a pending APDU and no S(WTX) outstanding")
        wtxm = max(1, min(int(multiplier), self.max_wtxm))
        self._wtx_pending = wtxm
        # INF b8-b7: power level indication 00 (not supported), b6-b1: WTXM.
        return self._remember(bytes((_S_WTX, wtxm)))

    # --- the reader's side ------------------------------------------------------

    def receive(self, frame: bytes) -> Action:
        """Handle one frame from the reader; never raises for any bytes."""
        data = bytes(frame)
        if not data:
            return Ignore("empty frame")
        if self._state is TargetState.HALTED:
            return Ignore("halted after S(DESELECT); waiting for a new activation")
        if self._state is TargetState.IDLE:
            return self._on_rats(data)
        if len(data) > self._fsc - 2:
            return Ignore(f"frame of {len(data)} bytes exceeds FSC {self._fsc} (§7.1)")
        pcb = data[0]
        if self._pps_allowed:
            if pcb & 0xF0 == _PPSS:
                return self._on_pps(data)
            if pcb == _RATS and len(data) == 2:
                # The ATS was lost and RATS repeated before any block (§5.6).
                return self._on_rats(data)
        self._pps_allowed = False
        kind = pcb & 0xC0
        if kind == 0x00:
            return self._on_i_block(data)
        if kind == 0x80:
            return self._on_r_block(data)
        if kind == 0xC0:
            return self._on_s_block(data)
        return Ignore(f"PCB {pcb:02X} is not a valid block (§7.1.1.1)")

    # --- activation (§5) --------------------------------------------------------

    def _on_rats(self, data: bytes) -> Action:
        if len(data) != 2 or data[0] != _RATS:
            return Ignore("waiting for RATS (§5.1)")
        fsdi, cid = data[1] >> 4, data[1] & 0x0F
        if cid == 0x0F:
            return Ignore("RATS with CID 15 (RFU, §5.1)")
        self.reset()
        self._fsd = FRAME_SIZES[min(fsdi, 8)]
        self._cid = cid
        self._state = TargetState.READY
        self._pps_allowed = True
        cfg = self.config
        historical = cfg.historical_bytes[: max(0, self._max_frame() - 5)]
        t0 = 0x70 | cfg.fsci  # TA(1), TB(1), TC(1) present (§5.2.3)
        ta = 0x00  # only 106 kbit/s in both directions (§5.2.4)
        tb = (cfg.fwi << 4) | cfg.sfgi  # §5.2.5
        tc = 0x00  # NAD and CID not supported (§5.2.6)
        body = bytes((t0, ta, tb, tc)) + historical
        ats = bytes((len(body) + 1,)) + body
        return Activated(ats, "ATS", fsd=self._fsd, cid=cid)

    def _on_pps(self, data: bytes) -> Action:
        self._pps_allowed = False
        if data[0] & 0x0F != self._cid:
            return Ignore("PPS for another CID (§5.3)")
        if len(data) == 2 and data[1] == 0x01:
            return Send(data[:1], "PPS response")
        if len(data) == 3 and data[1] == 0x11 and data[2] == 0x00:
            return Send(data[:1], "PPS response (106 kbit/s)")
        return Ignore("PPS asking for a bit rate not announced in TA(1) (§5.3)")

    # --- blocks (§7) ------------------------------------------------------------

    def _on_i_block(self, data: bytes) -> Action:
        pcb = data[0]
        if pcb & 0x22 != 0x02:
            return Ignore(f"I-block PCB {pcb:02X} has reserved bits wrong (§7.1.1.1)")
        if pcb & (_CID_FOLLOWING | _NAD_FOLLOWING):
            return Ignore("block with CID or NAD: not supported (§7.1.1.2, §7.1.1.3)")
        if self._state is not TargetState.READY:
            return Ignore(f"I-block while {self._state.value} (§7.5.4)")
        number = pcb & 0x01
        if number == self._block_number:
            # A repeat of a block already answered: neither toggle nor answer
            # (§7.5.3 note to rule D); the PCD recovers with R(NAK).
            return Ignore("I-block repeating the current block number")
        inf = data[1:]
        if len(self._rx) + len(inf) > self.config.max_apdu_size:
            self._rx.clear()
            return Ignore(f"command longer than {self.config.max_apdu_size} bytes")
        self._block_number = number  # §7.5.3 rule D: toggle on every I-block
        self._rx += inf
        if pcb & _CHAINING:
            return Send(self._remember(bytes((_R_ACK | number,))), "R(ACK) to a chained I-block")
        apdu = bytes(self._rx)
        self._rx.clear()
        self._state = TargetState.PROCESSING
        return ApduReceived(apdu)

    def _on_r_block(self, data: bytes) -> Action:
        pcb = data[0]
        if pcb & 0xE6 != 0xA2 or len(data) != 1:
            return Ignore(f"malformed R-block {data.hex().upper()} (§7.1.1.1)")
        if pcb & _CID_FOLLOWING:
            return Ignore("block with CID: not supported (§7.1.1.2)")
        nak = bool(pcb & 0x10)
        number = pcb & 0x01
        if self._state is TargetState.PROCESSING:
            if self._wtx_pending is not None and number == self._block_number:
                return self._retransmit("S(WTX) request repeated after R(NAK)/R(ACK)")
            return Ignore("R-block while the card is busy")
        if number == self._block_number:
            # §7.5.4 PICC rule: R(ACK)/R(NAK) with the current block number → the
            # PCD missed our last block: send it again.
            return self._retransmit("last block repeated")
        if nak:
            # §7.5.4 PICC rule: R(NAK) with another block number → R(ACK)
            # (this is also nfcpy's presence check).
            return Send(bytes((_R_ACK | self._block_number,)), "R(ACK) to R(NAK)")
        if self._state is TargetState.SENDING:
            self._block_number ^= 1  # §7.5.3 rule E: toggle on R(ACK) ≠ current
            return Send(self._next_i_block(), "next chained I-block")
        return Ignore("R(ACK) while not chaining (§7.5.4)")

    def _on_s_block(self, data: bytes) -> Action:
        pcb = data[0]
        if pcb & _CID_FOLLOWING:
            return Ignore("block with CID: not supported (§7.1.1.2)")
        if pcb == _S_DESELECT and len(data) == 1:
            self.reset()
            self._state = TargetState.HALTED
            return Deselected(bytes((_S_DESELECT,)), "S(DESELECT) response")
        if pcb == _S_WTX and len(data) == 2:
            wtxm = data[1] & 0x3F
            if self._wtx_pending is None or data[1] != self._wtx_pending:
                return Ignore(f"unexpected S(WTX) response with WTXM {wtxm}")
            self._wtx_pending = None
            return WtxAcknowledged(wtxm)
        return Ignore(f"S-block {data.hex().upper()} not supported (§7.1.1.1)")

    # --- helpers ----------------------------------------------------------------

    def _max_frame(self) -> int:
        """Largest frame we may send, without EDC: FSD − 2, within the link's limit."""
        limit = self._fsd - 2
        if self.config.max_frame_size is not None:
            limit = min(limit, self.config.max_frame_size)
        return limit

    def _next_i_block(self) -> bytes:
        room = self._max_frame() - 1  # one PCB byte
        chunk, self._tx = self._tx[:room], self._tx[room:]
        pcb = _I_BLOCK | self._block_number
        if self._tx:
            pcb |= _CHAINING
            self._state = TargetState.SENDING
        else:
            self._state = TargetState.READY
        return self._remember(bytes((pcb,)) + chunk)

    def _remember(self, frame: bytes) -> bytes:
        self._last_block = frame
        return frame

    def _retransmit(self, description: str) -> Action:
        if self._last_block is None:
            return Ignore("nothing sent yet to repeat")
        return Send(self._last_block, description)
