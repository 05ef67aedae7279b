"""Where a trainer Python may live: a person's choice and the documented places.

Two parts of the app look there (ADR 0024). `workflow.trainer_env` picks the
Python that trains. `inference.cuda_libraries` looks in the same Pythons for
the CUDA libraries that PyTorch's `nvidia-*` packages install, which the
onnxruntime CUDA provider can use too where the app's own install has none
(a review-only install, the standalone bundle). Paths only: nothing here
starts a program.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import platformdirs

from clml_contract.atomic import atomic_write_text

PYTHON_ENV = "CLML_TRAINER_PYTHON"


def default_trainer_venv() -> Path:
    """The documented place for a trainer environment; found without any setting."""
    return Path(platformdirs.user_data_dir("clml-desktop")) / "trainer"


def venv_python(venv: Path) -> Path:
    """The interpreter of the virtual environment (or conda environment) at `venv`."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def settings_file() -> Path:
    return Path(platformdirs.user_config_dir("clml-desktop")) / "trainer.json"


def saved_python() -> str | None:
    """The Python saved by `clml-desktop trainer --python`, if any."""
    try:
        data = json.loads(settings_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("python") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value.strip() else None


def save_python(python: str | None) -> None:
    """Remember `python` as the trainer's interpreter; None forgets the choice."""
    target = settings_file()
    if python is None:
        target.unlink(missing_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, json.dumps({"python": python}, indent=2) + "\n")


def pipx_pythons() -> list[Path]:
    """The interpreter of a pipx install of clml-desktop (old and new pipx homes)."""
    homes = (Path.home() / ".local/share/pipx", Path.home() / ".local/pipx")
    return [python for home in homes if (python := venv_python(home / "venvs" / "clml-desktop")).exists()]
