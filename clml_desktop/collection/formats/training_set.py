"""The training-set JSONL the trainer reads (ADR 0002).

First line `{"tags": [...]}` fixes the tag order (the model's output order);
then one object per image with an absolute path, its positives and the
negatives a person confirmed, and `"confirmed": true` where a person has
labelled the image by hand or reviewed a suggestion on it (the trainer holds
such images out to measure the model on labels it can trust). Anything not
listed is unknown to the trainer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

TrainingRow = tuple[str, Sequence[str], Sequence[str], bool]


def render_training_set(rows: Iterable[TrainingRow], tags: Sequence[str]) -> str:
    """JSONL text from (absolute path, positives, negatives, confirmed) rows and the tag order."""
    lines = [json.dumps({"tags": list(tags)}, ensure_ascii=False)]
    for path, positives, negatives, confirmed in rows:
        item: dict[str, object] = {"path": path, "positives": list(positives), "negatives": list(negatives)}
        if confirmed:
            item["confirmed"] = True
        lines.append(json.dumps(item, ensure_ascii=False))
    return "\n".join(lines) + "\n"
