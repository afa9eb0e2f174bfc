"""PC/SC adapter (pyscard over pcsc-lite): the only module that imports ``smartcard``.

* :func:`list_readers`, :func:`wait_for_card`;
* :class:`PcscTransport` — connect to a reader (T=0 or T=1, whichever the card
  offers, or one forced), ``transmit``, ``close``;
* :class:`PcscMonitor` — reader added/removed and card inserted/removed events,
  produced by its own thread (``SCardGetStatusChange``) and delivered through a
  thread-safe queue that the consumer drains with :meth:`PcscMonitor.poll`.

Every PC/SC failure becomes a typed :class:`app.errors.TransportError` with a
message a person can act on. Importing this module never fails: without pyscard or
``libpcsclite`` the first use raises :class:`~app.errors.DriverMissingError`.

Extended length: APDUs are passed through unchanged, never split or re-encoded.
pcsc-lite carries extended APDUs (up to its 64 KiB buffer) when the reader driver
does: vpcd does (up to 65535 bytes per frame); a CCID reader with short-APDU
exchange level fails them with a :class:`~app.errors.TransportError`. Command
chaining, where needed, is the session's business.
"""

from __future__ import annotations

import enum
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

from app.errors import (
    CardRemovedError,
    DriverMissingError,
    NoCardError,
    ReaderBusyError,
    ReaderNotFoundError,
    TransportError,
    TransportTimeoutError,
)

try:
    from smartcard import scard as _scard_module

    _IMPORT_ERROR: BaseException | None = None
except Exception as exc:  # ImportError, or OSError when libpcsclite cannot be loaded
    _scard_module = None
    _IMPORT_ERROR = exc

SERVICE_HINT = "Install and start it: sudo apt install pcscd; sudo systemctl start pcscd"
PNP_READER = "\\\\?PnP?\\Notification"
_PROTOCOLS = {"T0": "SCARD_PROTOCOL_T0", "T1": "SCARD_PROTOCOL_T1"}


def _lib() -> Any:
    """The ``smartcard.scard`` module, or a :class:`DriverMissingError` saying how to get it."""
    if _scard_module is not None:
        return _scard_module
    text = str(_IMPORT_ERROR)
    if "pcsclite" in text.lower():
        raise DriverMissingError(
            f"The PC/SC client library libpcsclite could not be loaded ({text})",
            "Install it: sudo apt install libpcsclite1 pcscd",
        )
    raise DriverMissingError(
        f"pyscard, the Python PC/SC binding, is not importable ({text})",
        "Install it: pip install pyscard (building it needs: sudo apt install libpcsclite-dev)",
    )


def _u32(hresult: int) -> int:
    return hresult & 0xFFFFFFFF


def _codes(*names: str) -> set[int]:
    sc = _lib()
    return {_u32(getattr(sc, name)) for name in names}


# PC/SC return code -> (error class, what to tell the person). {doing}: what we were
# doing; {reader}: the reader name quoted; {where}: " in reader '...'" or "".
_MAPPING: dict[str, tuple[type[TransportError], str]] = {
    "SCARD_E_NO_SERVICE": (DriverMissingError, "The PC/SC service (pcscd) is not running ({doing})"),
    "SCARD_E_SERVICE_STOPPED": (DriverMissingError, "The PC/SC service (pcscd) stopped ({doing})"),
    "SCARD_E_NO_ACCESS": (
        TransportError,
        "The PC/SC service refused access ({doing}): pcscd may be shutting down, or its polkit "
        "policy does not allow this user (see docs/pcsc.md)",
    ),
    # What pcscd answers when its polkit check denies the client ("Access denied.").
    "SCARD_W_SECURITY_VIOLATION": (
        TransportError,
        "The PC/SC service refused access ({doing}): pcscd may be shutting down, or its polkit "
        "policy does not allow this user (see docs/pcsc.md)",
    ),
    "SCARD_E_UNKNOWN_READER": (ReaderNotFoundError, "Reader {reader} is not (or no longer) there ({doing})"),
    "SCARD_E_READER_UNAVAILABLE": (ReaderNotFoundError, "Reader {reader} is not available ({doing})"),
    "SCARD_E_NO_READERS_AVAILABLE": (ReaderNotFoundError, "No PC/SC reader is connected ({doing})"),
    "SCARD_E_SHARING_VIOLATION": (
        ReaderBusyError,
        "Another program holds the card{where} exclusively ({doing}); close it and try again",
    ),
    "SCARD_E_TIMEOUT": (TransportTimeoutError, "Timed out {doing}{where}"),
    "SCARD_W_RESET_CARD": (
        TransportError,
        "The card{where} was reset by another program ({doing}); its session state is lost, start again",
    ),
    "SCARD_E_PROTO_MISMATCH": (
        TransportError,
        "The card{where} does not offer the requested protocol ({doing}); try protocol 'auto'",
    ),
    "SCARD_W_UNRESPONSIVE_CARD": (
        TransportError,
        "The card{where} does not answer reset: mute card or bad contact ({doing})",
    ),
}


