"""Which Python trains (ADR 0024): a person's choice wins and is checked, this install
trains when it has PyTorch, otherwise the documented places are searched, and when
nothing can train the message says what was tried and what to install.

Other Pythons are stood in for by small scripts that answer the check the way a real
one would (a Python with or without torch, one that hangs), so no second PyTorch is
needed; the real foreign-Python run is in scripts/check_wheel_install.sh (tests/test_wheel_install.py).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from clml_contract.progress import Cancelled, Steps
from clml_desktop import trainer_places
from clml_desktop.workflow import trainer_env
from clml_desktop.workflow.trainer_env import TrainerMissing

pytestmark = pytest.mark.skipif(os.name == "nt", reason="the stand-in Pythons are shell scripts")

CAN_TRAIN = {"python_version": "3.12.3", "versions": {"torch": "2.5.1", "torchvision": "0.20.1",
                                                      "onnx": "1.17.0"},
             "missing": [], "cuda": ["NVIDIA RTX 4090"]}
NO_TORCH = {"python_version": "3.12.3", "versions": {}, "missing": ["torch", "torchvision", "onnx"],
            "cuda": []}


def stand_in_python(folder: Path, answer: dict | None, *, sleep_s: float = 0.0, name: str = "python") -> str:
    """A script that answers the check like a Python would (`answer` as its JSON line)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    body = f"sleep {sleep_s}\n" if sleep_s else ""
    body += f"echo '{json.dumps(answer)}'\n" if answer is not None else "echo 'Traceback: not Python' >&2\n"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


