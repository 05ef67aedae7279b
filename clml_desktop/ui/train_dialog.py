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

from clml_desktop.workflow.training import AUGMENTATIONS, TrainOptions

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
# What each --augment mode may break, in the words a person choosing one needs (training/augment.py).
AUGMENT_ITEMS = {
    "auto": ("Mild crop, + mirror unless a tag says left or right",
             "A mild random crop and zoom; images are also mirrored half of the time unless a tag's "
             "name says left or right (then mirroring would make that tag false)."),
    "none": ("None — resize only",
             "Each image is only resized: nothing can hide a tag, but a small collection is "
             "seen the same way every epoch."),
    "crop": ("Mild crop — keeps ≥90% of each side",
             "A mild random crop and zoom that keeps at least 90% of the width and of the height, "
             "so a tagged object near a border stays in view; colours never change."),
    "crop-flip": ("Mild crop + mirror — not for left/right tags or text",
                  "The mild crop, and a mirror image half of the time. Not for collections with "
                  "tags like “facing left” or with text in the images."),
    "randaugment": ("Authors' COCO recipe — colour changes and cutout: not for colour tags or small objects",
                    "The CLML authors' COCO recipe: a cutout of half the image side and RandAugment's "
                    "colour, contrast and posterize changes. It can erase a small object and change "
                    "colours, so use it only where tags are large objects whose colour does not matter."),
}
UNKNOWN_WEIGHT_AUTO = -0.05  # one step below 0: the spin box's "Automatic" state
LAMBDA_AUTO = -0.1  # one step below 0: the λ spin box's "Automatic" state
TAU_AUTO = 0.49  # one step below 0.5: the τ spin box's "Automatic" state
FOLDS_AUTO = 0  # below 1: the folds spin box's "Automatic" state
# The trainer's τ and folds defaults (the same on every device), shown next to "Automatic".
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
        self.augment = _combo(self, [(AUTO, None)] + [(AUGMENT_ITEMS[a][0], a) for a in AUGMENTATIONS])
        self.augment.setItemData(0, "The trainer picks for the device it runs on.", Qt.ItemDataRole.ToolTipRole)
        for index, name in enumerate(AUGMENTATIONS, start=1):
            self.augment.setItemData(index, AUGMENT_ITEMS[name][1], Qt.ItemDataRole.ToolTipRole)
        self.augment.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.augment.setMinimumContentsLength(28)
        self.augment.setToolTip(
            "How training images are varied. Every change must keep each of an image's tags true: "
            "pick the mildest mode your tags allow (hover over a choice for what it may break)."
        )
        self.loss = _combo(self, [(AUTO, None)] + [(LOSS_NAMES[name], name) for name in LOSSES])
        self.loss.setToolTip(
            "The base multi-label loss the CLML term is added to. Automatic: the trainer's "
            "default for the device (SPLC on a GPU, BCE on a CPU)."
        )
        self.clml_lambda = QDoubleSpinBox(self)
        self.clml_lambda.setRange(LAMBDA_AUTO, 10.0)
        self.clml_lambda.setSingleStep(0.1)
        self.clml_lambda.setDecimals(2)
        self.clml_lambda.setSpecialValueText(AUTO)
        self.clml_lambda.setToolTip(
            "λ: weight of the CLML term; 0 trains with the base loss only. Automatic: the "
            "trainer's default for the device (1 on a GPU, 0 on a CPU)."
        )
        self.tau = QDoubleSpinBox(self)
        self.tau.setRange(TAU_AUTO, 0.99)
        self.tau.setSingleStep(0.01)
        self.tau.setDecimals(2)
        self.tau.setSpecialValueText(f"Automatic ({DEFAULT_TAU:.2f})")
        self.tau.setToolTip(
            "τ: label correction turns an unknown tag positive when the model is this sure "
            "(a tag you rejected is never turned)."
        )
        self.unknown_weight = QDoubleSpinBox(self)
        self.unknown_weight.setRange(UNKNOWN_WEIGHT_AUTO, 1.0)
        self.unknown_weight.setSingleStep(0.05)
        self.unknown_weight.setDecimals(2)
        self.unknown_weight.setSpecialValueText(AUTO)
        self.unknown_weight.setToolTip(
            "How much an untagged (image, tag) pair counts as “tag absent”. 1: fully, as in the "
            "paper. Below 1: a weak negative, for collections where many tags are missing. "
            "0: not at all. A tag you rejected always counts fully."
        )
        self.device = _combo(self, [("Automatic (CUDA when it works)", "auto"), ("CUDA GPU", "cuda"), ("CPU", "cpu")])
        self.device.setToolTip("Where the trainer runs; it reports the device it really used.")
        self.folds = QSpinBox(self)
        self.folds.setRange(FOLDS_AUTO, 10)
        self.folds.setSpecialValueText(f"Automatic ({DEFAULT_FOLDS})")
        self.folds.setToolTip(
            "K fold models score the training images out-of-fold, so their missing tags are "
            "found; with 2 folds this costs about one full training. 1: no folds."
        )

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow("&Architecture:", self.arch)
        form.addRow("&Image size:", self.image_size)
        form.addRow("&Epochs:", self.epochs)
        form.addRow("A&ugmentation:", self.augment)
        form.addRow("Base &loss:", self.loss)
        form.addRow("CLML weight &λ:", self.clml_lambda)
        form.addRow("Label correction &τ:", self.tau)
        form.addRow("Untagged pairs count as negatives with &weight:", self.unknown_weight)
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
        """Show `opts`; None fields show "Automatic"."""
        self.arch.setCurrentIndex(max(0, self.arch.findData(opts.arch)) if opts.arch else 0)
        self.image_size.setValue(opts.image_size or 0)
        self.epochs.setValue(opts.epochs or 0)
        self.augment.setCurrentIndex(max(0, self.augment.findData(opts.augment)) if opts.augment else 0)
        self.unknown_weight.setValue(UNKNOWN_WEIGHT_AUTO if opts.unknown_weight is None else opts.unknown_weight)
        self.loss.setCurrentIndex(max(0, self.loss.findData(opts.loss)) if opts.loss else 0)
        self.clml_lambda.setValue(LAMBDA_AUTO if opts.clml_lambda is None else opts.clml_lambda)
        self.tau.setValue(TAU_AUTO if opts.tau is None else opts.tau)
        self.device.setCurrentIndex(max(0, self.device.findData(opts.device or "auto")))
        self.folds.setValue(FOLDS_AUTO if opts.folds is None else opts.folds)

    def options(self) -> TrainOptions:
        """The chosen options; automatic fields stay None so the trainer decides."""
        return TrainOptions(
            arch=self.arch.currentData(),
            image_size=self.image_size.value() or None,
            epochs=self.epochs.value() or None,
            loss=self.loss.currentData(),
            clml_lambda=None if self.clml_lambda.value() < 0 else round(self.clml_lambda.value(), 4),
            tau=None if self.tau.value() < 0.5 else round(self.tau.value(), 4),
            device=self.device.currentData() or "auto",
            folds=self.folds.value() or None,
            augment=self.augment.currentData(),
            unknown_weight=None if self.unknown_weight.value() < 0 else round(self.unknown_weight.value(), 2),
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


def _float(q: QSettings, key: str, low: float, high: float) -> float | None:
    """The saved value, or None (automatic) when unset, unreadable or outside low..high."""
    try:
        value = float(q.value(SETTINGS_PREFIX + key, ""))
    except (TypeError, ValueError):
        return None
    return value if low <= value <= high else None


def load_options(q: QSettings, default_device: str = "auto") -> TrainOptions:
    """The options the Train button uses: those last confirmed in the dialog, else defaults."""
    arch = q.value(SETTINGS_PREFIX + "arch", "")
    loss = q.value(SETTINGS_PREFIX + "loss", "")
    device = q.value(SETTINGS_PREFIX + "device", default_device)
    augment = q.value(SETTINGS_PREFIX + "augment", "")
    folds = _int(q, "folds")
    return TrainOptions(
        arch=arch if arch in ARCHITECTURES else None,
        image_size=_int(q, "image_size"),
        epochs=_int(q, "epochs"),
        loss=loss if loss in LOSSES else None,
        clml_lambda=_float(q, "clml_lambda", 0.0, 10.0),
        tau=_float(q, "tau", 0.5, 0.99),
        device=device if device in DEVICES else "auto",
        folds=folds if folds is not None and 1 <= folds <= 10 else None,
        augment=augment if augment in AUGMENTATIONS else None,
        unknown_weight=_float(q, "unknown_weight", 0.0, 1.0),
    )


def save_options(q: QSettings, opts: TrainOptions) -> None:
    q.setValue(SETTINGS_PREFIX + "arch", opts.arch or "")
    q.setValue(SETTINGS_PREFIX + "image_size", opts.image_size or 0)
    q.setValue(SETTINGS_PREFIX + "epochs", opts.epochs or 0)
    q.setValue(SETTINGS_PREFIX + "loss", opts.loss or "")
    q.setValue(SETTINGS_PREFIX + "clml_lambda", "" if opts.clml_lambda is None else opts.clml_lambda)
    q.setValue(SETTINGS_PREFIX + "tau", "" if opts.tau is None else opts.tau)
    q.setValue(SETTINGS_PREFIX + "device", opts.device)
    q.setValue(SETTINGS_PREFIX + "folds", opts.folds or 0)
    q.setValue(SETTINGS_PREFIX + "augment", opts.augment or "")
    q.setValue(SETTINGS_PREFIX + "unknown_weight", "" if opts.unknown_weight is None else opts.unknown_weight)
    q.sync()
