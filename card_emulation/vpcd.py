"""Bridge an emulated :class:`~card_emulation.interface.ApduCard` to ``pcscd`` via vpcd.

The vsmartcard project's ``vpcd`` is a pcsc-lite reader driver that *listens* on a
TCP port per virtual slot (35963 and 35964 in Debian's default
``/etc/reader.conf.d/vpcd``); a virtual card *connects* to it. A connected card is
a card in the reader, a closed connection is a removed card. Every message, in
both directions, is a 2-byte big-endian length followed by the payload; vpcd always
speaks first. A 1-byte payload is a control code (:class:`VpcdControl`): power off,
power on, reset, or "get ATR", of which only the last is answered (with the ATR).
Any longer payload is a command APDU, answered with the response APDU (data + SW).

Latency: Debian 12's vpcd writes length and payload in two ``send()`` calls. With
Nagle's algorithm and delayed ACKs every APDU would stall ~40 ms, so the card side
sets ``TCP_NODELAY``, re-arms ``TCP_QUICKACK`` before every ``recv()`` (Linux
clears it again after a while) and writes length + payload in one ``send()``.

:class:`VpcdSession` serves one connection (no threads, testable over a
``socketpair``); :class:`VpcdBridge` runs sessions in a background thread and
reconnects with a bounded backoff. Hostile input never crashes it: a malformed
frame is logged and the connection is dropped and re-established; an exception
from ``card.process`` is answered with ``6F00`` (no precise diagnosis).
"""

from __future__ import annotations

import contextlib
import enum
import ipaddress
import logging
import socket
import threading
from types import TracebackType

from card_emulation.errors import CardEmulationError
from card_emulation.interface import ApduCard
from protocol.errors import MalformedDataError, UsageError

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 35963
MAX_PAYLOAD = 0xFFFF
SW_NO_PRECISE_DIAGNOSIS = b"\x6f\x00"
_RECV_SIZE = 65536 + 2


class VpcdControl(enum.IntEnum):
    """Control codes of the vpcd protocol (1-byte payloads sent by vpcd)."""

    POWER_OFF = 0x00
    POWER_ON = 0x01
    RESET = 0x02
    GET_ATR = 0x04


class VpcdFrameError(CardEmulationError, MalformedDataError):
    """vpcd (or whoever is on the other end) sent a frame that is not valid."""

    def __init__(self, reason: str, offset: int | None = None) -> None:
        super().__init__(reason, offset, what="vpcd frame")


class VpcdCardFault(CardEmulationError):
    """The emulated card failed in a way that cannot be answered (e.g. no ATR)."""


def encode_frame(payload: bytes) -> bytes:
    """Length-prefix ``payload`` (2 bytes, big-endian) into one vpcd frame."""
    if len(payload) > MAX_PAYLOAD:
        raise UsageError(f"a vpcd frame holds at most {MAX_PAYLOAD} bytes, got {len(payload)}")
    return len(payload).to_bytes(2, "big") + payload


def _is_tcp(sock: socket.socket) -> bool:
    return sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM


def tune_socket(sock: socket.socket) -> None:
    """Set ``TCP_NODELAY`` and arm ``TCP_QUICKACK`` (no-op for non-TCP sockets)."""
    if not _is_tcp(sock):
        return
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    _rearm_quickack(sock)


def _rearm_quickack(sock: socket.socket) -> None:
    quickack = getattr(socket, "TCP_QUICKACK", None)  # Linux only
    if quickack is not None:
        sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)


