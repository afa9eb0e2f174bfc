"""The panel's card choice, mapped onto the shared engine's :class:`app.flow.sources.CardSource`.

Opening cards and readers, waiting for a card and cancelling are the engine's
(:mod:`app.flow.sources`, driven by :class:`app.flow.service.TapService`); the
GUI keeps no copy of them. Widgets cannot import ``app.flow`` (it pulls in the
emulated card and crypto: ``tests/gui/test_architecture.py``), so the panel edits
the crypto-free :class:`app.gui.requests.CardSource` and this module is the one
place that turns it into the engine's value. Used on the worker threads only.
"""

from __future__ import annotations

from app.flow import sources
from app.gui import requests


class TapProblem(Exception):
    """The tap could not start (input, reader, driver); the message is for people."""


def flow_source(source: requests.CardSource, *, timing: bool | None = None) -> sources.CardSource:
    """The engine's description of ``source`` (``timing`` overrides the panel's choice when given)."""
    return sources.CardSource(
        kind=sources.SourceKind(source.kind.value),
        profile=source.profile,
        faults=source.faults,
        timing=source.timing if timing is None else timing,
        reader=source.reader,
        device=source.device,
    )


def emulated(profile: str, *, timing: bool = False) -> sources.CardSource:
    """An honest emulated card of ``profile`` (no faults)."""
    return sources.CardSource(profile=profile, timing=timing)
