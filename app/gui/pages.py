"""The pages beyond "Card tap": OTP vs tap, Attack lab and Crypto calculator, wired to the worker threads.

:class:`Pages` builds the three pages, adds them to the window
(:meth:`MainWindow.add_page`) and turns their requests into
:class:`~app.gui.jobs.Job` s: the comparison runs on the tap worker's thread
(it uses the verifier and the cards, so never beside a tap), the attack lab and
the calculator on the background thread. Results come back on the UI thread
and are handed to the pages to render; "show the steps" opens a run's events in
the Card tap page's step-by-step views.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.gui import calculator_backend, lab_backend, otp_compare
from app.gui.calculator_spec import FieldError
from app.gui.jobs import Job, JobContext, JobDone
from app.gui.page_data import CalcResult, Comparison, ScenarioView
from app.gui.requests import DEFAULT_PROFILE, SourceKind
from app.gui.widgets.attack_page import AttackPage
from app.gui.widgets.calculator_page import CalculatorPage
from app.gui.widgets.otp_page import OtpPage

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow


class Pages:
    """Owns the OTP vs tap, Attack lab and Crypto calculator pages of ``window``."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.controller = window.controller
        self.otp = OtpPage()
        self.attacks = AttackPage()
        self.calculator = CalculatorPage()
        window.add_page(self.otp, "OTP vs tap", "The same transaction with TOTP, EMV CAP and a card tap")
        window.add_page(self.attacks, "Attack lab", "DESIGN.md §3's attacks against the OTP and the tap")
        window.add_page(self.calculator, "Crypto calculator", "The payment crypto of 'trustone crypto', hex in and out")
        self.attacks.set_scenarios(lab_backend.scenarios())
        self.otp.compareRequested.connect(self.compare)
        self.otp.showSteps.connect(self._otp_steps)
        self.attacks.runRequested.connect(self.run_attacks)
        self.attacks.cancelRequested.connect(self.controller.cancel_background)
        self.attacks.showSteps.connect(self._attack_steps)
        self.calculator.computeRequested.connect(self.calculate)
        self.lab_running = False

    # ------------------------------------------------------------------ OTP vs tap
    def compare(self, cap_mode: str) -> bool:
        """Authenticate the page's transaction three ways (on the tap worker's thread)."""
        self.otp.set_cap_mode(cap_mode)
        entry = self.otp.transaction.transaction()
        source = self.window.page.source.source()
        profile = source.profile if source.kind is SourceKind.EMULATED and source.profile else DEFAULT_PROFILE
        data_dir = self.controller.data_dir

        def work(context: JobContext) -> Comparison:
            return otp_compare.compare(entry, data_dir=data_dir, profile=profile, cap_mode=cap_mode,
                                       progress=context.progress)  # fmt: skip

        job = Job("compare", work, self._compared, lambda text: self.otp.set_status(str(text)))
        if not self.controller.run_exclusive(job):
            self.otp.set_status("A tap is running: compare when it has finished.", error=True)
            return False
        self.otp.set_running(True, "Authenticating the transaction three ways…")
        self.window.prefs.settings.setValue("otp/cap_mode", cap_mode)
        return True

    def _compared(self, done: JobDone) -> None:
        self.otp.set_running(False)
        if not done.ok:
            self.otp.set_status(f"✗ {done.error}", error=True)
            self.window.show_message("OTP vs tap", f"The comparison could not run: {done.error}")
            return
        self.otp.show_comparison(done.result)
        self.otp.set_status(f"Done in {done.elapsed_s:.1f} s (enrolments included on the first run).")

    def _otp_steps(self, key: str) -> None:
        comparison = self.otp.comparison
        if comparison is not None:
            method = comparison.method(key)
            self.window.show_events(method.events, f"OTP vs tap — {method.method}")

    # ------------------------------------------------------------------ attack lab
    def run_attacks(self, ids: tuple[str, ...]) -> bool:
        """Run the attacks ``ids`` (all when empty) on the background thread, one result at a time."""
        if self.lab_running:
            return False
        total = len(ids) or len(self.attacks.infos)
        seen: list[ScenarioView] = []

        def work(context: JobContext) -> tuple[ScenarioView, ...]:
            return lab_backend.run(ids, cancelled=context.cancelled.is_set, progress=context.progress)

        def progressed(view: object) -> None:
            assert isinstance(view, ScenarioView)
            seen.append(view)
            self.attacks.add_result(view)
            self.attacks.progress.setText(f"Ran {len(seen)} of {total}: {view.info.title}")

        self.lab_running = True
        self.attacks.set_running(True, f"Running {total} attack{'s' if total != 1 else ''}…")
        self.controller.run_background(Job("attack-lab", work, self._attacked, progressed))
        return True

    def _attacked(self, done: JobDone) -> None:
        self.lab_running = False
        if not done.ok:
            self.attacks.set_running(False, f"✗ {done.error}")
            self.window.show_message("Attack lab", f"The attack lab stopped: {done.error}")
            return
        views: tuple[ScenarioView, ...] = done.result
        matching = sum(v.as_expected for v in views)
        self.attacks.set_running(False, f"Ran {len(views)} attack{'s' if len(views) != 1 else ''} in "
                                        f"{done.elapsed_s:.1f} s: {matching} of {len(views)} as in DESIGN.md §3. "
                                        "Double-click one to see the tap step by step.")  # fmt: skip

    def _attack_steps(self, scenario_id: str) -> None:
        view = self.attacks.results.get(scenario_id)
        if view is None:
            self.attacks.progress.setText("Run this attack first, then double-click it to see its steps.")
            return
        self.window.show_events(view.tap.attack.events, f"Attack lab — {view.info.title} (tap side)")

    # ------------------------------------------------------------------ calculator
    def calculate(self, op_id: str, values: dict[str, str]) -> None:
        """Compute on the background thread; the result or the field at fault comes back to the page."""
        self.calculator.set_running(True)

        def work(_context: JobContext) -> CalcResult | FieldError:
            try:
                return calculator_backend.compute(op_id, values)
            except FieldError as exc:  # the field at fault goes back to the form
                return exc

        def done(result: JobDone) -> None:
            self.calculator.set_running(False)
            if not result.ok:
                self.calculator.show_field_error("", result.error or "")
            elif isinstance(result.result, FieldError):
                self.calculator.show_field_error(result.result.key, result.result.message)
            else:
                self.calculator.show_result(result.result)

        self.controller.run_background(Job("calculator", work, done))

    def restore(self) -> None:
        """Remembered choices of the pages (QSettings)."""
        mode = self.window.prefs.settings.value("otp/cap_mode", "sign")
        self.otp.set_cap_mode(mode if isinstance(mode, str) else "sign")
        self.otp.transaction.set_transaction(self.window.prefs.load_transaction())
        op = self.window.prefs.settings.value("calculator/operation", "")
        if isinstance(op, str) and op:
            try:
                self.calculator.set_operation(op)
            except StopIteration:
                pass

    def save(self) -> None:
        self.window.prefs.settings.setValue("calculator/operation", self.calculator.op.id)
        self.window.prefs.settings.setValue("otp/cap_mode", self.otp.cap_mode())