def _error(hresult: int, doing: str, reader: str = "") -> TransportError:
    """Map a PC/SC return code to the typed error a person can act on."""
    sc = _lib()
    where = f" in reader {reader!r}" if reader else ""
    for name, (cls, template) in _MAPPING.items():
        if _u32(hresult) == _u32(getattr(sc, name)):
            text = template.format(doing=doing, where=where, reader=repr(reader))
            return DriverMissingError(text, SERVICE_HINT) if cls is DriverMissingError else cls(text)
    message = f"{sc.SCardGetErrorMessage(hresult)} (0x{_u32(hresult):08X})"
    return TransportError(f"PC/SC error {doing}{where}: {message}")


def _service_lost_codes() -> set[int]:
    return _codes(
        "SCARD_E_NO_SERVICE", "SCARD_E_SERVICE_STOPPED", "SCARD_F_COMM_ERROR", "SCARD_E_INVALID_HANDLE"
    )


class _Context:
    """An ``SCARDCONTEXT`` owned by one object; released by :meth:`release`."""

    def __init__(self) -> None:
        sc = _lib()
        hresult, self.handle = sc.SCardEstablishContext(sc.SCARD_SCOPE_USER)
        if hresult != sc.SCARD_S_SUCCESS:
            raise _error(hresult, "connecting to the PC/SC service")

    def readers(self) -> list[str]:
        sc = _lib()
        hresult, readers = sc.SCardListReaders(self.handle, [])
        if _u32(hresult) == _u32(sc.SCARD_E_NO_READERS_AVAILABLE):
            return []
        if hresult != sc.SCARD_S_SUCCESS:
            raise _error(hresult, "listing readers")
        return list(readers)

    def resolve(self, name: str) -> str:
        """Exact reader name, or the one reader whose name contains ``name`` (any case)."""
        readers = self.readers()
        if name in readers:
            return name
        matches = [r for r in readers if name.lower() in r.lower()]
        if len(matches) == 1 and name:
            return matches[0]
        available = ", ".join(repr(r) for r in readers) or "none"
        if len(matches) > 1:
            raise ReaderNotFoundError(f"Reader name {name!r} is ambiguous: it matches {available}")
        raise ReaderNotFoundError(f"No reader named {name!r}. Readers present: {available}")

    def state(self, reader: str, current: int, timeout_ms: int) -> tuple[int, int, bytes]:
        """``SCardGetStatusChange`` on one reader: (hresult, event state, ATR)."""
        sc = _lib()
        hresult, states = sc.SCardGetStatusChange(self.handle, timeout_ms, [(reader, current)])
        if hresult != sc.SCARD_S_SUCCESS:
            return hresult, current, b""
        _, event, atr = states[0]
        return hresult, event, bytes(atr)

    def release(self) -> None:
        _lib().SCardReleaseContext(self.handle)


def list_readers() -> list[str]:
    """Names of the PC/SC readers present (empty list when none)."""
    context = _Context()
    try:
        return context.readers()
    finally:
        context.release()


def wait_for_card(reader_name: str, timeout: float) -> bytes:
    """Wait until a card is in ``reader_name``; return its ATR.

    Raises :class:`NoCardError` when none is presented within ``timeout`` seconds.
    """
    return _wait_presence(reader_name, True, timeout)


def wait_for_removal(reader_name: str, timeout: float) -> None:
    """Wait until ``reader_name`` holds no card.

    Raises :class:`TransportTimeoutError` when a card is still there after ``timeout`` s.
    """
    _wait_presence(reader_name, False, timeout)


