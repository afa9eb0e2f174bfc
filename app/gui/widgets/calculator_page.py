"""The "Crypto calculator" page: the operations of ``trustone crypto``, hex in and hex out.

Left: the operations. Middle: the chosen operation's form, built from
:mod:`app.gui.calculator_spec`; each field is checked as it is typed (hex digits,
byte length, decimal digits) and says what is wrong right under it. Right: the
result — every intermediate value, in order, selectable and copyable — and, for
verifications, the verdict. Computing is the worker's (:attr:`computeRequested`);
semantic problems it finds come back to :meth:`show_field_error`.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.calculator_spec import OPERATIONS, Field, Operation, check_field, operation
from app.gui.page_data import CalcResult
from app.gui.theme import colours, primary_button_style
from app.gui.widgets.common import VerdictBadge, mono_font, scaled, wrapping

Editor = QLineEdit | QComboBox
_HEX = frozenset("0123456789ABCDEF")


def _wrappable(value: str) -> str:
    """Long hex in groups of 16 digits, so the result table can wrap it (copying keeps it whole)."""
    if len(value) > 32 and set(value) <= _HEX:
        return " ".join(value[i : i + 16] for i in range(0, len(value), 16))
    return value


class CalculatorPage(QWidget):
    """Emits :attr:`computeRequested` (operation id, {field: text}) when the form is valid."""

    computeRequested = Signal(str, dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.operations = QListWidget()
        self.operations.setObjectName("operations")
        for op in OPERATIONS:
            self.operations.addItem(op.title)
            self.operations.item(self.operations.count() - 1).setToolTip(f"{op.summary}\n{op.reference}")
        self.operations.setFixedWidth(230)
        self.operations.setSpacing(2)
        self.title = QLabel()
        scaled(self.title, 1.3, bold=True)
        self.summary = wrapping()
        self.form_host = QWidget()
        self.form = QFormLayout(self.form_host)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form_host)
        self.form_error = wrapping()
        self.form_error.setObjectName("form-error")
        self.compute = QPushButton("Compute")
        self.compute.setObjectName("compute")
        self.compute.setMinimumSize(120, 34)
        scaled(self.compute, 1.1, bold=True)
        self.compute.setToolTip("Compute (Ctrl+Return)")
        self.example = QPushButton("Fill example")
        self.example.setToolTip("Fill the form with a worked example from the public test vectors")
        self.clear = QPushButton("Clear")
        buttons = QHBoxLayout()
        for button in (self.compute, self.example, self.clear):
            buttons.addWidget(button)
        buttons.addStretch(1)
        middle = QVBoxLayout()
        for widget in (self.title, self.summary):
            middle.addWidget(widget)
        middle.addWidget(scroll, 1)
        middle.addWidget(self.form_error)
        middle.addLayout(buttons)

        self.verdict = VerdictBadge()
        self.verdict.setObjectName("calc-verdict")
        self.verdict_detail = wrapping()
        self.results = QTableWidget(0, 2)
        self.results.setObjectName("calc-results")
        self.results.setHorizontalHeaderLabels(["Value", "Result"])
        self.results.verticalHeader().hide()
        self.results.setWordWrap(True)
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.results.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.copy = QPushButton("Copy results")
        self.copy.setToolTip("Copy every result line (name: value) to the clipboard")
        self.copy.clicked.connect(self._copy)
        right = QVBoxLayout()
        right.addWidget(self.verdict)
        right.addWidget(self.verdict_detail)
        right.addWidget(self.results, 1)
        right.addWidget(self.copy, 0, Qt.AlignmentFlag.AlignRight)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.operations)
        layout.addLayout(middle, 5)
        layout.addLayout(right, 6)

        self.editors: dict[str, Editor] = {}
        self.errors: dict[str, QLabel] = {}
        self.op: Operation = OPERATIONS[0]
        self.result: CalcResult | None = None
        self.operations.currentRowChanged.connect(lambda row: self.set_operation(OPERATIONS[max(0, row)].id))
        self.compute.clicked.connect(self.request)
        self.example.clicked.connect(self.fill_example)
        self.clear.clicked.connect(lambda: self.fill({}))
        shortcut = QShortcut(QKeySequence("Ctrl+Return"), self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.request)
        self.operations.setCurrentRow(0)
        self.restyle()

    # ------------------------------------------------------------------ the form
    def set_operation(self, op_id: str) -> None:
        self.op = operation(op_id)
        row = next(i for i, op in enumerate(OPERATIONS) if op.id == op_id)
        if self.operations.currentRow() != row:
            self.operations.setCurrentRow(row)
            return
        self.title.setText(self.op.title)
        self.summary.setText(f"{self.op.summary} <i>({self.op.reference})</i>")
        while self.form.rowCount():
            self.form.removeRow(0)
        self.editors.clear()
        self.errors.clear()
        for spec in self.op.fields:
            self._add_field(spec)
        self.form_error.setText("")
        self.show_result(None)

    def _add_field(self, spec: Field) -> None:
        editor: Editor
        if spec.kind == "choice":
            editor = QComboBox()
            editor.addItems(list(spec.choices))
            if spec.default:
                editor.setCurrentText(spec.default)
            editor.currentTextChanged.connect(lambda _t, k=spec.key: self._validate(k))
        else:
            editor = QLineEdit()
            editor.setPlaceholderText(spec.default or ("optional" if spec.optional else ""))
            editor.setClearButtonEnabled(True)
            if spec.kind == "hex":
                editor.setFont(mono_font())
            editor.textChanged.connect(lambda _t, k=spec.key: self._validate(k))
            editor.returnPressed.connect(self.request)
        editor.setObjectName(f"field-{spec.key}")
        editor.setToolTip(spec.help or spec.label)
        error = QLabel()
        error.setObjectName(f"error-{spec.key}")
        error.setWordWrap(True)
        error.hide()
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(1)
        column.addWidget(editor)
        column.addWidget(error)
        label = spec.label + ("" if spec.optional or spec.default or spec.kind == "choice" else " *")
        self.form.addRow(label, box)
        self.editors[spec.key] = editor
        self.errors[spec.key] = error

    def values(self) -> dict[str, str]:
        return {key: (e.currentText() if isinstance(e, QComboBox) else e.text()) for key, e in self.editors.items()}

    def fill(self, values: dict[str, str]) -> None:
        for spec in self.op.fields:
            editor = self.editors[spec.key]
            value = values.get(spec.key, spec.default if spec.kind == "choice" else "")
            if isinstance(editor, QComboBox):
                editor.setCurrentText(value or spec.default)
            else:
                editor.setText(value)
        for key in self.editors:
            self._set_error(key, None)

    def fill_example(self) -> None:
        self.fill(dict(self.op.example))

    def _validate(self, key: str, *, required: bool = False) -> bool:
        spec = self.op.field(key)
        text = self.values()[key]
        problem = check_field(spec, text)
        if problem == "required" and not required and not text:
            problem = None  # do not shout at an empty field before Compute
        self._set_error(key, problem)
        return problem is None

    def _set_error(self, key: str, problem: str | None) -> None:
        palette = colours(self)
        error, editor = self.errors[key], self.editors[key]
        error.setVisible(problem is not None)
        error.setText(f"✗ {problem}" if problem else "")
        error.setStyleSheet(f"color: {palette.failed.name()};")
        border = f"QLineEdit {{ border: 1px solid {palette.failed.name()}; }}" if problem else ""
        if isinstance(editor, QLineEdit):
            editor.setStyleSheet(border)

    def request(self) -> bool:
        """Emit :attr:`computeRequested` when every field is valid; else show the problems. Returns whether sent."""
        ok = all([self._validate(key, required=True) for key in self.editors])
        self.form_error.setText("" if ok else "Correct the fields marked ✗ first.")
        if ok:
            self.computeRequested.emit(self.op.id, self.values())
        return ok

    def show_field_error(self, key: str, message: str) -> None:
        """A problem the computation found: under its field, or above the buttons for the form."""
        if key in self.errors:
            self._set_error(key, message)
            self.form_error.setText("")
        else:
            self.form_error.setText(f"✗ {message}")
        self.show_result(None)

    def set_running(self, running: bool) -> None:
        self.compute.setEnabled(not running)

    # ------------------------------------------------------------------ the result
    def show_result(self, result: CalcResult | None) -> None:
        self.result = result
        self.results.setRowCount(0)
        if result is None:
            self.verdict.set_verdict(None, "Result")
            self.verdict_detail.setText("Fill the form (or press Fill example) and press Compute.")
            return
        verdict = {"OK": "ACCEPT", "FAIL": "REJECT"}.get(result.verdict or "")
        self.verdict.set_verdict(verdict, {"OK": "✓ OK", "FAIL": "✗ FAIL"}.get(result.verdict or "",
                                                                             f"Result: {self.op.title}"))
        self.verdict_detail.setText(result.detail)
        self.form_error.setText("")
        for name, value in result.rows:
            row = self.results.rowCount()
            self.results.insertRow(row)
            self.results.setItem(row, 0, QTableWidgetItem(name))
            item = QTableWidgetItem(_wrappable(value))
            item.setData(Qt.ItemDataRole.UserRole, value)
            item.setFont(mono_font())
            item.setToolTip(value)
            self.results.setItem(row, 1, item)
        last = self.results.rowCount() - 1
        for column in (0, 1):  # the operation's main output is the last row: bold
            cell = self.results.item(last, column)
            if cell is not None:
                font = cell.font()
                font.setBold(True)
                cell.setFont(font)
        self.results.resizeRowsToContents()

    def result_value(self, name: str) -> str | None:
        if self.result is None:
            return None
        return next((value for key, value in self.result.rows if key == name), None)

    def _copy(self) -> None:
        if self.result is not None:
            text = "\n".join(f"{k}: {v}" for k, v in self.result.rows)
            QGuiApplication.clipboard().setText(text)

    def restyle(self) -> None:
        self.compute.setStyleSheet(primary_button_style(self.compute))
        self.form_error.setStyleSheet(f"color: {colours(self).failed.name()};")
        self.verdict.restyle()
        for key in self.editors:
            self._validate(key)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.PaletteChange:
            self.restyle()
        super().changeEvent(event)
