"""``trustone crypto``: every calculator, on inputs that are not the public vectors.

Symmetric results are cross-checked with pyemv (an independent implementation, a
test-only dependency); OTPs with a few lines of stdlib HMAC; RSA commands with
certificates issued here from deterministic test keys.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import struct
import warnings
from typing import Any

import pytest
from pyemv import ac as pyemv_ac
from pyemv import cvn as pyemv_cvn
from pyemv import kd as pyemv_kd

from app.cli import main as cli
from protocol import tlv
from protocol.crypto import keygen, oda
from protocol.crypto.primitives import RsaPublicKey

IMK = bytes.fromhex("2315208C9110AD402315208C9110AD40")
IMK_SMI = bytes.fromhex("4664942FE615FB023E13A7B1A16E2F4A")
IMK_SMC = bytes.fromhex("0D5BE9A8C18F1DA1B051F0498C68D3E9")
PAN, PSN = "4761739001010119", "01"
ATC, UN, AIP = bytes.fromhex("00A7"), bytes.fromhex("9A8B7C6D"), bytes.fromhex("3900")
TAGS = {  # 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37: a KRW purchase, not a vector
    "tag_9f02": bytes.fromhex("000000012345"), "tag_9f03": bytes(6), "tag_9f1a": bytes.fromhex("0410"),
    "tag_95": bytes.fromhex("0000008000"), "tag_5f2a": bytes.fromhex("0410"), "tag_9a": bytes.fromhex("250314"),
    "tag_9c": b"\x00", "tag_9f37": UN,
}
TERMINAL = b"".join(TAGS.values())
OTP_SECRET = bytes(range(0x40, 0x54))

# pyemv still uses cryptography's deprecated TripleDES forms; that is pyemv's business.
pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["crypto", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err or out
    return json.loads(out)


def assert_usage_error(capsys: pytest.CaptureFixture[str], *argv: str, match: str = "") -> str:
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, ""), err
    assert err.startswith("trustone: error: ") and err.count("\n") == 1
    assert match in err
    return err


# --------------------------------------------------------------------------- help


@pytest.mark.parametrize(
    "command",
    [["derive-mk"], ["session-key"], ["arqc"], ["verify-arqc"], ["arpc"], ["recover-cert"], ["sdad"],
     ["cap"], ["cap", "command"], ["cap", "otp"], ["totp"], ["hotp"]],
)
def test_every_command_has_help_with_an_example(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    assert "example" in out.lower()


# --------------------------------------------------------------------------- derive-mk, session-key


def test_derive_mk_option_a_matches_pyemv(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "derive-mk", "--imk", IMK.hex(), "--pan", PAN, "--psn", PSN, "--option", "a")
    assert data["icc_mk"] == pyemv_kd.derive_icc_mk_a(IMK, PAN, PSN).hex().upper()
    assert len(data["icc_mk_kcv"]) == 6


def test_derive_mk_option_b_matches_pyemv(capsys: pytest.CaptureFixture[str]) -> None:
    pan19 = "6011000990139424017"
    data = run_json(capsys, "derive-mk", "--imk", IMK.hex(), "--pan", pan19, "--no-psn", "--option", "B")
    assert data["icc_mk"] == pyemv_kd.derive_icc_mk_b(IMK, pan19, None).hex().upper()


def test_derive_mk_aes_model(capsys: pytest.CaptureFixture[str]) -> None:
    from protocol.crypto import keys

    data = run_json(capsys, "derive-mk", "--imk", IMK.hex(), "--pan", PAN, "--psn", PSN, "--option", "aes")
    assert data["icc_mk"] == keys.derive_icc_mk_aes(IMK, PAN, PSN).hex().upper()
    assert data["icc_mk_kcv"] == keys.kcv(keys.derive_icc_mk_aes(IMK, PAN, PSN), aes=True)


def test_derive_mk_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "derive-mk", "--imk", IMK.hex(), "--pan", PAN)
    assert code == 0
    assert f"icc_mk:     {pyemv_kd.derive_icc_mk_a(IMK, PAN, '00').hex().upper()}" in out


with warnings.catch_warnings():  # at import time, outside the pytestmark filter
    warnings.simplefilter("ignore")
    MK = pyemv_kd.derive_icc_mk_a(IMK, PAN, PSN)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--method", "common", "--atc", ATC.hex()], lambda: pyemv_kd.derive_common_sk(MK, ATC + bytes(6))),
        (["--method", "common", "--arqc", "0123456789ABCDEF"],
         lambda: pyemv_kd.derive_common_sk(MK, bytes.fromhex("0123456789ABCDEF"))),
        (["--method", "common", "--r", "11 22 33 44 55 66 77 88"],
         lambda: pyemv_kd.derive_common_sk(MK, bytes.fromhex("1122334455667788"))),
        (["--method", "mastercard", "--atc", ATC.hex(), "--un", UN.hex()],
         lambda: pyemv_kd.derive_common_sk(MK, ATC + b"\x00\x00" + UN)),
        (["--method", "visa-sm", "--atc", ATC.hex()], lambda: pyemv_kd.derive_visa_sm_sk(MK, ATC)),
        (["--method", "emv2000-tree", "--atc", ATC.hex()], lambda: pyemv_kd.derive_emv2000_tree_sk(MK, ATC)),
        (["--method", "emv2000-tree", "--atc", ATC.hex(), "--height", "16", "--branch-factor", "2"],
         lambda: pyemv_kd.derive_emv2000_tree_sk(MK, ATC, 16, 2)),
    ],
    ids=["common-atc", "common-arqc", "common-r", "mastercard", "visa-sm", "tree-4-8", "tree-2-16"],
)
def test_session_key_matches_pyemv(capsys: pytest.CaptureFixture[str], args: list[str], expected: Any) -> None:
    data = run_json(capsys, "session-key", "--mk", MK.hex(), *args)
    assert data["session_key"] == expected().hex().upper()


def test_session_key_aes_model(capsys: pytest.CaptureFixture[str]) -> None:
    from protocol.crypto import keys

    data = run_json(capsys, "session-key", "--mk", MK.hex(), "--method", "aes", "--atc", ATC.hex())
    assert data["session_key"] == keys.session_key_aes(MK, ATC + bytes(14)).hex().upper()
    assert data["r"] == (ATC + bytes(14)).hex().upper()


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--method", "common"], "exactly one of --r, --atc, --arqc"),
        (["--method", "common", "--r", "0011"], "8 bytes"),
        (["--method", "mastercard", "--atc", "0001"], "--un is required"),
        (["--method", "visa-sm"], "--atc is required"),
        (["--method", "common", "--atc", "001"], "odd number of hex digits"),
        (["--method", "common", "--atc", "000102"], "must be 2 bytes, got 3"),
    ],
)
def test_session_key_errors(capsys: pytest.CaptureFixture[str], args: list[str], match: str) -> None:
    assert_usage_error(capsys, "session-key", "--mk", MK.hex(), *args, match=match)


# --------------------------------------------------------------------------- arqc, verify-arqc


@pytest.mark.parametrize(("padding", "pyemv_padding"), [("1", pyemv_ac.PaddingType.VISA), ("2", pyemv_ac.PaddingType.EMV)])
def test_arqc_raw_matches_pyemv(capsys: pytest.CaptureFixture[str], padding: str, pyemv_padding: Any) -> None:
    sk = pyemv_kd.derive_common_sk(MK, ATC + bytes(6))
    data = TERMINAL + AIP + ATC
    result = run_json(capsys, "arqc", "--session-key", sk.hex(), "--data", data.hex(), "--padding", padding)
    assert result["arqc"] == pyemv_ac.generate_ac(sk, data, pyemv_padding).hex().upper()


VISA_CVR = bytes.fromhex("03A00000")
MC_CVR, MC_COUNTERS = bytes.fromhex("A50000000000"), bytes.fromhex("0000000000000000")


def _iad(cvn: str) -> bytes:
    number = {"10": 0x0A, "18": 0x12, "22": 0x16, "133": 0x85}.get(cvn)
    if number is not None:
        return bytes([0x06, 0x01, number]) + VISA_CVR
    return bytes([0x01, int(cvn, 16)]) + MC_CVR + b"\x00\x00" + MC_COUNTERS


def _pyemv_card(cvn: str) -> Any:
    cls = {"10": pyemv_cvn.VisaCVN10, "18": pyemv_cvn.VisaCVN18, "22": pyemv_cvn.VisaCVN22,
           "16": pyemv_cvn.MasterCardCVN16, "17": pyemv_cvn.MasterCardCVN17, "20": pyemv_cvn.MasterCardCVN20,
           "21": pyemv_cvn.MasterCardCVN21, "133": pyemv_cvn.InteracCVN133}[cvn]
    return cls(IMK, IMK_SMI, IMK_SMC, PAN, PSN)


def _pyemv_arqc(cvn: str) -> bytes:
    card, iad = _pyemv_card(cvn), _iad(cvn)
    tags = {**TAGS, "tag_82": AIP, "tag_9f36": ATC}
    if cvn == "10":
        return card.generate_ac(**tags, cvr=VISA_CVR)
    if cvn in ("16", "20"):
        return card.generate_ac(**tags, cvr=MC_CVR)
    if cvn in ("17", "21"):
        return card.generate_ac(**tags, cvr=MC_CVR, counters=MC_COUNTERS)
    return card.generate_ac(**tags, tag_9f10=iad)


CVNS = ["10", "18", "22", "16", "17", "20", "21", "133"]


def _ac_args(cvn: str) -> list[str]:
    return ["--cvn", cvn, "--imk", IMK.hex(), "--pan", PAN, "--psn", PSN, "--atc", ATC.hex(),
            "--terminal-data", TERMINAL.hex(), "--aip", AIP.hex(), "--iad", _iad(cvn).hex()]


@pytest.mark.parametrize("cvn", CVNS)
def test_arqc_by_cvn_matches_pyemv(capsys: pytest.CaptureFixture[str], cvn: str) -> None:
    data = run_json(capsys, "arqc", *_ac_args(cvn))
    assert data["arqc"] == _pyemv_arqc(cvn).hex().upper()
    assert data["mac_input"].startswith(TERMINAL.hex().upper() + AIP.hex().upper() + ATC.hex().upper())


def test_arqc_from_icc_mk_and_cvn_names(capsys: pytest.CaptureFixture[str]) -> None:
    expected = _pyemv_arqc("18").hex().upper()
    for name in ("18", "cvn18", "visa_cvn18", "VISA_18"):
        args = _ac_args("18")
        args[1] = name
        assert run_json(capsys, "arqc", *args)["arqc"] == expected
    icc = pyemv_kd.derive_icc_mk_b(IMK, PAN, PSN)
    args = ["--cvn", "18", "--icc-mk", icc.hex(), "--atc", ATC.hex(), "--terminal-data", TERMINAL.hex(),
            "--aip", AIP.hex(), "--iad", _iad("18").hex()]
    assert run_json(capsys, "arqc", *args)["arqc"] == expected


def test_arqc_aes_model_round_trips_through_verify(capsys: pytest.CaptureFixture[str]) -> None:
    args = _ac_args("22")
    args[1] = "aes"
    args[-1] = bytes([0x06, 0x01, 0xAE]).hex() + VISA_CVR.hex()
    arqc = run_json(capsys, "arqc", *args)["arqc"]
    assert run_json(capsys, "verify-arqc", "--arqc", arqc, *args)["verdict"] == "OK"


@pytest.mark.parametrize("cvn", ["10", "16"])
def test_verify_arqc(capsys: pytest.CaptureFixture[str], cvn: str) -> None:
    good = _pyemv_arqc(cvn)
    assert run_json(capsys, "verify-arqc", "--arqc", good.hex(), *_ac_args(cvn))["verdict"] == "OK"
    bad = bytes([good[0] ^ 1]) + good[1:]
    code, out, err = run(capsys, "verify-arqc", "--arqc", bad.hex(), *_ac_args(cvn))
    assert (code, err) == (1, "")
    assert out.startswith("FAIL: ARQC: ") and out.count("\n") == 1


def test_verify_arqc_raw_form(capsys: pytest.CaptureFixture[str]) -> None:
    sk = pyemv_kd.derive_common_sk(MK, ATC + bytes(6))
    good = pyemv_ac.generate_ac(sk, TERMINAL)
    args = ["--session-key", sk.hex(), "--data", TERMINAL.hex()]
    assert run_json(capsys, "verify-arqc", "--arqc", good.hex(), *args)["verdict"] == "OK"
    code, out, _ = run(capsys, "verify-arqc", "--arqc", "00" * 8, *args, "--json")
    assert code == 1 and json.loads(out)["check"] == "ARQC"


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--cvn", "99", "--icc-mk", "00" * 16, "--atc", "0001", "--data", "00"], "unknown CVN '99'"),
        (["--cvn", "visa_cvn99", "--icc-mk", "00" * 16, "--atc", "0001", "--data", "00"], "unknown CVN"),
        (["--cvn", "10", "--atc", "0001", "--data", "00"], "either --imk with --pan, or --icc-mk"),
        (["--cvn", "10", "--imk", "00" * 16, "--atc", "0001", "--data", "00"], "--imk needs --pan"),
        (["--cvn", "10", "--icc-mk", "00" * 16, "--data", "00"], "--cvn needs --atc"),
        (["--cvn", "10", "--icc-mk", "00" * 16, "--atc", "0001"], "give --data, or --terminal-data"),
        (["--cvn", "10", "--icc-mk", "00" * 15, "--atc", "0001", "--data", "00"], "must be 16 bytes, got 15"),
        (["--cvn", "10", "--icc-mk", "00" * 16, "--atc", "0001", "--terminal-data", "00" * 28],
         "must be 29 bytes, got 28"),
        (["--cvn", "10", "--icc-mk", "00" * 16, "--atc", "0001", "--terminal-data", "00" * 29, "--aip", "0000",
          "--iad", "0601"], "needs at least 7 bytes"),
        (["--session-key", "G0" * 16, "--data", "00"], "not hex"),
        (["--data", "00"], "without --cvn give --session-key and --data"),
    ],
)
def test_arqc_input_errors(capsys: pytest.CaptureFixture[str], args: list[str], match: str) -> None:
    assert_usage_error(capsys, "arqc", *args, match=match)


# --------------------------------------------------------------------------- arpc

ARQC = bytes.fromhex("5E2C1A0B9D8F7E6A")


def test_arpc_raw_methods_match_pyemv(capsys: pytest.CaptureFixture[str]) -> None:
    sk = pyemv_kd.derive_common_sk(MK, ATC + bytes(6))
    one = run_json(capsys, "arpc", "--method", "1", "--key", sk.hex(), "--arqc", ARQC.hex(), "--arc", "3035")
    assert one["arpc"] == pyemv_ac.generate_arpc_1(sk, ARQC, b"05").hex().upper()
    assert one["issuer_authentication_data_91"] == one["arpc"] + "3035"
    two = run_json(capsys, "arpc", "--method", "2", "--key", sk.hex(), "--arqc", ARQC.hex(), "--csu", "00820000",
                   "--prop-data", "A1B2")
    expected = pyemv_ac.generate_arpc_2(sk, ARQC, bytes.fromhex("00820000"), bytes.fromhex("A1B2"))
    assert two["arpc"] == expected.hex().upper()
    assert two["issuer_authentication_data_91"] == expected.hex().upper() + "00820000A1B2"


@pytest.mark.parametrize("cvn", CVNS)
def test_arpc_by_cvn_matches_pyemv(capsys: pytest.CaptureFixture[str], cvn: str) -> None:
    card = _pyemv_card(cvn)
    base = ["arpc", "--cvn", cvn, "--imk", IMK.hex(), "--pan", PAN, "--psn", PSN, "--atc", ATC.hex(),
            "--arqc", ARQC.hex(), "--un", UN.hex()]
    if cvn in ("18", "22"):
        data = run_json(capsys, *base, "--csu", "00800000")
        expected = card.generate_arpc(ARQC, ATC, bytes.fromhex("00800000"))
    else:
        data = run_json(capsys, *base, "--arc", "3030")
        if cvn in ("10", "16", "17"):
            expected = card.generate_arpc(ARQC, b"00")
        elif cvn == "133":
            expected = card.generate_arpc(ARQC, UN, ATC, b"00")
        else:
            expected = card.generate_arpc(ARQC, ATC, b"00")
    assert data["arpc"] == expected.hex().upper()


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--method", "1", "--key", "00" * 16, "--arqc", "00" * 8], "needs --arc"),
        (["--method", "2", "--key", "00" * 16, "--arqc", "00" * 8], "needs --csu"),
        (["--key", "00" * 16, "--arqc", "00" * 8], "--method 1|2 and --key"),
        (["--method", "1", "--key", "00" * 16, "--arqc", "00" * 7, "--arc", "0000"], "must be 8 bytes, got 7"),
        (["--cvn", "12", "--icc-mk", "00" * 16, "--arqc", "00" * 8, "--atc", "0001"], "unknown CVN"),
        (["--cvn", "10", "--icc-mk", "00" * 16, "--arqc", "00" * 8, "--atc", "0001"], "authorisation response"),
        (["--method", "1", "--key", "00" * 16, "--arqc", "00" * 8, "--arc", "0000", "--prop-data", "00" * 9],
         "at most 8 bytes"),
    ],
)
def test_arpc_input_errors(capsys: pytest.CaptureFixture[str], args: list[str], match: str) -> None:
    assert_usage_error(capsys, "arpc", *args, match=match)


# --------------------------------------------------------------------------- totp, hotp


def _reference_hotp(secret: bytes, counter: int, digits: int, digest: str = "sha1") -> str:
    mac = hmac.new(secret, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


@pytest.mark.parametrize(("algorithm", "digest"), [("SHA1", "sha1"), ("sha256", "sha256"), ("SHA512", "sha512")])
def test_totp_matches_a_reference(capsys: pytest.CaptureFixture[str], algorithm: str, digest: str) -> None:
    when = 1_741_910_400  # 2025-03-14T00:00:00Z
    data = run_json(capsys, "totp", "--secret", OTP_SECRET.hex(), "--time", str(when), "--algorithm", algorithm,
                    "--digits", "7")
    assert data["code"] == _reference_hotp(OTP_SECRET, when // 30, 7, digest)
    iso = run_json(capsys, "totp", "--secret", OTP_SECRET.hex(), "--time", "2025-03-14T00:00:00Z",
                   "--algorithm", algorithm, "--digits", "7")
    assert iso["code"] == data["code"] and iso["valid_for_seconds"] == 30


def test_totp_base32_verify_and_replay(capsys: pytest.CaptureFixture[str]) -> None:
    import base64

    b32 = base64.b32encode(OTP_SECRET).decode().lower()
    code = _reference_hotp(OTP_SECRET, 58_000_000, 6)
    args = ["totp", "--secret-base32", b32, "--time", str(58_000_000 * 30 + 31), "--verify", code]
    data = run_json(capsys, *args)
    assert (data["verdict"], data["matched_time_step"], data["drift_steps"]) == ("OK", 58_000_000, -1)
    rc, out, _ = run(capsys, *args, "--last-step", "58000000")
    assert rc == 1 and "already used" in out
    rc, out, _ = run(capsys, *args, "--window", "0")
    assert rc == 1 and out.startswith("FAIL: TOTP: ")


def test_hotp_generate_and_verify(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_json(capsys, "hotp", "--secret", OTP_SECRET.hex(), "--counter", "41")["code"] == _reference_hotp(
        OTP_SECRET, 41, 6
    )
    code = _reference_hotp(OTP_SECRET, 44, 8)
    data = run_json(capsys, "hotp", "--secret", OTP_SECRET.hex(), "--digits", "8", "--counter", "41",
                    "--verify", code)
    assert (data["matched_counter"], data["next_counter"], data["skipped"]) == (44, 45, 3)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["totp", "--secret-base32", "GEZD1NBV"], "position 4"),
        (["totp", "--secret", OTP_SECRET.hex(), "--time", "yesterday"], "not Unix seconds"),
        (["totp", "--secret", OTP_SECRET.hex(), "--digits", "9"], "invalid choice"),
        (["totp", "--secret", OTP_SECRET.hex(), "--window", "1000"], "must be in 0..100"),
        (["hotp", "--secret", OTP_SECRET.hex()], "--counter"),
        (["hotp", "--secret", "00" * 10, "--counter", "1"], "at least 16 bytes"),
        (["hotp", "--counter", "1"], "one of the arguments --secret --secret-base32 is required"),
        (["hotp", "--secret", OTP_SECRET.hex(), "--counter", "-1"], "must be in 0.."),
    ],
)
def test_otp_input_errors(capsys: pytest.CaptureFixture[str], args: list[str], match: str) -> None:
    err = assert_usage_error(capsys, *args, match=match)
    assert "GEZD1NBV" not in err  # a secret is never echoed


# --------------------------------------------------------------------------- cap

CDOL1 = "9F0206 9F0306 9F1A02 9505 5F2A02 9A03 9C01 9F3704"
IPB = bytes.fromhex("C0" + "00" + "0F" + "00" * 6 + "FF" + "00" * 4)  # 2 + 4 + 8 = 14 bits
CID, CAP_ATC, CAP_AC, CAP_IAD = 0x80, bytes.fromhex("0A5C"), bytes.fromhex("1122334455667788"), bytes.fromhex("0610")


def _reference_cap(source: bytes, ipb: bytes) -> int:
    bits = "".join(
        format(s, "08b")[i] for s, m in zip(source, ipb, strict=False) for i in range(8) if format(m, "08b")[i] == "1"
    )
    return int(bits, 2)


def test_cap_command_modes(capsys: pytest.CaptureFixture[str]) -> None:
    identify = run_json(capsys, "cap", "command", "--cdol1", CDOL1)
    assert identify["mode"] == "identify"
    assert identify["apdu"].startswith("80AE80001D") and identify["apdu"].endswith("00000000" + "00")
    respond = run_json(capsys, "cap", "command", "--cdol1", CDOL1, "--challenge", "4711")
    assert respond["mode"] == "respond" and respond["cdol1_data"].endswith("00004711")
    sign = run_json(capsys, "cap", "command", "--cdol1", CDOL1.lower(), "--challenge", "99", "--amount", "20.5",
                    "--date", "000000", "--no-le")
    assert sign["mode"] == "sign"
    assert sign["fields"][0] == "9F02=000000002050" and "9A=000000" in sign["fields"]
    assert sign["apdu"] == "80AE80001D" + sign["cdol1_data"]


def test_cap_otp_from_a_response(capsys: pytest.CaptureFixture[str]) -> None:
    data = bytes([CID]) + CAP_ATC + CAP_AC + CAP_IAD
    rapdu = (tlv.encode(0x80, data) + b"\x90\x00").hex()
    result = run_json(capsys, "cap", "otp", "--rapdu", rapdu, "--ipb", IPB.hex())
    assert result["otp"] == str(_reference_cap(data, IPB))
    assert result["bit_count"] == 14 and result["cryptogram_type"] == "ARQC"
    # Format 2 data field, PSN prepended (IAF 40): the IPB now starts on the PSN.
    fmt2 = tlv.constructed(0x77, tlv.encode(0x9F27, bytes([CID])), tlv.encode(0x9F36, CAP_ATC),
                           tlv.encode(0x9F26, CAP_AC), tlv.encode(0x9F10, CAP_IAD))
    with_psn = run_json(capsys, "cap", "otp", "--response", fmt2.hex(), "--ipb", IPB.hex(), "--iaf", "40",
                        "--psn", "03")
    assert with_psn["psn_included"] is True
    assert with_psn["otp"] == str(_reference_cap(b"\x03" + data, IPB))


def test_cap_with_a_record_and_tds(capsys: pytest.CaptureFixture[str]) -> None:
    record = tlv.constructed(0x70, tlv.encode(0x8C, bytes.fromhex(CDOL1.replace(" ", ""))),
                             tlv.encode(0x9F56, IPB), tlv.encode(0x9F55, b"\x00"))
    command = run_json(capsys, "cap", "command", "--record", record.hex())
    assert command["mode"] == "identify"
    rapdu = (tlv.encode(0x80, bytes([CID]) + CAP_ATC + CAP_AC + CAP_IAD) + b"\x90\x00").hex()
    tds = run_json(capsys, "cap", "otp", "--record", record.hex(), "--rapdu", rapdu, "--tds", "250", "12345678")
    assert len(tds["tds_mac"]) == 16 and tds["tds_mac"] != CAP_AC.hex().upper()


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["cap", "command"], "give --cdol1 or a --record"),
        (["cap", "command", "--cdol1", CDOL1, "--amount", "1"], "needs --challenge"),
        (["cap", "command", "--cdol1", CDOL1, "--challenge", "123456789"], "at most 8 digits"),
        (["cap", "command", "--cdol1", CDOL1, "--challenge", "1", "--amount", "1.234"], "at most 2 decimals"),
        (["cap", "command", "--cdol1", CDOL1, "--date", "0101"], "must be 3 bytes"),
        (["cap", "otp", "--rapdu", "6985", "--ipb", "FF"], "6985"),
        (["cap", "otp", "--rapdu", "80039000", "--ipb", "FF"], "malformed"),
        (["cap", "otp", "--response", "8003010203"], "give --ipb"),
        (["cap", "otp", "--response", "800B" + "00" * 11, "--ipb", "00" * 12 + "01"], "beyond the 11 bytes"),
        (["cap", "otp", "--response", "800B" + "00" * 11, "--ipb", "FF", "--iaf", "40"], "5F34"),
    ],
)
def test_cap_input_errors(capsys: pytest.CaptureFixture[str], args: list[str], match: str) -> None:
    assert_usage_error(capsys, *args, match=match)


# --------------------------------------------------------------------------- recover-cert, sdad

SEED = b"trustone cli tests"
TODAY = datetime.date(2030, 6, 1)


@pytest.fixture(scope="module")
def pki() -> dict[str, Any]:
    ca = keygen.derive_rsa_key(SEED, "ca", 1024)
    issuer = keygen.derive_rsa_key(SEED, "issuer", 1024)  # as long as the CA key: needs a remainder
    icc = keygen.derive_rsa_key(SEED, "icc", 768)
    static = bytes.fromhex("5A0847617390010101195F3401019F0702FF00") + AIP
    issuer_cert = oda.make_issuer_certificate(ca, issuer.public_key, issuer_identifier="476173",
                                              expiry=datetime.date(2031, 12, 31), serial=b"\x00\x00\x42")
    icc_cert = oda.make_icc_certificate(issuer, icc.public_key, pan=PAN, expiry=datetime.date(2031, 6, 30),
                                        serial=b"\x00\x00\x43", static_data=static)
    return {"ca": ca, "issuer": issuer, "icc": icc, "static": static, "issuer_cert": issuer_cert,
            "icc_cert": icc_cert}


def _hex_key(key: RsaPublicKey) -> list[str]:
    return [key.modulus_bytes.hex(), key.exponent_bytes.hex()]


def _issuer_args(pki: dict[str, Any]) -> list[str]:
    cert = pki["issuer_cert"]
    modulus, exponent = _hex_key(pki["ca"].public_key)
    return ["--cert", cert.certificate.hex(), "--remainder", cert.remainder.hex(), "--exponent", cert.exponent.hex(),
            "--pan", PAN, "--ca-modulus", modulus, "--ca-exponent", exponent, "--today", TODAY.isoformat()]


def test_recover_issuer_certificate_with_a_given_ca_key(capsys: pytest.CaptureFixture[str], pki: dict[str, Any]) -> None:
    data = run_json(capsys, "recover-cert", "issuer", *_issuer_args(pki))
    assert data["modulus"] == pki["issuer"].public_key.modulus_bytes.hex().upper()
    assert (data["issuer_identifier"], data["serial"], data["remainder_used"]) == ("476173", "000042", True)
    assert "issuer certificate hash" in data["checks"]


def test_recover_icc_certificate_both_ways(capsys: pytest.CaptureFixture[str], pki: dict[str, Any]) -> None:
    cert = pki["icc_cert"]
    base = ["recover-cert", "icc", "--cert", cert.certificate.hex(), "--exponent", cert.exponent.hex(),
            "--remainder", cert.remainder.hex(), "--pan", PAN, "--static-data", pki["static"].hex(), "--today", TODAY.isoformat()]
    modulus, exponent = _hex_key(pki["issuer"].public_key)
    direct = run_json(capsys, *base, "--issuer-modulus", modulus, "--issuer-exponent", exponent)
    issuer_cert = pki["issuer_cert"]
    ca_modulus, ca_exponent = _hex_key(pki["ca"].public_key)
    chained = run_json(capsys, *base, "--issuer-cert", issuer_cert.certificate.hex(), "--issuer-remainder",
                       issuer_cert.remainder.hex(), "--issuer-exponent", issuer_cert.exponent.hex(),
                       "--ca-modulus", ca_modulus, "--ca-exponent", ca_exponent)
    assert direct == chained
    assert direct["modulus"] == pki["icc"].public_key.modulus_bytes.hex().upper()
    assert direct["pan"] == "476173...0119"  # masked


def test_recover_cert_failures_are_negative_verdicts(capsys: pytest.CaptureFixture[str], pki: dict[str, Any]) -> None:
    args = _issuer_args(pki)
    args[args.index("--today") + 1] = "2032-01-01"
    code, out, _ = run(capsys, "recover-cert", "issuer", *args)
    assert code == 1 and out.startswith("FAIL: issuer certificate expiry: ")
    args = _issuer_args(pki)
    args[args.index("--pan") + 1] = "5413330000000019"
    code, out, _ = run(capsys, "recover-cert", "issuer", *args)
    assert code == 1 and "issuer identifier" in out


def test_recover_cert_with_a_bundled_ca_key(capsys: pytest.CaptureFixture[str]) -> None:
    # The only certificates signed by real CA keys are the public vectors (oda.json pm3.dda).
    from pathlib import Path

    case = json.loads((Path(__file__).parents[1] / "vectors" / "oda.json").read_text())["cases"][1]
    card = case["card_data"]
    data = run_json(capsys, "recover-cert", "issuer", "--ca-rid", case["ca_public_key"]["rid"], "--ca-index",
                    case["ca_public_key"]["index"], "--pan", card["5A_pan"], "--cert", card["90_issuer_pk_certificate"],
                    "--remainder", card["92_issuer_pk_remainder"], "--exponent", card["9F32_issuer_pk_exponent"],
                    "--today", "2015-01-01")
    assert data["modulus"] == case["derived"]["issuer_certificate"]["issuer_pk_modulus"]


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--ca-rid", "A000000099", "--ca-index", "01"], "no CA public key for RID A000000099 index 01"),
        (["--ca-rid", "A0000000", "--ca-index", "01"], "must be 5 bytes, got 4"),
        ([], "the CA key is needed"),
        (["--ca-modulus", "C0FFEE"], "both the CA key modulus and exponent"),
    ],
)
def test_recover_cert_input_errors(capsys: pytest.CaptureFixture[str], extra: list[str], match: str) -> None:
    base = ["recover-cert", "issuer", "--cert", "00" * 64, "--exponent", "03", "--pan", PAN, "--today", "2030-01-01"]
    assert_usage_error(capsys, *base, *extra, match=match)


def test_recover_icc_needs_static_data_and_an_issuer_key(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["recover-cert", "icc", "--cert", "00" * 64, "--exponent", "03", "--pan", PAN]
    assert_usage_error(capsys, *base, match="--static-data")
    assert_usage_error(capsys, *base, "--static-data", "00", match="the issuer key is needed")
    assert_usage_error(capsys, *base, "--today", "01/02/2030", "--static-data", "00", "--issuer-modulus", "C1",
                       "--issuer-exponent", "03", match="not a YYYY-MM-DD date")


def test_sdad_dda(capsys: pytest.CaptureFixture[str], pki: dict[str, Any]) -> None:
    ddol_data = bytes.fromhex("1F2E3D4C")
    sdad = oda.sign_dynamic_data_dda(pki["icc"], icc_dynamic_number=bytes.fromhex("0102030405060708"),
                                     ddol_data=ddol_data)
    modulus, exponent = _hex_key(pki["icc"].public_key)
    args = ["sdad", "dda", "--sdad", sdad.hex(), "--icc-modulus", modulus, "--icc-exponent", exponent]
    data = run_json(capsys, *args, "--ddol-data", ddol_data.hex())
    assert (data["verdict"], data["icc_dynamic_number"]) == ("OK", "0102030405060708")
    code, out, _ = run(capsys, *args, "--ddol-data", "1F2E3D4D")
    assert code == 1 and out.startswith("FAIL: signed dynamic data hash: ")
    assert_usage_error(capsys, *args, match="--ddol-data")


def test_sdad_cda(capsys: pytest.CaptureFixture[str], pki: dict[str, Any]) -> None:
    cdol1_data = TERMINAL
    response = tlv.encode(0x9F27, b"\x80") + tlv.encode(0x9F36, ATC) + tlv.encode(0x9F10, _iad("10"))
    tdhc = oda.transaction_data_hash_code(pdol_data=b"", cdol1_data=cdol1_data, generate_ac_response=response)
    sdad = oda.sign_dynamic_data_cda(pki["icc"], icc_dynamic_number=b"\x11\x22\x33\x44",
                                     cryptogram_information_data=b"\x80", application_cryptogram=ARQC,
                                     transaction_data_hash_code=tdhc, unpredictable_number=UN)
    modulus, exponent = _hex_key(pki["icc"].public_key)
    args = ["sdad", "cda", "--sdad", sdad.hex(), "--icc-modulus", modulus, "--icc-exponent", exponent,
            "--un", UN.hex(), "--cdol1-data", cdol1_data.hex()]
    template = tlv.constructed(0x77, response, tlv.encode(0x9F4B, sdad))
    for given in (response, template):
        data = run_json(capsys, *args, "--response", given.hex())
        assert (data["cid"], data["ac"], data["icc_dynamic_number"]) == ("80", ARQC.hex().upper(), "11223344")
        assert data["transaction_data_hash_code"] == tdhc.hex().upper()
    tampered = tlv.encode(0x9F27, b"\x80") + tlv.encode(0x9F36, b"\x00\xa8") + tlv.encode(0x9F10, _iad("10"))
    code, out, _ = run(capsys, *args, "--response", tampered.hex())
    assert code == 1 and "transaction data hash code" in out
    assert_usage_error(capsys, "sdad", "cda", "--sdad", sdad.hex(), "--icc-modulus", modulus, "--icc-exponent",
                       exponent, match="needs --un, --cdol1-data, --response")


def test_sdad_hash_of_helpers_is_independent() -> None:
    # The CLI's CDA path hashes PDOL || CDOL1 || response (Book 2 §6.6.1); check one by hand.
    response = tlv.encode(0x9F27, b"\x40")
    assert oda.transaction_data_hash_code(pdol_data=b"\x01", cdol1_data=b"\x02", generate_ac_response=response) == (
        hashlib.sha1(b"\x01\x02" + response).digest()
    )


# --------------------------------------------------------------------------- the --help examples are right


def _oda_variables(command: str) -> dict[str, str]:
    """The shell variables the RSA examples use, from tests/vectors/oda.json (pm3.dda / pm3.cda)."""
    from pathlib import Path

    cases = json.loads((Path(__file__).parents[1] / "vectors" / "oda.json").read_text())["cases"]
    case = cases[2] if " cda " in command else cases[1]
    card = case["card_data"]
    values = {
        "CARD_90": card["90_issuer_pk_certificate"], "CARD_92": card["92_issuer_pk_remainder"],
        "CARD_9F46": card["9F46_icc_pk_certificate"], "CARD_9F4B": card["9F4B_signed_dynamic_application_data"],
        "STATIC_DATA": case["static_data_to_be_authenticated"],
        "ICC_MODULUS": case["derived"]["icc_certificate"]["icc_pk_modulus"],
    }
    if "cdol1_data" in case.get("terminal_data", {}):
        values["CDOL1_DATA"] = case["terminal_data"]["cdol1_data"]
    return values


def _epilog_examples() -> list[tuple[list[str], dict[str, str]]]:
    """(argv, expected output fields) of every runnable example in the --help texts."""
    import re
    import shlex

    from app.cli import crypto_emv, crypto_oda, crypto_otp

    texts = [value for module in (crypto_emv, crypto_oda, crypto_otp) for name, value in vars(module).items()
             if name.endswith("_EPILOG")]
    examples = []
    for text in texts:
        lines = text.splitlines()
        for index, line in enumerate(lines):
            if not line.startswith("  trustone crypto "):
                continue
            command, at = line.strip(), index
            while command.endswith("\\"):
                at += 1
                command = command[:-1] + " " + lines[at].strip()
            if "<" in command or "..." in command:
                continue  # placeholders
            for name, value in _oda_variables(command).items():
                command = command.replace(f'"${name}"', value)
            expected: dict[str, str] = {}
            if at + 1 < len(lines) and lines[at + 1].startswith("    ") and not lines[at + 1].startswith("    trust"):
                shown = re.sub(r"\s*\(.*\)\s*$", "", lines[at + 1].strip())
                for pair in shown.split(", "):
                    key, _, value = pair.partition(": ")
                    expected[key.strip()] = value.strip().split(" ")[0]
            examples.append((shlex.split(command)[2:], expected))
    return examples


EXAMPLES = _epilog_examples()


def test_there_are_runnable_examples() -> None:
    assert len(EXAMPLES) >= 18


@pytest.mark.parametrize(("argv", "expected"), EXAMPLES, ids=[" ".join(a[:2]) for a, _ in EXAMPLES])
def test_help_example_gives_the_output_shown(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: dict[str, str]
) -> None:
    data = run_json(capsys, *argv)
    for key, value in expected.items():
        if value.endswith("..."):
            assert str(data[key]).upper().startswith(value[:-3].upper()), key
        else:
            assert str(data[key]).upper() == value.upper(), key