def _wait_presence(reader_name: str, present: bool, timeout: float) -> bytes:
    sc = _lib()
    context = _Context()
    try:
        reader = context.resolve(reader_name)
        deadline = time.monotonic() + timeout
        current = sc.SCARD_STATE_UNAWARE
        while True:
            remaining = deadline - time.monotonic()
            hresult, event, atr = context.state(reader, current, max(0, int(remaining * 1000)))
            if _u32(hresult) == _u32(sc.SCARD_E_TIMEOUT):
                if present:
                    raise NoCardError(f"No card was presented to {reader!r} within {timeout:g} s")
                raise TransportTimeoutError(f"The card is still in {reader!r} after {timeout:g} s")
            if hresult != sc.SCARD_S_SUCCESS:
                raise _error(hresult, "waiting for a card", reader)
            if bool(event & sc.SCARD_STATE_PRESENT and not event & sc.SCARD_STATE_MUTE) == present:
                return atr
            current = event
    finally:
        context.release()


class PcscTransport:
    """A card in a PC/SC reader as a :class:`~app.transports.base.Transport`.

    Connects on construction. ``protocol`` is ``"auto"`` (T=0 or T=1, as the card's
    ATR offers), ``"T0"`` or ``"T1"``; ``exclusive`` asks for the card alone
    (others get :class:`ReaderBusyError`). ``reader_name`` may be a unique part of
    a reader's name. ``removal_grace`` is how long (s) a failed transmit waits for
    the reader to report a removed card, to tell "card removed" from other failures.
    """

    def __init__(
        self,
        reader_name: str,
        protocol: str = "auto",
        *,
        exclusive: bool = False,
        removal_grace: float = 1.0,
    ) -> None:
        sc = _lib()
        if protocol == "auto":
            wanted = sc.SCARD_PROTOCOL_T0 | sc.SCARD_PROTOCOL_T1
        elif protocol in _PROTOCOLS:
            wanted = getattr(sc, _PROTOCOLS[protocol])
        else:
            raise ValueError(f"protocol must be 'auto', 'T0' or 'T1', not {protocol!r}")
        self._lock = threading.Lock()
        self._removal_grace = removal_grace
        self._context = _Context()
        self._card: int | None = None
        try:
            self.reader = self._context.resolve(reader_name)
            share = sc.SCARD_SHARE_EXCLUSIVE if exclusive else sc.SCARD_SHARE_SHARED
            hresult, card, active = sc.SCardConnect(self._context.handle, self.reader, share, wanted)
            if _u32(hresult) in _codes("SCARD_E_NO_SMARTCARD", "SCARD_W_REMOVED_CARD"):
                raise NoCardError(f"No card in reader {self.reader!r}: insert or tap a card")
            if hresult != sc.SCARD_S_SUCCESS:
                raise _error(hresult, "connecting to the card", self.reader)
            self._card, self._active = card, active
            self.protocol = "T1" if active == sc.SCARD_PROTOCOL_T1 else "T0"
            hresult, _, _, _, atr = sc.SCardStatus(card)
            self.atr = bytes(atr) if hresult == sc.SCARD_S_SUCCESS else b""
            _, state, _ = self._context.state(self.reader, sc.SCARD_STATE_UNAWARE, 0)
            self._event_counter = state >> 16
        except BaseException:
            self.close()
            raise

    @property
    def description(self) -> str:
        return f"PC/SC reader {self.reader} (T={self.protocol[1]})"

    def transmit(self, apdu: bytes) -> bytes:
        sc = _lib()
        with self._lock:
            if self._card is None:
                raise TransportError(f"{self.description}: the connection is closed")
            hresult, response = sc.SCardTransmit(self._card, self._active, list(apdu))
            if hresult != sc.SCARD_S_SUCCESS:
                raise self._transmit_error(hresult)
            if len(response) < 2:  # vpcd, for one, answers nothing when the card just left
                raise self._diagnose(
                    TransportError(f"Reader {self.reader!r} returned {len(response)} bytes: no status word")
                )
        return bytes(response)

    def _transmit_error(self, hresult: int) -> TransportError:
        code = _u32(hresult)
        if code in _codes("SCARD_W_REMOVED_CARD", "SCARD_E_NO_SMARTCARD"):
            return CardRemovedError(f"The card was removed from {self.reader!r} during the session")
        error = _error(hresult, "sending an APDU", self.reader)
        if code in _codes("SCARD_E_NOT_TRANSACTED", "SCARD_F_COMM_ERROR", "SCARD_E_UNEXPECTED"):
            return self._diagnose(error)
        return error

    def _diagnose(self, error: TransportError) -> TransportError:
        """After a failed exchange: did the card leave (or get swapped), or pcscd stop?

        Waits up to ``removal_grace`` s for the reader to report a change (pcscd
        notices a removed card only at its next poll); else returns ``error``.
        """
        sc = _lib()
        deadline = time.monotonic() + self._removal_grace
        hresult, state, _ = self._context.state(self.reader, sc.SCARD_STATE_UNAWARE, 0)
        while hresult == sc.SCARD_S_SUCCESS:
            gone = state & (sc.SCARD_STATE_EMPTY | sc.SCARD_STATE_UNKNOWN | sc.SCARD_STATE_UNAVAILABLE)
            if gone or not state & sc.SCARD_STATE_PRESENT or (state >> 16) != self._event_counter:
                return CardRemovedError(f"The card was removed from {self.reader!r} during the session")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return error
            hresult, state, _ = self._context.state(self.reader, state, int(remaining * 1000) + 1)
        code = _u32(hresult)
        if code in _codes("SCARD_E_UNKNOWN_READER", "SCARD_E_READER_UNAVAILABLE"):
            return CardRemovedError(f"The reader {self.reader!r} was unplugged during the session")
        if code in _service_lost_codes():
            return DriverMissingError("Lost the connection to the PC/SC service (pcscd)", SERVICE_HINT)
        return (
            error if code == _u32(sc.SCARD_E_TIMEOUT) else _error(hresult, "checking the reader", self.reader)
        )

    def close(self) -> None:
        """Disconnect (leaving the card powered) and release the context; idempotent."""
        with self._lock:
            card, self._card = self._card, None
            context, self._context = self._context, None  # type: ignore[assignment]
        if card is not None:
            sc = _lib()
            sc.SCardDisconnect(card, sc.SCARD_LEAVE_CARD)  # fails harmlessly if the card left
        if context is not None:
            context.release()

    def __enter__(self) -> PcscTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class PcscEventKind(enum.Enum):
    READER_ADDED = "reader added"
    READER_REMOVED = "reader removed"
    CARD_INSERTED = "card inserted"
    CARD_REMOVED = "card removed"


