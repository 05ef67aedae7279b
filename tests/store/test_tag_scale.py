"""Many distinct tags (issue 14): finding a tag by name uses an index, so a first
open grows linearly with the number of tags; reviving deleted and renamed tags
still finds the right one. Speed itself is measured in benchmarks/store_ops.py."""

from __future__ import annotations

import sqlite3

from clml_desktop.collection import schema, tag_table
from clml_desktop.collection.importing import import_folder
from clml_desktop.collection.scan import scan_folder
from clml_desktop.collection.store import CollectionStore, StoreError


def _plan(conn: sqlite3.Connection, query: str, *args) -> str:
    return " | ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {query}", args))


def _uses_an_index(plan: str) -> bool:
    return "USING" in plan and "INDEX" in plan and "SCAN tags" not in plan


def test_finding_a_deleted_tag_by_name_uses_an_index(collection):
    with CollectionStore.open(collection) as store:
        plan = _plan(store._conn, tag_table.DELETED_BY_NAME, "dog")
        assert _uses_an_index(plan), plan
        # the live-name and alias-key lookups of `lookup` too
        assert _uses_an_index(_plan(store._conn, "SELECT id FROM tags WHERE name = ? AND deleted = 0", "dog"))
        assert _uses_an_index(
            _plan(store._conn, "SELECT MIN(id) FROM tags WHERE key = ? AND deleted = 0", "dog")
        )


def test_a_version_3_store_gains_the_index_keeping_its_tags(collection):
    (collection / ".clml").mkdir()
    conn = sqlite3.connect(collection / ".clml" / "collection.sqlite", isolation_level=None)
    try:
        schema.migrate(conn, target=3)
        conn.execute("INSERT INTO tags(name, key, deleted) VALUES ('Old Tag', 'old tag', 1)")
        assert not _uses_an_index(_plan(conn, tag_table.DELETED_BY_NAME, "Old Tag"))
    finally:
        conn.close()
    with CollectionStore.open(collection) as store:
        assert schema.stored_version(store._conn) == schema.SCHEMA_VERSION
        assert _uses_an_index(_plan(store._conn, tag_table.DELETED_BY_NAME, "Old Tag"))
        assert store.ensure_tag("Old Tag") == 1  # revived with its old id


def test_deleted_and_renamed_tags_are_revived_by_their_current_name(collection):
    with CollectionStore.open(collection) as store:
        scan_folder(store)
        ids = [im.id for im in store.images()]
        a1 = store.ensure_tag("a")
        store.add_tag(ids[:2], "a")
        store.delete_tag("a")
        assert store.tag_id("a") is None
        assert store.ensure_tag("a") == a1  # revived: same id, labels stay deleted
        store.rename_tag("a", "b")
        a2 = store.ensure_tag("a")  # "a" is free again; the renamed tag is "b"
        assert a2 != a1
        assert store.tag_name(a1) == "b"
        store.delete_tag("a")
        store.delete_tag("b")
        x = store.ensure_tag("x")
        store.rename_tag("x", "a")
        store.delete_tag("a")  # two deleted tags now carry the name "a": a2 and x
        assert store.ensure_tag("b") == a1
        assert store.ensure_tag("a") == max(a2, x)
        assert store.tag_name(a1) == "b"
        # inside an edit, a revived tag goes away again on undo
        store.delete_tag("a")
        store.add_tag(ids[:1], "a")
        assert store.tag_id("a") == max(a2, x)
        store.undo()
        assert store.tag_id("a") is None


def test_a_first_open_with_thousands_of_distinct_tags_reads_them_all(collection):
    images = sorted(collection.glob("*.png"))
    per = 500
    for i, image in enumerate(images):
        image.with_suffix(".txt").write_text(", ".join(f"tag_{i}_{j}" for j in range(per)))
    # one name used before and deleted: reused, it comes back with its old id
    with CollectionStore.open(collection) as store:
        old = store.ensure_tag("tag_0_0")
        store._conn.execute("UPDATE tags SET deleted = 1 WHERE id = ?", (old,))
        report = scan_folder(store)
        summary = import_folder(store, tag_files=report.tag_files)
        assert summary.positives_added == per * len(images)
        assert len(store.tags()) == per * len(images)
        assert store.tag_id("tag_0_0") == old
        assert store.tag_id(f"tag_{len(images) - 1}_{per - 1}") is not None


def test_a_tag_name_longer_than_the_cap_is_refused_with_its_length(collection):
    import pytest

    from clml_contract.tagnames import MAX_TAG_NAME_CHARS

    with CollectionStore.open(collection) as store:
        assert store.tag_name(store.ensure_tag("é" * MAX_TAG_NAME_CHARS)) == "é" * MAX_TAG_NAME_CHARS
        with pytest.raises(StoreError, match=f"{MAX_TAG_NAME_CHARS + 1:,} characters"):
            store.ensure_tag("x" * (MAX_TAG_NAME_CHARS + 1))
        store.ensure_tag("short")
        with pytest.raises(StoreError, match="characters long"):
            store.rename_tag("short", "y" * 100_000)


def test_a_sidecar_with_a_huge_tag_reports_it_and_keeps_the_others(collection):
    (collection / "img00.txt").write_text("cat, " + "z" * 5_000_000 + ", dog")
    with CollectionStore.open(collection) as store:
        report = scan_folder(store)
        summary = import_folder(store, tag_files=report.tag_files)
        assert [t.name for t in store.tags()] == ["cat", "dog"]
        assert [p.path for p in summary.problems if "5,000,000 characters long" in p.message] == ["img00.png"]
        assert store.db_path.stat().st_size < 1_000_000


def _sparse(path, size: int) -> None:
    with open(path, "wb") as fh:  # sparse: no disk or memory spent on it
        fh.truncate(size)


def test_a_sidecar_over_the_size_cap_is_a_problem_for_its_image_and_not_read(collection):
    from clml_desktop.collection.formats.common import MAX_TAG_FILE_BYTES

    (collection / "img01.txt").write_text("cat, dog")
    _sparse(collection / "img00.txt", MAX_TAG_FILE_BYTES + 1)
    with CollectionStore.open(collection) as store:
        report = scan_folder(store)
        summary = import_folder(store, tag_files=report.tag_files)
        assert sorted(t.name for t in store.tags()) == ["cat", "dog"]
        problems = [str(p) for p in summary.problems if "larger than a tag file can be" in p.message]
        assert len(problems) == 1 and "img00.txt" in problems[0], summary.problems


def test_a_collection_wide_file_over_the_size_cap_is_refused_by_the_shared_reader(tmp_path):
    import pytest

    from clml_desktop.collection.formats.common import MAX_TAG_FILE_BYTES, FormatError, read_text

    small = tmp_path / "labels.csv"
    small.write_text("path,tags\nimg00.png,cat\n")
    assert read_text(small).startswith("path,tags")
    big = tmp_path / "big.csv"
    _sparse(big, MAX_TAG_FILE_BYTES + 1)
    with pytest.raises(FormatError, match=r"big\.csv: .*larger than a tag file can be \(64 MiB\)"):
        read_text(big)
