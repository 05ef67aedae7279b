"""Advanced training options: what `python -m training fit` lets a person choose.

Fields left at "Automatic" are not passed, so the trainer applies its own
per-device defaults (the authors' recipe on a GPU, a smaller one on a CPU —
training/cli.py and ADR 0004); the app never imports the trainer to read
them. The choices are remembered between sessions in the settings file.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from clml_desktop.jobs.train_runner import TrainOptions

ARCHITECTURES = ("resnet101", "resnet50", "resnet18")
LOSSES = ("bce", "focal", "asl", "hill", "splc")
LOSS_NAMES = {
    "bce": "BCE (binary cross-entropy)",
    "focal": "Focal",
    "asl": "ASL (asymmetric loss)",
    "hill": "Hill",
    "splc": "SPLC (self-paced loss correction)",
}
DEVICES = ("auto", "cuda", "cpu")
AUTO = "Automatic (per device)"
DEFAULT_LAMBDA = 1.0
DEFAULT_TAU = 0.8
DEFAULT_FOLDS = 2
SETTINGS_PREFIX = "train/"


def _combo(parent: QWidget, items: list[tuple[str, object]]) -> QComboBox:
    box = QComboBox(parent)
    for text, data in items:
        box.addItem(text, data)
    return box


class TrainDialog(QDialog):
    """Edit a `TrainOptions`; `options()` reads the result."""

    def __init__(self, context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setWindowTitle("Training options")
        self.setModal(True)

        self.arch = _combo(self, [(AUTO, None)] + [(a.replace("resnet", "ResNet-"), a) for a in ARCHITECTURES])
        self.arch.setToolTip("The backbone. ResNet-101 is the paper's; ResNet-18 trains far faster on a CPU.")
        self.image_size = QSpinBox(self)
        self.image_size.setRange(0, 1024)
        self.image_size.setSingleStep(32)
        self.image_size.setSpecialValueText(AUTO)
        self.image_size.setSuffix(" px")
        self.image_size.setToolTip("Images are resized to this square size (the paper uses 448 px).")
        self.epochs = QSpinBox(self)
        self.epochs.setRange(0, 500)
        self.epochs.setSpecialValueText(AUTO)
        self.epochs.setToolTip("Passes over the training images (per fold model).")
        self.loss = _combo(self, [(LOSS_NAMES[name], name) for name in LOSSES])
        self.loss.setToolTip("The base multi-label loss the CLML term is added to.")
        self.clml_lambda = QDoubleSpinBox(self)
        self.clml_lambda.setRange(0.0, 10.0)
        self.clml_lambda.setSingleStep(0.1)
        self.clml_lambda.setDecimals(2)
        self.clml_lambda.setToolTip("λ: weight of the CLML term; 0 trains with the base loss only.")
        self.tau = QDoubleSpinBox(self)
        self.tau.setRange(0.5, 0.99)
        self.tau.setSingleStep(0.01)
        self.tau.setDecimals(2)
        self.tau.setToolTip(
            "τ: label correction turns an unknown tag positive when the model is this sure "
            "(a tag you rejected is never turned)."
        )
        self.device = _combo(self, [("Automatic (CUDA when it works)", "auto"), ("CUDA GPU", "cuda"), ("CPU", "cpu")])
        self.device.setToolTip("Where the trainer runs; it reports the device it really used.")
        self.folds = QSpinBox(self)
        self.folds.setRange(1, 10)
        self.folds.setToolTip(
            "K fold models score the training images out-of-fold, so their missing tags are "
            "found; with 2 folds this costs about one full training. 1: no folds."
        )

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow("&Architecture:", self.arch)
        form.addRow("&Image size:", self.image_size)
        form.addRow("&Epochs:", self.epochs)
        form.addRow("Base &loss:", self.loss)
        form.addRow("CLML weight &λ:", self.clml_lambda)
        form.addRow("Label correction &τ:", self.tau)
        form.addRow("&Device:", self.device)
        form.addRow("&Folds:", self.folds)

        note = QLabel(
            "“Automatic” lets the trainer pick for the device: the authors' recipe on a GPU, "
            "a smaller network and image size on a CPU.",
            self,
        )
        note.setWordWrap(True)
        note.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults,
            self,
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self.restore_defaults)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self._load()
        self.setMinimumWidth(420)
        self.arch.setFocus(Qt.FocusReason.OtherFocusReason)

    def restore_defaults(self) -> None:
        self.set_options(TrainOptions(device=self.context.settings.device))

    def set_options(self, opts: TrainOptions) -> None:
        """Show `opts`; None fields show "Automatic" or the trainer's fixed default."""
        self.arch.setCurrentIndex(max(0, self.arch.findData(opts.arch)) if opts.arch else 0)
        self.image_size.setValue(opts.image_size or 0)
        self.epochs.setValue(opts.epochs or 0)
        self.loss.setCurrentIndex(max(0, self.loss.findData(opts.loss or "bce")))
        self.clml_lambda.setValue(DEFAULT_LAMBDA if opts.clml_lambda is None else opts.clml_lambda)
        self.tau.setValue(DEFAULT_TAU if opts.tau is None else opts.tau)
        self.device.setCurrentIndex(max(0, self.device.findData(opts.device or "auto")))
        self.folds.setValue(DEFAULT_FOLDS if opts.folds is None else opts.folds)

    def options(self) -> TrainOptions:
        """The chosen options; automatic fields stay None so the trainer decides."""
        return TrainOptions(
            arch=self.arch.currentData(),
            image_size=self.image_size.value() or None,
            epochs=self.epochs.value() or None,
            loss=self.loss.currentData(),
            clml_lambda=round(self.clml_lambda.value(), 4),
            tau=round(self.tau.value(), 4),
            device=self.device.currentData() or "auto",
            folds=self.folds.value(),
        )

    def accept(self) -> None:
        save_options(self.context.settings.qsettings, self.options())
        super().accept()

    def _load(self) -> None:
        self.set_options(load_options(self.context.settings.qsettings, self.context.settings.device))


