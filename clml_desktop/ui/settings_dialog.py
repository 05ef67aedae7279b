"""Preferences: device, suggestion thresholds, tag-file conventions, thumbnails, theme.

Application preferences go to QSettings (`Settings`); per-tag threshold
overrides belong to the collection and go to its store, so they travel with
the folder and the headless `suggest` uses them too. Nothing is written until
OK, and a threshold change re-scores nothing: suggestions are recomputed from
cached scores.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from clml_desktop.ui.settings import DEVICES, THEMES, THUMB_SIZES, XMP_NAMINGS

DEVICE_NAMES = {"auto": "Automatic (CUDA when it really loads)", "cuda": "CUDA GPU", "cpu": "CPU"}
THEME_NAMES = {"system": "Follow the system", "light": "Light", "dark": "Dark"}
XMP_NAMES = {"name.ext.xmp": "photo.jpg.xmp (digiKam, darktable)", "name.xmp": "photo.xmp (Lightroom)"}


def parse_threshold(text: str) -> float | None:
    """'' → None (no override); '0.7' or '70%' → 0.7. Raises ValueError outside [0, 1]."""
    text = text.strip()
    if not text:
        return None
    value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"a threshold must lie between 0 and 1, not {text}")
    return value


def model_thresholds(store) -> dict[str, float]:
    """The active model's calibrated thresholds by tag name (empty without a model)."""
    if store is None or store.active_model() is None:
        return {}
    from clml_desktop.inference.engine import read_manifest
    from clml_desktop.inference.errors import ModelLoadError

    try:
        manifest = read_manifest(Path(store.active_model().path))
    except ModelLoadError:
        return {}
    return {str(k): float(v) for k, v in (manifest.thresholds or {}).items()}


class SettingsDialog(QDialog):
    """Edit `context.settings` and the collection's per-tag thresholds."""

    TAG_COLUMN, MODEL_COLUMN, OVERRIDE_COLUMN = 0, 1, 2

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

        self.use_global = QCheckBox("Use one threshold for every tag:", self)
        self.global_threshold = QDoubleSpinBox(self)
        self.global_threshold.setRange(0.0, 1.0)
        self.global_threshold.setSingleStep(0.05)
        self.global_threshold.setDecimals(2)
        current = settings.global_threshold
        self.use_global.setChecked(current is not None)
        self.global_threshold.setValue(0.5 if current is None else current)
        self.global_threshold.setEnabled(current is not None)
        self.use_global.toggled.connect(self.global_threshold.setEnabled)
        global_row = QHBoxLayout()
        global_row.addWidget(self.use_global)
        global_row.addWidget(self.global_threshold)
        global_row.addStretch(1)

        self.tag_filter = QLineEdit(self)
        self.tag_filter.setPlaceholderText("Filter tags…")
        self.tag_filter.setClearButtonEnabled(True)
        self.tag_filter.textChanged.connect(self._filter_rows)
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(["Tag", "Model's", "Yours"])
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumHeight(180)
        hint = QLabel(
            "A suggestion is shown when its score reaches the tag's threshold: yours when set, "
            "else the one the trainer calibrated on held-out labels. Leave “Yours” empty to use "
            "the model's; type 0.7 or 70%.",
            self,
        )
        hint.setWordWrap(True)
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        thresholds = QGroupBox("Suggestion thresholds", self)
        t_layout = QVBoxLayout(thresholds)
        t_layout.addLayout(global_row)
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
        self._overrides: dict[str, float] = {}
        self._fill_table()

    def _fill_table(self) -> None:
        store = self.context.store
        self.table.setRowCount(0)
        if store is None:
            self.table.setEnabled(False)
            self.tag_filter.setEnabled(False)
            return
        self._overrides = dict(store.tag_thresholds())
        calibrated = model_thresholds(store)
        names = sorted((t.name for t in store.tags()), key=str.casefold)
        self.table.setRowCount(len(names))
        for row, name in enumerate(names):
            tag_item = QTableWidgetItem(name)
            tag_item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            model_value = calibrated.get(name)
            model_item = QTableWidgetItem("—" if model_value is None else f"{model_value:.2f}")
            model_item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            model_item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            own = self._overrides.get(name)
            own_item = QTableWidgetItem("" if own is None else f"{own:.2f}")
            own_item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            own_item.setToolTip("Your threshold for this tag; empty uses the model's")
            self.table.setItem(row, self.TAG_COLUMN, tag_item)
            self.table.setItem(row, self.MODEL_COLUMN, model_item)
            self.table.setItem(row, self.OVERRIDE_COLUMN, own_item)

    def _filter_rows(self, text: str) -> None:
        needle = text.strip().casefold()
        for row in range(self.table.rowCount()):
            name = self.table.item(row, self.TAG_COLUMN).text().casefold()
            self.table.setRowHidden(row, bool(needle) and needle not in name)

    def tag_overrides(self) -> dict[str, float | None]:
        """Per-tag values typed in the table (None: no override). Raises ValueError on bad text."""
        out: dict[str, float | None] = {}
        for row in range(self.table.rowCount()):
            name = self.table.item(row, self.TAG_COLUMN).text()
            text = self.table.item(row, self.OVERRIDE_COLUMN).text()
            try:
                out[name] = parse_threshold(text)
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
        thresholds_changed = False
        new_global = self.global_threshold.value() if self.use_global.isChecked() else None
        if new_global != settings.global_threshold:
            settings.global_threshold = new_global
            thresholds_changed = True
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
        store = self.context.store
        if store is not None:
            for name, value in overrides.items():
                old = self._overrides.get(name)
                if (old is None) != (value is None) or (old is not None and abs(old - value) > 1e-9):
                    store.set_tag_threshold(name, value)
                    thresholds_changed = True
        if thresholds_changed:
            self.context.suggestionsChanged.emit()
            self.context.statusMessage.emit("Suggestion thresholds changed")
        super().accept()
