"""NFC transport: a contactless EMV card through nfcpy's own reader code.

The only :mod:`app` module that imports nfcpy (``nfc``), and only lazily, so the
rest of the app runs without it. :class:`NfcTransport` opens an nfcpy device path
(``usb``, ``usb:VID:PID``, ``usb:BUS:DEV``, ``tty:PORT:DRIVER``, ``udp:HOST:PORT``
for the emulated card's :class:`card_emulation.nfc_bridge.NfcBridge`), polls for
an ISO/IEC 14443-4 card (Type 4A or 4B), and exchanges APDUs with nfcpy's ISO-DEP
initiator (``nfc.tag.tt4``), which does the chaining, R(ACK)/R(NAK) recovery and
S(WTX) handling.

Nothing here blocks forever: polling ends after ``timeout_s`` (plus at most one
poll cycle, up to 1 s per technology over ``udp``, where nfcpy's SENS_REQ timeout
is fixed), and every APDU has an overall deadline, ``apdu_timeout_s``, that also
bounds a card asking for S(WTX) extensions without end. nfcpy's initiator has no
such bound; it is added by handing the tag a frontend wrapper whose ``exchange``
clamps each frame's timeout to the deadline.

After a removal or timeout the ISO-DEP session is gone (block numbers out of
step, a late answer may still arrive): the field is switched off and later
transmits raise :class:`CardRemovedError` until :meth:`NfcTransport.reactivate`.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from app.errors import (
    CardRemovedError,
    ConfigurationError,
    DriverMissingError,
    NoCardError,
    ReaderBusyError,
    ReaderNotFoundError,
    TransportError,
    TransportTimeoutError,
)

log = logging.getLogger(__name__)

_PATH_KINDS = ("usb", "tty", "com", "udp")
_POLL_PAUSE_S = 0.1  # between poll cycles of a USB reader (sense returns at once)
_PRESENCE_TIMEOUT_S = 0.5

#: Readers nfcpy 1.0.4 drives directly (``nfc.clf.device.usb_device_map``), by VID:PID.
KNOWN_READERS: dict[tuple[int, int], str] = {
    (0x054C, 0x0193): "Sony PN531 board",
    (0x04CC, 0x0531): "Philips/NXP PN531 board, Identive SCL3710",
    (0x04CC, 0x2533): "NXP PN533 (e.g. SensorID StickID)",
    (0x04E6, 0x5591): "Identive SCL3711 (PN533)",
    (0x04E6, 0x5593): "Identive SCL3712 (PN533)",
    (0x054C, 0x02E1): "Sony RC-S330/S360/S370",
    (0x054C, 0x06C1): "Sony RC-S380/S",
    (0x054C, 0x06C3): "Sony RC-S380/P",
    (0x072F, 0x2200): "ACS ACR122U",
}

_UDEV_HINT = (
    "allow your user to open it with a udev rule, e.g. "
    "echo 'SUBSYSTEM==\"usb\", ACTION==\"add\", ATTRS{{idVendor}}==\"{vid:04x}\", "
    "ATTRS{{idProduct}}==\"{pid:04x}\", GROUP=\"plugdev\"' | sudo tee -a /etc/udev/rules.d/nfcdev.rules; "
    "sudo udevadm control -R; re-plug the reader; be in the plugdev group (sudo adduser $USER plugdev)"
)


def _nfc() -> ModuleType:
    """Import nfcpy, turning its absence into an actionable error."""
    try:
        import nfc
        import nfc.clf
        import nfc.clf.transport
        import nfc.tag
        import nfc.tag.tt4
    except ImportError as error:
        hint = (
            "pip install libusb1" if "usb1" in str(error)
            else "pip install pyserial" if "serial" in str(error)
            else "pip install nfcpy"
        )
        raise DriverMissingError(f"nfcpy cannot be imported ({error})", hint) from error
    module: ModuleType = nfc
    return module


def _libusb_missing(error: BaseException) -> DriverMissingError:
    return DriverMissingError(
        f"libusb-1.0 is not available ({error})",
        "install it: sudo apt-get install libusb-1.0-0 (Debian/Ubuntu)",
    )


@dataclass(frozen=True)
class NfcDeviceInfo:
    """A USB contactless reader nfcpy knows, and whether it can be opened now."""

    path: str  # "usb:BUS:DEV", for NfcTransport
    vendor_id: int
    product_id: int
    name: str
    usable: bool
    problem: str = ""  # what is wrong and how to fix it, when not usable


def list_devices(*, probe: bool = True) -> list[NfcDeviceInfo]:
    """USB readers nfcpy can drive, each probed (opened and closed) unless told not to.

    Raises :class:`DriverMissingError` when nfcpy or libusb is missing. Serial
    (``tty:``) readers cannot be enumerated safely and the ``udp:`` pseudo-device
    needs no discovery: open those paths directly.
    """
    nfc = _nfc()
    try:
        found = nfc.clf.transport.USB.find("usb") or []
    except OSError as error:
        raise _libusb_missing(error) from error
    except Exception as error:  # noqa: BLE001 - usb1.USBError and friends
        raise TransportError(f"cannot enumerate USB devices: {error}") from error
    devices = []
    for vid, pid, bus, dev in found:
        if (vid, pid) not in KNOWN_READERS:
            continue
        path = f"usb:{bus:03d}:{dev:03d}"
        info = NfcDeviceInfo(path, vid, pid, KNOWN_READERS[(vid, pid)], usable=True)
        if probe:
            try:
                nfc.ContactlessFrontend(path).close()
            except OSError as error:
                info = NfcDeviceInfo(path, vid, pid, info.name, False, str(_open_error(error, path, vid, pid)))
            except Exception as error:  # noqa: BLE001 - a broken device must not hide the others
                info = NfcDeviceInfo(path, vid, pid, info.name, False, f"cannot open: {error}")
        devices.append(info)
    return devices


def _open_error(error: OSError, path: str, vid: int | None = None, pid: int | None = None) -> TransportError:
    """Translate nfcpy's ``IOError`` from opening ``path`` into a typed, actionable error."""
    if error.errno == errno.EACCES:
        ids = {"vid": vid or 0, "pid": pid or 0}
        return DriverMissingError(f"access to the NFC reader at {path} is denied", _UDEV_HINT.format(**ids))
    if error.errno == errno.EBUSY:
        return ReaderBusyError(f"the NFC reader at {path} is in use: {_busy_hint(path, vid, pid)}")
    if error.errno == errno.ENODEV:
        return ReaderNotFoundError(
            f"no NFC reader nfcpy can drive at {path!r}: check the cable, list_devices() or "
            "'python -m nfc'; readers nfcpy cannot drive (ACR1252U, Identiv uTrust, ...) work through PC/SC"
        )
    if error.errno is None and "libusb" in str(error).lower():
        return _libusb_missing(error)
    return TransportError(f"cannot open the NFC reader at {path}: {error}")


