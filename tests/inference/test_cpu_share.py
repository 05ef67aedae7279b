"""When onnxruntime's CPU threads spin: sampling other processes' CPU use, and the override."""

from __future__ import annotations

import os

import numpy as np
import pytest

from clml_desktop.inference import cpu_share
from clml_desktop.inference.engine import Engine

HZ = os.sysconf("SC_CLK_TCK")


def _write_proc(root, machine_busy: int, own: int) -> None:
    (root / "self").mkdir(parents=True, exist_ok=True)
    user, system = machine_busy // 2, machine_busy - machine_busy // 2
    (root / "stat").write_text(
        f"cpu  {user} 0 {system} 900000 50 0 0 7 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"
    )
    # A command name with spaces and a parenthesis, as /proc allows.
    (root / "self" / "stat").write_text(
        f"4242 (python (x) y) R 1 2 3 0 -1 4194304 100 0 0 0 {own} 0 0 0 20 0 3 0\n"
    )


@pytest.mark.parametrize(
    ("machine_ticks", "own_ticks", "expected_cores"),
    [(HZ * 0.1 * 2, HZ * 0.1 * 2, 0.0), (HZ * 0.1 * 2, HZ * 0.1 * 0.5, 1.5), (0, 0, 0.0)],
)
def test_others_busy_cores_subtracts_this_process(tmp_path, machine_ticks, own_ticks, expected_cores):
    """Two cores busy for the whole window, of which this process ran 2 (or 0.5): 0 (1.5) others."""
    _write_proc(tmp_path, 1000, 500)

    def sleep(_seconds):
        _write_proc(tmp_path, 1000 + int(machine_ticks), 500 + int(own_ticks))

    busy = cpu_share.others_busy_cores(window_s=0.1, proc=tmp_path, sleep=sleep)
    assert busy == pytest.approx(expected_cores, abs=0.05)


def test_others_busy_cores_is_unknown_without_proc(tmp_path):
    assert cpu_share.others_busy_cores(window_s=0.0, proc=tmp_path / "missing") is None
    (tmp_path / "stat").write_text("garbage\n")
    (tmp_path / "self").mkdir()
    (tmp_path / "self" / "stat").write_text("1 (x) R\n")
    assert cpu_share.others_busy_cores(window_s=0.0, proc=tmp_path) is None


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs Linux /proc")
def test_others_busy_cores_reads_this_machine():
    busy = cpu_share.others_busy_cores(window_s=0.05)
    assert busy is not None and 0.0 <= busy <= os.cpu_count() + 1


@pytest.mark.parametrize(
    ("busy", "spins", "words"),
    [(0.1, True, "spin"), (0.5, False, "sleep"), (3.0, False, "3.0 cores"), (None, True, "unknown")],
)
def test_spinning_follows_other_processes_load(busy, spins, words):
    spin, why = cpu_share.spinning(env={}, sample=lambda: busy)
    assert spin is spins and words in why


@pytest.mark.parametrize(("value", "spins"), [("on", True), ("OFF", False)])
def test_spinning_can_be_forced(value, spins):
    def never():
        raise AssertionError("a forced choice must not sample the machine")

    spin, why = cpu_share.spinning(env={cpu_share.SPIN_ENV: value}, sample=never)
    assert spin is spins and cpu_share.SPIN_ENV in why


@pytest.mark.parametrize("spin", [True, False])
def test_engine_session_spins_as_asked(model_kit, spin):
    engine = Engine.load(model_kit.dir, device="cpu", spin=spin)
    entry = engine.session.get_session_options().get_session_config_entry(
        "session.intra_op.allow_spinning"
    )
    assert entry == ("1" if spin else "0")


def test_engine_decides_spinning_from_the_machine(model_kit, monkeypatch):
    monkeypatch.setattr(cpu_share, "others_busy_cores", lambda: 1.7)
    monkeypatch.delenv(cpu_share.SPIN_ENV, raising=False)
    engine = Engine.load(model_kit.dir, device="cpu")
    entry = engine.session.get_session_options().get_session_config_entry(
        "session.intra_op.allow_spinning"
    )
    assert entry == "0"


def test_load_watch_measures_between_calls_without_sleeping(tmp_path):
    now = [100.0]
    _write_proc(tmp_path, 1000, 500)
    watch = cpu_share.LoadWatch(proc=tmp_path, clock=lambda: now[0])
    now[0] += 10.0
    _write_proc(tmp_path, 1000 + 20 * HZ, 500 + 5 * HZ)  # 20 s of CPU in 10 s, 5 of them ours
    assert watch.sample() == pytest.approx(1.5)
    now[0] += 10.0
    _write_proc(tmp_path, 1000 + 22 * HZ, 500 + 7 * HZ)  # since the last call: all ours
    assert watch.sample() == pytest.approx(0.0)
    assert cpu_share.LoadWatch(proc=tmp_path / "missing").sample() is None


def _spins(engine) -> bool:
    entry = engine.session.get_session_options().get_session_config_entry(
        "session.intra_op.allow_spinning"
    )
    return entry == "1"


def test_engine_follows_the_load_between_runs(model_kit, monkeypatch):
    """Spinning by the sample at load, then sleeping once others need the cores, and back."""
    monkeypatch.delenv(cpu_share.SPIN_ENV, raising=False)
    monkeypatch.setattr(cpu_share, "others_busy_cores", lambda: 0.0)
    engine = Engine.load(model_kit.dir, device="cpu")
    x = np.zeros((1, 3, engine.input_size, engine.input_size), np.float32)
    before = engine.run(x).probs
    assert engine.follows_load and _spins(engine)
    assert not engine.follow_load(0.2) and not engine.follow_load(None)
    assert engine.follow_load(1.5) and not _spins(engine)
    np.testing.assert_array_equal(engine.run(x).probs, before)
    assert engine.follow_load(0.0) and _spins(engine)


@pytest.mark.parametrize(("spin", "env"), [(True, None), (None, "off")])
def test_a_forced_choice_does_not_follow_the_load(model_kit, monkeypatch, spin, env):
    if env is None:
        monkeypatch.delenv(cpu_share.SPIN_ENV, raising=False)
    else:
        monkeypatch.setenv(cpu_share.SPIN_ENV, env)
    engine = Engine.load(model_kit.dir, device="cpu", spin=spin)
    assert not engine.follows_load
    assert not engine.follow_load(3.0) and _spins(engine) is (spin is True)


def test_a_long_run_looks_at_the_load_between_batches(collection, model_kit, monkeypatch):
    from clml_desktop.inference import pipeline

    monkeypatch.delenv(cpu_share.SPIN_ENV, raising=False)
    monkeypatch.setattr(cpu_share, "others_busy_cores", lambda: 0.0)
    engine = Engine.load(model_kit.dir, device="cpu")
    seen = []

    class Watch:
        def sample(self):
            seen.append(_spins(engine))
            return 2.0  # a heavy job started beside us

    monkeypatch.setattr(pipeline, "LOAD_CHECK_S", 0.0)
    monkeypatch.setattr(cpu_share, "LoadWatch", Watch)
    report = pipeline.predict_collection(collection, engine, batch_size=2)
    assert report.scored == collection.image_count()
    assert seen[0] is True and not _spins(engine), "switched to sleeping threads mid-run"
    assert len(seen) >= 2
