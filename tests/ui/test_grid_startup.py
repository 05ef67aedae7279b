"""Opening a folder imports nothing new: every module the open, scan, index and
thumbnail jobs need was imported at startup (`clml_desktop.ui.warmup`), so no
worker thread compiles or runs module code while the grid is on screen."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import write_collection

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import sys
from pathlib import Path
from PySide6.QtCore import QSettings
from clml_desktop.ui.app_setup import create_window, wait_until

folder, settings = Path(sys.argv[1]), sys.argv[2]
window = create_window(QSettings(settings, QSettings.Format.IniFormat))
window.resize(900, 600)
window.show()
before = set(sys.modules)
scanned = []
window.scanFinished.connect(scanned.append)
window.open_folder(folder)
ok = wait_until(lambda: bool(scanned) and window.grid_model.rowCount() > 0, timeout_s=60)
ok = ok and wait_until(lambda: not window.is_busy(), timeout_s=60)
new = sorted(m for m in set(sys.modules) - before)
window.close()
window.context.shutdown()
print("OK" if ok else "TIMEOUT")
print("NEW " + " ".join(new))
"""


def test_opening_a_folder_imports_no_new_modules(tmp_path):
    folder = tmp_path / "photos"
    write_collection(folder, 12, broken=True)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(folder), str(tmp_path / "s.ini")],
        capture_output=True, text=True, env=env, timeout=120,
    )
    lines = done.stdout.splitlines()
    assert "OK" in lines, done.stdout + done.stderr
    new = next(line for line in lines if line.startswith("NEW")).split()[1:]
    assert new == [], f"imported on first use while a folder opened: {new}"
