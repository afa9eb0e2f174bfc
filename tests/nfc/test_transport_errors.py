"""NFC transport errors that need hardware to happen for real: their translation."""

from __future__ import annotations

import errno

import pytest

from app.errors import ConfigurationError, DriverMissingError, ReaderBusyError, ReaderNotFoundError
from app.transports import nfc as nfc_transport
from app.transports.nfc import NfcTransport, list_devices

pytestmark = pytest.mark.timeout(20)


def test_access_denied_suggests_a_udev_rule() -> None:
    error = nfc_transport._open_error(OSError(errno.EACCES, "denied"), "usb:001:004", 0x04E6, 0x5591)
    assert isinstance(error, DriverMissingError)
    assert 'ATTRS{idVendor}=="04e6"' in error.install_hint and "plugdev" in error.install_hint


def test_busy_acr122u_points_to_pcsc() -> None:
    error = nfc_transport._open_error(OSError(errno.EBUSY, "busy"), "usb:001:004", 0x072F, 0x2200)
    assert isinstance(error, ReaderBusyError)
    assert "pcscd" in str(error) and "PC/SC" in str(error)


def test_missing_device_and_missing_libusb() -> None:
    assert isinstance(nfc_transport._open_error(OSError(errno.ENODEV, "x"), "usb"), ReaderNotFoundError)
    missing = nfc_transport._open_error(OSError("cannot find a suitable libusb-1.0"), "usb")
    assert isinstance(missing, DriverMissingError) and "libusb-1.0-0" in missing.install_hint


def test_list_devices_reports_missing_libusb(monkeypatch: pytest.MonkeyPatch) -> None:
    import nfc.clf.transport

    def no_libusb(path: str) -> None:
        raise OSError("cannot find a suitable libusb-1.0")

    monkeypatch.setattr(nfc.clf.transport.USB, "find", staticmethod(no_libusb))
    with pytest.raises(DriverMissingError):
        list_devices()


def test_without_usb_readers() -> None:
    assert all(device.path.startswith("usb:") for device in list_devices())
    with pytest.raises((ReaderNotFoundError, ReaderBusyError, DriverMissingError)):
        NfcTransport("usb:ffff:ffff", timeout_s=0.1)


def test_unknown_path_kind() -> None:
    with pytest.raises(ConfigurationError):
        NfcTransport("pcsc:ACR122U")
