"""Answer To Reset parsing: just enough to find the historical bytes (ISO/IEC 7816-3 §8.2, EMV 4.4 Book 1 §8.3).

The contact (vpcd) bridge sends the whole ATR; the contactless bridge carries only
the historical bytes in the ATS (ISO/IEC 14443-4 §5.2.7). Profiles therefore give
the ATR and the historical bytes are derived from it, so the two never disagree.
"""

from __future__ import annotations


def historical_bytes_of(atr: bytes) -> bytes:
    """The historical bytes T1..TK of ``atr``; ``ValueError`` if the ATR is malformed.

    Structure: TS, T0 (high nibble: which of TA1..TD1 follow; low nibble: K), then
    interface bytes chained by TDi, then K historical bytes, then TCK when any
    protocol other than T=0 is indicated (checked: XOR of T0..TCK is 0).
    """
    atr = bytes(atr)
    if len(atr) < 2 or atr[0] not in (0x3B, 0x3F):
        raise ValueError("an ATR starts with TS = 3B or 3F")
    t0 = atr[1]
    count = t0 & 0x0F
    pos = 2
    indicator = t0 >> 4
    protocols: set[int] = set()
    while True:
        present = [indicator & bit for bit in (1, 2, 4, 8)]
        td = None
        for bit_set, _name in zip(present, "ABCD", strict=True):
            if bit_set:
                if pos >= len(atr):
                    raise ValueError("interface bytes run past the end of the ATR")
                if _name == "D":
                    td = atr[pos]
                pos += 1
        if td is None:
            break
        protocols.add(td & 0x0F)
        indicator = td >> 4
    end = pos + count
    if end > len(atr):
        raise ValueError(f"T0 announces {count} historical bytes but the ATR is too short")
    needs_tck = bool(protocols - {0})
    if needs_tck:
        if len(atr) != end + 1:
            raise ValueError("the ATR must end with TCK after the historical bytes")
        check = 0
        for b in atr[1:]:
            check ^= b
        if check:
            raise ValueError("TCK does not match (XOR of T0..TCK is not 0)")
    elif len(atr) != end:
        raise ValueError("unexpected bytes after the historical bytes of a T=0 ATR")
    return atr[pos:end]


def with_tck(atr_without_tck: bytes) -> bytes:
    """Append TCK (XOR of all bytes after TS) to an ATR body."""
    check = 0
    for b in atr_without_tck[1:]:
        check ^= b
    return bytes(atr_without_tck) + bytes([check])