@pytest.fixture(autouse=True)
def private_dirs(tmp_path, monkeypatch):
    """Our own config and cache folders, no trainer choice in the environment, and no
    Python from the test machine's PATH or pipx (each test says what exists)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv(trainer_places.PYTHON_ENV, raising=False)
    monkeypatch.setattr(trainer_env.shutil, "which", lambda name: None)
    trainer_env.forget_checks()
    yield
    trainer_env.forget_checks()


def test_this_install_trains_without_starting_torch_when_it_has_the_packages():
    env = trainer_env.find_trainer()
    assert env.ok and env.python == sys.executable and env.source == trainer_env.SOURCE_SELF
    assert not env.checked and env.versions["torch"]
    assert "decided when a run starts" in env.summary()


def test_checking_this_install_starts_its_torch_and_reports_the_devices():
    env = trainer_env.find_trainer(check_self=True)
    assert env.ok and env.checked
    assert set(env.versions) == set(trainer_env.REQUIRED)
    assert env.python_version == sys.version.split()[0]


def test_a_chosen_python_that_can_train_is_used_and_its_gpu_named(tmp_path, monkeypatch):
    python = stand_in_python(tmp_path / "gpu-env", CAN_TRAIN)
    monkeypatch.setenv(trainer_places.PYTHON_ENV, python)
    env = trainer_env.find_trainer()
    assert env.python == python and env.source == trainer_env.SOURCE_ENV
    assert "PyTorch 2.5.1 on CUDA (1 GPU: NVIDIA RTX 4090)" in env.summary()


def test_a_chosen_python_that_cannot_train_is_refused_with_no_fallback(tmp_path, monkeypatch):
    """This install can train, yet a person who named another Python hears that theirs
    cannot, rather than silently getting a different one."""
    monkeypatch.setenv(trainer_places.PYTHON_ENV, stand_in_python(tmp_path / "bare", NO_TORCH))
    with pytest.raises(TrainerMissing, match="cannot train: it has no torch, torchvision, onnx"):
        trainer_env.find_trainer()


def test_the_saved_choice_survives_and_a_damaged_settings_file_is_ignored(tmp_path):
    python = stand_in_python(tmp_path / "env", CAN_TRAIN)
    trainer_places.save_python(python)
    assert trainer_places.saved_python() == python
    assert trainer_env.find_trainer().source == trainer_env.SOURCE_SAVED
    trainer_places.settings_file().write_text("{not json")
    assert trainer_places.saved_python() is None
    trainer_places.save_python(None)
    assert not trainer_places.settings_file().exists()


def test_without_pytorch_here_the_documented_trainer_environment_is_found(tmp_path, monkeypatch):
    monkeypatch.setattr(trainer_env, "this_interpreter_can_train", lambda: False)
    venv = trainer_places.default_trainer_venv()
    python = stand_in_python(venv / "bin", CAN_TRAIN)
    env = trainer_env.find_trainer()
    assert env.python == python and env.source == trainer_env.SOURCE_VENV


def test_when_nothing_can_train_the_message_lists_what_was_tried_and_what_to_install(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(trainer_env, "this_interpreter_can_train", lambda: False)
    bare = stand_in_python(tmp_path / "usr-bin", NO_TORCH, name="python3")
    monkeypatch.setattr(trainer_env.shutil, "which", lambda name: bare if name == "python3" else None)
    with pytest.raises(TrainerMissing) as raised:
        trainer_env.find_trainer()
    message = str(raised.value)
    assert message.startswith("Training needs PyTorch")
    assert f"{bare} (python3 on PATH): it has no torch, torchvision, onnx" in message
    assert f"python3 -m venv {trainer_places.default_trainer_venv()}" in message
    assert "'torch>=2.4'" in message


def test_a_program_that_is_not_python_or_hangs_is_reported_not_trusted(tmp_path, monkeypatch):
    monkeypatch.setattr(trainer_env, "PROBE_TIMEOUT_S", 0.5)
    garbled = trainer_env.check(stand_in_python(tmp_path / "a", None), "test")
    assert not garbled.ok and "not a Python that runs our check" in garbled.problem
    listed = trainer_env.check(stand_in_python(tmp_path / "c", ["torch"]), "test")  # JSON, not ours
    assert not listed.ok and "not a Python that runs our check" in listed.problem
    slow = trainer_env.check(stand_in_python(tmp_path / "b", CAN_TRAIN, sleep_s=5), "test")
    assert not slow.ok and "did not answer" in slow.problem
    missing = trainer_env.check(str(tmp_path / "nowhere" / "python"), "test")
    assert missing.problem == "there is no such program"


def test_a_cancel_stops_the_check_at_once(tmp_path):
    python = stand_in_python(tmp_path / "slow", CAN_TRAIN, sleep_s=30)
    control = Steps()
    threading.Timer(0.3, control.cancel).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        trainer_env.check(python, "test", control)
    assert time.monotonic() - started < 10


def test_another_python_gets_only_our_trainer_packages_on_its_path(tmp_path, monkeypatch):
    """An installed wheel's site-packages would lend the other Python our numpy (built for
    our Python), so our three packages are copied, as source only, to a folder of their own."""
    site = tmp_path / "site-packages"
    for name in trainer_env.TRAINER_PACKAGES:
        (site / name / "sub").mkdir(parents=True)
        (site / name / "__init__.py").write_text(f"NAME = {name!r}\n")
        (site / name / "sub" / "part.py").write_text("")
        (site / name / "__pycache__").mkdir()
        (site / name / "__pycache__" / "x.pyc").write_bytes(b"")
    (site / "numpy").mkdir()
    monkeypatch.setattr(trainer_env, "_package_dir", lambda name: site / name)
    monkeypatch.setenv("PYTHONPATH", "/theirs")
    env = trainer_env.trainer_environ("/opt/other/bin/python")
    code, rest = env["PYTHONPATH"].split(os.pathsep)
    assert rest == "/theirs"
    copied = Path(code)
    assert sorted(p.name for p in copied.iterdir()) == sorted(trainer_env.TRAINER_PACKAGES)
    assert (copied / "training" / "sub" / "part.py").exists()
    assert not list(copied.rglob("*.pyc"))
    assert trainer_env.trainer_code_dir() == copied  # made once per version of the code


def test_a_cache_folder_that_cannot_be_written_is_said_plainly(tmp_path, monkeypatch):
    site = tmp_path / "site-packages"
    for name in trainer_env.TRAINER_PACKAGES:
        (site / name).mkdir(parents=True)
        (site / name / "__init__.py").write_text("")
    monkeypatch.setattr(trainer_env, "_package_dir", lambda name: site / name)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    with pytest.raises(TrainerMissing, match="cannot copy the trainer code to"):
        trainer_env.trainer_environ("/opt/other/bin/python")


def test_one_interpreter_is_checked_once_whatever_it_is_called(tmp_path, monkeypatch):
    python = stand_in_python(tmp_path / "env", CAN_TRAIN)
    assert trainer_env.check(python, trainer_places.PYTHON_ENV).ok
    monkeypatch.setattr(trainer_env, "_run_probe", lambda *a: pytest.fail("checked twice"))
    again = trainer_env.check(python, trainer_env.SOURCE_SAVED)
    assert again.ok and again.source == trainer_env.SOURCE_SAVED


def test_the_bundle_serves_its_trainer_code(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "bundle"), raising=False)
    assert not trainer_env.this_interpreter_can_train()
    env = trainer_env.trainer_environ("/usr/bin/python3")
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(tmp_path / "bundle" / "trainer_code")


def test_a_checkout_serves_its_own_root():
    root = Path(trainer_env.__file__).resolve().parents[2]
    assert trainer_env.trainer_code_dir() == root


def test_the_trainer_requirements_file_says_what_the_message_says():
    lines = (Path(__file__).resolve().parents[2] / "requirements" / "trainer.txt").read_text().splitlines()
    listed = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert tuple(listed) == trainer_env.REQUIREMENTS


def test_the_panel_status_names_the_problem_in_its_first_line(tmp_path, monkeypatch):
    monkeypatch.setenv(trainer_places.PYTHON_ENV, stand_in_python(tmp_path / "bare", NO_TORCH))
    ok, line, details = trainer_env.trainer_status()
    assert not ok and "cannot train: it has no torch" in line and "\n" not in line
    assert "choose another: clml-desktop trainer --python PATH" in details
