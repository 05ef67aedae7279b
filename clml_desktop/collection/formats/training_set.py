"""The training-set JSONL the trainer reads (ADR 0002).

First line `{"tags": [...]}` fixes the tag order (the model's output order);
then one object per image with an absolute path, its positives and the
negatives a person confirmed. Anything not listed is unknown to the trainer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence


def render_training_set(rows: Iterable[tuple[str, Sequence[str], Sequence[str]]], tags: Sequence[str]) -> str:
    """JSONL text from (absolute path, positives, negatives) rows and the tag order."""
    lines = [json.dumps({"tags": list(tags)}, ensure_ascii=False)]
    for path, positives, negatives in rows:
        lines.append(
            json.dumps({"path": path, "positives": list(positives), "negatives": list(negatives)}, ensure_ascii=False)
        )
    return "\n".join(lines) + "\n"
