"""The install's dependencies, which depend on one build-time choice (ADR 0024).

`pip install .` / `pipx install .` give the whole app: window, store, ONNX
engine and the PyTorch trainer. `CLML_REVIEW_ONLY=1 pip install .` leaves
PyTorch out (several GB with CUDA) for people who only review with a model
someone else trained; the app then trains with another Python that has it
(`clml-desktop trainer`). Everything else about the package is in pyproject.toml.
"""

import os
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent


def requirements(name: str) -> list[str]:
    lines = (HERE / "requirements" / name).read_text(encoding="utf-8").splitlines()
    return [line.split(" #")[0].strip() for line in lines if line.strip() and not line.startswith("#")]


review_only = os.environ.get("CLML_REVIEW_ONLY", "").strip() not in ("", "0")
app = requirements("app.txt")
trainer = [r for r in requirements("trainer.txt") if r not in app]
setup(install_requires=app if review_only else app + trainer)
