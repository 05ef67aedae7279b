"""`python -m training export` and `import-checkpoint`: a checkpoint in, a model folder out.

`export` rescues the weights of a run that stopped before writing its model
(the last good checkpoint.pt) or re-exports a model folder; `import-checkpoint`
brings a checkpoint of the authors' release into the app. Both verify the
ONNX file against torch before the folder appears. Like `fit`, stdout carries
only JSON-line events (`done` or `error`); people read stderr.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from clml_contract.events import DoneEvent, ErrorEvent

ARCH_CHOICES = ("resnet18", "resnet50", "resnet101")


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Register `export` and `import-checkpoint` on the trainer's CLI."""
    export = subparsers.add_parser(
        "export",
        help="checkpoint -> model folder (ONNX verified against torch, manifest, checkpoint)",
        description="Export CKPT (a checkpoint.pt or a model folder) into a new MODEL_DIR. Unset options "
        "come from a manifest beside CKPT when there is one.",
    )
    export.add_argument("checkpoint", type=Path, metavar="CKPT")
    export.add_argument("--out", type=Path, required=True, metavar="MODEL_DIR")
    export.add_argument(
        "--arch", choices=ARCH_CHOICES, help="default: the manifest's, else read from CKPT"
    )
    export.add_argument("--image-size", type=int, help="default: the manifest's, else 448")
    export.add_argument(
        "--tags", type=Path, metavar="NAMES.txt", help="tag names, one a line, in output order"
    )
    export.add_argument(
        "--images", type=Path, metavar="DIR", help="check the export on images of DIR"
    )
    export.set_defaults(run=run_export)

    imp = subparsers.add_parser(
        "import-checkpoint",
        help="a checkpoint of the authors' release -> model folder",
        description="Convert a checkpoint of github.com/chuangua/ContrastiveLossMLML (DataParallel/EMA "
        "prefixes are stripped) and its class names into a model folder the app can use.",
    )
    imp.add_argument("checkpoint", type=Path, metavar="CKPT")
    imp.add_argument(
        "--classes",
        type=Path,
        required=True,
        metavar="NAMES.txt",
        help="class names, one a line, in the checkpoint's output order",
    )
    imp.add_argument("--out", type=Path, required=True, metavar="MODEL_DIR")
    imp.add_argument(
        "--arch", choices=ARCH_CHOICES, help="default: read from CKPT (the release uses resnet101)"
    )
    imp.add_argument(
        "--image-size", type=int, default=448, help="default 448, as the release trains"
    )
    imp.add_argument("--images", type=Path, metavar="DIR", help="check the export on images of DIR")
    imp.set_defaults(run=run_import)


def run_export(args: argparse.Namespace) -> int:
    from models.convert import export_checkpoint, read_class_names

    def work():
        tags = read_class_names(args.tags) if args.tags else None
        return export_checkpoint(
            args.checkpoint,
            args.out,
            arch=args.arch,
            image_size=args.image_size,
            tags=tags,
            verify_folder=args.images,
        )

    return _run(work, args.out)


def run_import(args: argparse.Namespace) -> int:
    from models.convert import import_authors_checkpoint

    def work():
        return import_authors_checkpoint(
            args.checkpoint,
            args.classes,
            args.out,
            arch=args.arch,
            image_size=args.image_size,
            verify_folder=args.images,
        )

    return _run(work, args.out)


def _run(work, out: Path) -> int:
    """Speak the protocol around `work`: `done` with the folder, or `error` with the reason."""
    from training.progress import Progress, claim_stdout

    saved = sys.stdout
    progress = Progress(claim_stdout(), sys.stderr)
    try:
        manifest = work()
    except (ValueError, RuntimeError, OSError) as exc:
        progress.log(f"error: {exc}")
        progress.emit(ErrorEvent(message=str(exc)))
        return 1
    except Exception as exc:  # every failure must still end with an error event
        traceback.print_exc(file=sys.stderr)
        progress.emit(ErrorEvent(message=f"{type(exc).__name__}: {exc}"))
        return 1
    finally:
        sys.stdout = saved
    progress.log(
        f"wrote {out}: {manifest.architecture}, {len(manifest.tags)} tags, {manifest.input_size} px, "
        f"ONNX matches torch within {manifest.metrics.get('onnx_parity_rel_err')}"
    )
    progress.emit(DoneEvent(model_dir=str(out), metrics=manifest.metrics))
    return 0
