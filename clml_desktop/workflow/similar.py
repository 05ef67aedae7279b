"""Similar images: the images that look most like some images, by the active model's
embeddings (cosine over the cached embeddings, `inference.similarity`).

One search for the CLI's `similar` and the window's Find Similar, so both list
the same images in the same order: `similar_images` reads the embeddings the
store holds for the model and ranks them. What differs is only how images the
model has not scored yet get their embeddings first: the CLI scores them in
its own process (`cli.similar`), the window in the scoring child off the GUI
thread (`find_similar`, run in a Worker). Images still without an embedding
afterwards (a cancel, an oof row without one) are counted in
`SimilarImages.unscored`, so the caller can say that they were not searched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from clml_contract.progress import Control
from clml_desktop.collection.store import CollectionStore
from clml_desktop.inference.errors import InferenceError
from clml_desktop.inference.similarity import Neighbour, SimilarityIndex

DEFAULT_K = 20
NO_MODEL = "Train a model first: similar images are found by the active model"


@dataclass(frozen=True)
class SimilarImages:
    """The neighbours of `query_paths`, best first, and what was not searched."""

    model_id: str
    query_ids: tuple[int, ...]
    query_paths: tuple[str, ...]
    neighbours: tuple[Neighbour, ...]
    paths: tuple[str, ...]  # of the neighbours, in their order
    unscored: int = 0  # readable images with no embedding from the model (not searched)
    scored: int = 0  # images scored first, to have their embeddings

    @property
    def image_ids(self) -> tuple[int, ...]:
        return tuple(n.image_id for n in self.neighbours)

    def label(self) -> str:
        """What the images are similar to: a file name, or how many images."""
        if len(self.query_paths) == 1:
            return self.query_paths[0].rpartition("/")[2]
        return f"{len(self.query_paths)} images"

    def unscored_text(self) -> str:
        """'12 images have no score yet' (empty when every readable image was searched)."""
        if not self.unscored:
            return ""
        noun = "image has" if self.unscored == 1 else "images have"
        return f"{self.unscored:,} {noun} no score yet (not searched)"


def active_model_id(store: CollectionStore) -> str:
    active = store.active_model()
    if active is None:
        raise InferenceError(NO_MODEL)
    return active.id


def similar_images(
    store: CollectionStore,
    image_ids: Sequence[int],
    k: int = DEFAULT_K,
    model_id: str | None = None,
    *,
    scored: int = 0,
) -> SimilarImages:
    """The `k` images most like `image_ids` (their mean direction), queries excluded.

    Reads only what the store holds: score images first when they may lack an
    embedding. Raises InferenceError when there is no model or a query image
    has no embedding (it could not be read, or was not scored).
    """
    if model_id is None:
        model_id = active_model_id(store)
    ids = [int(i) for i in image_ids]
    if not ids:
        raise InferenceError("choose an image to find images like it")
    rows = {row.id: row for row in store.images()}
    index = SimilarityIndex.from_store(store, model_id)
    lacking = [i for i in ids if i not in index]
    if lacking:
        names = ", ".join(rows[i].path if i in rows else str(i) for i in lacking)
        problem = next((rows[i].problem for i in lacking if i in rows and rows[i].problem), None)
        why = f"it could not be read ({problem})" if problem else "score the collection first"
        raise InferenceError(f"no embedding for {names}: {why}")
    neighbours = tuple(index.similar_to(ids, k=k))
    unscored = sum(1 for row in rows.values() if row.problem is None and row.id not in index)
    return SimilarImages(
        model_id=model_id,
        query_ids=tuple(ids),
        query_paths=tuple(rows[i].path for i in ids),
        neighbours=neighbours,
        paths=tuple(rows[n.image_id].path if n.image_id in rows else str(n.image_id) for n in neighbours),
        unscored=unscored,
        scored=scored,
    )


def find_similar(
    control: Control, root: Path, image_ids: Sequence[int], k: int = DEFAULT_K, device: str = "auto"
) -> SimilarImages:
    """The window's Find Similar, for a worker thread: score the images the active
    model has no current score for (in the scoring child, `workflow.scoring`), then
    `similar_images`. A cancel while scoring raises `Cancelled`."""
    from clml_desktop.inference.engine import model_dir_of
    from clml_desktop.workflow.scoring import score_in_child

    with CollectionStore.open(Path(root)) as store:
        active = store.active_model()
        if active is None:
            raise InferenceError(NO_MODEL)
        model_id, model_dir = active.id, model_dir_of(store, active)
        todo = len(store.images_needing_predictions(model_id))
    scored = 0
    if todo:
        control.report(0, todo, f"Scoring {todo:,} images for similarity")
        scored = score_in_child(control, Path(root), model_dir, device).scored
    control.check()
    with CollectionStore.open(Path(root)) as store:
        return similar_images(store, image_ids, k, model_id, scored=scored)
