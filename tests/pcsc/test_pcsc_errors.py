"""Typed, actionable errors when the PC/SC stack is missing (no pcscd, no pyscard)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.errors import DriverMissingError, TransportError
from app.transports import pcsc

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_module_imports_without_pyscard_and_says_how_to_install_it() -> None:
    result = run_python(
        """
        import sys
        sys.modules["smartcard"] = None  # as if pyscard were not installed
        from app.errors import DriverMissingError, TransportError
        from app.transports import pcsc
        for use in (pcsc.list_readers, lambda: pcsc.PcscTransport("x"), pcsc.PcscMonitor):
            try:
                use()
            except DriverMissingError as exc:
                print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert all("pyscard" in line and "pip install pyscard" in line for line in lines)


def test_missing_libpcsclite_is_reported_with_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pcsc, "_scard_module", None)
    monkeypatch.setattr(
        pcsc, "_IMPORT_ERROR", ImportError("Failed to dlopen libpcsclite.so.1: cannot open shared object")
    )
    with pytest.raises(DriverMissingError, match="libpcsclite") as info:
        pcsc.list_readers()
    assert "sudo apt install libpcsclite1" in info.value.install_hint


def test_no_pcscd_is_reported_with_the_commands_to_start_it(tmp_path: Path) -> None:
    result = run_python(
        """
        from app.errors import DriverMissingError, TransportError
        from app.transports import pcsc
        try:
            pcsc.list_readers()
        except DriverMissingError as exc:
            print(exc)
        """,
        PCSCLITE_CSOCK_NAME=str(tmp_path / "nobody-listens-here"),
    )
    assert result.returncode == 0, result.stderr
    assert "pcscd" in result.stdout and "sudo apt install pcscd; sudo systemctl start pcscd" in result.stdout


@pytest.mark.parametrize("code", ["SCARD_W_SECURITY_VIOLATION", "SCARD_E_NO_ACCESS"])
def test_access_refused_names_polkit(code: str) -> None:
    """pcscd refusing a client (polkit, or while it shuts down) gets an actionable message."""
    from smartcard import scard

    error = pcsc._error(getattr(scard, code), "watching readers")
    assert type(error) is TransportError and not isinstance(error, DriverMissingError)
    assert "refused access" in str(error) and "polkit" in str(error)
