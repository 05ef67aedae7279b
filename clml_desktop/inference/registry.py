"""The one way a model folder becomes a model the collection knows.

A model reaches a collection three ways: a training run finishes, a person
picks a folder (`suggest --model DIR`), or scoring meets a model the store has
not seen. All three come here, so each registers the same facts (lineage,
metrics, tag order) and a trained model's out-of-fold scores are imported the
same way. Everything is checked before the store changes: a ModelLoadError
for an unusable folder or oof file leaves the collection as it was.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from clml_contract.manifest import Manifest
from clml_desktop.collection.rows import ModelRow
from clml_desktop.inference.engine import read_manifest
from clml_desktop.inference.errors import ModelLoadError
from clml_desktop.inference.oof import load_oof, store_oof

if TYPE_CHECKING:  # type-only, so importing this module never opens a cycle
    from clml_desktop.collection.store import CollectionStore

log = logging.getLogger(__name__)


def registered(store: CollectionStore, model_id: str) -> ModelRow | None:
    """The store's row of `model_id`, or None."""
    return next((row for row in store.models() if row.id == model_id), None)


def register_model(
    store,
    model_dir: Path | str,
    *,
    activate: bool,
    manifest: Manifest | None = None,
    with_oof: bool = True,
) -> ModelRow:
    """Register `model_dir` under its manifest's id (again, if it was: the folder's facts
    win), optionally make it active, and import its out-of-fold scores when it has some."""
    model_dir = Path(model_dir).resolve()
    manifest = manifest if manifest is not None else read_manifest(model_dir)
    model_id = manifest.id or model_dir.name
    onnx = model_dir / ((manifest.files or {}).get("onnx") or "model.onnx")
    if not onnx.is_file():
        raise ModelLoadError(f"{onnx}: missing; the model folder has no ONNX model")
    oof_name = (manifest.files or {}).get("oof") if with_oof else None
    oof = load_oof(model_dir / oof_name, len(manifest.tags)) if oof_name else None
    store.add_model(
        model_id,
        str(model_dir),
        parent=manifest.parent,
        metrics=dict(manifest.metrics or {}),
        tags=list(manifest.tags),
        created=manifest.created,
        activate=activate,
    )
    if oof is not None:
        count = store_oof(store, model_id, oof)
        log.info("model %s: imported out-of-fold scores of %d training images", model_id, count)
    row = registered(store, model_id)
    assert row is not None
    return row


def ensure_registered(store: CollectionStore, model_dir: Path | str, manifest: Manifest) -> ModelRow:
    """The store's row of a model about to be scored with; registered (not made active)
    when new, since cached predictions belong to a known model."""
    known = registered(store, manifest.id or Path(model_dir).name)
    return known if known is not None else register_model(
        store, model_dir, activate=False, manifest=manifest
    )