def _int(q: QSettings, key: str) -> int | None:
    try:
        return int(q.value(SETTINGS_PREFIX + key, 0)) or None
    except (TypeError, ValueError):
        return None


def _float(q: QSettings, key: str, default: float) -> float:
    try:
        return float(q.value(SETTINGS_PREFIX + key, default))
    except (TypeError, ValueError):
        return default


def load_options(q: QSettings, default_device: str = "auto") -> TrainOptions:
    """The options the Train button uses: those last confirmed in the dialog, else defaults."""
    arch = q.value(SETTINGS_PREFIX + "arch", "")
    loss = q.value(SETTINGS_PREFIX + "loss", "bce")
    device = q.value(SETTINGS_PREFIX + "device", default_device)
    return TrainOptions(
        arch=arch if arch in ARCHITECTURES else None,
        image_size=_int(q, "image_size"),
        epochs=_int(q, "epochs"),
        loss=loss if loss in LOSSES else "bce",
        clml_lambda=min(10.0, max(0.0, _float(q, "clml_lambda", DEFAULT_LAMBDA))),
        tau=min(0.99, max(0.5, _float(q, "tau", DEFAULT_TAU))),
        device=device if device in DEVICES else "auto",
        folds=_int(q, "folds") or DEFAULT_FOLDS,
    )


def save_options(q: QSettings, opts: TrainOptions) -> None:
    q.setValue(SETTINGS_PREFIX + "arch", opts.arch or "")
    q.setValue(SETTINGS_PREFIX + "image_size", opts.image_size or 0)
    q.setValue(SETTINGS_PREFIX + "epochs", opts.epochs or 0)
    q.setValue(SETTINGS_PREFIX + "loss", opts.loss or "bce")
    q.setValue(SETTINGS_PREFIX + "clml_lambda", opts.clml_lambda if opts.clml_lambda is not None else DEFAULT_LAMBDA)
    q.setValue(SETTINGS_PREFIX + "tau", opts.tau if opts.tau is not None else DEFAULT_TAU)
    q.setValue(SETTINGS_PREFIX + "device", opts.device)
    q.setValue(SETTINGS_PREFIX + "folds", opts.folds if opts.folds is not None else DEFAULT_FOLDS)
    q.sync()
