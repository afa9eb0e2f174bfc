"""Card helpers of the worker threads.

Opening cards and readers, waiting for a card and cancelling are the engine's
(:mod:`app.flow.sources`, driven by :class:`app.flow.service.TapService`); the
GUI keeps no copy of them. The panel edits the engine's own light value type,
:class:`app.card_source.CardSource`.
"""

from __future__ import annotations

from app.flow import sources


class TapProblem(Exception):
    """The tap could not start (input, reader, driver); the message is for people."""


def emulated(profile: str, *, timing: bool = False) -> sources.CardSource:
    """An honest emulated card of ``profile`` (no faults)."""
    return sources.CardSource(profile=profile, timing=timing)
