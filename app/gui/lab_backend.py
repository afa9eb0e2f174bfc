"""The attack lab for the GUI: :mod:`app.flow.attack_lab` results as the page's plain values.

Each scenario runs in the engine's own isolated lab (temporary data directory,
in-memory verifier store, fixed clock), on the background thread; nothing of the
user's data directory is touched. The verdicts, failed checks and reasons shown
are the verifier's own (:class:`app.flow.attack_results.ScenarioResult`); this
module only copies them into :mod:`app.gui.page_data` values.
"""

from __future__ import annotations

from collections.abc import Callable

from app.flow import attack_lab
from app.flow.attack_results import Attempt, Reason, ScenarioResult, SideResult, Verdict
from app.gui.page_data import AttemptView, Failure, ScenarioInfo, ScenarioView, SideView

_WORDS = {Verdict.ACCEPT: "ACCEPT", Verdict.REJECT: "REJECT", Verdict.ODA_ONLY: "ODA ONLY", Verdict.FAILED: "FAILED"}


def _word(verdict: Verdict | None) -> str | None:
    return None if verdict is None else _WORDS.get(verdict, verdict.value)


def scenarios() -> tuple[ScenarioInfo, ...]:
    """Every attack of DESIGN.md §3's table, in its order, with the expected verdicts."""
    return tuple(
        ScenarioInfo(s.id, s.title, s.description, _word(s.expected_otp), _word(s.expected_tap) or "",
                     s.countermeasure)  # fmt: skip
        for s in attack_lab.SCENARIOS
    )


def _failure(reason: Reason) -> Failure:
    return Failure(reason.check, reason.status, reason.detail)


def _attempt(attempt: Attempt) -> AttemptView:
    return AttemptView(
        attempt.label, _word(attempt.verdict) or "", tuple(_failure(r) for r in attempt.reasons),
        tuple(_failure(r) for r in attempt.notes), attempt.policy, tuple(attempt.events),
    )  # fmt: skip


def _side(side: SideResult | None) -> SideView | None:
    if side is None:
        return None
    return SideView(_attempt(side.attack), _attempt(side.honest), tuple(_attempt(v) for v in side.variants), side.note)


def view(result: ScenarioResult, info: ScenarioInfo) -> ScenarioView:
    """The page's value for one scenario result."""
    tap = _side(result.tap)
    assert tap is not None
    return ScenarioView(info, _side(result.otp), tap, result.why, bool(result.as_expected),
                        tuple(getattr(result, "mismatches", ())))  # fmt: skip


def run(ids: tuple[str, ...], *, cancelled: Callable[[], bool] = lambda: False,
        progress: Callable[[object], None] | None = None) -> tuple[ScenarioView, ...]:  # fmt: skip
    """Run the scenarios ``ids`` (all when empty) one after another; ``progress`` gets each view as it is ready.

    Stops between scenarios when ``cancelled()`` turns true.
    """
    infos = {info.id: info for info in scenarios()}
    chosen = ids or tuple(infos)
    views = []
    for scenario_id in chosen:
        if cancelled():
            break
        result = attack_lab.scenario(scenario_id).run()
        item = view(result, infos[scenario_id])
        views.append(item)
        if progress is not None:
            progress(item)
    return tuple(views)
