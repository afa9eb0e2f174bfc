"""The emulated card as a contactless ISO 14443-4 Type A card, over nfcpy's udp driver.

nfcpy has no ISO-DEP card emulation, so the bridge uses nfcpy for what it has —
its ``udp`` contactless frontend listening as a Type A target (anticollision,
SENS_RES/SDD_RES/SEL_RES with SEL_RES bit 6 set: "ISO/IEC 14443-4 compliant") —
and runs :mod:`card_emulation.isodep` on the frames that follow: RATS/ATS, I-, R-
and S-blocks. Any reader using nfcpy's ``udp:HOST:PORT`` device (our
:mod:`app.transports.nfc`, or nfcpy's own tools) sees a Type 4A tag.

Deliberate departures from the stock ``udp`` driver, each for a measured reason:

* The socket is bound once, at :meth:`NfcBridge.start`, to the given host
  (loopback by default; DESIGN §7: bridges listen on loopback only). The stock
  driver binds ``0.0.0.0`` lazily inside every ``listen()`` and closes it again in
  ``mute()``: a reader that polls in between is not heard and stalls for its full
  1 s SENS_REQ timeout.
* Card removal can be announced to the reader with the driver's own ``RFOFF``
  datagram, which nfcpy's reader raises as ``BrokenLinkError`` ("no longer within
  communication distance"); :meth:`NfcBridge.remove` with ``notify_reader=False``
  instead falls silent, as a real card does.

The card's ``process`` runs in a worker thread so that, when it is slow, the
bridge thread can send S(WTX) requests (ISO/IEC 14443-4 §7.3) before the reader's
FWT expires. Nothing the reader sends can crash the bridge thread.
"""

from __future__ import annotations

import ipaddress
import logging
import queue
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any

import nfc
import nfc.clf
import nfc.clf.udp

from card_emulation.errors import CardEmulationError
from card_emulation.interface import ApduCard
from card_emulation.isodep import (
    Activated,
    ApduReceived,
    Deselected,
    IsoDepConfig,
    IsoDepTarget,
    Send,
    WtxAcknowledged,
)
from protocol.errors import UsageError

log = logging.getLogger(__name__)

DEFAULT_UID = bytes.fromhex("08A1B2C3")  # 08: a random (not unique) NFCID1
UDP_MAX_FRAME = 290  # nfcpy udp driver: get_max_send/recv_data_size
_SW_EXECUTION_ERROR = b"\x6f\x00"  # answer when the card's process() raised
_IDLE_WAIT_S = 1.0  # upper bound of one blocking wait; stop/remove wake it at once


class NfcBridgeError(CardEmulationError):
    """The bridge could not start (address unusable, port in use) or is not started."""


@dataclass(frozen=True)
class BridgeStats:
    """Counters since :meth:`NfcBridge.start`, for tests and the GUI."""

    activations: int = 0
    apdus: int = 0
    wtx_requests: int = 0
    ignored_frames: int = 0
    deselects: int = 0


class _SessionEnded(Exception):
    """Field off, reader gone, card removed or bridge stopping."""


class _Job:
    """One ``process`` call handed to the worker thread; ``done`` is notified when finished."""

    def __init__(self, apdu: bytes, done: threading.Condition) -> None:
        self.apdu, self.response, self.finished, self._done = apdu, b"", False, done

    def finish(self, response: bytes) -> None:
        with self._done:
            self.response, self.finished = response, True
            self._done.notify_all()


