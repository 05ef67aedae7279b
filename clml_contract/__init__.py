"""What the app and the trainer must agree on, in one torch-free, Qt-free package.

The desktop app (`clml_desktop`) and the trainer (`models`, `training`) run in
different processes and must never import each other; everything that crosses
between them lives here, written once and imported by both sides: the model
folder's manifest, the training-set file (writer and reader), the trainer's
JSON-lines events (emitter and parser share the dataclasses), the out-of-fold
score file, the image preprocessing both must do alike, the calibration map,
atomic writes, and the one progress/cancel protocol of long work (ADR 0020).
"""
