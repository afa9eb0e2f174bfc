"""A private ``pcscd`` with its own vpcd virtual reader, for tests, benchmarks and demos.

Why it looks like this (see ``ENVIRONMENT.md``):

* The PC/SC client library (pyscard, ``pcsc_scan``, ``opensc-tool``) reads
  ``PCSCLITE_CSOCK_NAME`` **once per process**, at its first call. So one socket
  path is chosen per process (:func:`client_socket_path`, which also exports the
  variable) before any test talks PC/SC, and every PC/SC test of the session shares
  one private daemon (:func:`ensure_private_pcscd`). Child processes inherit the
  variable; :meth:`PrivatePcscd.env` returns an environment that has it.
* pcscd 1.9.9 ignores that variable itself, but accepts a pre-bound listening unix
  socket by systemd-style socket activation: fd 3, ``LISTEN_FDS=1`` and
  ``LISTEN_PID`` equal to pcscd's own pid. ``unshare`` and ``bash -c '… exec
  pcscd'`` both exec in place, so ``$$`` in that shell *is* pcscd's pid.
* pcscd still writes ``/run/pcscd/pcscd.pid`` (and cleans ``/run/pcscd`` on
  exit), so as root it runs in a private mount namespace (``unshare -m``) with a
  tmpfs on ``/run/pcscd``: a system pcscd is neither disturbed nor used. As
  non-root the same is tried inside a user namespace (``unshare -r -m``).
* ``-c DIR`` replaces ``/etc/reader.conf.d`` with a directory holding one vpcd
  entry on a free TCP port (slot 0 on ``port``, slot 1 on ``port + 1``).
* Readiness is polled (vpcd's listening ports in ``/proc/net/tcp``), never slept.

The test suite wraps this in the ``private_pcscd`` fixture
(``tests/support/pcscd.py``); the benchmarks use it directly. It needs pcscd,
vsmartcard-vpcd and util-linux's ``unshare``; it raises :class:`PcscdUnavailable`
with an install hint when one is missing.
"""

from __future__ import annotations

import atexit
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
FRIENDLY_NAME = "Virtual PCD"
READY_TIMEOUT = 10.0

_lock = threading.Lock()
_socket_path: Path | None = None
_current: PrivatePcscd | None = None


class PcscdUnavailable(RuntimeError):
    """The private pcscd cannot run here (missing component, no privileges)."""


