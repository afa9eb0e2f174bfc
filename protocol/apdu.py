"""Command and response APDUs (ISO/IEC 7816-4 §5.1, §5.6; EMV 4.4 Book 1 §9.4, Book 3 §6).

Command APDUs come in four cases by whether they carry data (Lc) and expect data
back (Le), and in a short (1-byte Lc/Le) or extended (3- or 2-byte) encoding:

=====  ===============================  ====================================
case   short                            extended
=====  ===============================  ====================================
1      CLA INS P1 P2                    (same)
2      header Le                        header 00 Le1 Le2
3      header Lc data                   header 00 Lc1 Lc2 data
4      header Lc data Le                header 00 Lc1 Lc2 data Le1 Le2
=====  ===============================  ====================================

``le`` is the number of bytes expected: ``None`` for no Le field, ``256`` (short)
or ``65536`` (extended) for "as many as available", which is encoded as ``00``
(``0000``).
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.errors import MalformedDataError, UsageError

SHORT_MAX_LC = 255
SHORT_MAX_LE = 256
EXTENDED_MAX_LC = 65535
EXTENDED_MAX_LE = 65536


class ApduError(MalformedDataError):
    """An APDU's bytes are malformed; ``offset`` says where."""

    def __init__(self, reason: str, offset: int | None = None) -> None:
        super().__init__(reason, offset, what="APDU")


@dataclass(frozen=True)
class CommandApdu:
    """A command APDU. Build with keyword arguments, encode with :meth:`encode`."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None
    extended: bool = False

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            value = getattr(self, name)
            if not 0 <= value <= 0xFF:
                raise UsageError(f"{name} must be one byte, got {value}")
        if not isinstance(self.data, bytes):
            raise UsageError(f"data must be bytes, got {type(self.data).__name__}")
        max_lc = EXTENDED_MAX_LC if self.extended else SHORT_MAX_LC
        max_le = EXTENDED_MAX_LE if self.extended else SHORT_MAX_LE
        if len(self.data) > max_lc:
            kind = "extended" if self.extended else "short"
            raise UsageError(f"{len(self.data)} data bytes do not fit a {kind} APDU (max {max_lc})")
        if self.le is not None and not 1 <= self.le <= max_le:
            raise UsageError(f"Le must be 1..{max_le} or None, got {self.le}")

    @property
    def case(self) -> int:
        """ISO 7816-3 case number 1-4."""
        return {(False, False): 1, (False, True): 2, (True, False): 3, (True, True): 4}[
            (bool(self.data), self.le is not None)
        ]

    @property
    def header(self) -> bytes:
        return bytes([self.cla, self.ins, self.p1, self.p2])

    def encode(self) -> bytes:
        out = bytearray(self.header)
        if self.extended:
            if self.data:
                out += b"\x00" + len(self.data).to_bytes(2, "big") + self.data
            if self.le is not None:
                le = (self.le % EXTENDED_MAX_LE).to_bytes(2, "big")
                out += le if self.data else b"\x00" + le
        else:
            if self.data:
                out += bytes([len(self.data)]) + self.data
            if self.le is not None:
                out.append(self.le % SHORT_MAX_LE)
        return bytes(out)

    def __bytes__(self) -> bytes:
        return self.encode()

    @classmethod
    def parse(cls, raw: bytes) -> CommandApdu:
        """Parse a command APDU of any case, short or extended.

        Raises :class:`ApduError` when the body does not match any case.
        """
        raw = _as_bytes(raw)
        if len(raw) < 4:
            raise ApduError(f"a command APDU has at least 4 header bytes, got {len(raw)}", len(raw))
        cla, ins, p1, p2 = raw[:4]
        body = raw[4:]
        n = len(body)
        if n == 0:
            return cls(cla, ins, p1, p2)
        if n == 1:
            return cls(cla, ins, p1, p2, le=body[0] or SHORT_MAX_LE)
        if body[0] != 0 or n < 3:
            # Short case 3 or 4: Lc in 1 byte, Lc != 0.
            lc = body[0]
            if lc == 0:
                raise ApduError("short Lc of 0 is not allowed", 4)
            if n == 1 + lc:
                return cls(cla, ins, p1, p2, data=body[1:])
            if n == 2 + lc:
                return cls(cla, ins, p1, p2, data=body[1 : 1 + lc], le=body[1 + lc] or SHORT_MAX_LE)
            raise ApduError(f"Lc says {lc} data bytes but the body has {n - 1} bytes after Lc", 4)
        # Extended: body starts with 00.
        if n == 3:
            le = int.from_bytes(body[1:3], "big") or EXTENDED_MAX_LE
            return cls(cla, ins, p1, p2, le=le, extended=True)
        lc = int.from_bytes(body[1:3], "big")
        if lc == 0:
            raise ApduError("extended Lc of 0 is not allowed", 5)
        if n == 3 + lc:
            return cls(cla, ins, p1, p2, data=body[3:], extended=True)
        if n == 5 + lc:
            le = int.from_bytes(body[3 + lc :], "big") or EXTENDED_MAX_LE
            return cls(cla, ins, p1, p2, data=body[3 : 3 + lc], le=le, extended=True)
        raise ApduError(f"extended Lc says {lc} data bytes but the body has {n - 3} bytes after Lc", 5)


@dataclass(frozen=True)
class ResponseApdu:
    """A response APDU: data field and the two status bytes SW1 SW2."""

    data: bytes
    sw1: int
    sw2: int

    def __post_init__(self) -> None:
        for name in ("sw1", "sw2"):
            value = getattr(self, name)
            if not 0 <= value <= 0xFF:
                raise UsageError(f"{name} must be one byte, got {value}")
        if not isinstance(self.data, bytes):
            raise UsageError(f"data must be bytes, got {type(self.data).__name__}")

    @property
    def sw(self) -> int:
        """Status word as an int, e.g. ``0x9000``."""
        return (self.sw1 << 8) | self.sw2

    @property
    def ok(self) -> bool:
        """True for ``9000`` (normal processing)."""
        return self.sw == 0x9000

    def encode(self) -> bytes:
        return self.data + bytes([self.sw1, self.sw2])

    def __bytes__(self) -> bytes:
        return self.encode()

    @classmethod
    def parse(cls, raw: bytes) -> ResponseApdu:
        """Split a response into data and status word; fewer than 2 bytes is malformed."""
        raw = _as_bytes(raw)
        if len(raw) < 2:
            raise ApduError(f"a response APDU needs at least the 2 status bytes, got {len(raw)}", 0)
        return cls(raw[:-2], raw[-2], raw[-1])

    @classmethod
    def from_sw(cls, sw: int, data: bytes = b"") -> ResponseApdu:
        if not 0 <= sw <= 0xFFFF:
            raise UsageError(f"a status word is two bytes, got {sw:#x}")
        return cls(data, sw >> 8, sw & 0xFF)


def _as_bytes(raw: bytes | bytearray | memoryview) -> bytes:
    """``bytes(raw)`` for byte-like input only: ``bytes(5)`` would silently be five zero bytes."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError(f"expected bytes, got {type(raw).__name__}")
    return bytes(raw)
