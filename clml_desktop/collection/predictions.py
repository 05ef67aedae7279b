"""Trained models and their cached scores: compact blobs, stale when the image changes.

Probabilities are float32 and embeddings float16 bytes (ADR 0001), so 20,000
images × 2,048-d embeddings stay about 80 MB. A prediction is current only
while its `image_version` equals the image's version; a rescan that sees a
changed file bumps the version and the old scores stop counting.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from datetime import UTC, datetime

import numpy as np

from clml_desktop.collection.rows import ModelRow, PredictionIn, PredictionMatrix

KINDS = ("oof", "engine")


def _model_row(row: tuple) -> ModelRow:
    model_id, path, created, parent, metrics, tags, active = row
    return ModelRow(
        id=model_id,
        path=path,
        created=created,
        parent=parent,
        metrics=json.loads(metrics),
        tags=json.loads(tags),
        active=bool(active),
    )


_MODEL_COLUMNS = "id, path, created, parent, metrics, tags, active"


def add_model(
    conn: sqlite3.Connection,
    model_id: str,
    path: str,
    *,
    parent: str | None,
    metrics: dict | None,
    tags: list[str] | None,
    created: str | None,
    activate: bool,
    onnx_sha256: str | None = None,
) -> None:
    """Insert or update a model; `activate` makes it the one suggestions use;
    `onnx_sha256` records the content the id stands for."""
    created = created or datetime.now(UTC).isoformat(timespec="seconds")
    conn.execute(
        "INSERT INTO models(id, path, created, parent, metrics, tags, active)"
        " VALUES (?, ?, ?, ?, ?, ?, 0)"
        " ON CONFLICT(id) DO UPDATE SET path = excluded.path, parent = excluded.parent,"
        " metrics = excluded.metrics, tags = excluded.tags",
        (
            model_id,
            str(path),
            created,
            parent,
            json.dumps(metrics or {}),
            json.dumps(list(tags or [])),
        ),
    )
    if onnx_sha256 is not None:
        conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (_FINGERPRINT_KEY + model_id, onnx_sha256),
        )
    if activate:
        set_active(conn, model_id)


# A model's identity is its ONNX content, not its folder or the id its manifest claims
# (issue 14): the SHA-256 is kept in `meta` under this prefix + id, so no schema change.
_FINGERPRINT_KEY = "model_onnx_sha256:"


def model_fingerprint(conn: sqlite3.Connection, model_id: str) -> str | None:
    """The SHA-256 of the ONNX file `model_id` was registered with; None for models
    registered before fingerprints were kept."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_FINGERPRINT_KEY + model_id,)).fetchone()
    return row[0] if row else None


def set_active(conn: sqlite3.Connection, model_id: str | None) -> None:
    """Make `model_id` the only active model (None: no active model)."""
    if (
        model_id is not None
        and not conn.execute("SELECT 1 FROM models WHERE id = ?", (model_id,)).fetchone()
    ):
        raise KeyError(f"no model {model_id!r} in the collection")
    conn.execute("UPDATE models SET active = (id IS ?)", (model_id,))


def models(conn: sqlite3.Connection) -> list[ModelRow]:
    """All models, oldest first."""
    return [
        _model_row(r)
        for r in conn.execute(f"SELECT {_MODEL_COLUMNS} FROM models ORDER BY created, id")
    ]


def active_model(conn: sqlite3.Connection) -> ModelRow | None:
    """The model suggestions come from, if any."""
    row = conn.execute(f"SELECT {_MODEL_COLUMNS} FROM models WHERE active = 1").fetchone()
    return _model_row(row) if row else None


def put_predictions(conn: sqlite3.Connection, model_id: str, rows: Iterable[PredictionIn]) -> int:
    """Store scores (replacing older ones of the same image and kind); returns the count."""
    now = time.time()
    model = conn.execute("SELECT tags FROM models WHERE id = ?", (model_id,)).fetchone()
    if model is None:
        raise ValueError(f"no model {model_id!r} in the collection; add_model it first")
    width = len(json.loads(model[0])) or None

    def params():
        for p in rows:
            if p.kind not in KINDS:
                raise ValueError(f"prediction kind must be one of {KINDS}, not {p.kind!r}")
            probs = np.ascontiguousarray(p.probs, dtype=np.float32).ravel()
            if width is not None and probs.size != width:
                raise ValueError(
                    f"model {model_id!r} has {width} tags but image {p.image_id} got"
                    f" {probs.size} scores"
                )
            emb = None
            if p.embedding is not None:
                emb = np.ascontiguousarray(p.embedding, dtype=np.float16).ravel().tobytes()
            yield (
                int(p.image_id),
                model_id,
                p.kind,
                int(p.image_version),
                probs.tobytes(),
                emb,
                now,
            )

    before = conn.total_changes
    conn.executemany(
        "INSERT OR REPLACE INTO predictions(image_id, model_id, kind, image_version, probs,"
        " embedding, time) VALUES (?, ?, ?, ?, ?, ?, ?)",
        params(),
    )
    return conn.total_changes - before


_CURRENT = (
    " FROM predictions p JOIN images i ON i.id = p.image_id"
    " WHERE p.model_id = ? AND p.image_version = i.version AND i.missing = 0"
)


def predictions(conn: sqlite3.Connection, model_id: str, n_tags: int | None) -> PredictionMatrix:
    """Current scores, one row per image ordered by image id; `oof` wins over `engine`."""
    rows = conn.execute(
        "SELECT p.image_id, p.image_version, p.kind, p.probs"
        + _CURRENT
        + " ORDER BY p.image_id, p.kind DESC",
        (model_id,),
    ).fetchall()
    picked: list[tuple] = []
    for row in rows:
        if picked and picked[-1][0] == row[0]:
            continue  # 'oof' sorts first with DESC; keep it
        picked.append(row)
    if not picked:
        width = n_tags or 0
        return PredictionMatrix(
            np.zeros(0, np.int64), np.zeros(0, np.int64), [], np.zeros((0, width), np.float32)
        )
    flat = np.frombuffer(b"".join(r[3] for r in picked), dtype=np.float32)
    width = n_tags or len(picked[0][3]) // 4
    if flat.size != width * len(picked):
        raise ValueError(f"stored predictions of model {model_id!r} do not all have {width} scores")
    return PredictionMatrix(
        image_ids=np.fromiter((r[0] for r in picked), np.int64, len(picked)),
        versions=np.fromiter((r[1] for r in picked), np.int64, len(picked)),
        kinds=[r[2] for r in picked],
        probs=flat.reshape(len(picked), width).copy(),
    )


def embeddings(conn: sqlite3.Connection, model_id: str) -> tuple[np.ndarray, np.ndarray]:
    """Current embeddings (image ids, float16 N×D); `oof` wins over `engine`."""
    rows = conn.execute(
        "SELECT p.image_id, p.embedding"
        + _CURRENT
        + " AND p.embedding IS NOT NULL ORDER BY p.image_id, p.kind DESC",
        (model_id,),
    ).fetchall()
    picked: list[tuple] = []
    for row in rows:
        if not (picked and picked[-1][0] == row[0]):
            picked.append(row)
    if not picked:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float16)
    dim = len(picked[0][1]) // 2
    flat = np.frombuffer(b"".join(r[1] for r in picked), dtype=np.float16)
    if flat.size != dim * len(picked):
        raise ValueError(f"stored embeddings of model {model_id!r} differ in size")
    ids = np.fromiter((r[0] for r in picked), np.int64, len(picked))
    return ids, flat.reshape(len(picked), dim).copy()