class VpcdSession:
    """Serve one vpcd connection for ``card`` until the peer closes it.

    :meth:`serve` returns on a clean end of stream, raises :class:`VpcdFrameError`
    for a malformed frame, :class:`VpcdCardFault` when the card cannot produce an
    ATR, and :class:`OSError` when the socket fails (including a ``shutdown()``
    from another thread, which is how the bridge interrupts it).
    """

    def __init__(self, sock: socket.socket, card: ApduCard) -> None:
        self._sock = sock
        self._card = card
        self._tcp = _is_tcp(sock)
        self._buffer = bytearray()
        self.frames = 0
        """Number of well-formed frames handled so far."""

    def serve(self) -> None:
        tune_socket(self._sock)
        while True:
            payload = self._read_frame()
            if payload is None:
                return
            answer = self.handle(payload)
            self.frames += 1
            if answer is not None:
                self._sock.sendall(encode_frame(answer))  # length + payload in one send

    def handle(self, payload: bytes) -> bytes | None:
        """Answer one frame payload: the response to send, or ``None`` for no answer."""
        if not payload:
            raise VpcdFrameError("empty payload (length 0)", 0)
        if len(payload) == 1:
            return self._control(payload[0])
        return self._apdu(payload)

    def _control(self, code: int) -> bytes | None:
        if code == VpcdControl.GET_ATR:
            try:
                atr = bytes(self._card.atr)
            except Exception as exc:
                log.exception("emulated card failed to give its ATR")
                raise VpcdCardFault("the card has no ATR") from exc
            if not 2 <= len(atr) <= 33:
                raise VpcdCardFault(f"the card's ATR has {len(atr)} bytes (ISO 7816-3: 2..33)")
            return atr
        if code == VpcdControl.POWER_OFF:
            self._call("power_off")
        elif code in (VpcdControl.POWER_ON, VpcdControl.RESET):
            if code == VpcdControl.RESET:
                self._call("power_off")
            self._call("power_on")
        else:
            raise VpcdFrameError(f"unknown control code {code:02X}", 2)
        return None

    def _call(self, method: str) -> None:
        try:
            getattr(self._card, method)()
        except Exception:  # a faulty card must not take the bridge down
            log.exception("emulated card raised in %s()", method)

    def _apdu(self, apdu: bytes) -> bytes:
        try:
            response = bytes(self._card.process(apdu))
        except Exception:
            log.exception("emulated card raised while processing %s", apdu[:4].hex().upper())
            return SW_NO_PRECISE_DIAGNOSIS
        if not 2 <= len(response) <= MAX_PAYLOAD:
            log.error("emulated card answered %d bytes; sending 6F00 instead", len(response))
            return SW_NO_PRECISE_DIAGNOSIS
        return response

    def _read_frame(self) -> bytes | None:
        """Next payload, or ``None`` on end of stream between frames."""
        buf = self._buffer
        while True:
            if len(buf) >= 2:
                size = int.from_bytes(buf[:2], "big")
                if len(buf) >= 2 + size:
                    payload = bytes(buf[2 : 2 + size])
                    del buf[: 2 + size]
                    return payload
            if self._tcp:
                _rearm_quickack(self._sock)
            chunk = self._sock.recv(_RECV_SIZE)
            if not chunk:
                if buf:
                    raise VpcdFrameError(f"connection closed inside a frame ({len(buf)} bytes pending)")
                return None
            buf += chunk


def _check_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UsageError(f"the vpcd bridge connects to loopback only (127.0.0.1, ::1), not {host!r}")