def _busy_hint(path: str, vid: int | None, pid: int | None) -> str:
    """Who holds a USB reader (as nfcpy's ``python -m nfc`` reports it) and how to free it."""
    driver = _kernel_driver(path)
    if driver in ("pn533_usb", "pn533", "port100"):
        return (
            f"the kernel's NFC driver '{driver}' claims it; free it with 'sudo modprobe -r {driver}' and "
            f"keep it away with 'echo blacklist {driver} | sudo tee -a /etc/modprobe.d/blacklist-nfc.conf'"
        )
    if (vid, pid) == (0x072F, 0x2200) or driver == "usbfs":
        return (
            "another program holds it through libusb — usually pcscd with its CCID driver "
            "(the ACR122U is a PC/SC reader): use it through the PC/SC transport instead, or stop "
            "pcscd ('sudo systemctl stop pcscd.socket pcscd') while nfcpy uses it"
        )
    return f"claimed by driver '{driver}'" if driver else "another program or driver holds it"


def _kernel_driver(path: str) -> str:
    """Name of the driver bound to interface 0 of the USB device ``usb:BUS:DEV`` (Linux sysfs)."""
    parts = path.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts[1:]):
        return ""
    bus, dev = int(parts[1]), int(parts[2])
    root = "/sys/bus/usb/devices"
    try:
        for entry in os.listdir(root):
            if ":" in entry or entry.startswith("usb"):
                continue
            base = os.path.join(root, entry)
            with open(os.path.join(base, "busnum")) as b, open(os.path.join(base, "devnum")) as d:
                if (int(b.read()), int(d.read())) == (bus, dev):
                    return os.path.basename(os.readlink(f"{base}:1.0/driver"))
    except (OSError, ValueError):
        pass
    return ""


