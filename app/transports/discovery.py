"""What can talk to a card here, and why the rest cannot: ``trustone readers``.

Three back-ends, each asked through its own adapter (so this module imports no
driver): PC/SC readers (:mod:`app.transports.pcsc`, pyscard over pcscd), USB NFC
readers (:mod:`app.transports.nfc`, nfcpy over libusb) and the emulated card,
which is always there. Discovery never raises for a missing component: every
absence becomes a :class:`Problem` naming what is wrong and the exact command that
fixes it (docs/pcsc.md, docs/readers.md):

* PC/SC: pyscard not importable, libpcsclite missing, pcscd not installed or not
  running, access refused (polkit), no reader connected;
* NFC: nfcpy not importable, libusb missing, a reader that cannot be opened
  (permission denied, busy), no reader nfcpy can drive, a device path that does
  not exist.

A PC/SC reader is reported with whether a card is in it and the card's ATR (read
without connecting to the card, ``SCardGetStatusChange``).
"""

from __future__ import annotations

import enum
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.errors import DriverMissingError, NoCardError, TransportError
from app.transports import nfc, pcsc
from card_emulation.profile import list_profiles

#: Probing an explicitly named NFC device waits at most this long for a card.
NFC_PROBE_TIMEOUT_S = 0.0


class Backend(enum.Enum):
    PCSC = "pcsc"
    NFC = "nfc"
    EMULATED = "emulated"

    @property
    def title(self) -> str:
        return {
            Backend.PCSC: "PC/SC readers (pyscard + pcscd)",
            Backend.NFC: "NFC readers (nfcpy)",
            Backend.EMULATED: "Emulated card",
        }[self]


@dataclass(frozen=True)
class Problem:
    """Why something is not usable (``what``) and how to fix it (``fix``, may be empty)."""

    what: str
    fix: str = ""


@dataclass(frozen=True)
class FoundReader:
    """A reader (or the emulated card) and how to use it.

    ``use`` is the command-line option that selects it; ``card_present`` is
    ``None`` when it cannot be known without a session (NFC, emulated).
    """

    backend: Backend
    name: str
    use: str
    usable: bool = True
    card_present: bool | None = None
    atr: bytes = b""
    detail: str = ""
    problem: Problem | None = None


@dataclass(frozen=True)
class BackendReport:
    """One back-end: the readers found and the problems met."""

    backend: Backend
    readers: tuple[FoundReader, ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def available(self) -> bool:
        return any(reader.usable for reader in self.readers)


@dataclass(frozen=True)
class Discovery:
    reports: tuple[BackendReport, ...] = field(default=())

    def report(self, backend: Backend) -> BackendReport:
        return next(r for r in self.reports if r.backend is backend)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            report.backend.value: {
                "title": report.backend.title,
                "available": report.available,
                "readers": [_reader_dict(r) for r in report.readers],
                "problems": [{"problem": p.what, "fix": p.fix} for p in report.problems],
            }
            for report in self.reports
        }


def _reader_dict(reader: FoundReader) -> dict[str, Any]:
    return {
        "name": reader.name,
        "use": reader.use,
        "usable": reader.usable,
        "card_present": reader.card_present,
        "atr": reader.atr.hex().upper() or None,
        "detail": reader.detail or None,
        "problem": None if reader.problem is None else {"problem": reader.problem.what, "fix": reader.problem.fix},
    }


def discover(*, nfc_paths: Sequence[str] = (), probe_usb: bool = True) -> Discovery:
    """Ask every back-end; never raises for an absent component.

    ``nfc_paths`` are nfcpy device paths to probe as well (``usb:BUS:DEV``,
    ``tty:USB0:pn532``, ...); ``probe_usb`` opens each USB NFC reader found to
    check that it can be used (a few milliseconds each).
    """
    return Discovery((discover_pcsc(), discover_nfc(nfc_paths, probe=probe_usb), discover_emulated()))


# --------------------------------------------------------------------------- PC/SC


def discover_pcsc() -> BackendReport:
    """PC/SC readers with card presence and ATR, or why there are none."""
    try:
        names = pcsc.list_readers()
    except DriverMissingError as exc:
        return BackendReport(Backend.PCSC, problems=(_driver_problem(exc),))
    except TransportError as exc:
        return BackendReport(Backend.PCSC, problems=(_pcsc_problem(exc),))
    if not names:
        return BackendReport(Backend.PCSC, problems=(Problem(
            "pcscd is running but no reader is connected",
            "plug in a USB smart-card reader (CCID) and check with: pcsc_scan -r; for the virtual reader: "
            "sudo apt install vsmartcard-vpcd, restart pcscd (sudo systemctl restart pcscd), then "
            "trustone card serve --vpcd --profile NAME",
        ),))  # fmt: skip
    return BackendReport(Backend.PCSC, tuple(_pcsc_reader(name) for name in names))


