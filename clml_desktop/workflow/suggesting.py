"""Fresh suggestions: score what lacks a current score, then build the suggestion set.

Every view of suggestions (the window's badges and review, `suggest`,
exports with suggestions) reads them through `SuggestionSet.build`, which
applies the one threshold rule (`inference.thresholds`). What differs is only
whether the scores are fresh: the window scores in the background
(`workflow.scoring`) and rebuilds when that ends, the command line scores
first and then builds, here, so `suggest` and `train` say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clml_contract.progress import Control
from clml_desktop.collection.store import CollectionStore
from clml_desktop.inference.engine import Engine, model_dir_of
from clml_desktop.inference.errors import InferenceError
from clml_desktop.inference.pipeline import PipelineReport, predict_collection
from clml_desktop.inference.suggestions import SuggestionSet


@dataclass(frozen=True)
class FreshSuggestions:
    """What scoring did, and the suggestions of the model it scored with."""

    scoring: PipelineReport
    suggestions: SuggestionSet


def model_dir_for(store: CollectionStore, given: Path | None = None) -> Path:
    """The model to suggest with: `given`, else the active model's folder.

    Raises InferenceError saying what to do when the collection has no model.
    """
    if given is not None:
        return given.expanduser()
    active = store.active_model()
    if active is None:
        raise InferenceError(
            f"{store.root}: the collection has no model yet; run `clml-desktop train {store.root}` "
            "or pass --model MODEL_DIR"
        )
    return model_dir_of(store, active)


def fresh_suggestions(
    store: CollectionStore, engine: Engine, control: Control | None = None
) -> FreshSuggestions:
    """Score the images `engine`'s model has no current score for, then build its suggestions.

    A cancel (through `control`) keeps what was scored and builds from it.
    """
    scoring = predict_collection(store, engine, control=control)
    return FreshSuggestions(scoring, SuggestionSet.build(store, engine.model_id))