class _DeadlineFrontend:
    """What nfcpy's ISO-DEP initiator uses of a frontend, with an overall deadline."""

    def __init__(self, clf: Any, nfc: ModuleType) -> None:
        self._clf = clf
        self._nfc = nfc
        self.deadline: float | None = None
        self.expired = False

    def exchange(self, data: Any, timeout: float | None) -> Any:
        clamped = False
        if self.deadline is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                self.expired = True
                raise self._nfc.clf.TimeoutError("APDU deadline exceeded")
            if timeout is None or remaining < timeout:
                timeout, clamped = remaining, True
        try:
            return self._clf.exchange(data, timeout)
        except self._nfc.clf.TimeoutError:
            self.expired = self.expired or clamped
            raise

    @property
    def max_send_data_size(self) -> int:
        return int(self._clf.max_send_data_size)

    @property
    def max_recv_data_size(self) -> int:
        return int(self._clf.max_recv_data_size)

    @property
    def device(self) -> Any:
        return self._clf.device

    def __str__(self) -> str:
        return str(self._clf)


class NfcTransport:
    """An ISO 14443-4 card on an nfcpy reader; waits up to ``timeout_s`` for one."""

    def __init__(
        self,
        device: str = "usb",
        *,
        timeout_s: float = 5.0,
        apdu_timeout_s: float = 10.0,
        technologies: Sequence[str] | None = None,
    ) -> None:
        kind = device.split(":", 1)[0]
        if kind not in _PATH_KINDS:
            raise ConfigurationError(
                f"unknown NFC device path {device!r}: use usb[:VID:PID|:BUS:DEV], tty:PORT:DRIVER or udp:HOST:PORT"
            )
        self._nfc = _nfc()
        self._path = device
        self._apdu_timeout_s = apdu_timeout_s
        # The udp pseudo-device waits 1 s for every unanswered technology; the
        # emulated card is Type A only.
        self._technologies = tuple(technologies or (("106A",) if kind == "udp" else ("106A", "106B")))
        self._tag: Any = None
        self._uid = b""
        self._closed = False
        try:
            self._clf = self._nfc.ContactlessFrontend(device)
        except OSError as error:
            raise _open_error(error, device) from error
        except Exception as error:  # noqa: BLE001 - usb1/pyserial errors nfcpy lets through
            raise TransportError(f"cannot open the NFC reader at {device}: {error}") from error
        self._frontend = _DeadlineFrontend(self._clf, self._nfc)
        try:
            self._activate(timeout_s)
        except BaseException:
            self._clf.close()
            self._closed = True
            raise

    # --- Transport protocol -----------------------------------------------------

    @property
    def description(self) -> str:
        what = f"{type(self._tag).__name__} UID {self._uid.hex().upper()}" if self._tag is not None else "no card"
        return f"NFC {self._path} ({what})"

    @property
    def uid(self) -> bytes:
        """NFCID1 (Type A) or PUPI (Type B) of the current card."""
        return self._uid

    def transmit(self, apdu: bytes) -> bytes:
        """Send one command APDU; return the response APDU (data + SW1 SW2)."""
        if self._closed:
            raise TransportError("the NFC transport is closed")
        if self._tag is None:
            raise CardRemovedError("no card session (the card was removed or timed out): tap it again and reactivate()")
        nfc = self._nfc
        self._frontend.expired = False
        self._frontend.deadline = time.monotonic() + self._apdu_timeout_s
        try:
            response = self._tag.transceive(bytearray(apdu))
        except nfc.clf.BrokenLinkError as error:
            raise self._lost(CardRemovedError(f"the card left the field ({error})")) from error
        except (nfc.tag.tt4.Type4TagCommandError, nfc.clf.CommunicationError) as error:
            raise self._lost(self._classify(error)) from error
        except OSError as error:
            raise self._lost(ReaderNotFoundError(f"the NFC reader failed or was unplugged ({error})")) from error
        finally:
            self._frontend.deadline = None
        if response is None or len(response) < 2:
            raise self._lost(TransportError("the card answered without a status word"))
        return bytes(response)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._tag = None
        self._clf.close()  # udp: tells the card the field is off (RFOFF)

    # --- session control --------------------------------------------------------

    def reactivate(self, timeout_s: float = 5.0) -> None:
        """End the card session (S(DESELECT), ISO/IEC 14443-4 §8) and poll for a card again."""
        if self._closed:
            raise TransportError("the NFC transport is closed")
        if self._tag is not None:
            try:
                self._clf.exchange(bytearray(b"\xc2"), 0.1)
            except self._nfc.clf.CommunicationError:
                pass
            self._tag = None
        self._activate(timeout_s)

    def _activate(self, timeout_s: float) -> None:
        nfc = self._nfc
        deadline = time.monotonic() + timeout_s
        targets = [nfc.clf.RemoteTarget(brty) for brty in self._technologies]
        seen_other = ""
        while True:
            try:
                target = self._clf.sense(*targets, iterations=1)
            except nfc.clf.UnsupportedTargetError as error:
                raise ConfigurationError(f"{self._path} cannot poll {self._technologies}: {error}") from error
            except OSError as error:
                raise _open_error(error, self._path) from error
            if target is not None:
                tag = self._activate_tag(target)
                if tag is not None:
                    self._tag = tag
                    self._uid = bytes(getattr(tag, "identifier", b"") or b"")
                    log.info("NFC card activated: %s", self.description)
                    return
                seen_other = f"; a card was found but is not ISO/IEC 14443-4 capable ({target})"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NoCardError(f"no ISO/IEC 14443-4 card on {self._path} within {timeout_s:g} s{seen_other}")
            time.sleep(min(_POLL_PAUSE_S, remaining))

    def _activate_tag(self, target: Any) -> Any:
        """RATS/ATS (Type A) or ATTRIB (Type B) through nfcpy's Type 4 tag classes."""
        nfc = self._nfc
        if target.brty.endswith("A") and not (target.sel_res and target.sel_res[0] & 0x20):
            return None
        try:
            return nfc.tag.tt4.activate(self._frontend, target)
        except nfc.clf.CommunicationError as error:
            log.debug("ISO-DEP activation failed: %s", error)
        except (IndexError, ValueError, TypeError) as error:  # nfcpy trusts the ATS length
            log.warning("malformed ATS/ATTRIB answer: %r", error)
        return None

    def _classify(self, error: Exception) -> TransportError:
        nfc = self._nfc
        if self._frontend.expired:
            return TransportTimeoutError(
                f"no complete answer within {self._apdu_timeout_s:g} s (the card kept asking for more time)"
            )
        is_timeout = isinstance(error, nfc.clf.TimeoutError) or (
            isinstance(error, nfc.tag.tt4.Type4TagCommandError) and error.errno == nfc.tag.TIMEOUT_ERROR
        )
        if is_timeout or (
            isinstance(error, nfc.tag.tt4.Type4TagCommandError) and error.errno == nfc.tag.RECEIVE_ERROR
        ):
            if not self._card_answers():
                return CardRemovedError("the card stopped answering and is gone (presence check failed)")
            if is_timeout:
                return TransportTimeoutError("the card is present but did not answer within its frame waiting time")
        return TransportError(f"ISO-DEP error with the card: {error}")

    def _card_answers(self) -> bool:
        """nfcpy's presence check (R(NAK), answered by R(ACK) or the last block)."""
        self._frontend.deadline = time.monotonic() + _PRESENCE_TIMEOUT_S
        try:
            return bool(self._tag.is_present)
        except Exception:  # noqa: BLE001 - any failure means "not answering"
            return False

    def _lost(self, error: TransportError) -> TransportError:
        """The session is unusable: drop it and switch the field off."""
        self._tag = None
        try:
            self._clf.device.mute()
        except Exception:  # noqa: BLE001 - best effort on a failing reader
            pass
        return error
