"""Preferences: device, when tags are suggested, tag-file conventions, thumbnails, theme.

Application preferences go to QSettings (`Settings`). When a tag is suggested
belongs to the collection and goes to its store (the minimum likelihood and
per-tag cuts), so it travels with the folder and the headless `suggest` and
`export` use it too. Nothing is written until OK, and a change re-scores
nothing: suggestions are re-derived from cached scores.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from clml_desktop.inference.likely_text import cut_percent, parse_percent
from clml_desktop.inference.thresholds import DEFAULT_MIN_LIKELIHOOD, min_likelihood
from clml_desktop.ui.settings import DEVICES, THEMES, THUMB_SIZES, XMP_NAMINGS

DEVICE_NAMES = {"auto": "Automatic (CUDA when it really loads)", "cuda": "CUDA GPU", "cpu": "CPU"}
THEME_NAMES = {"system": "Follow the system", "light": "Light", "dark": "Dark"}
XMP_NAMES = {"name.ext.xmp": "photo.jpg.xmp (digiKam, darktable)", "name.xmp": "photo.xmp (Lightroom)"}


class SettingsDialog(QDialog):
    """Edit `context.settings` and the collection's minimum likelihood and per-tag cuts."""

    TAG_COLUMN, OVERRIDE_COLUMN = 0, 1

    def __init__(self, context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setWindowTitle("Settings")
        settings = context.settings

        self.device = QComboBox(self)
        for key in DEVICES:
            self.device.addItem(DEVICE_NAMES.get(key, key), key)
        self.device.setCurrentIndex(self.device.findData(settings.device))
        self.device.setToolTip("Where the model runs for suggestions and training")
        self.theme = QComboBox(self)
        for key in THEMES:
            self.theme.addItem(THEME_NAMES.get(key, key), key)
        self.theme.setCurrentIndex(self.theme.findData(settings.theme))
        self.thumb_size = QComboBox(self)
        for size in THUMB_SIZES:
            self.thumb_size.addItem(f"{size} px", size)
        self.thumb_size.setCurrentIndex(max(0, self.thumb_size.findData(settings.thumbnail_size)))

        general = QGroupBox("General", self)
        general_form = QFormLayout(general)
        general_form.addRow("&Device:", self.device)
        general_form.addRow("&Theme:", self.theme)
        general_form.addRow("Thumbnail &size:", self.thumb_size)

        self.sidecar_ext = QComboBox(self)
        self.sidecar_ext.addItem(".txt (kohya, taggui)", ".txt")
        self.sidecar_ext.addItem(".caption", ".caption")
        self.sidecar_ext.setCurrentIndex(self.sidecar_ext.findData(settings.sidecar_extension))
        self.separator = QLineEdit(settings.sidecar_separator, self)
        self.separator.setToolTip("Written between tags in sidecars; reading always splits on ','")
        self.separator.setMaximumWidth(80)
        self.xmp_naming = QComboBox(self)
        for key in XMP_NAMINGS:
            self.xmp_naming.addItem(XMP_NAMES.get(key, key), key)
        self.xmp_naming.setCurrentIndex(self.xmp_naming.findData(settings.xmp_naming))
        files = QGroupBox("Tag files", self)
        files_form = QFormLayout(files)
        files_form.addRow("Sidecar &extension:", self.sidecar_ext)
        files_form.addRow("Sidecar se&parator:", self.separator)
        files_form.addRow("&XMP sidecar name:", self.xmp_naming)

        self.min_likely = QSpinBox(self)
        self.min_likely.setRange(1, 99)
        self.min_likely.setSuffix("%")
        self.min_likely.setToolTip(
            "A suggestion is shown when the model finds the tag at least this likely. "
            "Higher: fewer suggestions, more of them right."
        )
        min_row = QHBoxLayout()
        min_label = QLabel("Suggest a tag when it is at &least", self)
        min_label.setBuddy(self.min_likely)
        min_row.addWidget(min_label)
        min_row.addWidget(self.min_likely)
        min_row.addWidget(QLabel("likely", self))
        min_row.addStretch(1)

        self.tag_filter = QLineEdit(self)
        self.tag_filter.setPlaceholderText("Filter tags…")
        self.tag_filter.setClearButtonEnabled(True)
        self.tag_filter.textChanged.connect(self._filter_rows)
        self.table = QTableWidget(0, 2, self)
        self.table.setHorizontalHeaderLabels(["Tag", "Own cut"])
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumHeight(180)
        hint = QLabel(
            "A tag with a cut of its own is shown from that likelihood instead; leave “Own cut” "
            "empty to use the one above. Type 70 or 70%. These belong to the collection, so "
            "the command line (clml-desktop suggest) and exports use them too.",
            self,
        )
        hint.setWordWrap(True)
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        thresholds = QGroupBox("When to suggest a tag", self)
        t_layout = QVBoxLayout(thresholds)
        t_layout.addLayout(min_row)
        t_layout.addWidget(self.tag_filter)
        t_layout.addWidget(self.table, 1)
        t_layout.addWidget(hint)

        self.error = QLabel(self)
        self.error.setStyleSheet("color: #c0392b;")
        self.error.setWordWrap(True)
        self.error.hide()

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        left = QVBoxLayout()
        left.addWidget(general)
        left.addWidget(files)
        left.addStretch(1)
        body = QHBoxLayout()
        body.addLayout(left)
        body.addWidget(thresholds, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.resize(860, 520)
        self._shown_cuts: dict[str, str] = {}
        self._fill_table()

    def _fill_table(self) -> None:
        store = self.context.store
        self.table.setRowCount(0)
        self._min_percent = round(DEFAULT_MIN_LIKELIHOOD * 100)
        if store is None:
            self.min_likely.setValue(self._min_percent)
            self.min_likely.setEnabled(False)
            self.table.setEnabled(False)
            self.tag_filter.setEnabled(False)
            return
        self._min_percent = min(99, max(1, round(min_likelihood(store) * 100)))
        self.min_likely.setValue(self._min_percent)
        own_cuts = store.tag_thresholds()
        names = sorted((t.name for t in store.tags()), key=str.casefold)
        self.table.setRowCount(len(names))
        for row, name in enumerate(names):
            tag_item = QTableWidgetItem(name)
            tag_item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            own = own_cuts.get(name)
            self._shown_cuts[name] = "" if own is None else cut_percent(own)
            own_item = QTableWidgetItem(self._shown_cuts[name])
            own_item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            own_item.setToolTip("This tag's own cut; empty: the collection's, set above")
            self.table.setItem(row, self.TAG_COLUMN, tag_item)
            self.table.setItem(row, self.OVERRIDE_COLUMN, own_item)

    def _filter_rows(self, text: str) -> None:
        needle = text.strip().casefold()
        for row in range(self.table.rowCount()):
            name = self.table.item(row, self.TAG_COLUMN).text().casefold()
            self.table.setRowHidden(row, bool(needle) and needle not in name)

    def tag_overrides(self) -> dict[str, float | None]:
        """Per-tag cuts edited in the table (None: none of its own); rows left as shown are
        left out, so a cut is never rewritten by rounding. Raises ValueError on bad text."""
        out: dict[str, float | None] = {}
        for row in range(self.table.rowCount()):
            name = self.table.item(row, self.TAG_COLUMN).text()
            text = self.table.item(row, self.OVERRIDE_COLUMN).text()
            if text.strip() == self._shown_cuts.get(name, ""):
                continue
            try:
                out[name] = parse_percent(text) if text.strip() else None
            except ValueError as exc:
                raise ValueError(f"'{name}': {exc}") from exc
        return out

    def accept(self) -> None:
        try:
            overrides = self.tag_overrides()
        except ValueError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        separator = self.separator.text()
        if not separator.strip(" "):
            self.error.setText("The sidecar separator must contain a visible character, such as ','.")
            self.error.show()
            return
        settings = self.context.settings
        for key, value in (
            ("device", self.device.currentData()),
            ("theme", self.theme.currentData()),
            ("thumbnail_size", self.thumb_size.currentData()),
            ("sidecar_extension", self.sidecar_ext.currentData()),
            ("sidecar_separator", separator),
            ("xmp_naming", self.xmp_naming.currentData()),
        ):
            if getattr(settings, key) != value:
                setattr(settings, key, value)
        if self.context.store is not None:
            new_min = self.min_likely.value()
            if new_min != self._min_percent or overrides:
                cut = new_min / 100 if new_min != self._min_percent else None
                if not self.context.set_suggestion_cuts(cut, overrides):
                    self.error.setText("Could not save when tags are suggested; see the status bar.")
                    self.error.show()
                    return
        super().accept()