def _pcsc_reader(name: str) -> FoundReader:
    use = f'--reader "{name}"'
    try:
        atr = pcsc.wait_for_card(name, 0.0)
    except NoCardError:
        return FoundReader(Backend.PCSC, name, use, card_present=False, detail="no card")
    except TransportError as exc:
        problem = _pcsc_problem(exc)
        return FoundReader(Backend.PCSC, name, use, usable=False, detail=problem.what, problem=problem)
    return FoundReader(Backend.PCSC, name, use, card_present=True, atr=atr, detail="card present")


def _pcsc_problem(exc: TransportError) -> Problem:
    text = str(exc)
    if "access" in text.lower() or "denied" in text.lower() or "security" in text.lower():
        return Problem(
            text,
            "pcscd's polkit policy refuses this user: run from a local session, or allow it with a polkit rule "
            "for org.debian.pcsc-lite.access_pcsc and org.debian.pcsc-lite.access_card",
        )
    return Problem(text)


def _pcscd_installed() -> bool:
    return shutil.which("pcscd") is not None or shutil.which("pcscd", path="/usr/sbin:/sbin") is not None


def _driver_problem(exc: DriverMissingError) -> Problem:
    """Split a :class:`DriverMissingError` into what is wrong and its install hint."""
    hint = exc.install_hint
    what = str(exc)
    if hint and what.endswith(hint):
        what = what[: -len(hint)].rstrip(" .")
    if "pcscd" in what and "not running" in what:
        hint = (
            "start it: sudo systemctl start pcscd.socket pcscd"
            if _pcscd_installed()
            else "install and start it: sudo apt install pcscd; sudo systemctl start pcscd"
        )
    return Problem(what, hint)


# --------------------------------------------------------------------------- NFC


def discover_nfc(paths: Sequence[str] = (), *, probe: bool = True) -> BackendReport:
    """USB readers nfcpy can drive (each opened once unless ``probe`` is false), and ``paths``."""
    readers: list[FoundReader] = []
    problems: list[Problem] = []
    try:
        devices = nfc.list_devices(probe=probe)
    except DriverMissingError as exc:
        return BackendReport(Backend.NFC, problems=(_driver_problem(exc),))
    except TransportError as exc:
        devices = []
        problems.append(Problem(str(exc)))
    for device in devices:
        label = f"{device.name} ({device.vendor_id:04X}:{device.product_id:04X})"
        problem = None if device.usable else Problem(device.problem)
        readers.append(FoundReader(Backend.NFC, label, f"--nfc-device {device.path}", usable=device.usable,
                                   detail=device.path, problem=problem))  # fmt: skip
    for path in paths:
        readers.append(_probe_path(path))
    if not readers and not problems:
        problems.append(Problem(
            "no USB NFC reader that nfcpy can drive is connected",
            "nfcpy drives PN533 (SCL3711, StickID), Sony RC-S380 and ACR122U readers (see docs/readers.md); "
            "check with: python -m nfc; other contactless readers (ACR1252U, uTrust) work through PC/SC",
        ))  # fmt: skip
    return BackendReport(Backend.NFC, tuple(readers), tuple(problems))


def _probe_path(path: str) -> FoundReader:
    """Open an nfcpy device path and look for a card once."""
    use = f"--nfc-device {path}"
    try:
        transport = nfc.NfcTransport(path, timeout_s=NFC_PROBE_TIMEOUT_S)
    except NoCardError:
        return FoundReader(Backend.NFC, path, use, card_present=False, detail="reader present, no card")
    except DriverMissingError as exc:
        problem = _driver_problem(exc)
        return FoundReader(Backend.NFC, path, use, usable=False, detail=problem.what, problem=problem)
    except Exception as exc:  # noqa: BLE001 - ConfigurationError, TransportError: reported, never raised
        return FoundReader(Backend.NFC, path, use, usable=False, detail=str(exc), problem=Problem(str(exc)))
    try:
        return FoundReader(Backend.NFC, path, use, card_present=True, detail=transport.description)
    finally:
        transport.close()


# --------------------------------------------------------------------------- emulated


def discover_emulated() -> BackendReport:
    """The emulated card: always available, one entry per shipped profile."""
    profiles = list_profiles()
    return BackendReport(Backend.EMULATED, tuple(
        FoundReader(Backend.EMULATED, f"Emulated card ({name})", f"--profile {name}", detail="TEST card profile")
        for name in profiles
    ))  # fmt: skip
