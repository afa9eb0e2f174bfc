"""The "Attack lab" page: DESIGN.md §3's attack table, run for real against the OTP and the tap.

Left: the attacks (title, the OTP verdict, the tap verdict, whether it matches
the table) with Run selected / Run all. Right: the selected attack in plain
words for the audience, then each side's verdict and the verifier's reasons
(the checks that failed, by name), variants (another OTP, a stricter verifier
policy) and the honest run. Double-click an attack (or "Show the tap's steps")
to open the tap side in the step-by-step views.

The NFC relay row says it plainly: the tap is ACCEPTED by default — a relay of the
victim's own live tap carries genuine cryptograms — and only the ``relay-bound``
policy (a time bound on the relay-resistance exchange) rejects it.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.page_data import AttemptView, ScenarioInfo, ScenarioView, SideView
from app.gui.theme import Colours, colours, primary_button_style
from app.gui.widgets.common import scaled, wrapping

COLUMNS = ("Attack", "OTP", "Card tap", "As expected")
#: Verdicts on an *attack*: accepted means the attack works (⚠), rejected means it is stopped (✓).
_SYMBOL = {"ACCEPT": "⚠", "REJECT": "✓", "FAILED": "✓", "ODA ONLY": "⚠"}
LEGEND = ("⚠ ACCEPT: the attack works · ✓ REJECT: the verifier stops it · n/a: no OTP counterpart · "
          "† rejected once the verifier enforces a relay-resistance time bound")


def _verdict_text(verdict: str | None) -> str:
    return "n/a" if verdict is None else f"{_SYMBOL.get(verdict, '')} {verdict}".strip()


def _attack_colour(palette: Colours, verdict: str | None) -> QColor:
    """Red when the attack works, green when it is stopped, grey otherwise."""
    bad, good = palette.failed, palette.passed
    return {"ACCEPT": bad, "ODA ONLY": bad, "REJECT": good, "FAILED": good}.get(verdict or "", palette.neutral)


class AttackPage(QWidget):
    """Emits :attr:`runRequested` with the scenario ids to run (empty: all) and :attr:`showSteps` with an id."""

    runRequested = Signal(tuple)
    cancelRequested = Signal()
    showSteps = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.infos: dict[str, ScenarioInfo] = {}
        self.results: dict[str, ScenarioView] = {}
        self.list = QTreeWidget()
        self.list.setObjectName("attacks")
        self.list.setHeaderLabels(list(COLUMNS))
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setAlternatingRowColors(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        scaled(self.list, 1.1)
        self.list.setStyleSheet("QTreeView::item { padding: 3px 0px; }")
        header = self.list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.list.currentItemChanged.connect(lambda *_: self._show_current())
        self.list.itemDoubleClicked.connect(lambda item, _col: self.showSteps.emit(item.data(0, Qt.ItemDataRole.UserRole)))
        self.run_one = QPushButton("Run selected")
        self.run_one.setObjectName("run-selected")
        self.run_one.setToolTip("Run the selected attack: the honest flows, then the attack, on both sides (Return)")
        self.run_all = QPushButton("Run all")
        self.run_all.setObjectName("run-all")
        self.run_all.setToolTip("Run every attack of the table, each in a fresh isolated lab (Ctrl+Return)")
        scaled(self.run_all, 1.1, bold=True)
        self.cancel = QPushButton("Stop")
        self.cancel.setToolTip("Stop after the attack being run")
        self.cancel.setEnabled(False)
        self.run_one.clicked.connect(self._run_selected)
        self.run_all.clicked.connect(lambda: self.runRequested.emit(()))
        self.cancel.clicked.connect(self.cancelRequested)
        for keys, slot in (("Return", self._run_selected), ("Ctrl+Return", lambda: self.runRequested.emit(()))):
            shortcut = QShortcut(QKeySequence(keys), self.list if keys == "Return" else self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda s=slot: self.run_all.isEnabled() and s())
        self.legend = QLabel(LEGEND)
        self.legend.setObjectName("lab-legend")
        self.legend.setWordWrap(True)
        self.progress = QLabel("Not run yet: every attack runs in its own isolated lab (nothing of yours is touched).")
        self.progress.setObjectName("lab-progress")
        self.progress.setWordWrap(True)
        buttons = QHBoxLayout()
        for button in (self.run_one, self.run_all, self.cancel):
            buttons.addWidget(button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.list, 1)
        left_layout.addWidget(self.legend)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.progress)

        self.title = QLabel()
        self.title.setObjectName("attack-title")
        self.title.setWordWrap(True)
        scaled(self.title, 1.35, bold=True)
        self.detail = QTextBrowser()
        self.detail.setObjectName("attack-detail")
        self.detail.setOpenLinks(False)
        self.steps = QPushButton("Show the tap's steps")
        self.steps.setToolTip("Open the tap side of this attack in the step-by-step views (or double-click it)")
        self.steps.setEnabled(False)
        self.steps.clicked.connect(self._steps_clicked)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.title)
        right_layout.addWidget(self.detail, 1)
        right_layout.addWidget(self.steps, 0, Qt.AlignmentFlag.AlignLeft)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([640, 620])
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(wrapping("DESIGN.md §3's attacks, each run for real: the honest flow first, then the "
                                  "attack, against the OTP a bank would use and against the tap. The verdicts "
                                  "and reasons are the verifier's own."))  # fmt: skip
        layout.addWidget(self.splitter, 1)
        self.restyle()

    # ------------------------------------------------------------------ data
    def set_scenarios(self, infos: tuple[ScenarioInfo, ...]) -> None:
        self.infos = {info.id: info for info in infos}
        self.list.clear()
        for info in infos:
            item = QTreeWidgetItem([info.title, "—", "—", ""])
            item.setData(0, Qt.ItemDataRole.UserRole, info.id)
            item.setToolTip(0, info.description)
            self.list.addTopLevelItem(item)
        if infos:
            self.list.setCurrentItem(self.list.topLevelItem(0))

    def item(self, scenario_id: str) -> QTreeWidgetItem | None:
        for row in range(self.list.topLevelItemCount()):
            item = self.list.topLevelItem(row)
            if item is not None and item.data(0, Qt.ItemDataRole.UserRole) == scenario_id:
                return item
        return None

    def add_result(self, view: ScenarioView) -> None:
        self.results[view.info.id] = view
        item = self.item(view.info.id)
        if item is not None:
            item.setText(1, _verdict_text(view.otp.verdict if view.otp else None))
            tap = _verdict_text(view.tap.verdict)
            if view.info.countermeasure and view.tap.verdict == "ACCEPT":
                tap += " †"
                item.setToolTip(2, "Accepted by default: the relay carries genuine cryptograms. "
                                   f"Rejected under the {view.info.countermeasure} policy.")  # fmt: skip
            item.setText(2, tap)
            item.setText(3, "✓ yes" if view.as_expected else "✗ no")
            item.setToolTip(3, "Both verdicts match DESIGN.md §3's table" if view.as_expected
                            else "; ".join(view.mismatches))  # fmt: skip
        self._colour(item, view)
        if self.current_id() == view.info.id:
            self._show_current()

    def clear_results(self) -> None:
        self.results.clear()
        self.set_scenarios(tuple(self.infos.values()))

    def current_id(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None else str(item.data(0, Qt.ItemDataRole.UserRole))

    def select(self, scenario_id: str) -> None:
        item = self.item(scenario_id)
        if item is not None:
            self.list.setCurrentItem(item)

    def set_running(self, running: bool, text: str = "") -> None:
        self.run_one.setEnabled(not running)
        self.run_all.setEnabled(not running)
        self.cancel.setEnabled(running)
        if text:
            self.progress.setText(text)

    # ------------------------------------------------------------------ rendering
    def _run_selected(self) -> None:
        current = self.current_id()
        if current:
            self.runRequested.emit((current,))

    def _steps_clicked(self) -> None:
        current = self.current_id()
        if current:
            self.showSteps.emit(current)

    def _show_current(self) -> None:
        current = self.current_id()
        info = self.infos.get(current or "")
        if info is None:
            self.title.setText("")
            self.detail.setHtml("")
            return
        self.title.setText(info.title)
        view = self.results.get(info.id)
        self.steps.setEnabled(view is not None and bool(view.tap.attack.events))
        self.detail.setHtml(self._html(info, view))

    def _html(self, info: ScenarioInfo, view: ScenarioView | None) -> str:
        c = colours(self)
        expected = (f"Expected (DESIGN.md §3): OTP <b>{_verdict_text(info.expected_otp)}</b> · card tap "
                    f"<b>{_verdict_text(info.expected_tap)}</b>"
                    + (f" (rejected under the <b>{html.escape(info.countermeasure)}</b> policy)"
                       if info.countermeasure else ""))  # fmt: skip
        parts = [f"<p>{html.escape(info.description)}</p><p style='color:{c.neutral.name()}'>{expected}</p>"]
        if view is None:
            parts.append("<p><i>Not run yet — press Run selected or Run all.</i></p>")
            return "".join(parts)
        if info.countermeasure and view.tap.verdict == "ACCEPT":
            parts.append(f"<p style='background:{c.oda_bg.name()};color:#ffffff;padding:6px'><b>⚠ The tap does NOT "
                         "stop this attack by default.</b> A relay of the victim's own live tap carries genuine "
                         "cryptograms, so every check passes. Only a relay-resistance time bound "
                         f"(policy <b>{html.escape(info.countermeasure)}</b>) catches the network's delay — "
                         "see the variant below.</p>")  # fmt: skip
        parts.append(self._side("One-time password", view.otp))
        parts.append(self._side("Card tap", view.tap))
        parts.append(f"<p style='color:{c.neutral.name()}'><b>Why:</b> {html.escape(view.why)}</p>")
        if not view.as_expected:
            parts.append(f"<p style='color:{c.failed.name()}'><b>Differs from DESIGN.md §3:</b> "
                         f"{html.escape('; '.join(view.mismatches))}</p>")  # fmt: skip
        return "".join(parts)

    def _side(self, name: str, side: SideView | None) -> str:
        if side is None:
            return f"<h3>{name}: n/a</h3><p>This attack has no OTP counterpart.</p>"
        out = [f"<h3>{name}: {self._verdict(side.verdict)}</h3>", self._attempt(side.attack, main=True)]
        for variant in side.variants:
            out.append(f"<p><b>Variant</b> — {html.escape(variant.label)}: {self._verdict(variant.verdict)}</p>")
            out.append(self._attempt(variant))
        grey = colours(self).neutral.name()
        out.append(f"<p style='color:{grey}'>Honest run first — {html.escape(side.honest.label)}: "
                   f"<b>{html.escape(side.honest.verdict)}</b></p>")  # fmt: skip
        if side.note:
            out.append(f"<p style='color:{grey}'>{html.escape(side.note[:1].upper() + side.note[1:])}</p>")
        return "".join(out)

    def _attempt(self, attempt: AttemptView, main: bool = False) -> str:
        c = colours(self)
        rows = [f"<li><span style='color:{c.failed.name()}'><b>✗ {html.escape(f.check)}</b></span>: "
                f"{html.escape(f.detail)}</li>" for f in attempt.failures]  # fmt: skip
        rows += [f"<li><span style='color:{c.neutral.name()}'><b>? {html.escape(f.check)}</b></span> "
                 f"({html.escape(f.status)}): {html.escape(f.detail)}</li>" for f in attempt.notes]  # fmt: skip
        label = f"<p>{html.escape(attempt.label)}</p>" if main else ""
        policy = f"<p>Verifier policy: <b>{html.escape(attempt.policy)}</b></p>" if attempt.policy else ""
        return label + policy + (f"<ul>{''.join(rows)}</ul>" if rows else "<p>Every check passed.</p>")

    def _verdict(self, verdict: str) -> str:
        colour = _attack_colour(colours(self), verdict)
        return f"<span style='color:{colour.name()}'>{html.escape(_verdict_text(verdict))}</span>"

    def _colour(self, item: QTreeWidgetItem | None, view: ScenarioView) -> None:
        if item is None:
            return
        c = colours(self)
        for column, verdict in ((1, view.otp.verdict if view.otp else None), (2, view.tap.verdict)):
            item.setForeground(column, _attack_colour(c, verdict))
        item.setForeground(3, c.passed if view.as_expected else c.failed)

    def restyle(self) -> None:
        self.run_all.setStyleSheet(primary_button_style(self.run_all))
        self.legend.setStyleSheet(f"color: {colours(self).neutral.name()};")
        for scenario_id, view in self.results.items():
            self._colour(self.item(scenario_id), view)
        self._show_current()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.PaletteChange:
            self.restyle()
        super().changeEvent(event)