class _UdpListener(nfc.clf.udp.Device):  # type: ignore[misc]  # nfcpy is untyped
    """nfcpy's udp driver, bound once to ``host:port`` for the bridge's lifetime."""

    socket: Any  # set by nfcpy's Device (a socket.socket, None once closed)
    addr: Any  # (host, port)

    def __init__(self, host: str, port: int, should_abort: Callable[[], bool]) -> None:
        super().__init__(host, port)
        self._should_abort = should_abort
        try:
            self.socket.bind(self.addr)
        except OSError:
            self.socket.close()
            raise
        self.addr = self.socket.getsockname()[:2]
        self._path = "%s:%d" % self.addr
        self._vendor_name, self._device_name, self._chipset_name = "TrustOne", "card bridge", "UDP"

    def mute(self) -> None:
        """Keep the bound socket between ``listen()`` calls (stock: close it)."""

    def close(self) -> None:
        if self.socket is not None:
            self.socket.close()
            self.socket = None

    def _bind_socket(self, time_to_return: float) -> bool:
        return self.socket is not None

    def _recv_data(self, timeout: float | None, *brty_list: str) -> Any:
        if self._should_abort():
            raise nfc.clf.TimeoutError("bridge interrupted")
        return super()._recv_data(timeout, *brty_list)

    def send_rfoff(self, addr: tuple[str, int]) -> None:
        """Tell a reader the card has left its field (nfcpy udp ``RFOFF``)."""
        self._send_data("RFOFF", b"", addr)

    def drain(self) -> None:
        """Drop datagrams queued while the card was away."""
        if self.socket is None:
            return
        self.socket.setblocking(False)
        try:
            while True:
                self.socket.recv(2048)
        except OSError:
            pass
        finally:
            self.socket.setblocking(True)


def _check_loopback(host: str) -> None:
    """DESIGN §7: bridges listen on loopback only."""
    try:
        loopback = ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except (OSError, ValueError):
        loopback = False
    if not loopback:
        raise UsageError(f"the NFC bridge listens on loopback only (e.g. 127.0.0.1), not {host!r}")


