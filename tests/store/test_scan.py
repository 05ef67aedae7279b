"""Scanning: which files count, sizes without decoding, bad files never stop a
scan, symlink loops end, and rescans touch only what changed."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from clml_contract.progress import Steps
from clml_desktop.collection import scan as scan_module
from clml_desktop.collection.scan import scan_folder
from clml_desktop.collection.store import CollectionStore


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG that declares width×height but holds no pixel data (a bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    data = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
    data += struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF)
    path.write_bytes(data + struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND")))


def test_finds_every_image_type_in_any_case_and_skips_the_rest(tmp_path, make_image, scanned):
    root = tmp_path / "c"
    names = {
        "a.JPG": "JPEG",
        "sub/b.Jpeg": "JPEG",
        "sub/deep/c.webp": "WEBP",
        "d.bmp": "BMP",
        "e.gif": "GIF",
        "f.tif": "TIFF",
        "g.TIFF": "TIFF",
        "h.png": "PNG",
    }
    for name, fmt in names.items():
        make_image(root / name, (20, 10), fmt)
    make_image(root / ".hidden" / "x.png")
    make_image(root / ".clml" / "y.png")
    make_image(root / "._resource.jpg", fmt="PNG")
    (root / "notes.txt").write_text("not an image")
    (root / "h.png.txt").write_text("a sidecar")
    store, report = scanned(root)
    assert sorted(im.path for im in store.images()) == sorted(names)
    assert report.added == len(names) and report.problems == []
    assert {(im.width, im.height) for im in store.images()} == {(20, 10)}


def test_bad_files_get_a_problem_and_the_scan_goes_on(tmp_path, make_image, scanned):
    root = tmp_path / "c"
    make_image(root / "good.png")
    (root / "empty.png").write_bytes(b"")
    (root / "text.jpg").write_text("hello, I am not a JPEG")
    full = (make_image(root / "full.png", (64, 64))).read_bytes()
    (root / "full.png").unlink()
    (root / "truncated.png").write_bytes(full[:20])
    _png_header_only(root / "huge.png", 30000, 30000)
    store, report = scanned(root)
    problems = {p.path: p.message for p in report.problems}
    assert set(problems) == {"empty.png", "text.jpg", "truncated.png", "huge.png"}
    assert "0 bytes" in problems["empty.png"]
    assert "not an image" in problems["text.jpg"]
    assert "30000×30000" in problems["huge.png"] and "limit" in problems["huge.png"]
    huge = store.image_by_path("huge.png")
    assert (huge.width, huge.height) == (30000, 30000)
    assert store.image_by_path("good.png").problem is None
    assert store.image_count() == 5
    assert len(store.problems()) == 4


def test_pixel_limit_follows_pillows_setting(tmp_path, make_image, scanned, monkeypatch):
    root = tmp_path / "c"
    make_image(root / "big.png", (30, 30))  # 900 px: over 2 × 100, Pillow would refuse
    make_image(root / "big.tif", (30, 30))  # same, read by Pillow itself (no quick header)
    make_image(root / "mid.tif", (12, 12))  # 144 px: Pillow only warns, decodable
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.warns(Image.DecompressionBombWarning):
        store, report = scanned(root)
    assert sorted(p.path for p in report.problems) == ["big.png", "big.tif"]
    assert all("30×30" in p.message and "limit" in p.message for p in report.problems)
    assert (store.image_by_path("big.tif").width, store.image_by_path("big.tif").height) == (30, 30)
    assert store.image_by_path("mid.tif").problem is None


def test_a_file_deleted_between_listing_and_reading(tmp_path, make_image, scanned, monkeypatch):
    root = tmp_path / "c"
    for name in ("a.png", "b.png", "c.png"):
        make_image(root / name)
    real = scan_module.read_image_info

    def vanishing(full_path, relpath, size, mtime_ns):
        if relpath == "b.png":
            Path(full_path).unlink()
        return real(full_path, relpath, size, mtime_ns)

    monkeypatch.setattr(scan_module, "read_image_info", vanishing)
    store, report = scanned(root)
    assert sorted(im.path for im in store.images()) == ["a.png", "c.png"]
    assert [(p.path, p.message) for p in report.problems] == [
        ("b.png", "file disappeared during the scan")
    ]


def test_symlink_loops_end_and_each_folder_counts_once(tmp_path, make_image, scanned):
    root = tmp_path / "c"
    make_image(root / "a.png")
    make_image(root / "sub" / "b.png")
    os.symlink(root, root / "sub" / "loop")  # back to the top
    os.symlink(root / "sub", root / "sub" / "self")  # to itself
    os.symlink(root / "nowhere.png", root / "dangling.png")
    store, report = scanned(root)
    assert sorted(im.path for im in store.images()) == ["a.png", "sub/b.png"]
    assert report.problems == []


def test_a_name_that_is_not_utf8_is_reported_not_fatal(tmp_path, make_image, scanned):
    root = tmp_path / "c"
    make_image(root / "ok.png")
    data = (root / "ok.png").read_bytes()
    with open(os.path.join(os.fsencode(root), b"bad\xff.png"), "wb") as fh:
        fh.write(data)
    store, report = scanned(root)
    assert [im.path for im in store.images()] == ["ok.png"]
    assert len(report.problems) == 1 and "UTF-8" in report.problems[0].message


def test_rescan_touches_only_what_changed_and_keeps_labels_of_missing_files(
    store, collection, ids, make_image
):
    again = scan_folder(store)
    assert (again.added, again.changed, again.removed, again.unchanged) == (0, 0, 0, 12)
    store.add_tag(ids[:2], "cat")
    moved = store.image(ids[0]).path
    hidden = collection.parent / "elsewhere.png"
    (collection / moved).rename(hidden)
    make_image(collection / "new" / "n.png")
    edited = collection / store.image(ids[5]).path
    make_image(edited, (40, 40))
    st = edited.stat()
    os.utime(edited, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    r = scan_folder(store)
    assert (r.added, r.changed, r.removed, r.unchanged) == (1, 1, 1, 10)
    assert store.image_count() == 12
    assert store.image(ids[0]).missing
    assert store.images_with_tag("cat") == [ids[1]]
    assert (store.image(ids[5]).width, store.image(ids[5]).version) == (40, 2)
    hidden.rename(collection / moved)  # the drive is back
    r = scan_folder(store)
    assert (r.added + r.changed, r.removed) == (1, 0)
    assert not store.image(ids[0]).missing
    assert store.images_with_tag("cat") == ids[:2]
    assert store.image(ids[0]).version == 1


def test_cancelled_scan_marks_nothing_missing(store, collection, ids):
    (collection / store.image(ids[0]).path).unlink()
    stopped = Steps()
    stopped.cancel()
    report = scan_folder(store, control=stopped)
    assert report.cancelled and report.removed == 0
    assert not store.image(ids[0]).missing


def test_progress_reaches_the_total(tmp_path, make_image):
    root = tmp_path / "c"
    for i in range(300):
        (root).mkdir(exist_ok=True)
        (root / f"{i:03}.png").write_bytes(b"")
    calls = []
    with CollectionStore.open(root) as store:
        scan_folder(store, control=Steps(lambda done, total, text: calls.append((done, total, text))))
    assert calls[-1] == (300, 300, "Scanning") and len(calls) >= 2


def test_a_scan_cancelled_midway_keeps_what_it_stored(tmp_path):
    root = tmp_path / "c"
    root.mkdir()
    for i in range(300):
        (root / f"{i:03}.png").write_bytes(b"")
    with CollectionStore.open(root) as store:
        control = Steps(lambda done, total, text: control.cancel())
        first = scan_folder(store, control=control)
        assert first.cancelled and 0 < first.added < 300 and first.tag_files is None
        assert store.image_count() == first.added
        rest = scan_folder(store)
    assert not rest.cancelled and (rest.added, rest.unchanged) == (300 - first.added, first.added)


def test_an_unreachable_folder_is_an_error_not_a_mass_removal(store, collection, ids):
    store.add_tag(ids[0], "cat")
    moved = collection.with_name("unplugged")
    collection.rename(moved)
    try:
        with pytest.raises(scan_module.ScanError, match="not reachable"):
            scan_folder(store)
    finally:
        moved.rename(collection)
    assert store.image_count() == 12 and store.images_with_tag("cat") == [ids[0]]


def test_one_walk_lists_images_and_tag_files_by_the_same_rules(tmp_path, make_image, scanned):
    root = tmp_path / "c"
    make_image(root / "a.png")
    make_image(root / "sub" / "b.jpg")
    for rel in ("a.txt", "labels.csv", "sub/b.caption", "sub/b.jpg.xmp", "sub/deep.csv", ".hidden/x.txt"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x", encoding="utf-8")
    os.symlink(root, root / "sub" / "loop")
    with open(os.path.join(os.fsencode(root), b"bad\xff.txt"), "wb") as fh:
        fh.write(b"x")
    store, report = scanned(root)
    assert sorted(report.tag_files) == ["a.txt", "labels.csv", "sub/b.caption", "sub/b.jpg.xmp"]
    found = report.tag_files["sub/b.caption"]
    assert (found.size, found.path) == (1, str(root / "sub" / "b.caption"))
    assert [p.message for p in report.problems] == ["file name is not valid UTF-8; skipped"]


def test_new_images_get_ids_in_path_order(tmp_path, make_image, scanned):
    root = tmp_path / "c"
    for rel in ("z.png", "m/b.png", "a.png", "m/a.png"):
        make_image(root / rel)
    store, _report = scanned(root)
    assert [im.path for im in sorted(store.images(), key=lambda im: im.id)] == sorted(
        ["z.png", "m/b.png", "a.png", "m/a.png"]
    )
