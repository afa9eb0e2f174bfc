"""File ▸ Export and File ▸ Open trace: the work behind the menus, run on the background thread.

* JSON trace — :func:`protocol.tap.trace.to_json` (masked unless ``reveal``);
* pcapng — :func:`app.flow.pcapng.write_pcapng` of the run's APDU exchanges
  (:func:`~app.flow.pcapng.records_from_events`; masked unless ``reveal``);
* HTML report — :func:`app.flow.report.html_report` (always masked);
* opening — :func:`protocol.tap.trace.from_json`, strict: anything that is not a
  trace this program wrote (random bytes, other JSON, a newer version, a PNG
  renamed ``.json``) is a :class:`TraceOpenError` with a sentence for the user.

Files are written whole to a temporary name and renamed, so a failed export
never leaves half a file under the chosen name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from app.flow.pcapng import ClockOrigin, records_from_events, to_pcapng
from app.flow.report import html_report
from protocol.tap.trace import MAX_TRACE_CHARS, Trace, TraceFormatError, from_json, to_json

#: The formats of File ▸ Export: (key, menu label, file filter, suffix).
FORMATS = (
    ("json", "JSON trace", "TrustOne trace (*.json)", ".json"),
    ("pcapng", "pcapng capture (Wireshark)", "pcapng capture (*.pcapng)", ".pcapng"),
    ("html", "HTML report", "HTML report (*.html)", ".html"),
)


class TraceOpenError(Exception):
    """A file could not be opened as a trace; the message says why in plain words."""


@dataclass(frozen=True)
class Exported:
    """What an export wrote."""

    path: Path
    kind: str
    masked: bool
    size: int


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def with_suffix(path: str | Path, kind: str) -> Path:
    """``path`` with the format's suffix added when the user typed none."""
    target = Path(path)
    suffix = next(s for k, _, _, s in FORMATS if k == kind)
    return target if target.suffix else target.with_suffix(suffix)


def export(trace: Trace, path: str | Path, kind: str, *, reveal: bool = False) -> Exported:
    """Write ``trace`` as ``kind`` (``json``, ``pcapng`` or ``html``) to ``path``."""
    target = with_suffix(path, kind)
    if kind == "json":
        data = to_json(trace, reveal=reveal).encode("utf-8")
    elif kind == "pcapng":
        records = records_from_events(trace.events)
        origin = ClockOrigin(int(trace.created.timestamp() * 1_000_000_000), 0)
        data = to_pcapng(records, origin=origin, interface=trace.transport, reveal=reveal and not trace.masked)
    elif kind == "html":
        data, reveal = html_report(trace).encode("utf-8"), False
    else:
        raise ValueError(f"unknown export format {kind!r}")
    _write(target, data)
    return Exported(target, kind, not reveal or trace.masked, len(data))


def open_trace(path: str | Path) -> Trace:
    """Read a JSON trace file; :class:`TraceOpenError` for anything else."""
    source = Path(path)
    try:
        size = source.stat().st_size
        if size > MAX_TRACE_CHARS:
            raise TraceOpenError(f"{source.name} is {size:,} bytes; a trace file is at most {MAX_TRACE_CHARS:,}.")
        data = source.read_bytes()
    except OSError as exc:
        raise TraceOpenError(f"{source.name} could not be read: {exc.strerror or exc}") from None
    if data.startswith(b"\x89PNG"):
        raise TraceOpenError(f"{source.name} is a PNG image, not a TrustOne trace.")
    if data[:4] in (b"\x0a\x0d\x0d\x0a", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4"):
        raise TraceOpenError(f"{source.name} is a packet capture; open it with Wireshark. The app opens JSON traces.")
    try:
        return from_json(data)
    except TraceFormatError as exc:
        raise TraceOpenError(f"{source.name} is not a trace this program can open: {exc}") from None
