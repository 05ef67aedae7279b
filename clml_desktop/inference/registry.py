"""The one way a model folder becomes a model the collection knows.

A model reaches a collection three ways: a training run finishes, a person
picks a folder (`suggest --model DIR`), or scoring meets a model the store has
not seen. All three come here, so each registers the same facts (lineage,
metrics, tag order) and a trained model's out-of-fold scores are imported the
same way. Everything is checked before the store changes: a ModelLoadError
for an unusable folder or oof file leaves the collection as it was.
"""

from __future__ import annotations

import hashlib
import logging
import threading
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


_FINGERPRINTS: dict[tuple[str, int, int], str] = {}
_FINGERPRINTS_LOCK = threading.Lock()


def onnx_fingerprint(onnx: Path) -> str:
    """SHA-256 of an ONNX file, remembered per (path, size, mtime) within the process."""
    onnx = Path(onnx).resolve()
    try:
        st = onnx.stat()
    except OSError as exc:
        raise ModelLoadError(f"{onnx}: unreadable ({exc})") from exc
    key = (str(onnx), st.st_size, st.st_mtime_ns)
    with _FINGERPRINTS_LOCK:
        known = _FINGERPRINTS.get(key)
    if known is not None:
        return known
    digest = hashlib.sha256()
    try:
        with open(onnx, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise ModelLoadError(f"{onnx}: unreadable ({exc})") from exc
    with _FINGERPRINTS_LOCK:
        _FINGERPRINTS[key] = digest.hexdigest()
    return digest.hexdigest()


def _onnx_of(model_dir: Path, manifest: Manifest) -> Path:
    # The manifest's validation allows only a plain file name, so this stays inside.
    return model_dir / ((manifest.files or {}).get("onnx") or "model.onnx")


def check_identity(store, model_dir: Path, manifest: Manifest) -> str:
    """The folder's ONNX fingerprint, once it is sure the manifest's id is this model's.

    An id is bound to the ONNX content it was first registered with (issue 14: two
    folders named `model`, or a folder carrying another model's id, must never share
    or overwrite each other's cached scores). A registered id whose content differs
    raises ModelLoadError; the same content in another folder (a moved or copied
    model) is the same model. Rows registered before fingerprints were kept are
    judged by their own folder's file when it is still there, else by the tag list.
    """
    model_dir = Path(model_dir).resolve()
    onnx = _onnx_of(model_dir, manifest)
    if not onnx.is_file():
        raise ModelLoadError(f"{onnx}: missing; the model folder has no ONNX model")
    digest = onnx_fingerprint(onnx)
    row = registered(store, manifest.id)
    if row is None:
        return digest
    known = store.model_fingerprint(row.id)
    if known is None:  # registered before fingerprints: decide once, then it is recorded
        old_dir = Path(row.path)
        same_place = old_dir.exists() and old_dir.resolve() == model_dir
        if same_place:
            return digest
        try:
            old_manifest = read_manifest(old_dir)
            old_onnx = _onnx_of(old_dir, old_manifest)
            known = onnx_fingerprint(old_onnx) if old_onnx.is_file() else None
        except ModelLoadError:
            known = None
        if known is None:
            if list(row.tags) == list(manifest.tags):
                return digest
            known = "(a model with other tags)"
    if known != digest:
        raise ModelLoadError(
            f"{model_dir}: its manifest says it is model {manifest.id!r}, but this collection "
            f"has a different model registered under that id ({row.path}); its scores are not "
            f"this model's, so it was not used. Export the folder again to give it its own id: "
            f"python -m training export {model_dir} --out NEW_FOLDER"
        )
    return digest


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
    model_id = manifest.id  # validated non-empty; never the folder's name (issue 14)
    digest = check_identity(store, model_dir, manifest)
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
        onnx_sha256=digest,
    )
    if oof is not None:
        count = store_oof(store, model_id, oof)
        log.info("model %s: imported out-of-fold scores of %d training images", model_id, count)
    row = registered(store, model_id)
    assert row is not None
    return row


def ensure_registered(store: CollectionStore, model_dir: Path | str, manifest: Manifest) -> ModelRow:
    """The store's row of a model about to be scored with; registered (not made active)
    when new, since cached predictions belong to a known model. ModelLoadError when
    the folder claims the id of a different model (`check_identity`)."""
    known = registered(store, manifest.id)
    if known is None:
        return register_model(store, model_dir, activate=False, manifest=manifest)
    digest = check_identity(store, Path(model_dir), manifest)
    if store.model_fingerprint(known.id) is None:  # a row from before fingerprints: record it
        store.add_model(known.id, known.path, parent=known.parent, metrics=known.metrics,
                        tags=known.tags, created=known.created, activate=False,
                        onnx_sha256=digest)
    return known
