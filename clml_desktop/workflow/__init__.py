"""The Qt-free workflow: every step of the main path (edit labels and tags, load the
label index and the review queue, count and write an export) as plain functions
over a collection, which both the command line and the window call.

Why a layer of its own: the CLI and the window used to perform the same steps
twice (the window inside Qt widgets and its context object, the CLI in its
commands), so their texts and rules drifted. A step here takes a store or a
collection folder, a `clml_contract.progress.Control` where it is long, and
returns a plain result; the window's widgets only run it (in a `Worker` when it
is slow) and show what it returns. Nothing here may import Qt
(tests/test_import_rules.py). Training, scoring and opening move here too.
"""
