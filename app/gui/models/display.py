"""Display text for bytes and times, with card data masked (DESIGN.md §7).

Events carry the raw bytes exchanged with the card; nothing raw reaches a widget.
:class:`HexMasker` turns APDU bytes into spaced upper-case hex in which the
values of sensitive data elements (PAN 5A, track 2 57, names 5F20, …, as listed
by :mod:`protocol.masking`) are masked where they sit in the TLV structure, and
every PAN seen so far in the run is scrubbed from any later bytes too
(:func:`protocol.masking.redact_pan`), so a PAN that an unusual card echoes
elsewhere is masked as well.
"""

from __future__ import annotations

from protocol import tlv
from protocol.errors import MalformedDataError
from protocol.masking import is_sensitive, mask_value, redact_pan

_NIBBLES = frozenset("0123456789ABCDEF*D")


def spaced_hex(data: bytes) -> str:
    """``b"\\x6f\\x38"`` -> ``"6F 38"``."""
    return " ".join(f"{b:02X}" for b in data)


def format_elapsed(elapsed_ns: int | None) -> str:
    """A round trip for people: ``"108 µs"``, ``"1.72 ms"``, ``"1.2 s"``; ``"—"`` when unknown."""
    if elapsed_ns is None:
        return "—"
    if elapsed_ns < 1_000_000:
        return f"{elapsed_ns / 1000:.0f} µs"
    if elapsed_ns < 1_000_000_000:
        return f"{elapsed_ns / 1_000_000:.2f} ms"
    return f"{elapsed_ns / 1_000_000_000:.1f} s"


def _masked_nibbles(tag: int, value: bytes) -> str:
    """Exactly ``2 * len(value)`` characters: the masked value aligned to its hex nibbles."""
    width = 2 * len(value)
    text = mask_value(tag, value).upper()
    text = text + "F" * (width - len(text)) if len(text) < width and set(text) <= _NIBBLES else text
    if len(text) == width and set(text) <= _NIBBLES:
        return text
    return "*" * width


def _looks_like(tag: int, value: bytes) -> bool:
    digits = value.hex().upper()
    if tag == 0x5A:
        return 6 <= len(value) <= 10 and digits.rstrip("F").isdigit()
    return 8 <= len(value) <= 19 and "D" in digits and digits.rstrip("F").replace("D", "").isdigit()


def _scanned_spans(data: bytes) -> list[tuple[int, int, int]]:
    """For bytes that are not well-formed TLV: any ``5A``/``57`` header followed by a PAN-like value."""
    spans = []
    for i in range(len(data) - 2):
        tag, length = data[i], data[i + 1]
        if tag in (0x5A, 0x57) and i + 2 + length <= len(data) and _looks_like(tag, data[i + 2 : i + 2 + length]):
            spans.append((i + 2, i + 2 + length, tag))
    return spans


def _sensitive_spans(data: bytes) -> list[tuple[int, int, int]]:
    """``(start, end, tag)`` of every sensitive primitive value in ``data``.

    Well-formed BER-TLV is walked; anything else is scanned for PAN-like
    ``5A``/``57`` values, so malformed card data is never shown unmasked.
    """
    try:
        objects = tlv.decode(data)
    except (MalformedDataError, ValueError):
        return _scanned_spans(data)
    spans = []
    for top in objects:
        for _, node in top.walk():
            if not node.children and is_sensitive(node.tag):
                start = node.offset + node.header_length
                spans.append((start, start + len(node.value), node.tag))
    return spans


def _pans_in(data: bytes) -> list[str]:
    try:
        objects = tlv.decode(data)
    except (MalformedDataError, ValueError):
        spans = _scanned_spans(data)
        return [data[a:b].hex().upper().rstrip("F").split("D", 1)[0] for a, b, _ in spans]
    found = []
    for top in objects:
        for _, node in top.walk():
            if node.tag == 0x5A and not node.children:
                digits = node.value.hex().upper().rstrip("F")
                if digits.isdigit() and len(digits) >= 12:
                    found.append(digits)
            elif node.tag in (0x57, 0x9F6B) and not node.children:
                digits = node.value.hex().upper().split("D", 1)[0]
                if digits.isdigit() and len(digits) >= 12:
                    found.append(digits)
    return found


class HexMasker:
    """Masks APDU bytes for display; remembers the PANs of the current run."""

    def __init__(self) -> None:
        self._pans: list[str] = []

    def reset(self) -> None:
        """Forget the PANs of the previous run."""
        self._pans.clear()

    def learn(self, data: bytes) -> None:
        """Remember any PAN carried in ``data`` (a response's TLV data)."""
        for pan in _pans_in(data):
            if pan not in self._pans:
                self._pans.append(pan)

    def masked(self, data: bytes) -> str:
        """Spaced hex of ``data`` with sensitive values and known PANs masked."""
        chars = [f"{b:02X}" for b in data]
        for start, end, tag in _sensitive_spans(data):
            nibbles = _masked_nibbles(tag, data[start:end])
            for i in range(start, end):
                chars[i] = nibbles[2 * (i - start) : 2 * (i - start) + 2]
        text = " ".join(chars)
        for pan in self._pans:
            text = redact_pan(text, pan)
        return text
