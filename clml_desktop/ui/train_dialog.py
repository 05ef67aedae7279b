"""Advanced training options: what `python -m training fit` lets a person choose.

Fields left at "Automatic" are not passed, so the trainer applies its own
per-device defaults (the authors' recipe on a GPU, a smaller one on a CPU —
training/cli.py and ADR 0004); the app never imports the trainer to read
them. The choices are remembered between sessions in the settings file, so the
Train button first shows them in words (`TrainConfirmDialog`): what will run,
which choices differ from the automatic defaults (one click resets them),
and whether the new model will replace the active one.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
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

from clml_desktop.workflow.training import (
    ACTIVATE_TOLERANCE,
    ACTIVATIONS,
    AUGMENTATIONS,
    TrainOptions,
    fine_tune_source,
    fine_tuned_model,
    minimum_images,
    too_few_images_text,
)

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
        self.if_better = QCheckBox("Make the new model active only if it is not worse", self)
        self.if_better.setToolTip(
            "When the run fine-tunes the active model, both are scored on the same held-out "
            f"images; the new one becomes active unless its mAP is more than {ACTIVATE_TOLERANCE} "
            "lower. It is listed either way (Make active uses it). Unticked: always make it active."
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
        form.addRow("After training:", self.if_better)

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
        self.if_better.setChecked(opts.activate != "always")

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
            activate="if-better" if self.if_better.isChecked() else "always",
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
    activate = q.value(SETTINGS_PREFIX + "activate", "if-better")
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
        activate=activate if activate in ACTIVATIONS else "if-better",
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
    q.setValue(SETTINGS_PREFIX + "activate", opts.activate)
    q.sync()


# The trainer's per-device defaults in words (training/cli.py; a test keeps them equal).
AUTOMATIC_WORDS = {
    "arch": "ResNet-18 on a CPU, ResNet-101 on a GPU",
    "image_size": "64 px on a CPU, 448 px on a GPU",
    "epochs": "10 on a CPU, 20 on a GPU",
    "augment": "mild crop (+ mirror) on a CPU, the authors' recipe on a GPU",
}
DEVICE_WORDS = {"auto": "Automatic (CUDA when it works)", "cuda": "CUDA GPU", "cpu": "CPU"}


def default_options(device: str) -> TrainOptions:
    """What Restore Defaults and Reset to automatic choose: everything automatic."""
    return TrainOptions(device=device)


def describe_options(opts: TrainOptions, defaults: TrainOptions) -> list[tuple[str, str, bool]]:
    """(what, value in words, differs from the default) for the confirmation."""
    def auto(key: str) -> str:
        return f"Automatic — {AUTOMATIC_WORDS[key]}"

    arch = opts.arch.replace("resnet", "ResNet-") if opts.arch else auto("arch")
    rows = [
        ("Architecture", arch, opts.arch != defaults.arch),
        ("Image size", f"{opts.image_size} px" if opts.image_size else auto("image_size"),
         opts.image_size != defaults.image_size),
        ("Epochs", str(opts.epochs) if opts.epochs else auto("epochs"), opts.epochs != defaults.epochs),
        ("Augmentation", AUGMENT_ITEMS[opts.augment][0] if opts.augment else auto("augment"),
         opts.augment != defaults.augment),
        ("Device", DEVICE_WORDS.get(opts.device, opts.device), opts.device != defaults.device),
    ]
    extra = (
        ("Base loss", LOSS_NAMES.get(opts.loss or "", opts.loss), opts.loss != defaults.loss),
        ("CLML weight λ", opts.clml_lambda, opts.clml_lambda != defaults.clml_lambda),
        ("Label correction τ", opts.tau, opts.tau != defaults.tau),
        ("Untagged-pair weight", opts.unknown_weight, opts.unknown_weight != defaults.unknown_weight),
        ("Folds", opts.folds, opts.folds != defaults.folds),
    )
    rows += [(name, str(value), True) for name, value, changed in extra if changed]
    return rows


class TrainConfirmDialog(QDialog):
    """What Train will run, in words, before it runs: Train / Options… / Cancel.

    Options that differ from the automatic defaults are marked and one click
    resets them; too few labelled images disable Train and say why.
    """

    def __init__(self, context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setWindowTitle("Train a new model")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.changed_note = QLabel(self)
        self.changed_note.setWordWrap(True)
        self.refusal = QLabel(self)
        self.refusal.setWordWrap(True)
        self.refusal.setStyleSheet("QLabel { color: #a1281b; }")
        buttons = QDialogButtonBox(self)
        self.train_button = buttons.addButton("Train", QDialogButtonBox.ButtonRole.AcceptRole)
        self.options_button = buttons.addButton("Options…", QDialogButtonBox.ButtonRole.ActionRole)
        self.reset_button = buttons.addButton("Reset to automatic", QDialogButtonBox.ButtonRole.ResetRole)
        self.reset_button.setToolTip("Forget the options chosen before: every option automatic")
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.train_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.options_button.clicked.connect(self.open_options)
        self.reset_button.clicked.connect(self.reset_to_automatic)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.changed_note)
        layout.addWidget(self.refusal)
        layout.addWidget(buttons)
        self.setMinimumWidth(480)
        # (can train, one line, details) from the Train panel's check; None until it answered
        self.trainer_status: tuple[bool, str, str] | None = None
        context.indexChanged.connect(self.refresh)  # the count follows edits and a late index
        self.refresh()

    def set_trainer_status(self, status: tuple[bool, str, str] | None) -> None:
        """Which Python trains (trainer_env.trainer_status): named in the summary, and when
        none can, Train is disabled with the reason instead of failing after a click."""
        self.trainer_status = status
        self.refresh()

    def options(self) -> TrainOptions:
        return load_options(self.context.settings.qsettings, self.context.settings.device)

    def refresh(self) -> None:
        opts = self.options()
        defaults = default_options(self.context.settings.device)
        rows = describe_options(opts, defaults)
        store = self.context.store
        images = self.context.index.labelled_count() if store is not None else 0
        start, active = self._start_words(store, opts)
        lines = [f"<b>{images:,}</b> labelled images (confirmed tags and rejections)", start]
        for name, value, changed in rows:
            mark = " <span style='color:#b35c00'><b>— changed</b></span>" if changed else ""
            shown = f"<b>{_html(value)}</b>" if changed else _html(value)
            lines.append(f"{_html(name)}: {shown}{mark}")
        if active is None:
            lines.append("Afterwards: the new model becomes active")
        elif opts.activate == "always":
            lines.append(f"Afterwards: the new model becomes active, even if it scores below "
                         f"model {_html(active)} <span style='color:#b35c00'><b>— changed</b></span>")
        else:
            lines.append(f"Afterwards: it becomes active only if it scores at least as well as "
                         f"model {_html(active)} on the same images")
        trainer = self.trainer_status
        lines.append("Trainer: " + (_html(trainer[1]) if trainer is not None and trainer[0]
                                     else "not checked yet" if trainer is None else "none can train"))
        self.summary.setText("<br>".join(lines))
        changed = sum(1 for _n, _v, c in rows if c) + (opts.activate != defaults.activate)
        self.changed_note.setText(
            f"{changed} option{'s differ' if changed != 1 else ' differs'} from the automatic "
            "defaults (chosen earlier in Options…)." if changed else
            "Every option is automatic: the trainer picks for the device it runs on.")
        self.reset_button.setEnabled(bool(changed))
        refused = too_few_images_text(images, opts) if store is not None else "Open a folder first"
        if not refused and trainer is not None and not trainer[0]:
            refused = f"{trainer[1].rstrip('.')}. The Train panel's “What to install…” says what to do."
        self.refusal.setText(refused or "")
        self.refusal.setVisible(bool(refused))
        self.train_button.setEnabled(not refused)
        self.train_button.setToolTip(refused or f"Needs at least {minimum_images(opts)} labelled images")

    def _start_words(self, store, opts: TrainOptions) -> tuple[str, str | None]:
        """(how the run starts, in words; the active model's id or None)."""
        if store is None:
            return "Starts from ImageNet weights", None
        active = store.active_model()
        source = fine_tune_source(store, opts)
        if active is not None and fine_tuned_model(store, opts) is not None:
            score = active.metrics.get("val_map")
            detail = f" (held-out mAP {score:.3f})" if isinstance(score, int | float) else ""
            return f"Fine-tunes the active model {_html(active.id)}{detail}", active.id
        why = ""
        if active is not None and source is None:
            why = f" (the active model {_html(active.id)} is another architecture)"
        if source in (None, "imagenet"):
            return f"Starts from ImageNet weights{why}", None if active is None else active.id
        if source == "random":
            return "Starts from random weights", None if active is None else active.id
        return f"Starts from {_html(source)}", None if active is None else active.id

    def open_options(self) -> None:
        dialog = TrainDialog(self.context, self)
        dialog.exec()
        dialog.deleteLater()
        self.refresh()

    def reset_to_automatic(self) -> None:
        save_options(self.context.settings.qsettings, default_options(self.context.settings.device))
        self.refresh()


def _html(value: object) -> str:
    from html import escape

    return escape(str(value))
