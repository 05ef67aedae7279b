"""Export dialog: format, which images, suggestions or not, where — and a summary of
what will be written before anything is.

Counting and writing are `clml_desktop.workflow.exporting`'s, run in workers
(each opens its own store connection), so a large collection never freezes
the dialog; the write itself is the foundation's `export_labels` (atomic,
backups, unsafe sidecars left alone).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from clml_desktop.collection.exporting import EXPORT_FORMATS
from clml_desktop.collection.formats import SIDECAR_FORMATS
from clml_desktop.collection.query import filter_ids
from clml_desktop.jobs.worker import Worker
from clml_desktop.workflow.exporting import (
    DEFAULT_FILE_NAMES,
    FORMAT_NAMES,
    ExportRequest,
    count_export,
    write_export,
)

SCOPES = ("all", "filtered", "selected")


class ExportDialog(QDialog):
    """Choose, read the summary, press Export; the result replaces the summary."""

    exported = Signal(object)

    def __init__(self, context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setWindowTitle("Export tags")
        self._count_worker: Worker | None = None
        self._write_worker: Worker | None = None
        self.preview = None
        self.result_summary = None
        settings = context.settings

        self.format_box = QComboBox(self)
        for fmt in EXPORT_FORMATS:
            self.format_box.addItem(FORMAT_NAMES.get(fmt, fmt), fmt)
        default_fmt = settings.sidecar_extension.lstrip(".")
        self.format_box.setCurrentIndex(max(0, self.format_box.findData(default_fmt)))

        scope_box = QGroupBox("Images", self)
        self.scope_group = QButtonGroup(self)
        scope_layout = QVBoxLayout(scope_box)
        self.scope_buttons: dict[str, QRadioButton] = {}
        for i, scope in enumerate(SCOPES):
            button = QRadioButton(scope_box)
            self.scope_group.addButton(button, i)
            scope_layout.addWidget(button)
            self.scope_buttons[scope] = button
        self._update_scope_labels()
        preferred = "selected" if len(context.selected_ids) > 1 else (
            "filtered" if not context.filter.is_empty() else "all")
        self.scope_buttons[preferred].setChecked(True)

        content_box = QGroupBox("Tags", self)
        content_layout = QVBoxLayout(content_box)
        self.confirmed_only = QRadioButton("Confirmed tags only", content_box)
        self.with_suggestions = QRadioButton("Confirmed tags and suggestions", content_box)
        self.confirmed_only.setChecked(True)
        has_model = context.store is not None and context.store.active_model() is not None
        self.with_suggestions.setEnabled(has_model)
        if not has_model:
            self.with_suggestions.setToolTip("No model is active yet, so there are no suggestions")
        content_layout.addWidget(self.confirmed_only)
        content_layout.addWidget(self.with_suggestions)

        target_box = QGroupBox("Destination", self)
        target_layout = QVBoxLayout(target_box)
        self.in_place = QRadioButton("In place: next to each image", target_box)
        self.to_path = QRadioButton("To:", target_box)
        self.path_edit = QLineEdit(target_box)
        self.path_edit.setPlaceholderText("Choose a folder or file…")
        self.browse = QPushButton("Browse…", target_box)
        self.browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.to_path)
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.browse)
        target_layout.addWidget(self.in_place)
        target_layout.addLayout(path_row)
        self.in_place.setChecked(True)
        # A folder that cannot be written (its labels are kept elsewhere, or its store
        # is read-only) cannot take sidecars: export to a folder of the person's instead.
        store = context.store
        self.unwritable_reason: str | None = None
        if store is not None:
            self.unwritable_reason = store.read_only_reason or store.fallback_reason
        root = context.root
        self.default_dir: Path | None = root
        if self.unwritable_reason and root is not None:
            self.default_dir = Path.home() / "CLML exports" / root.name
            self.in_place.setText("In place: not possible, this folder cannot be written")
            self.in_place.setToolTip(f"Not possible here: {self.unwritable_reason}")

        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setMinimumHeight(72)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.summary.setFrameShape(QLabel.Shape.StyledPanel)
        self.summary.setMargin(8)
        self.summary.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        self.summary.setAutoFillBackground(True)
        self.problems = QPlainTextEdit(self)
        self.problems.setReadOnly(True)
        self.problems.setMaximumHeight(120)
        self.problems.hide()

        self.buttons = QDialogButtonBox(self)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.export_button.clicked.connect(self.start_export)
        self.close_button.clicked.connect(self.reject)

        form = QFormLayout()
        form.addRow("&Format:", self.format_box)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(scope_box)
        row.addWidget(content_box)
        layout.addLayout(row)
        layout.addWidget(target_box)
        layout.addWidget(QLabel("Summary", self))
        layout.addWidget(self.summary)
        layout.addWidget(self.problems)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(620)

        self._recount_timer = QTimer(self)
        self._recount_timer.setSingleShot(True)
        self._recount_timer.setInterval(120)
        self._recount_timer.timeout.connect(self._recount)
        self.format_box.currentIndexChanged.connect(self._on_format_changed)
        self.scope_group.idToggled.connect(lambda _i, checked: checked and self._schedule())
        self.confirmed_only.toggled.connect(lambda _c: self._schedule())
        self.in_place.toggled.connect(lambda _c: self._on_destination_changed())
        self.path_edit.textChanged.connect(lambda _t: self._on_path_edited())
        self._on_format_changed()

    # ---- reading the choices ------------------------------------------------------

    @property
    def fmt(self) -> str:
        return str(self.format_box.currentData())

    def scope(self) -> str:
        return SCOPES[max(0, self.scope_group.checkedId())]

    def scope_ids(self, scope: str | None = None) -> tuple[int, ...] | None:
        scope = scope or self.scope()
        if scope == "selected":
            return tuple(self.context.selected_ids)
        if scope == "filtered":
            return tuple(int(i) for i in filter_ids(self.context.index, self.context.filter))
        return None

    def request(self) -> ExportRequest:
        in_place = self.fmt in SIDECAR_FORMATS and self.in_place.isChecked()
        text = self.path_edit.text().strip()
        return ExportRequest(
            fmt=self.fmt,
            image_ids=self.scope_ids(),
            with_suggestions=self.with_suggestions.isChecked(),
            in_place=in_place,
            out=None if in_place or not text else Path(text).expanduser(),
            xmp_naming=self.context.settings.xmp_naming,
        )

    def set_choices(self, *, fmt: str | None = None, scope: str | None = None,
                    with_suggestions: bool | None = None, out: Path | None = None) -> None:
        """Set the dialog's fields (tests and scripted use)."""
        if fmt is not None:
            self.format_box.setCurrentIndex(self.format_box.findData(fmt))
        if scope is not None:
            self.scope_buttons[scope].setChecked(True)
        if with_suggestions is not None:
            (self.with_suggestions if with_suggestions else self.confirmed_only).setChecked(True)
        if out is not None:
            self.to_path.setChecked(True)
            self.path_edit.setText(str(out))
        self._schedule()

    def is_busy(self) -> bool:
        return any(w is not None and not w.is_done for w in (self._count_worker, self._write_worker))

    # ---- actions ------------------------------------------------------------------

    def start_export(self) -> None:
        """Write in the background; the dialog shows the result when done."""
        store = self.context.store
        request = self.request()
        if store is None:
            return
        if not request.in_place and request.out is None:
            self.summary.setText("Choose where to write first.")
            return
        self.export_button.setEnabled(False)
        self.summary.setText("Writing…")
        worker = Worker(write_export, Path(store.root), request, self.context.settings.sidecar_separator,
                        name=f"Exporting {request.fmt}")
        worker.signals.result.connect(self._on_written)
        worker.signals.error.connect(self._on_write_error)
        self._write_worker = worker
        self.context.start_job(worker)

    def reject(self) -> None:
        if self._write_worker is not None and not self._write_worker.is_done:
            self.summary.setText("Still writing; the dialog closes when the export is done.")
            self._write_worker.signals.finished.connect(super().reject)
            return
        self.shutdown()
        super().reject()

    def shutdown(self) -> None:
        """Wait for the count and write jobs (closing, tests)."""
        self._recount_timer.stop()
        for worker in (self._count_worker, self._write_worker):
            if worker is not None:
                worker.wait(30.0)

    # ---- internals ------------------------------------------------------------------

    def _update_scope_labels(self) -> None:
        total = len(self.context.index)
        filtered = len(self.scope_ids("filtered")) if total else 0
        selected = len(self.context.selected_ids)
        self.scope_buttons["all"].setText(f"All images ({total:,})")
        self.scope_buttons["filtered"].setText(f"Images the filter shows ({filtered:,})")
        self.scope_buttons["selected"].setText(f"Selected images ({selected:,})")
        self.scope_buttons["selected"].setEnabled(selected > 0)
        self.scope_buttons["filtered"].setEnabled(not self.context.filter.is_empty())

    def _on_format_changed(self) -> None:
        sidecar = self.fmt in SIDECAR_FORMATS
        self.in_place.setEnabled(sidecar and not self.unwritable_reason)
        if not sidecar:
            self.to_path.setChecked(True)
            root = self.default_dir
            current = self.path_edit.text().strip()
            if root is not None and (not current or Path(current).suffix == "" or Path(current) == root):
                self.path_edit.setText(str(root / DEFAULT_FILE_NAMES[self.fmt]))
            elif current and Path(current).suffix:
                self.path_edit.setText(str(Path(current).with_name(DEFAULT_FILE_NAMES[self.fmt])))
            self.path_edit.setPlaceholderText("Choose a file…")
        else:
            if self.path_edit.text().strip() and Path(self.path_edit.text().strip()).suffix:
                self.path_edit.clear()
            if self.unwritable_reason:
                self.to_path.setChecked(True)
                if not self.path_edit.text().strip() and self.default_dir is not None:
                    self.path_edit.setText(str(self.default_dir))
            else:
                self.in_place.setChecked(True)
            self.path_edit.setPlaceholderText("Choose a folder…")
        self.with_suggestions.setToolTip(
            "The suggestions the grid and review show (Settings: suggest when at least P% likely) "
            + ("are kept apart, with how likely each is" if self.fmt in ("json", "csv-long")
               else "are written as plain tags")
        )
        self.with_suggestions.setVisible(self.fmt != "train-jsonl")
        if self.fmt == "train-jsonl":
            self.confirmed_only.setChecked(True)
        self._on_destination_changed()

    def _on_destination_changed(self) -> None:
        to_path = not self.in_place.isChecked()
        self.path_edit.setEnabled(to_path)
        self.browse.setEnabled(to_path)
        self._schedule()

    def _on_path_edited(self) -> None:
        if self.path_edit.text().strip() and not self.to_path.isChecked():
            self.to_path.setChecked(True)
        self._schedule()

    def _browse(self) -> None:
        start = self.path_edit.text().strip() or str(self.context.root or Path.home())
        if self.fmt in SIDECAR_FORMATS:
            chosen = QFileDialog.getExistingDirectory(self, "Export into folder", start)
        else:
            chosen, _filter = QFileDialog.getSaveFileName(self, "Export to file", start)
        if chosen:
            self.to_path.setChecked(True)
            self.path_edit.setText(chosen)

    def _schedule(self) -> None:
        self.export_button.setEnabled(False)
        self._recount_timer.start()

    def _recount(self) -> None:
        store = self.context.store
        if store is None:
            self.summary.setText("Open a folder first.")
            return
        if self._count_worker is not None and not self._count_worker.is_done:
            self._count_worker.cancel()
        request = self.request()
        self.summary.setText("Counting…")
        worker = Worker(count_export, Path(store.root), request, name="Counting the export")
        worker.signals.result.connect(self._on_counted)
        worker.signals.error.connect(lambda message: self.summary.setText(message))
        self._count_worker = worker
        self.context.start_job(worker, quiet=True)

    def _on_counted(self, value) -> None:
        request, preview = value
        if request != self.request():
            return
        self.preview = preview
        lines = preview.lines(request.fmt)
        ready = request.in_place or request.out is not None
        if not ready:
            lines.append("Choose where to write.")
        if request.image_ids is not None and not request.image_ids:
            lines.append("No images in this scope.")
            ready = False
        self.summary.setText("\n".join(lines))
        self.export_button.setEnabled(ready and (self._write_worker is None or self._write_worker.is_done))

    def _on_written(self, summary) -> None:
        self.result_summary = summary
        written = len(summary.files_written)
        failed = len(summary.problems)
        parts = [f"Wrote {written:,} file{'s' if written != 1 else ''}"]
        if summary.files_unchanged:
            parts.append(f"{summary.files_unchanged:,} already up to date")
        if failed:
            parts.append(f"{failed:,} could not be written")
        if summary.backups and written:
            # Only files that were replaced count: a backup made before a write that
            # then failed replaced nothing (the original is still where it was).
            parts.append(f"originals of the replaced files backed up in {Path(self.context.store.data_dir) / 'backup'}"
                         if self.context.store is not None else "originals backed up")
        text = ", ".join(parts) + "."
        if failed and not written and not summary.files_unchanged:
            text = f"Nothing was written: {failed:,} could not be written (see below); no file was changed."
        if summary.problems:
            text += f"\n{failed:,} file(s) were left untouched; see below."
            self.problems.setPlainText("\n".join(str(p) for p in summary.problems))
            self.problems.show()
        self.summary.setText(text)
        self.close_button.setText("Close")
        self.context.show_status(f"Export ({summary.format}): " + ", ".join(parts))
        self.exported.emit(summary)

    def _on_write_error(self, message: str) -> None:
        self.summary.setText(f"Export failed: {message}\nNothing was lost; files already written are complete.")
        self.export_button.setEnabled(True)