class NfcBridge:
    """Serve ``card`` as an ISO 14443-4 Type A card on nfcpy ``udp:host:port``.

    ``port=0`` lets the system choose a free port; read :attr:`port` (or
    :attr:`device_path`) after :meth:`start`. The card starts out present.
    """

    def __init__(
        self,
        card: ApduCard,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        uid: bytes = DEFAULT_UID,
        config: IsoDepConfig | None = None,
        wtx: bool = True,
        wtx_multiplier: int = 4,
    ) -> None:
        if len(uid) not in (4, 7):
            raise UsageError("uid must be 4 or 7 bytes (nfcpy's udp driver handles no triple-size UID)")
        _check_loopback(host)
        self.card = card
        self.host, self._requested_port = host, port
        self.uid = bytes(uid)
        cfg = config or IsoDepConfig()
        if not cfg.historical_bytes:
            cfg = replace(cfg, historical_bytes=bytes(card.historical_bytes))
        if cfg.max_frame_size is None or cfg.max_frame_size > UDP_MAX_FRAME:
            cfg = replace(cfg, max_frame_size=UDP_MAX_FRAME)
        self._isodep = IsoDepTarget(cfg)
        self._wtx = wtx
        self._wtxm = wtx_multiplier
        self._cv = threading.Condition()
        self._present = True
        self._notify_reader = True
        self._stopping = False
        self._absent_ack = False
        self._stats = BridgeStats()
        self._device: _UdpListener | None = None
        self._clf: nfc.ContactlessFrontend | None = None
        self._thread: threading.Thread | None = None
        self._worker: threading.Thread | None = None
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._ready = threading.Event()
        self._reader_addr: tuple[str, int] | None = None

    # --- lifecycle --------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._device is None:
            raise NfcBridgeError("the bridge is not started")
        return int(self._device.addr[1])

    @property
    def device_path(self) -> str:
        """What a reader opens: ``udp:HOST:PORT``."""
        return f"udp:{self.host}:{self.port}"

    @property
    def stats(self) -> BridgeStats:
        with self._cv:
            return self._stats

    @property
    def is_present(self) -> bool:
        with self._cv:
            return self._present

    def start(self) -> None:
        """Bind the UDP port and start serving in a background thread."""
        if self._thread is not None:
            raise NfcBridgeError("the bridge is already started")
        try:
            self._device = _UdpListener(self.host, self._requested_port, self._should_abort)
        except OSError as error:
            raise NfcBridgeError(f"cannot listen on udp:{self.host}:{self._requested_port}: {error}") from error
        self._clf = nfc.ContactlessFrontend()
        self._clf.device = self._device
        self._worker = threading.Thread(target=self._work, name="nfc-bridge-card", daemon=True)
        self._worker.start()
        self._thread = threading.Thread(target=self._run, name=f"nfc-bridge-{self.port}", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float) -> bool:
        """True once the port is bound and the bridge thread is serving."""
        return self._ready.wait(timeout)

    def stop(self, timeout: float = 3.0) -> None:
        """Stop serving and release the port. Safe to call more than once."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)
        self._jobs.put(None)
        if self._clf is not None:
            self._clf.close()

    def __enter__(self) -> "NfcBridge":
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- presence ---------------------------------------------------------------

    def remove(self, *, notify_reader: bool = True, timeout: float = 3.0) -> None:
        """Take the card out of the field; returns once the bridge has let go of it.

        With ``notify_reader`` an active reader is sent nfcpy's ``RFOFF`` (its
        exchange fails with ``BrokenLinkError``); without, the card just falls
        silent and the reader finds out by timing out.
        """
        with self._cv:
            if not self._present:
                return
            self._present = False
            self._notify_reader = notify_reader
            self._absent_ack = False
            self._cv.notify_all()
        if self._thread is None:
            return
        self._wake()
        with self._cv:
            self._cv.wait_for(lambda: self._absent_ack or self._stopping, timeout)

    def present(self) -> None:
        """Put the card (back) into the field: the next poll activates it."""
        with self._cv:
            self._present = True
            self._cv.notify_all()

    # --- bridge thread ----------------------------------------------------------

    def _should_abort(self) -> bool:
        return self._stopping or not self._present

    def _wake(self) -> None:
        """Interrupt a blocking receive of the bridge thread (any datagram does)."""
        if self._device is None:
            return
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.sendto(b"RFOFF", tuple(self._device.addr))
            except OSError:
                pass

    def _run(self) -> None:
        assert self._clf is not None and self._device is not None
        self._ready.set()
        target = nfc.clf.LocalTarget("106A")
        target.sens_res = bytes.fromhex("0400" if len(self.uid) == 4 else "4400")
        target.sdd_res = self.uid
        target.sel_res = b"\x20"  # ISO/IEC 14443-4 compliant (ISO/IEC 14443-3 §6.5.3.4)
        while True:
            with self._cv:
                if not self._present and not self._stopping:
                    self._absent_ack = True
                    self._cv.notify_all()
                    self._cv.wait_for(lambda: self._present or self._stopping)
                    if not self._stopping:
                        self._device.drain()
                if self._stopping:
                    return
            try:
                activated = self._clf.listen(target, _IDLE_WAIT_S)
            except Exception:  # noqa: BLE001 - nfcpy must not kill the bridge
                log.exception("nfcpy listen failed; listening again")
                with self._cv:  # no tight loop on a persistent error
                    self._cv.wait_for(lambda: self._stopping, _IDLE_WAIT_S / 10)
                continue
            first = getattr(activated, "tt4_cmd", None) if activated is not None else None
            if not first:
                continue  # nothing, or a reader that is not ISO-DEP (e.g. Type 2 read)
            self._reader_addr = getattr(activated, "_addr", None)
            self._session(bytes(first))

    def _session(self, first: bytes) -> None:
        """One activation: RATS … S(DESELECT), field off, removal or stop."""
        assert self._clf is not None
        isodep = self._isodep
        isodep.reset()
        powered = False
        job: _Job | None = None
        try:
            action = isodep.receive(first)
            if not isinstance(action, Activated):
                self._count(ignored_frames=1)
                return
            self._clf.exchange(action.frame, 0)  # ATS first: the reader waits 30 ms
            self.card.power_on()
            powered = True
            self._count(activations=1)
            reply: bytes | None = None
            while True:
                frame = self._exchange(reply)
                action = isodep.receive(frame)
                reply = None
                if isinstance(action, ApduReceived):
                    job = self._submit(action.apdu)
                    reply = self._serve(job)
                    job = None
                elif isinstance(action, Deselected):
                    self._clf.exchange(action.frame, 0)
                    self._count(deselects=1)
                    return
                elif isinstance(action, Send):
                    reply = action.frame
                else:
                    self._count(ignored_frames=1)
        except _SessionEnded as ended:
            log.debug("session ended: %s", ended)
        except Exception:  # noqa: BLE001 - never let the reader's behaviour kill us
            log.exception("NFC bridge session failed")
        finally:
            self._end_session(job, powered)

    def _end_session(self, job: _Job | None, powered: bool) -> None:
        with self._cv:
            removed = not self._present and not self._stopping
            notify = self._notify_reader
        if removed and notify and self._reader_addr is not None and self._device is not None:
            try:
                self._device.send_rfoff(self._reader_addr)
            except OSError:
                pass
        self._isodep.reset()
        with self._cv:
            if removed:  # out of the reader's reach from here on
                self._absent_ack = True
                self._cv.notify_all()
            # The card object is not re-entrant: let a running process() finish first.
            self._cv.wait_for(lambda: job is None or job.finished or self._stopping)
        if powered and (job is None or job.finished):
            self.card.power_off()

    def _exchange(self, reply: bytes | None) -> bytes:
        """Send ``reply`` (if any) and return the reader's next frame."""
        assert self._clf is not None
        while True:
            if self._should_abort():
                raise _SessionEnded("card removed or bridge stopping")
            try:
                data = self._clf.exchange(reply, _IDLE_WAIT_S)
            except nfc.clf.BrokenLinkError as error:
                raise _SessionEnded(f"field off ({error})") from error
            except nfc.clf.TimeoutError:
                reply = None
                continue
            except nfc.clf.CommunicationError:
                reply = None
                continue
            reply = None
            if data is None:
                raise _SessionEnded("no target")
            if bytes(data) in (b"\x26", b"\x52"):
                raise _SessionEnded("REQA/WUPA: a new reader polls")
            return bytes(data)

    def _serve(self, job: _Job) -> bytes:
        """Wait for the card's answer, asking the reader for time meanwhile (§7.3)."""
        isodep = self._isodep
        grace = isodep.fwt_s / 2
        while True:
            with self._cv:
                self._cv.wait_for(lambda: job.finished or self._should_abort(), grace if self._wtx else None)
                if job.finished:
                    self._count(apdus=1)
                    return isodep.complete(job.response)
                if self._should_abort():
                    raise _SessionEnded("card removed or bridge stopping while busy")
            grace = isodep.fwt_s * self._ask_for_time() / 2

    def _ask_for_time(self) -> int:
        """Send S(WTX) and wait for the reader's S(WTX) response; the granted WTXM."""
        assert self._clf is not None
        isodep = self._isodep
        reply: bytes | None = isodep.request_wtx(self._wtxm)
        self._count(wtx_requests=1)
        while True:
            action = isodep.receive(self._exchange(reply))
            reply = None
            if isinstance(action, WtxAcknowledged):
                return action.multiplier
            if isinstance(action, Deselected):
                self._clf.exchange(action.frame, 0)
                self._count(deselects=1)
                raise _SessionEnded("deselected while the card was busy")
            if isinstance(action, Send):
                reply = action.frame  # S(WTX) repeated after R(NAK)

    # --- card worker ------------------------------------------------------------

    def _submit(self, apdu: bytes) -> _Job:
        job = _Job(apdu, self._cv)
        self._jobs.put(job)
        return job

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                response = bytes(self.card.process(job.apdu))
            except Exception:  # noqa: BLE001 - the card contract says never raise
                log.exception("card.process raised; answering 6F00")
                response = _SW_EXECUTION_ERROR
            job.finish(response)

    def _count(self, **deltas: int) -> None:
        with self._cv:  # re-entrant: also called with the lock held
            self._stats = replace(self._stats, **{k: getattr(self._stats, k) + v for k, v in deltas.items()})
