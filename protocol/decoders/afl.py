"""Application File Locator, tag 94 (EMV 4.4 Book 3 §10.2).

The AFL is a list of 4-byte entries, one per file to read with READ RECORD:

* byte 1: short file identifier in bits 8-4, bits 3-1 zero;
* byte 2: first record number (never 0);
* byte 3: last record number (at least the first);
* byte 4: how many records, starting with the first, are signed for offline data
  authentication (never more than the entry covers).

Book 3 §10.2 says the terminal terminates the transaction when the AFL breaks these
rules, so every violation raises :class:`AflError` naming the entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.decoders.base import DecodeError

#: SFIs 1-10 are EMV files, 11-20 payment system specific, 21-30 issuer specific;
#: 0 and 31 are not valid in an AFL (Book 3 §10.2, Book 1 §12.2).
MAX_SFI = 30


class AflError(DecodeError):
    """A malformed AFL: wrong length, SFI 0 or above 30, bad record range or ODA count."""

    def __init__(self, reason: str, offset: int | None = None) -> None:
        super().__init__(reason, offset, what="AFL")


@dataclass(frozen=True)
class AflEntry:
    """One AFL entry: records ``first_record..last_record`` of file ``sfi``."""

    sfi: int
    first_record: int
    last_record: int
    oda_records: int

    @property
    def records(self) -> range:
        """The record numbers to read, in order."""
        return range(self.first_record, self.last_record + 1)

    @property
    def oda_record_numbers(self) -> tuple[int, ...]:
        """Record numbers whose content takes part in offline data authentication."""
        return tuple(self.records[: self.oda_records])

    def encode(self) -> bytes:
        return bytes([self.sfi << 3, self.first_record, self.last_record, self.oda_records])

    def describe(self) -> str:
        span = f"record {self.first_record}" if self.first_record == self.last_record else (
            f"records {self.first_record}-{self.last_record}"
        )
        return f"SFI {self.sfi}, {span}, {self.oda_records} for ODA"


def parse_afl(value: bytes) -> tuple[AflEntry, ...]:
    """Decode an AFL into its entries; raises :class:`AflError` for any rule violation."""
    if len(value) % 4:
        raise AflError(f"length {len(value)} is not a multiple of 4", len(value) - len(value) % 4)
    entries = []
    for offset in range(0, len(value), 4):
        first_byte, first, last, oda = value[offset : offset + 4]
        sfi = first_byte >> 3
        if first_byte & 0x07:
            raise AflError(f"entry {offset // 4 + 1}: bits 3-1 of the SFI byte must be zero", offset)
        if not 1 <= sfi <= MAX_SFI:
            raise AflError(f"entry {offset // 4 + 1}: SFI {sfi} is not in 1-{MAX_SFI}", offset)
        if first == 0:
            raise AflError(f"entry {offset // 4 + 1}: first record number is 0", offset + 1)
        if last < first:
            raise AflError(f"entry {offset // 4 + 1}: last record {last} is before first record {first}", offset + 2)
        if oda > last - first + 1:
            raise AflError(
                f"entry {offset // 4 + 1}: {oda} ODA records but the entry has only {last - first + 1}", offset + 3
            )
        entries.append(AflEntry(sfi, first, last, oda))
    return tuple(entries)


def describe_afl(value: bytes) -> str:
    entries = parse_afl(value)
    return "; ".join(entry.describe() for entry in entries) or "empty (no records to read)"
