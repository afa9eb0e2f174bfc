"""The data that offline data authentication hashes besides the signed block.

* :func:`static_data_to_authenticate` — EMV 4.4 Book 3 §10.3: the records the AFL
  marks for offline data authentication, then the values of the tags in the Static
  Data Authentication Tag List (``9F4A``).
* :func:`transaction_data_hash_code` — Book 2 §6.6.1 / §6.6.2: the CDA Transaction
  Data Hash Code over PDOL data, CDOL1 (and CDOL2) data and the GENERATE AC
  response data objects other than the Signed Dynamic Application Data (``9F4B``).
"""

from __future__ import annotations

from collections.abc import Iterable

from protocol import tlv
from protocol.crypto.oda_common import OdaError, Step, Subject
from protocol.crypto.primitives import sha1
from protocol.errors import MalformedDataError, UsageError

RECORD_TEMPLATE = 0x70  #: READ RECORD Response Message Template
AIP_TAG = 0x82  #: Application Interchange Profile
SDA_TAG_LIST_TAG = 0x9F4A  #: Static Data Authentication Tag List
SDAD_TAG = 0x9F4B  #: Signed Dynamic Application Data
CID_TAG = 0x9F27  #: Cryptogram Information Data


def _record_template(sfi: int, number: int, record: bytes) -> tlv.Tlv:
    what = "record for offline data authentication"
    try:
        objects = tlv.decode(record)
    except MalformedDataError as exc:
        raise MalformedDataError(f"SFI {sfi} record #{number}: {exc.reason}", exc.offset, what=what) from exc
    if len(objects) != 1 or objects[0].tag != RECORD_TEMPLATE:
        found = ", ".join(obj.tag_hex for obj in objects) or "nothing"
        # Book 3 §10.3: a record that is not TLV-coded with tag 70 fails ODA.
        raise MalformedDataError(
            f"SFI {sfi} record #{number} is not one '70' template (found {found})", 0, what=what
        )
    return objects[0]


def _sda_tags(sda_tag_list: bytes) -> list[int]:
    tags, offset = [], 0
    while offset < len(sda_tag_list):
        tag, offset = tlv.read_tag(sda_tag_list, offset)
        tags.append(tag)
    return tags


def static_data_to_authenticate(
    records: Iterable[tuple[int, bytes]],
    sda_tag_list: bytes | None,
    aip: bytes | None,
) -> bytes:
    """Static data to be authenticated (Book 3 §10.3; Book 2 §5.4 / §6.4).

    ``records`` are ``(sfi, record)`` pairs, in AFL order, for exactly the records
    the AFL counts for offline data authentication; ``record`` is the READ RECORD
    response data (without SW1 SW2). For SFI 1–10 only the value of the ``70``
    template is used; for SFI 11–30 the whole record, tag and length included.
    ``sda_tag_list`` is the value of ``9F4A`` (``None`` if the card has none): if
    present it may list only the AIP (``82``), whose value ``aip`` is then appended.

    A record that does not parse, or is not a single ``70`` template, raises
    :class:`~protocol.errors.MalformedDataError`; a tag list naming anything but
    ``82`` raises ``OdaError("static data tag list", ...)``. Both mean offline data
    authentication has failed.
    """
    parts: list[bytes] = []
    for number, (sfi, record) in enumerate(records, start=1):
        if not isinstance(sfi, int) or not 1 <= sfi <= 30:
            raise UsageError(f"an SFI is 1..30, got {sfi!r}")
        template = _record_template(sfi, number, bytes(record))
        parts.append(template.value if sfi <= 10 else bytes(record))
    if sda_tag_list:
        tags = _sda_tags(bytes(sda_tag_list))
        if tags != [AIP_TAG]:
            raise OdaError(
                Subject.STATIC_DATA,
                Step.TAG_LIST,
                f"9F4A must list only the AIP (82), it is {bytes(sda_tag_list).hex().upper()}",
            )
        if aip is None or len(aip) != 2:
            raise UsageError("9F4A lists the AIP, so the 2-byte AIP from GET PROCESSING OPTIONS is needed")
        parts.append(bytes(aip))
    return b"".join(parts)


def response_data_for_hash(generate_ac_response: bytes) -> bytes:
    """The GENERATE AC response data objects other than ``9F4B``, as the card encoded
    them and in the order it returned them (Book 2 §6.6.1), padding dropped.

    ``generate_ac_response`` is the content of response template ``77``.
    """
    data = bytes(generate_ac_response)
    return b"".join(
        data[obj.offset : obj.offset + obj.header_length + len(obj.value)]
        for obj in tlv.decode(data)
        if obj.tag != SDAD_TAG
    )


def transaction_data_hash_code(
    *,
    pdol_data: bytes,
    cdol1_data: bytes,
    generate_ac_response: bytes,
    cdol2_data: bytes = b"",
) -> bytes:
    """Transaction Data Hash Code for CDA (Book 2 §6.6.1): SHA-1 over the PDOL data
    (GET PROCESSING OPTIONS), the CDOL1 data (first GENERATE AC), the CDOL2 data
    (second GENERATE AC only) and the response data objects other than ``9F4B``."""
    return sha1(
        bytes(pdol_data) + bytes(cdol1_data) + bytes(cdol2_data) + response_data_for_hash(generate_ac_response)
    )


def response_cid(generate_ac_response: bytes) -> bytes | None:
    """The Cryptogram Information Data (``9F27``) the card returned, or ``None``."""
    for obj in tlv.decode(bytes(generate_ac_response)):
        if obj.tag == CID_TAG:
            return obj.value
    return None
