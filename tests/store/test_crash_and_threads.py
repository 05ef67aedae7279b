"""Nothing is lost or half-written when a writer is killed mid-edit, and one
store object may be shared by threads (the GUI hands it to workers)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from clml_desktop.collection.rows import ImageInfo
from clml_desktop.collection.store import CollectionStore

ROOT = Path(__file__).resolve().parents[2]
N = 3000

KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from clml_desktop.collection.store import CollectionStore
    with CollectionStore.open(Path(sys.argv[1])) as store:
        ids = [im.id for im in store.images()]
        for i in range(100_000):
            store.add_tag(ids, f"t{i}")
            if i == 0:
                print("ready", flush=True)
    """
)


def test_a_writer_killed_mid_batch_leaves_whole_edits_only(tmp_path):
    with CollectionStore.open(tmp_path) as store:
        store.upsert_images(ImageInfo(f"{i:05}.png", 1, 1) for i in range(N))
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    with CollectionStore.open(tmp_path) as store:
        assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        counts = store.tag_counts()
        assert counts, "at least the first edit was committed"
        assert {c.positives for c in counts} == {N}
        assert len(store.history(100_000)) == len(counts)
        assert store.undo() is not None  # the log is usable after the crash


def test_one_store_shared_by_threads(store, ids):
    errors: list[BaseException] = []

    def work(tag: str) -> None:
        try:
            for image_id in ids:
                store.add_tag(image_id, tag)
                store.label_matrix()
        except BaseException as exc:  # collected and reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"tag{k}",)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert {c.positives for c in store.tag_counts()} == {len(ids)}
    assert len(store.history(1000)) == 3 * len(ids)
