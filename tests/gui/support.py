"""Real event streams for model tests: a tap made directly with the worker's engine (no Qt thread)."""

from __future__ import annotations

import threading
from pathlib import Path

from app.gui.requests import CardSource, TapRequest, TransactionInput
from app.gui.worker import RunResult, run_tap
from protocol.tap.events import Event

PROFILE = "mastercard-cvn16-cda"


def request(faults: str = "", profile: str = PROFILE, **transaction: str) -> TapRequest:
    return TapRequest(CardSource(profile=profile, faults=faults), TransactionInput(**transaction))


def tap_events(data_dir: Path, faults: str = "", profile: str = PROFILE) -> tuple[list[Event], RunResult]:
    """Every event of one emulated tap (the first tap of a data dir also enrols the card)."""
    events: list[Event] = []
    result = run_tap(
        request(faults, profile), data_dir=data_dir, emit=events.append, waiting=lambda _t: None,
        cancelled=threading.Event(),
    )  # fmt: skip
    return events, result
