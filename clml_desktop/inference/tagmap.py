"""Which model output is which collection tag.

A model's manifest lists its tags in output order; the collection has its
own. They meet by exact name first, then by the collection's matching key
(`long_hair` ≡ `Long Hair`), so a model trained elsewhere lands on the tags a
person already has. Collection tags the model does not know get no
suggestions; tags only the model knows are offered as new tags.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from clml_contract.tagnames import tag_key
from clml_desktop.collection.rows import TagRow
from clml_desktop.inference.errors import TagMismatchError


@dataclass(frozen=True)
class TagMap:
    """Model columns ↔ collection tags.

    `columns[i]` is the model output that scores collection tag `tag_ids[i]`
    (spelled `names[i]` in the collection). `new_columns`/`new_names` are the
    model's tags the collection lacks; `unscored` the collection's tags the
    model lacks.
    """

    model_tags: list[str]
    columns: np.ndarray
    tag_ids: np.ndarray
    names: list[str]
    new_columns: np.ndarray
    new_names: list[str]
    unscored: list[str] = field(default_factory=list)

    @classmethod
    def build(
        cls, model_tags: Sequence[str], collection_tags: Iterable[TagRow], *, source: str = "model"
    ) -> TagMap:
        """Match by name, then by key; raises TagMismatchError when nothing at all matches
        a collection that has tags (a model for another collection)."""
        rows = list(collection_tags)
        by_name = {row.name: row for row in rows}
        by_key: dict[str, TagRow] = {}
        for row in rows:
            by_key.setdefault(row.key or tag_key(row.name), row)
        used: set[int] = set()
        columns, tag_ids, names, new_columns, new_names = [], [], [], [], []
        for column, tag in enumerate(model_tags):
            row = by_name.get(tag) or by_key.get(tag_key(tag))
            if row is not None and row.id not in used:
                used.add(row.id)
                columns.append(column)
                tag_ids.append(row.id)
                names.append(row.name)
            elif row is None:
                new_columns.append(column)
                new_names.append(tag)
        if rows and not columns:
            sample = ", ".join(list(model_tags)[:5])
            raise TagMismatchError(
                f"{source}: none of the model's {len(model_tags)} tags ({sample}{', ...' if len(model_tags) > 5 else ''}) "
                f"is a tag of this collection; it was trained for another collection"
            )
        return cls(
            model_tags=list(model_tags),
            columns=np.asarray(columns, dtype=np.int64),
            tag_ids=np.asarray(tag_ids, dtype=np.int64),
            names=names,
            new_columns=np.asarray(new_columns, dtype=np.int64),
            new_names=new_names,
            unscored=sorted(row.name for row in rows if row.id not in used),
        )

    def summary(self) -> str:
        """One line for logs: how many tags match, are new, or go unscored."""
        return (
            f"{len(self.columns)} of the model's {len(self.model_tags)} tags match the collection; "
            f"{len(self.new_names)} new, {len(self.unscored)} collection tags unscored"
        )
