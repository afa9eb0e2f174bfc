"""Terminal configuration, decoded trees and the session's API contract."""

from __future__ import annotations

import pytest

from protocol import tlv
from protocol.errors import UsageError
from protocol.tap.authenticator import AuthenticatorSession
from protocol.tap.terminal import TerminalConfig
from protocol.tap.tlv_view import GENERATE_AC_FORMAT1, GPO_FORMAT1, decoded_nodes
from tests.tap.support import DEVICE_KEY, TODAY, ca_store, challenge, new_session


def test_terminal_data_defaults() -> None:
    config = TerminalConfig()
    values = config.data_elements()
    assert values[0x9F1A] == bytes.fromhex("0410")
    assert values[0x9F03] == bytes(6) and values[0x95] == bytes(5)
    assert config.supports_sda and config.supports_dda and config.supports_cda
    assert config.supports(bytes.fromhex("A000000003101001"))  # partial selection (Book 1 §12.3.1)
    assert not config.supports(bytes.fromhex("A000000099"))
    assert not any(tag in values for tag in (0x9F02, 0x5F2A, 0x9A, 0x9C, 0x9F37))


def test_terminal_config_refuses_t_bound_tags_and_bad_values() -> None:
    with pytest.raises(UsageError):
        TerminalConfig(extra_data=((0x9F02, bytes(6)),))
    with pytest.raises(UsageError):
        TerminalConfig(tvr=bytes(4))
    with pytest.raises(UsageError):
        TerminalConfig(known_aids=())
    assert TerminalConfig(extra_data=((0x9F1A, b"\x02\x50"),)).data_elements()[0x9F1A] == b"\x02\x50"


def test_format1_answers_are_split_into_named_children() -> None:
    (gpo,) = decoded_nodes(bytes.fromhex("800A 1980 08010100 10010200"), GPO_FORMAT1)
    assert [(c.tag, c.name.split(" (")[0]) for c in gpo.children] == [
        ("82", "Application Interchange Profile"), ("94", "Application File Locator"),
    ]  # fmt: skip
    (ac,) = decoded_nodes(bytes.fromhex("8012 80 0001 1122334455667788 06010A03A00000"), GENERATE_AC_FORMAT1)
    assert [c.tag for c in ac.children] == ["9F27", "9F36", "9F26", "9F10"]


def test_sensitive_values_are_masked_in_trees() -> None:
    record = tlv.encode(0x70, tlv.encode(0x5A, bytes.fromhex("4999990018000015")) + tlv.encode(0x5F24, b"\x31\x12\x31"))
    (node,) = decoded_nodes(record)
    assert node.value_hex == ""  # the template holds the PAN: no raw hex at this level
    assert node.children[0].value_hex == "499999******0015"
    (bad,) = decoded_nodes(bytes.fromhex("5A08499999"))
    assert "4999" not in bad.value_hex and "not BER-TLV" in bad.meaning


def test_session_contract() -> None:
    session = new_session()
    first = session.next_command()
    assert first == session.next_command() == bytes.fromhex("00A404000E325041592E5359532E444446303100")
    with pytest.raises(UsageError):
        session.receive("9000")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        session.receive(b"\x90\x00", -1)
    with pytest.raises(UsageError):
        session.choose(b"\xa0\x00\x00\x00\x03")
    for bad in ({"application_choice": "first"}, {"user_id": ""}, {"today": "2026-01-01"}):
        kwargs = {"user_id": "alice", "device_key": DEVICE_KEY, "ca_store": ca_store(), "today": TODAY, **bad}
        with pytest.raises(UsageError):
            AuthenticatorSession(challenge(), **kwargs)  # type: ignore[arg-type]
