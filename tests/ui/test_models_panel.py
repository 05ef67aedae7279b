"""Switching the active model: the store, the table, the suggestions and a background
scoring of images the new model has not seen."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_trainer import write_model_dir  # noqa: E402
from panel_helpers import close_context, open_context  # noqa: E402

from clml_desktop.ui.models_panel import ModelsPanel, format_created, format_map, metric_provenance  # noqa: E402


def add_second_model(context) -> str:
    """Register a real (tiny) ONNX model 'm2' with no cached scores, parent m1."""
    store = context.store
    model_dir = store.data_dir / "models" / "m2"
    tags = ["cat", "dog", "grass", "sky", "tree"]
    metrics = write_model_dir(model_dir, tags, [], parent="m1")
    store.add_model("m2", model_dir, parent="m1", metrics=metrics, tags=tags,
                    created=(datetime.now(UTC) + timedelta(hours=1)).isoformat(timespec="seconds"),
                    activate=False)
    return "m2"


def test_switching_models(tmp_path, qtbot):
    context, info = open_context(tmp_path, qtbot)
    panel = ModelsPanel(context)
    qtbot.addWidget(panel)
    try:
        add_second_model(context)
        panel.refresh()
        table = panel.model
        assert [table.model_at(r).id for r in range(table.rowCount())] == ["m2", "m1"]
        assert table.data(table.index(0, 5)) == "m1", "parent shown"
        assert table.data(table.index(1, 0)) == "●" and table.data(table.index(0, 0)) == ""

        seen = []
        context.modelChanged.connect(lambda: seen.append(context.store.active_model().id))
        panel.table.selectRow(0)
        assert panel.activate_button.isEnabled()
        with qtbot.waitSignal(context.suggestionsChanged, timeout=20000):
            panel.activate_button.click()
        assert context.store.active_model().id == "m2" and seen[0] == "m2"
        assert table.data(table.index(table.row_of("m2"), 0)) == "●"
        qtbot.waitUntil(lambda: panel._rescore.is_done, timeout=20000)
        scored = context.store.predictions("m2").image_ids
        assert sorted(int(i) for i in scored) == sorted(info["ids"]), "the new model scored every image"
        assert not panel.activate("m2"), "already active: nothing to do"
        assert panel.activate("m1")
        assert context.store.active_model().id == "m1"
        qtbot.waitUntil(lambda: panel._rescore.is_done, timeout=20000)
    finally:
        close_context(context, panel)


def test_making_a_model_active_goes_through_the_context(tmp_path, qtbot, monkeypatch):
    """The panel asks the context (the one edit path); the context alone announces it,
    once, and says so in the status bar. Background scoring is not part of this."""
    context, _info = open_context(tmp_path, qtbot)
    panel = ModelsPanel(context)
    qtbot.addWidget(panel)
    try:
        add_second_model(context)
        panel.refresh()
        asked: list[str] = []
        through_context = context.set_active_model
        monkeypatch.setattr(context, "set_active_model", lambda mid: asked.append(mid) or through_context(mid))
        monkeypatch.setattr(panel, "rescore", lambda: None)
        changed, said = [], []
        context.modelChanged.connect(lambda: changed.append(context.store.active_model().id))
        context.statusMessage.connect(said.append)

        panel.table.selectRow(panel.model.row_of("m2"))
        panel.activate_button.click()
        assert asked == ["m2"] and changed == ["m2"], "one modelChanged, from the context"
        assert said == ["Suggestions now come from model m2"]
        assert not panel.activate("m2") and changed == ["m2"], "already active: no signal"
        assert not panel.activate("no-such-model") and changed == ["m2"]
        assert said[-1].startswith("Could not switch to model no-such-model: ")
    finally:
        close_context(context, panel)


def test_formatting_helpers():
    assert format_map({"val_map": 0.61234}) == "0.612"
    assert format_map({"val_map": None}) == "—"
    assert format_created("not a date") == "not a date"
    assert format_created("2026-11-26T10:00:00+00:00").startswith("2026-11-26")


def test_tooltip_says_where_the_metrics_come_from():
    """The trainer's manifest names the basis of its numbers; the panel passes it on."""
    metrics = {"val_map": 0.3, "val_scores": "out-of-fold", "val_images": 1200,
               "val_images_basis": "confirmed", "calibration_confirmed": {"ece": 0.031, "images": 40, "pairs": 600}, "weights": "ema"}
    assert metric_provenance(metrics) == [
        "mAP from out-of-fold scores on 1,200 images (confirmed)",
        "percentages off by 3.1 points on average on 40 confirmed images",
        "weights: ema",
    ]
    assert metric_provenance({"val_map": 0.3}) == []