class VpcdBridge:
    """Keep ``card`` connected to a vpcd slot in a background thread.

    ``insert()`` / ``remove()`` put the card into the reader (connect) or take it
    out (close the connection). While nothing listens on ``host:port`` (pcscd not
    started yet) the bridge retries with a backoff from ``retry_initial`` up to
    ``retry_max`` seconds; the same backoff applies after a connection that ended
    with an error, so a hostile peer cannot make it spin.
    """

    def __init__(
        self,
        card: ApduCard,
        port: int = DEFAULT_PORT,
        host: str = DEFAULT_HOST,
        *,
        inserted: bool = True,
        retry_initial: float = 0.05,
        retry_max: float = 1.0,
    ) -> None:
        _check_loopback(host)
        if not 0 < port < 65536:
            raise UsageError(f"port must be 1..65535, got {port}")
        self.card = card
        self.host = host
        self.port = port
        self._retry_initial = retry_initial
        self._retry_max = max(retry_max, retry_initial)
        self._cond = threading.Condition()
        self._want_inserted = inserted
        self._stopping = False
        self._connected = False
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.connections = 0
        """How many times a connection to vpcd was established."""
        self.last_error: str | None = None
        """Why the last connection attempt or session failed (``None`` if none did)."""

    # -- control ---------------------------------------------------------------------
    def start(self) -> None:
        """Start the background thread (once)."""
        with self._cond:
            if self._thread is not None:
                raise UsageError("VpcdBridge.start() called twice")
            self._thread = threading.Thread(target=self._run, name=f"vpcd-bridge:{self.port}", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Remove the card and end the thread. Safe to call more than once."""
        with self._cond:
            self._stopping = True
            self._interrupt()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.warning("vpcd bridge thread did not end within %.1f s", timeout)

    def insert(self) -> None:
        """Put the card into the reader: connect to vpcd (again)."""
        with self._cond:
            self._want_inserted = True
            self._cond.notify_all()

    def remove(self) -> None:
        """Take the card out of the reader: close the connection to vpcd."""
        with self._cond:
            self._want_inserted = False
            self._interrupt()
            self._cond.notify_all()

    @property
    def inserted(self) -> bool:
        """Whether the card is meant to be in the reader."""
        return self._want_inserted

    @property
    def connected(self) -> bool:
        """Whether a TCP connection to vpcd is currently open."""
        return self._connected

    def wait_connected(self, timeout: float) -> bool:
        """Block until connected to vpcd; ``False`` if ``timeout`` seconds passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: self._connected, timeout)

    def wait_disconnected(self, timeout: float) -> bool:
        """Block until no connection is open; ``False`` on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._connected, timeout)

    def __enter__(self) -> VpcdBridge:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- thread ----------------------------------------------------------------------
    def _interrupt(self) -> None:
        """Unblock a session's ``recv()`` (called with the condition held)."""
        if self._sock is not None:
            with contextlib.suppress(OSError):  # already closed by the peer
                self._sock.shutdown(socket.SHUT_RDWR)

    def _run(self) -> None:
        delay = self._retry_initial
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopping or self._want_inserted)
                if self._stopping:
                    return
            ok = self._connect_and_serve()
            if ok:
                delay = self._retry_initial
                continue
            with self._cond:  # back off, but wake up at once for stop() or remove()
                self._cond.wait_for(lambda: self._stopping or not self._want_inserted, delay)
            delay = min(delay * 2, self._retry_max)

    def _connect_and_serve(self) -> bool:
        """One connection; ``True`` if it ended cleanly or at our request."""
        try:
            sock = socket.create_connection((self.host, self.port), timeout=2.0)
        except OSError as exc:
            self.last_error = f"cannot connect to vpcd at {self.host}:{self.port}: {exc}"
            log.debug("%s", self.last_error)
            return False
        sock.settimeout(None)
        with self._cond:
            if self._stopping or not self._want_inserted:
                sock.close()
                return True
            self._sock = sock
            self._connected = True
            self.connections += 1
            self._cond.notify_all()
        log.info("card connected to vpcd at %s:%d", self.host, self.port)
        session = VpcdSession(sock, self.card)
        clean = True
        try:
            session.serve()
        except (VpcdFrameError, VpcdCardFault) as exc:
            clean = False
            self.last_error = str(exc)
            log.warning("dropping the vpcd connection: %s", exc)
        except OSError as exc:
            with self._cond:
                requested = self._stopping or not self._want_inserted
            if not requested:
                clean = False
                self.last_error = f"vpcd connection failed: {exc}"
                log.warning("%s", self.last_error)
        finally:
            with self._cond:
                self._sock = None
            sock.close()
            try:
                self.card.power_off()  # the card left the reader
            except Exception:
                log.exception("emulated card raised in power_off()")
            with self._cond:
                self._connected = False
                self._cond.notify_all()
        with self._cond:
            requested = self._stopping or not self._want_inserted
        if clean and not requested:
            # vpcd closed the connection (pcscd stopped): do not hammer it.
            log.info("vpcd closed the connection")
            return session.frames > 0
        return clean
