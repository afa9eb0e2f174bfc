"""Issuer script secure messaging and PIN change commands (EMV 4.4 Book 2 §9, Annex A1).

* Integrity (Book 2 §9.2, format 2): an 8-byte MAC, ISO/IEC 9797-1 MAC algorithm 3
  with padding method 2 under the SMI session key, over the command header
  (CLA INS P1 P2 Lc, Lc counting the MAC) || ATC || ARQC || command data (Interac
  CVN 133: header || data). AES model: AES-CMAC truncated to 8 bytes.
* Confidentiality (Book 2 §9.3) under the SMC session key, by scheme:
  ``EMV`` 3DES-CBC (IV 0) over padding-method-2 data; ``MASTERCARD`` the same but
  padded only when not block aligned; ``VISA`` 3DES-ECB over padding method 2 of
  (length byte || data); ``AES`` (model) AES-CBC (IV 0), padding method 2.
* PIN blocks: ISO 9564-1 format 2 (``2 | n | PIN | F..F``) and the VIS PIN block
  (ISO format 0 PIN field ``0 | n | PIN | F..F`` xor ``00000000 || ICC MK AC bytes
  5-8``, xor ``current PIN || 0..0`` when changing with the current PIN).
* PIN CHANGE/UNBLOCK (Book 3 §6.5.10): ``84 24 00 P2 Lc || enciphered PIN block ||
  MAC``, P2 = 01 with the current PIN, 02 without.

Card-side counterparts (decryption, PIN block parsing, MAC verification) are here
too, for the emulated card. PINs and keys never appear in reprs or messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.crypto import primitives
from protocol.crypto.cryptogram import derive_icc_master_key
from protocol.crypto.cvn import Cvn, PinBlockFormat, ScriptMacData, SmEncryption, SmSessionKey
from protocol.crypto.keys import IssuerMasterKeys, kcv, session_key_aes, session_key_common, session_key_visa_sm
from protocol.crypto.mac import Padding, emv_mac, pad, tdes_key24
from protocol.errors import MalformedDataError, UsageError, VerificationError

__all__ = [
    "PinChangeComputation",
    "ScriptMacComputation",
    "command_mac",
    "command_mac_aes",
    "compute_pin_change_command",
    "compute_script_mac",
    "compute_script_mac_from_icc_mk",
    "decrypt_command_data",
    "derive_sm_session_key",
    "encrypt_command_data",
    "pin_block_iso9564_format2",
    "pin_block_vis",
    "pin_change_command",
    "pin_from_iso9564_format2",
    "pin_from_vis",
    "script_mac",
    "verify_script_mac_from_icc_mk",
]


def _b(name: str, value: bytes, *lengths: int) -> bytes:
    if not isinstance(value, bytes | bytearray):
        raise UsageError(f"{name} must be bytes, got {type(value).__name__}")
    if lengths and len(value) not in lengths:
        raise UsageError(f"{name} must be {' or '.join(map(str, lengths))} bytes, got {len(value)}")
    return bytes(value)


def command_mac(sk_smi: bytes, data: bytes, length: int = 8) -> bytes:
    """Secure-messaging MAC (Book 2 §9.2.1): MAC algorithm 3, padding method 2."""
    return emv_mac(_b("SMI session key", sk_smi, 16), _b("MAC data", data), Padding.METHOD_2, length)


def command_mac_aes(sk_smi: bytes, data: bytes, length: int = 8) -> bytes:
    """AES model secure-messaging MAC: AES-CMAC truncated to ``length`` bytes."""
    if not 4 <= length <= 16:
        raise UsageError(f"MAC length must be 4..16 bytes, got {length}")
    return primitives.aes_cmac(_b("AES SMI session key", sk_smi, 16), _b("MAC data", data))[:length]


# --------------------------------------------------------------------------- encryption


def encrypt_command_data(sk_smc: bytes, data: bytes, mode: SmEncryption) -> bytes:
    """Encipher command data for secure messaging (Book 2 §9.3) in the given scheme mode."""
    key, data = _b("SMC session key", sk_smc, 16), _b("command data", data)
    if mode is SmEncryption.EMV:
        return primitives.tdes_cbc_encrypt(tdes_key24(key), pad(data, Padding.METHOD_2))
    if mode is SmEncryption.MASTERCARD:
        if not data or len(data) % 8:
            data = pad(data, Padding.METHOD_2)
        return primitives.tdes_cbc_encrypt(tdes_key24(key), data)
    if mode is SmEncryption.VISA:
        if len(data) > 0xFF:
            raise UsageError("Visa secure messaging enciphers at most 255 bytes")
        return primitives.tdes_ecb_encrypt(tdes_key24(key), pad(bytes([len(data)]) + data, Padding.METHOD_2))
    if mode is SmEncryption.AES:
        return primitives.aes_cbc_encrypt(key, pad(data, Padding.METHOD_2, 16))
    raise UsageError(f"encryption mode must be an SmEncryption member, got {mode!r}")


def _unpad_method_2(data: bytes) -> bytes:
    stripped = data.rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80:
        raise MalformedDataError("ISO/IEC 9797-1 padding method 2 not found", what="deciphered command data")
    return stripped[:-1]


def decrypt_command_data(sk_smc: bytes, ciphertext: bytes, mode: SmEncryption) -> bytes:
    """Decipher command data (card side) and remove the mode's padding.

    ``MASTERCARD`` cannot tell padding from data when the plaintext was block aligned,
    so it returns the deciphered blocks as they are (an 8-byte PIN block is never padded).
    """
    key, ciphertext = _b("SMC session key", sk_smc, 16), _b("enciphered data", ciphertext)
    block = 16 if mode is SmEncryption.AES else 8
    if not ciphertext or len(ciphertext) % block:
        raise MalformedDataError(f"length {len(ciphertext)} is not a positive multiple of {block}",
                                 what="enciphered command data")
    if mode is SmEncryption.EMV:
        return _unpad_method_2(primitives.tdes_cbc_decrypt(tdes_key24(key), ciphertext))
    if mode is SmEncryption.MASTERCARD:
        return primitives.tdes_cbc_decrypt(tdes_key24(key), ciphertext)
    if mode is SmEncryption.VISA:
        plain = _unpad_method_2(primitives.tdes_ecb_decrypt(tdes_key24(key), ciphertext))
        if not plain or plain[0] != len(plain) - 1:
            raise MalformedDataError("length byte does not match the data", what="deciphered Visa command data")
        return plain[1:]
    if mode is SmEncryption.AES:
        return _unpad_method_2(primitives.aes_cbc_decrypt(key, ciphertext))
    raise UsageError(f"encryption mode must be an SmEncryption member, got {mode!r}")


# --------------------------------------------------------------------------- PIN blocks


def _check_pin(pin: str, name: str = "PIN") -> str:
    if not isinstance(pin, str) or not (pin.isascii() and pin.isdigit()) or not 4 <= len(pin) <= 12:
        raise UsageError(f"{name} must be 4 to 12 decimal digits")
    return pin


def _pin_field(control: int, pin: str) -> bytes:
    return bytes.fromhex(f"{control:X}{len(pin):X}{pin}".ljust(16, "F"))


def pin_block_iso9564_format2(pin: str) -> bytes:
    """ISO 9564-1 format 2 PIN block: ``2 | n | PIN | F fill`` (8 bytes)."""
    return _pin_field(2, _check_pin(pin))


def _vis_mask(icc_mk_ac: bytes, current_pin: str | None) -> int:
    mask = int.from_bytes(_b("ICC master key AC", icc_mk_ac, 16)[4:8], "big")
    if current_pin is not None:
        mask ^= int(_check_pin(current_pin, "current PIN").ljust(16, "0"), 16)
    return mask


def pin_block_vis(icc_mk_ac: bytes, pin: str, current_pin: str | None = None) -> bytes:
    """VIS PIN block: ISO format 0 PIN field xor (00000000 || ICC MK AC[4:8]) [xor current PIN]."""
    field = int.from_bytes(_pin_field(0, _check_pin(pin)), "big")
    return (field ^ _vis_mask(icc_mk_ac, current_pin)).to_bytes(8, "big")


def _parse_pin_field(block: bytes, control: int, what: str) -> str:
    digits = block.hex().upper()
    n = int(digits[1], 16)
    if int(digits[0], 16) != control or not 4 <= n <= 12:
        raise MalformedDataError("control or length nibble is wrong", what=what)
    pin, fill = digits[2:2 + n], digits[2 + n:]
    if not pin.isdigit() or fill != "F" * len(fill):
        raise MalformedDataError("PIN digits or F filler are wrong", what=what)
    return pin


def pin_from_iso9564_format2(block: bytes) -> str:
    """The PIN in an ISO 9564 format 2 block (card side); MalformedDataError if malformed."""
    return _parse_pin_field(_b("PIN block", block, 8), 2, "ISO 9564 format 2 PIN block")


def pin_from_vis(icc_mk_ac: bytes, block: bytes, current_pin: str | None = None) -> str:
    """The new PIN in a VIS PIN block (card side; the card knows its current PIN)."""
    field = int.from_bytes(_b("PIN block", block, 8), "big") ^ _vis_mask(icc_mk_ac, current_pin)
    return _parse_pin_field(field.to_bytes(8, "big"), 0, "VIS PIN block")


# --------------------------------------------------------------------------- per CVN


def derive_sm_session_key(cvn: Cvn, icc_mk_sm: bytes, *, atc: bytes, arqc: bytes) -> bytes:
    """Secure-messaging session key (SMI or SMC) of ``cvn`` from the ICC master key."""
    method = Cvn.parse(cvn).profile.sm_session_key
    if method is SmSessionKey.VISA_ATC:
        return session_key_visa_sm(icc_mk_sm, _b("ATC", atc, 2))
    if method is SmSessionKey.COMMON_ARQC:
        return session_key_common(icc_mk_sm, _b("ARQC", arqc, 8))
    return session_key_aes(icc_mk_sm, _b("ARQC", arqc, 8))


@dataclass(frozen=True, repr=False)
class ScriptMacComputation:
    """The values of one issuer script MAC computation; ``repr`` hides the keys."""

    cvn: Cvn
    icc_master_key: bytes
    session_key: bytes
    mac_input: bytes
    mac: bytes

    def __repr__(self) -> str:
        aes = self.cvn.profile.is_aes
        return (
            f"ScriptMacComputation({self.cvn.name}, ICC MK SMI KCV {kcv(self.icc_master_key, aes=aes)}, "
            f"SK SMI KCV {kcv(self.session_key, aes=aes)}, input {self.mac_input.hex().upper()}, "
            f"MAC {self.mac.hex().upper()})"
        )


def _script_mac_input(cvn: Cvn, header: bytes, atc: bytes, arqc: bytes, data: bytes) -> bytes:
    header, data = _b("command header (CLA INS P1 P2 Lc)", header, 5), _b("command data", data)
    if cvn.profile.script_mac_data is ScriptMacData.HEADER_DATA:
        return header + data
    return header + _b("ATC", atc, 2) + _b("ARQC", arqc, 8) + data


def compute_script_mac_from_icc_mk(
    cvn: Cvn, icc_master_key_smi: bytes, *, command_header: bytes, atc: bytes, arqc: bytes,
    command_data: bytes = b"",
) -> ScriptMacComputation:
    """The 8-byte issuer script command MAC of ``cvn`` from the ICC master key SMI."""
    cvn = Cvn.parse(cvn)
    sk = derive_sm_session_key(cvn, icc_master_key_smi, atc=atc, arqc=arqc)
    data = _script_mac_input(cvn, command_header, atc, arqc, command_data)
    mac = command_mac_aes(sk, data) if cvn.profile.is_aes else command_mac(sk, data)
    return ScriptMacComputation(cvn, bytes(icc_master_key_smi), sk, data, mac)


def compute_script_mac(
    cvn: Cvn, issuer_master_key_smi: bytes, pan: str, psn: str | None = "00", *, command_header: bytes,
    atc: bytes, arqc: bytes, command_data: bytes = b"",
) -> ScriptMacComputation:
    """The issuer script command MAC of ``cvn`` from the issuer master key SMI."""
    icc_mk = derive_icc_master_key(cvn, issuer_master_key_smi, pan, psn)
    return compute_script_mac_from_icc_mk(
        cvn, icc_mk, command_header=command_header, atc=atc, arqc=arqc, command_data=command_data
    )


def script_mac(
    cvn: Cvn, issuer_master_key_smi: bytes, pan: str, psn: str | None = "00", *, command_header: bytes,
    atc: bytes, arqc: bytes, command_data: bytes = b"",
) -> bytes:
    """The 8-byte issuer script command MAC."""
    return compute_script_mac(
        cvn, issuer_master_key_smi, pan, psn, command_header=command_header, atc=atc, arqc=arqc,
        command_data=command_data,
    ).mac


def verify_script_mac_from_icc_mk(
    cvn: Cvn, icc_master_key_smi: bytes, *, mac: bytes, command_header: bytes, atc: bytes, arqc: bytes,
    command_data: bytes = b"",
) -> None:
    """Card side: raise VerificationError("script MAC") unless ``mac`` is right."""
    expected = compute_script_mac_from_icc_mk(
        cvn, icc_master_key_smi, command_header=command_header, atc=atc, arqc=arqc, command_data=command_data
    ).mac
    if not isinstance(mac, bytes | bytearray) or not primitives.constant_time_equal(mac, expected):
        raise VerificationError("script MAC", "the issuer script command MAC does not match")


@dataclass(frozen=True, repr=False)
class PinChangeComputation:
    """Every value of one PIN CHANGE/UNBLOCK command; ``repr`` hides keys and the PIN block."""

    cvn: Cvn
    icc_master_key_smc: bytes
    session_key_smc: bytes
    icc_master_key_smi: bytes
    session_key_smi: bytes
    pin_block_format: PinBlockFormat
    pin_block: bytes
    encrypted_pin_block: bytes
    command_header: bytes
    mac_input: bytes
    mac: bytes

    @property
    def command(self) -> bytes:
        """The APDU: header || enciphered PIN block || MAC."""
        return self.command_header + self.encrypted_pin_block + self.mac

    def __repr__(self) -> str:
        aes = self.cvn.profile.is_aes
        return (
            f"PinChangeComputation({self.cvn.name}, {self.pin_block_format.name} PIN block, "
            f"SK SMC KCV {kcv(self.session_key_smc, aes=aes)}, SK SMI KCV {kcv(self.session_key_smi, aes=aes)}, "
            f"command {self.command.hex().upper()})"
        )


def compute_pin_change_command(
    cvn: Cvn, keys: IssuerMasterKeys, pan: str, psn: str | None = "00", *, new_pin: str, atc: bytes,
    arqc: bytes, current_pin: str | None = None,
) -> PinChangeComputation:
    """PIN CHANGE/UNBLOCK command of ``cvn`` (Book 3 §6.5.10) from the issuer master keys.

    ``current_pin`` is only accepted by CVNs with a VIS PIN block (Visa).
    """
    cvn = Cvn.parse(cvn)
    if not isinstance(keys, IssuerMasterKeys):
        raise UsageError(f"keys must be IssuerMasterKeys, got {type(keys).__name__}")
    profile = cvn.profile
    fmt = profile.pin_block
    if fmt is PinBlockFormat.ISO2_OR_VIS:
        fmt = PinBlockFormat.ISO_9564_2 if current_pin is None else PinBlockFormat.VIS
    if fmt is PinBlockFormat.VIS:
        block = pin_block_vis(derive_icc_master_key(cvn, keys.ac, pan, psn), new_pin, current_pin)
    elif current_pin is not None:
        raise UsageError(f"{profile.label} uses ISO 9564 format 2 PIN blocks, which cannot carry the current PIN")
    else:
        block = pin_block_iso9564_format2(new_pin)
    mk_smc = derive_icc_master_key(cvn, keys.smc, pan, psn)
    mk_smi = derive_icc_master_key(cvn, keys.smi, pan, psn)
    sk_smc = derive_sm_session_key(cvn, mk_smc, atc=atc, arqc=arqc)
    sk_smi = derive_sm_session_key(cvn, mk_smi, atc=atc, arqc=arqc)
    encrypted = encrypt_command_data(sk_smc, block, profile.sm_encryption)
    header = bytes([0x84, 0x24, 0x00, 0x02 if current_pin is None else 0x01, len(encrypted) + 8])
    data = _script_mac_input(cvn, header, atc, arqc, encrypted)
    mac = command_mac_aes(sk_smi, data) if profile.is_aes else command_mac(sk_smi, data)
    return PinChangeComputation(cvn, mk_smc, sk_smc, mk_smi, sk_smi, fmt, block, encrypted, header, data, mac)


def pin_change_command(
    cvn: Cvn, keys: IssuerMasterKeys, pan: str, psn: str | None = "00", *, new_pin: str, atc: bytes,
    arqc: bytes, current_pin: str | None = None,
) -> bytes:
    """The PIN CHANGE/UNBLOCK command APDU bytes."""
    return compute_pin_change_command(
        cvn, keys, pan, psn, new_pin=new_pin, atc=atc, arqc=arqc, current_pin=current_pin
    ).command
