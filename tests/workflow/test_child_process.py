"""Children are never left behind: asked to stop, given a grace period, then killed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from clml_desktop.workflow.child_process import PROJECT_ROOT, child_environment, stop_child

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX signals")

_SLEEPER = "import signal, sys, time\n{handler}\nprint('ready', flush=True)\ntime.sleep(60)\n"


def _child(handler: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLEEPER.format(handler=handler)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def test_a_child_that_honours_sigterm_ends_within_the_grace_period():
    proc = _child("signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))")
    stop_child(proc, grace_s=10)
    assert proc.returncode == 143
    proc.stdout.close()


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_period():
    proc = _child("signal.signal(signal.SIGTERM, signal.SIG_IGN)")
    stop_child(proc, grace_s=0.3)
    assert proc.returncode == -9
    proc.stdout.close()


def test_an_ended_child_is_left_alone():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    stop_child(proc, grace_s=1, ask=lambda _p: pytest.fail("must not signal an ended child"))


def test_children_import_this_checkout(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    env = child_environment()
    assert env["PYTHONPATH"].split(os.pathsep) == [str(PROJECT_ROOT), "/elsewhere"]
    done = subprocess.run(
        [sys.executable, "-c", "import clml_desktop, training; print(clml_desktop.__file__)"],
        env=env, cwd="/", capture_output=True, text=True, check=True,
    )
    assert done.stdout.strip().startswith(str(PROJECT_ROOT))