@dataclass
class PrivatePcscd:
    """A private pcscd: where clients find it and where its vpcd listens.

    The object stays the same across :meth:`restart`, so a session fixture that
    hands it out never goes stale; ``port`` and ``process`` are updated in place.
    """

    socket_path: Path
    config_dir: Path
    log_path: Path
    debug: bool = False
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def reader_names(self) -> tuple[str, str]:
        """The two vpcd slots as PC/SC names them (slot 0 is on :attr:`port`)."""
        return (f"{FRIENDLY_NAME} 00 00", f"{FRIENDLY_NAME} 00 01")

    @property
    def reader_name(self) -> str:
        """Name of slot 0, the one a bridge on :attr:`port` fills."""
        return self.reader_names[0]

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """An environment for child processes (``pcsc_scan``, ``opensc-tool``)."""
        env = dict(os.environ if base is None else base)
        env["PCSCLITE_CSOCK_NAME"] = str(self.socket_path)
        return env

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, port: int | None = None) -> None:
        """Launch pcscd (vpcd on ``port`` if free, else another free pair) and wait for it."""
        if self.alive():
            return
        self.port = free_port_pair(port)
        _write_config(self.config_dir, self.port)
        self.process = _launch(self.socket_path, self.config_dir, self.log_path, self.debug)
        self._wait_ready()

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM (pcscd exits cleanly), SIGKILL if it does not within ``timeout``."""
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        self.socket_path.unlink(missing_ok=True)

    def restart(self) -> None:
        """Stop and start again: same socket path, same vpcd port when it is free."""
        self.stop()
        self.start(self.port or None)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        pause = threading.Event()
        while not {self.port, self.port + 1} <= _listening_ports():
            if not self.alive():
                status = self.process.returncode if self.process else None
                self.stop()
                raise PcscdUnavailable(f"private pcscd exited with status {status}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise PcscdUnavailable(f"private pcscd not ready in {READY_TIMEOUT} s:\n{self.log_tail()}")
            pause.wait(0.01)


def client_socket_path() -> Path:
    """The per-process private socket path; exports ``PCSCLITE_CSOCK_NAME`` to it.

    Call it before the first PC/SC call of the process (a conftest does so at
    import time); calling it again returns the same path.
    """
    with _lock:
        return _client_socket_path_locked()


def _client_socket_path_locked() -> Path:
    global _socket_path
    if _socket_path is None:
        directory = Path(tempfile.mkdtemp(prefix="trustone-pcscd-"))
        _socket_path = directory / "pcscd.comm"
        os.environ["PCSCLITE_CSOCK_NAME"] = str(_socket_path)
        atexit.register(_cleanup)
    return _socket_path


def _port_pair_free(port: int) -> bool:
    for p in (port, port + 1):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("0.0.0.0", p))
            except OSError:
                return False
    return True


def free_port_pair(preferred: int | None = None) -> int:
    """A TCP port ``p`` such that ``p`` and ``p + 1`` are both free now."""
    if preferred is not None and _port_pair_free(preferred):
        return preferred
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
            if len(fields) > 3 and fields[3] == "0A":  # TCP_LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _write_config(config_dir: Path, port: int) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    for old in config_dir.iterdir():
        old.unlink()
    (config_dir / "vpcd").write_text(
        f'FRIENDLYNAME "{FRIENDLY_NAME}"\n'
        f"DEVICENAME   /dev/null:{port}\n"
        f"LIBPATH      {VPCD_DRIVER}\n"
        f"CHANNELID    {port}\n"
    )


def _command(pcscd: str, config_dir: Path, fd: int, debug: bool) -> list[str]:
    level = "--debug" if debug else "--info"
    move_fd = "" if fd == 3 else f" 3<&{fd} {fd}<&-"
    # A tmpfs on /run/pcscd inside the private mount namespace; when /run/pcscd
    # does not exist (and, as non-root, cannot be created) a tmpfs on /run instead.
    script = (
        "if [ -d /run/pcscd ]; then mount -t tmpfs -o mode=0755 tmpfs /run/pcscd; "
        "else mount -t tmpfs -o mode=0755 tmpfs /run && mkdir /run/pcscd; fi && "
        f'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" --foreground {level} -c "$1"{move_fd}'
    )
    prefix = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-r", "-m"]
    # If the test process dies without stopping it, pcscd gets SIGTERM (pdeathsig
    # survives exec). Note: it fires when the *thread* that started pcscd ends.
    if shutil.which("setpriv"):
        prefix += ["setpriv", "--pdeathsig", "TERM"]
    return [*prefix, "bash", "-c", script, pcscd, str(config_dir)]


def _launch(socket_path: Path, config_dir: Path, log_path: Path, debug: bool) -> subprocess.Popen[bytes]:
    """Bind the client socket and start pcscd on it by socket activation."""
    pcscd = shutil.which("pcscd") or ("/usr/sbin/pcscd" if os.access("/usr/sbin/pcscd", os.X_OK) else None)
    if pcscd is None:
        raise PcscdUnavailable("pcscd is not installed (sudo apt install pcscd)")
    if not VPCD_DRIVER.exists():
        raise PcscdUnavailable(f"{VPCD_DRIVER} is missing (sudo apt install vsmartcard-vpcd)")
    for tool in ("unshare", "bash"):
        if shutil.which(tool) is None:
            raise PcscdUnavailable(f"{tool} is not installed (util-linux / bash)")
    socket_path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with open(log_path, "ab") as log:
        try:
            listener.bind(str(socket_path))
            listener.listen(64)
            fd = listener.fileno()
            return subprocess.Popen(
                _command(pcscd, config_dir, fd, debug),
                pass_fds=(fd,),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            listener.close()  # pcscd holds its own copy now


def ensure_private_pcscd(*, debug: bool = False) -> PrivatePcscd:
    """The process-wide private pcscd, started on first use (or after a stop).

    Raises :class:`PcscdUnavailable` when a component is missing or it cannot start.
    """
    global _current
    with _lock:
        if _current is None:
            socket_path = _client_socket_path_locked()
            work = socket_path.parent
            _current = PrivatePcscd(socket_path, work / "reader.conf.d", work / "pcscd.log", debug)
        daemon = _current
    daemon.start(daemon.port or None)
    return daemon


def stop_private_pcscd() -> None:
    """Stop the process-wide private pcscd if it runs."""
    with _lock:
        daemon = _current
    if daemon is not None:
        daemon.stop()


def _cleanup() -> None:
    stop_private_pcscd()
    if _socket_path is not None:
        shutil.rmtree(_socket_path.parent, ignore_errors=True)