@dataclass(frozen=True)
class PcscEvent:
    """Something happened at a reader; ``atr`` is set for :attr:`PcscEventKind.CARD_INSERTED`."""

    kind: PcscEventKind
    reader: str
    atr: bytes = b""


class PcscMonitor:
    """Reader and card events from a background thread, delivered through a queue.

    After :meth:`start`, the current state is reported first (a ``READER_ADDED`` for
    each reader, a ``CARD_INSERTED`` for each card present), then every change.
    Consumers call :meth:`poll` from their own thread; nothing is ever called back
    on the monitor's thread. If pcscd goes away, its readers are reported removed,
    :attr:`error` says why, and the monitor reconnects every ``retry`` seconds.
    """

    def __init__(self, *, retry: float = 0.5) -> None:
        _lib()
        self._retry = retry
        self._events: queue.Queue[PcscEvent] = queue.Queue()
        self._stopping = threading.Event()
        self._context_lock = threading.Lock()
        self._context: _Context | None = None
        self._thread: threading.Thread | None = None
        self.error: TransportError | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="pcsc-monitor", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End the thread (cancels a pending ``SCardGetStatusChange``); idempotent."""
        self._stopping.set()
        with self._context_lock:
            if self._context is not None:
                _lib().SCardCancel(self._context.handle)
        if self._thread is not None:
            self._thread.join(timeout)

    def poll(self, timeout: float | None = 0.0) -> list[PcscEvent]:
        """Events so far; waits up to ``timeout`` s (``None``: forever) for the first one."""
        events: list[PcscEvent] = []
        try:
            events.append(self._events.get(timeout=timeout) if timeout != 0 else self._events.get_nowait())
        except queue.Empty:
            return events
        while True:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                return events

    def __enter__(self) -> PcscMonitor:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- thread ----------------------------------------------------------------------
    def _run(self) -> None:
        known: dict[str, int] = {}  # reader -> last event state
        while not self._stopping.is_set():
            try:
                context = _Context()
            except TransportError as exc:
                self.error = exc
            else:
                with self._context_lock:
                    self._context = context
                try:
                    self._watch(context, known)
                except TransportError as exc:
                    self.error = exc
                finally:
                    with self._context_lock:
                        self._context = None
                    context.release()
            for reader in list(known):
                self._forget(reader, known)
            self._stopping.wait(self._retry)

    def _watch(self, context: _Context, known: dict[str, int]) -> None:
        sc = _lib()
        pnp_state = sc.SCARD_STATE_UNAWARE
        self._sync(context, known)
        self.error = None
        while not self._stopping.is_set():
            states = [(r, s) for r, s in known.items()] + [(PNP_READER, pnp_state)]
            hresult, new_states = sc.SCardGetStatusChange(context.handle, 1000, states)
            code = _u32(hresult)
            if code in _codes("SCARD_E_TIMEOUT", "SCARD_E_CANCELLED"):
                continue
            if code == _u32(sc.SCARD_E_UNKNOWN_READER):
                self._sync(context, known)
                continue
            if code in _service_lost_codes():
                raise DriverMissingError("Lost the connection to the PC/SC service (pcscd)", SERVICE_HINT)
            if hresult != sc.SCARD_S_SUCCESS:
                raise _error(hresult, "watching readers")
            pnp_changed = any_change = False
            for reader, event, atr in new_states:
                if reader == PNP_READER:
                    pnp_changed = (event & ~sc.SCARD_STATE_CHANGED) != (pnp_state & ~sc.SCARD_STATE_CHANGED)
                    pnp_state = event & ~sc.SCARD_STATE_CHANGED
                elif reader in known:
                    any_change |= self._update(reader, event, bytes(atr), known)
            if pnp_changed:
                self._sync(context, known)
            elif not any_change:
                self._stopping.wait(0.05)  # nothing we track changed: never spin

    def _sync(self, context: _Context, known: dict[str, int]) -> None:
        """Diff the reader list against ``known``; report additions and removals."""
        sc = _lib()
        readers = context.readers()
        for reader in [r for r in known if r not in readers]:
            self._forget(reader, known)
        for reader in readers:
            if reader not in known:
                self._events.put(PcscEvent(PcscEventKind.READER_ADDED, reader))
                known[reader] = sc.SCARD_STATE_EMPTY
                hresult, event, atr = context.state(reader, sc.SCARD_STATE_UNAWARE, 0)
                if hresult == sc.SCARD_S_SUCCESS:
                    self._update(reader, event, atr, known)

    def _update(self, reader: str, event: int, atr: bytes, known: dict[str, int]) -> bool:
        """Record a reader's new state; report card changes. ``True`` if it changed."""
        sc = _lib()
        before = known[reader]
        if event & (sc.SCARD_STATE_UNKNOWN | sc.SCARD_STATE_IGNORE):
            self._forget(reader, known)
            return True
        was = bool(before & sc.SCARD_STATE_PRESENT)
        now = bool(event & sc.SCARD_STATE_PRESENT)
        swapped = was and now and (event >> 16) != (before >> 16)  # pcsc-lite's event counter
        if was and (not now or swapped):
            self._events.put(PcscEvent(PcscEventKind.CARD_REMOVED, reader))
        if now and (not was or swapped):
            self._events.put(PcscEvent(PcscEventKind.CARD_INSERTED, reader, atr))
        known[reader] = event & ~sc.SCARD_STATE_CHANGED
        return bool((event & ~sc.SCARD_STATE_CHANGED) != before)

    def _forget(self, reader: str, known: dict[str, int]) -> None:
        sc = _lib()
        if known.pop(reader) & sc.SCARD_STATE_PRESENT:
            self._events.put(PcscEvent(PcscEventKind.CARD_REMOVED, reader))
        self._events.put(PcscEvent(PcscEventKind.READER_REMOVED, reader))
