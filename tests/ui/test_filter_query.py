"""The grid's filter logic, Qt-free (clml_desktop.collection.query)."""

from __future__ import annotations

import numpy as np

from clml_desktop.collection.query import (
    ImageFilter,
    LabelIndex,
    SuggestionScores,
    filter_ids,
    format_tag_expression,
    parse_tag_expression,
)


def _index() -> LabelIndex:
    #            dog cat  hat
    states = [
        [1, 0, 0],  # 1 a/dog.jpg
        [1, 1, 0],  # 2 b/dogcat.jpg
        [0, 1, -1],  # 3 cat.png (hat rejected)
        [0, 0, 0],  # 4 empty.jpg
        [1, 0, 1],  # 5 doghat.JPG
    ]
    scores = SuggestionScores(
        image_ids=np.array([4, 3, 1]),
        tags=["cat", "hat", "dog"],
        probs=np.array([[0.9, 0.2, 0.1], [0.1, 0.95, 0.3], [0.6, 0.4, 0.99]], np.float32),
        thresholds=np.array([0.5, 0.5, 0.5], np.float32),
    )
    return LabelIndex.build(
        [1, 2, 3, 4, 5],
        ["a/dog.jpg", "b/dogcat.jpg", "cat.png", "empty.jpg", "doghat.JPG"],
        [None, None, None, None, "cannot decode"],
        [10, 11, 12],
        ["dog", "cat", "hat"],
        np.array(states, np.int8),
        scores,
    )


def ids(index: LabelIndex, flt: ImageFilter) -> list[int]:
    return filter_ids(index, flt).tolist()


def test_and_or_not():
    index = _index()
    assert ids(index, ImageFilter(require=(("dog",), ("cat",)))) == [2]
    assert ids(index, ImageFilter(require=(("cat", "hat"),))) == [2, 3, 5]
    assert ids(index, ImageFilter(require=(("dog",),), exclude=("cat", "hat"))) == [1]
    assert ids(index, ImageFilter(exclude=("dog",))) == [3, 4]


def test_unknown_tag_in_and_matches_nothing_but_not_is_ignored():
    index = _index()
    assert ids(index, ImageFilter(require=(("zebra",),))) == []
    assert ids(index, ImageFilter(exclude=("zebra",))) == [1, 2, 3, 4, 5]


def test_untagged_problems_and_name():
    index = _index()
    assert ids(index, ImageFilter(untagged=True)) == [4]
    assert ids(index, ImageFilter(problems_only=True)) == [5]
    assert ids(index, ImageFilter(name="DOG")) == [1, 2, 5]
    assert ids(index, ImageFilter(name="b/")) == [2]


def test_suggestions_only_count_unknown_pairs_over_threshold():
    index = _index()
    # image 4: cat 0.9 (unknown) -> pending; image 3: hat 0.95 but rejected -> not pending;
    # image 1: cat 0.6 unknown -> pending, dog 0.99 is already positive.
    assert ids(index, ImageFilter(has_suggestions=True)) == [1, 4]
    assert index.pending_counts().tolist() == [1, 0, 0, 1, 0]
    positives, pending, negatives = index.tag_counts()
    assert positives.tolist() == [3, 2, 1]
    assert pending.tolist() == [0, 2, 0]
    assert negatives.tolist() == [0, 0, 1]


def test_score_range():
    index = _index()
    assert ids(index, ImageFilter(score_min=0.85)) == [4]
    assert ids(index, ImageFilter(score_min=0.3, score_max=0.5)) == [1, 3]


def test_patch_after_edit_and_new_tag_needs_reload():
    index = _index()
    assert index.set_state([4], "dog", 1)
    assert ids(index, ImageFilter(untagged=True)) == []
    assert not index.set_state([4], "brand new", 1)


def test_parse_and_format_expression_round_trip():
    require, exclude = parse_tag_expression("dog, long hair | cat ,-hat, NOT fox")
    assert require == (("dog",), ("long hair", "cat"))
    assert exclude == ("hat", "fox")
    assert parse_tag_expression(format_tag_expression(require, exclude)) == (require, exclude)
    assert parse_tag_expression("  ") == ((), ())


def test_describe_and_with_tag():
    flt = ImageFilter().with_tag("dog").with_tag("dog").with_tag("cat")
    assert flt.require == (("dog",), ("cat",))
    assert flt.describe() == "dog AND cat"
    assert ImageFilter().describe() == "all images"
    assert ImageFilter().is_empty()
