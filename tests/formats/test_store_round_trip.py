"""Store -> export -> import into a fresh copy of the collection -> the same labels,
for every format (negatives only where the format holds them)."""

from __future__ import annotations

import shutil

import pytest

from clml_desktop.collection.exporting import export_labels
from clml_desktop.collection.importing import import_file, import_folder
from clml_desktop.collection.scan import scan_folder
from clml_desktop.collection.store import CollectionStore

LABELS = {
    "a.jpg": (["trigger word", "Ünïcode ß", 'say "hi"', "it's"], ["(weighted:1.2)"]),
    "b.png": (["🐈 cat", "[bracket]"], []),
    "sub/c.jpg": (["trigger word"], ["🐈 cat"]),
}
WITH_NEGATIVES = {"csv-tags", "csv-wide", "csv-long", "json"}
ORDER_KEPT = {"txt", "caption", "xmp", "csv-tags", "csv-long", "json", "list"}


@pytest.mark.parametrize("fmt", ["txt", "caption", "xmp", "csv-tags", "csv-wide", "csv-long", "json", "list"])
def test_export_then_import_gives_the_same_labels(folder, tmp_path, fmt):
    with CollectionStore.open(folder) as store:
        scan_folder(store)
        for rel, (positives, negatives) in LABELS.items():
            image = store.image_by_path(rel).id
            for tag in positives:
                store.add_tag([image], tag)
            for tag in negatives:
                store.reject_tag([image], tag)
        out = tmp_path / ("sidecars" if fmt in ("txt", "caption", "xmp") else f"labels.{fmt}")
        summary = export_labels(store, fmt, out=out)
        assert summary.problems == []
        expected = store.image_labels()

    copy = tmp_path / "copy"
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns(".clml"))
    if fmt in ("txt", "caption", "xmp"):
        shutil.copytree(out, copy, dirs_exist_ok=True)
    with CollectionStore.open(copy) as store:
        scan_folder(store)
        if fmt in ("txt", "caption", "xmp"):
            assert import_folder(store, fmt).problems == []
        else:
            assert import_file(store, out, fmt).problems == []
        got = store.image_labels()
    for rel, item in expected.items():
        positives = item.positives if fmt in ORDER_KEPT else sorted(item.positives)
        assert (got[rel].positives if fmt in ORDER_KEPT else sorted(got[rel].positives)) == positives
        assert sorted(got[rel].negatives) == (sorted(item.negatives) if fmt in WITH_NEGATIVES else [])
