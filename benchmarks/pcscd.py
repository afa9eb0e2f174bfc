"""A private ``pcscd`` with its own vpcd reader for the PC/SC benchmark.

The same technique as ``tests/support/pcscd.py`` (see ``docs/pcsc.md``), factored
here because the benchmarks must run with the ``bench`` extra only (that module
imports pytest):

* the PC/SC client library reads ``PCSCLITE_CSOCK_NAME`` once per process, at its
  first call: :func:`client_socket_path` exports a private socket path and must run
  before any PC/SC call (``python -m benchmarks`` calls it first thing);
* pcscd ignores that variable but takes a pre-bound listening socket by systemd
  socket activation (fd 3, ``LISTEN_FDS=1``, ``LISTEN_PID`` = its own pid, which
  ``bash -c '… exec pcscd'`` under ``unshare`` guarantees);
* ``unshare -m`` (``-r -m`` as non-root) gives it a tmpfs on ``/run/pcscd`` so a
  system pcscd is neither used nor disturbed; ``-c DIR`` holds one vpcd entry on
  a free port pair;
* readiness is polled (the vpcd ports listening in ``/proc/net/tcp``), never slept.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
READER_NAME = "Virtual PCD 00 00"
READY_TIMEOUT_S = 10.0

_lock = threading.Lock()
_socket: Path | None = None
_daemon: PrivatePcscd | None = None


class PcscdUnavailable(RuntimeError):
    """pcscd, the vpcd driver or a namespace tool is missing, or pcscd did not start."""


def client_socket_path() -> Path:
    """This process's private pcscd socket; exports ``PCSCLITE_CSOCK_NAME`` (idempotent)."""
    global _socket
    with _lock:
        if _socket is None:
            _socket = Path(tempfile.mkdtemp(prefix="trustone-bench-pcscd-")) / "pcscd.comm"
            os.environ["PCSCLITE_CSOCK_NAME"] = str(_socket)
        return _socket


@dataclass
class PrivatePcscd:
    socket_path: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def reader_name(self) -> str:
        return READER_NAME

    @property
    def log_path(self) -> Path:
        return self.socket_path.parent / "pcscd.log"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        pcscd = shutil.which("pcscd") or ("/usr/sbin/pcscd" if os.access("/usr/sbin/pcscd", os.X_OK) else None)
        if pcscd is None:
            raise PcscdUnavailable("pcscd is not installed (apt install pcscd)")
        if not VPCD_DRIVER.exists():
            raise PcscdUnavailable(f"{VPCD_DRIVER} is missing (apt install vsmartcard-vpcd)")
        for tool in ("unshare", "bash"):
            if shutil.which(tool) is None:
                raise PcscdUnavailable(f"{tool} is not installed")
        self.port = _free_port_pair()
        config = self.socket_path.parent / "reader.conf.d"
        config.mkdir(exist_ok=True)
        (config / "vpcd").write_text(
            f'FRIENDLYNAME "Virtual PCD"\nDEVICENAME   /dev/null:{self.port}\nLIBPATH      {VPCD_DRIVER}\n'
            f"CHANNELID    {self.port}\n"
        )
        self.socket_path.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        script = (
            "if [ -d /run/pcscd ]; then mount -t tmpfs -o mode=0755 tmpfs /run/pcscd; "
            "else mount -t tmpfs -o mode=0755 tmpfs /run && mkdir /run/pcscd; fi && "
            'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" --foreground --info -c "$1"'
        )
        prefix = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-r", "-m"]
        if shutil.which("setpriv"):
            prefix += ["setpriv", "--pdeathsig", "TERM"]
        with open(self.log_path, "ab") as log:
            try:
                listener.bind(str(self.socket_path))
                listener.listen(64)
                fd = listener.fileno()
                move = "" if fd == 3 else f" 3<&{fd} {fd}<&-"
                self.process = subprocess.Popen(
                    [*prefix, "bash", "-c", script + move, pcscd, str(config)],
                    pass_fds=(fd,), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                )  # fmt: skip
            finally:
                listener.close()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not {self.port, self.port + 1} <= _listening_ports():
            if not self.alive() or time.monotonic() > deadline:
                tail = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
                self.stop()
                raise PcscdUnavailable(f"the private pcscd did not come up:\n{tail}")
            time.sleep(0.01)

    def stop(self, timeout: float = 5.0) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        self.process = None


def ensure_private_pcscd() -> PrivatePcscd:
    """Start the process's private pcscd (once); :class:`PcscdUnavailable` if it cannot run here."""
    global _daemon
    path = client_socket_path()
    with _lock:
        if _daemon is None:
            _daemon = PrivatePcscd(path)
        daemon = _daemon
    if not daemon.alive():
        daemon.start()
    return daemon


def stop_private_pcscd() -> None:
    with _lock:
        daemon = _daemon
    if daemon is not None:
        daemon.stop()
        shutil.rmtree(daemon.socket_path.parent, ignore_errors=True)


def _port_pair_free(port: int) -> bool:
    for p in (port, port + 1):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("0.0.0.0", p))
            except OSError:
                return False
    return True


def _free_port_pair() -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("0.0.0.0", 0))
            port = int(probe.getsockname()[1])
        if port < 65535 and _port_pair_free(port):
            return port
    raise PcscdUnavailable("no free pair of TCP ports for vpcd")


def _listening_ports() -> set[int]:
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == "0A":
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports
