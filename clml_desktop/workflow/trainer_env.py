"""Which Python runs the trainer, and whether it can (ADR 0024).

The trainer needs PyTorch; the app does not. A full install (`pipx install .`)
has torch in the app's own interpreter and nothing needs finding. A review-only
install (`CLML_REVIEW_ONLY=1 pip install .`) and the standalone bundle have no
torch, so the trainer runs in another Python, a "trainer environment" that has
torch, torchvision and onnx. Our own trainer code (`training/`, `models/`,
`clml_contract/`) comes from this install and is put on that Python's path, so
the environment needs only the third-party packages and can be any venv or
conda environment a person already has.

Where we look, in order, and why:
1. `CLML_TRAINER_PYTHON`, then the saved choice (`clml-desktop trainer --python`):
   a person's explicit choice. When it cannot train we say so; we never fall
   back to another Python behind their back.
2. This interpreter, when it has the three packages (the normal, full install).
3. The trainer environment at the documented place (`default_trainer_venv()`),
   then a full pipx install of clml-desktop, then `python3` on PATH.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import platformdirs

from clml_contract.progress import Cancelled, Control
from clml_desktop.trainer_places import (
    PYTHON_ENV,
    default_trainer_venv,
    pipx_pythons,
    saved_python,
    venv_python,
)

REQUIRED = ("torch", "torchvision", "onnx")
# What a trainer environment installs; requirements/trainer.txt says the same (a test checks).
REQUIREMENTS = ("torch>=2.4", "torchvision>=0.19", "onnx>=1.16", "numpy>=1.26", "Pillow>=11.2")
TRAINER_PACKAGES = ("training", "models", "clml_contract")
PROBE_TIMEOUT_S = 120.0  # importing torch with CUDA from a cold disk takes tens of seconds

SOURCE_ENV = f"${PYTHON_ENV}"
SOURCE_SAVED = "saved choice"
SOURCE_SELF = "this install"
SOURCE_VENV = "trainer environment"
SOURCE_PIPX = "pipx install"
SOURCE_PATH = "python3 on PATH"

# Run by the candidate Python with our trainer code on its path: JSON on stdout.
_PROBE = r"""
import importlib, json, sys
out = {"python_version": sys.version.split()[0], "versions": {}, "missing": [], "cuda": []}
if sys.version_info < (3, 11):
    out["problem"] = "it is Python " + out["python_version"] + "; the trainer needs 3.11 or newer"
else:
    for name in REQUIRED:
        try:
            out["versions"][name] = importlib.import_module(name).__version__
        except Exception:
            out["missing"].append(name)
    if not out["missing"]:
        try:
            importlib.import_module("training.cli")
        except Exception as exc:
            out["problem"] = "the trainer code does not load there: " + type(exc).__name__ + ": " + str(exc)
        import torch
        if torch.cuda.is_available():
            out["cuda"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
print(json.dumps(out))
""".replace("REQUIRED", repr(REQUIRED))


@dataclass(frozen=True)
class TrainerEnvironment:
    """One Python the trainer could run in, with what we found out about it.

    `problem` is None when it can train; otherwise it says why not in words a
    person can act on. `checked` is False when we trusted this interpreter's
    own packages without starting torch (the fast path before each run)."""

    python: str
    source: str
    versions: dict[str, str] = field(default_factory=dict)
    python_version: str = ""
    cuda_devices: tuple[str, ...] = ()
    problem: str | None = None
    checked: bool = True

    @property
    def ok(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        """One line for a Python that can train: what, and on what
        ("PyTorch 2.4.1 on CUDA (1 GPU: …), in … (saved choice)")."""
        torch_version = self.versions.get("torch", "")
        if not self.checked:
            where = "CUDA or the CPU (decided when a run starts)"
        elif self.cuda_devices:
            count = len(self.cuda_devices)
            where = f"CUDA ({count} GPU{'s' if count > 1 else ''}: {', '.join(self.cuda_devices)})"
        else:
            where = "the CPU only (no CUDA device visible to PyTorch)"
        version = f"PyTorch {torch_version}" if torch_version else "PyTorch"
        return f"{version} on {where}, in {self.python} ({self.source})"

    def as_dict(self) -> dict:
        return {
            "python": self.python,
            "source": self.source,
            "ok": self.ok,
            "problem": self.problem,
            "python_version": self.python_version,
            "versions": dict(self.versions),
            "cuda_devices": list(self.cuda_devices),
            "checked": self.checked,
        }


class TrainerMissing(Exception):
    """No Python that can train was found (or the one a person chose cannot)."""


def frozen() -> bool:
    """Whether we run from the standalone bundle (PyInstaller sets sys.frozen)."""
    return bool(getattr(sys, "frozen", False))


def _packages() -> str:
    return " ".join(f"'{requirement}'" for requirement in REQUIREMENTS)


def install_hint() -> str:
    """The commands that make a trainer environment at the place we look first."""
    venv = default_trainer_venv()
    return (
        f"python3 -m venv {venv}\n"
        f"{venv_python(venv)} -m pip install {_packages()}\n"
        "(the CPU-only build is about 1 GB: add --index-url https://download.pytorch.org/whl/cpu; "
        "or name a Python that already has PyTorch: clml-desktop trainer --python PATH)"
    )


def this_interpreter_can_train() -> bool:
    """Cheap: the packages are installed here (nothing is imported). Never in the bundle,
    whose interpreter is the app itself."""
    if frozen():
        return False
    return all(importlib.util.find_spec(name) is not None for name in REQUIRED)


def _explicit() -> tuple[str, str] | None:
    from_env = os.environ.get(PYTHON_ENV, "").strip()
    if from_env:
        return from_env, SOURCE_ENV
    saved = saved_python()
    return (saved, SOURCE_SAVED) if saved else None


def _discovered() -> list[tuple[str, str]]:
    """The places we look when nobody chose, after this interpreter, in order."""
    found: list[tuple[str, str]] = []
    documented = venv_python(default_trainer_venv())
    if documented.exists():
        found.append((str(documented), SOURCE_VENV))
    found += [(str(python), SOURCE_PIPX) for python in pipx_pythons()]
    on_path = shutil.which("python3")
    if on_path:
        found.append((on_path, SOURCE_PATH))
    # By path, not by the file it links to: two venvs share one interpreter file.
    unique: list[tuple[str, str]] = []
    seen: set[str] = set() if frozen() else {os.path.abspath(sys.executable)}
    for python, source in found:
        where = os.path.abspath(python)
        if where not in seen:
            seen.add(where)
            unique.append((python, source))
    return unique


def find_trainer(*, check_self: bool = False, control: Control | None = None) -> TrainerEnvironment:
    """The Python the next training run uses. A person's explicit choice wins and is
    checked; else this interpreter when it has the packages (trusted without starting
    torch unless `check_self`); else the first discovered Python that passes the check.
    Raises TrainerMissing, saying what was tried and what to install, when none can."""
    explicit = _explicit()
    if explicit is not None:
        python, source = explicit
        env = check(python, source, control)
        if not env.ok:
            raise TrainerMissing(
                f"The trainer's Python, {python} ({source}), cannot train: {env.problem}.\n"
                f"A trainer Python is Python 3.11+ with PyTorch: {python} -m pip install "
                f"{_packages()}\n"
                f"or choose another: clml-desktop trainer --python PATH "
                f"(--python default goes back to finding one)."
            )
        return env
    if this_interpreter_can_train():
        if check_self:
            return check(sys.executable, SOURCE_SELF, control)
        return TrainerEnvironment(
            sys.executable, SOURCE_SELF, versions=_installed_versions(), checked=False,
            python_version=sys.version.split()[0],
        )
    tried: list[str] = [f"{_self_label()}: {_self_problem()}"]
    for python, source in _discovered():
        env = check(python, source, control)
        if env.ok:
            return env
        tried.append(f"{python} ({source}): {env.problem}")
    raise TrainerMissing(
        "Training needs PyTorch, and no Python with it was found. Reviewing and exporting "
        "work without it.\nLooked at:\n"
        + "\n".join(f"  - {line}" for line in tried)
        + "\nTo train, make a trainer environment (a few GB with PyPI's PyTorch, which "
        "includes CUDA on Linux):\n"
        + "\n".join(f"  {line}" for line in install_hint().splitlines())
    )


def _installed_versions() -> dict[str, str]:
    """The versions of this interpreter's trainer packages, read without importing them."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in REQUIRED:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def trainer_status(control: Control | None = None) -> tuple[bool, str, str]:
    """For the Train panel (on a worker: another Python may be started to check it):
    whether training can run, a one-line summary, and the details for a tooltip. This
    install's own PyTorch is not started (seconds of CPU); `clml-desktop trainer` does."""
    try:
        env = find_trainer(control=control)
    except TrainerMissing as exc:
        return False, str(exc).splitlines()[0], str(exc)
    return True, env.summary(), f"Python {env.python_version}; " + ", ".join(
        f"{name} {version}" for name, version in env.versions.items()
    )


def _self_label() -> str:
    return "this app (the standalone bundle)" if frozen() else f"{sys.executable} (this install)"


def _self_problem() -> str:
    if frozen():
        return "the bundle leaves PyTorch out"
    missing = [name for name in REQUIRED if importlib.util.find_spec(name) is None]
    return f"it has no {', '.join(missing)} (a review-only install)"


_cache: dict[tuple[str, int], TrainerEnvironment] = {}
_cache_lock = threading.Lock()


def check(python: str, source: str, control: Control | None = None) -> TrainerEnvironment:
    """Start `python`, import torch, torchvision, onnx and our trainer there, and report.
    Results are kept per interpreter file (path and modification time) for this process."""
    path = shutil.which(python) or python
    try:
        key = (os.path.realpath(path), os.stat(path).st_mtime_ns)
    except OSError:
        return TrainerEnvironment(python, source, problem="there is no such program", checked=True)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return replace(cached, python=python, source=source)
    env = _run_probe(python, source, control)
    if env.ok:
        with _cache_lock:
            _cache[key] = env
    return env


def forget_checks() -> None:
    """Drop what `check` remembered (after a person installed something)."""
    with _cache_lock:
        _cache.clear()


def _run_probe(python: str, source: str, control: Control | None) -> TrainerEnvironment:
    """Run the check in `python`; a cancel (window closing) kills it at once."""
    try:
        process = subprocess.Popen(
            [python, "-c", _PROBE],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=trainer_environ(python),
            start_new_session=os.name == "posix",  # so a kill reaches what it started too
        )
    except OSError as exc:
        return TrainerEnvironment(python, source, problem=f"it does not start: {exc.strerror or exc}")
    deadline = time.monotonic() + PROBE_TIMEOUT_S
    while True:
        try:
            stdout, stderr = process.communicate(timeout=0.1)
            break
        except subprocess.TimeoutExpired:
            stopping = control is not None and control.cancelled
            if stopping or time.monotonic() > deadline:
                _kill_all(process)
                process.communicate()
                if stopping:
                    raise Cancelled() from None
                return TrainerEnvironment(
                    python, source, problem=f"it did not answer within {PROBE_TIMEOUT_S:.0f} s"
                )
    try:
        report = json.loads(stdout.strip().splitlines()[-1])
        if not isinstance(report, dict):
            raise ValueError("not a JSON object")
    except (IndexError, ValueError):
        tail = (stderr or stdout).strip().splitlines()[-1:] or ["no output"]
        return TrainerEnvironment(
            python, source, problem=f"it is not a Python that runs our check ({tail[0][:200]})"
        )
    problem = report.get("problem")
    missing = report.get("missing") or []
    if not problem and missing:
        problem = f"it has no {', '.join(missing)}"
    return TrainerEnvironment(
        python,
        source,
        versions={str(k): str(v) for k, v in (report.get("versions") or {}).items()},
        python_version=str(report.get("python_version", "")),
        cuda_devices=tuple(str(name) for name in report.get("cuda") or ()),
        problem=problem,
    )


def _kill_all(process: subprocess.Popen) -> None:
    """Kill the check and anything it started (whose open pipes would keep us waiting)."""
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    except OSError:
        pass  # it ended meanwhile


def is_this_interpreter(python: str) -> bool:
    """By path: a venv's python links to the system's, yet has other packages."""
    return not frozen() and os.path.abspath(python) == os.path.abspath(sys.executable)


def trainer_environ(python: str) -> dict[str, str]:
    """The environment the trainer (or the check) runs with: our trainer code first on
    its path, output unbuffered. Another Python gets only our three packages on its
    path (a site-packages folder would also lend it our numpy, built for our Python).
    In the bundle, its entry already gave every child the user's LD_LIBRARY_PATH back
    (packaging/bundle/entry.py)."""
    from clml_desktop.workflow.child_process import child_environment

    if is_this_interpreter(python):
        return child_environment()
    env = dict(os.environ)
    code = str(trainer_code_dir())
    env["PYTHONPATH"] = os.pathsep.join([code] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def trainer_code_dir() -> Path:
    """A folder holding only our trainer packages, as source, for another Python's path.

    The bundle ships them under `trainer_code/`. A checkout holds them at its root
    beside nothing that could shadow a library. An installed wheel holds them in
    site-packages beside our dependencies, so they are copied once per version into
    the user's cache folder."""
    if frozen():
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "trainer_code"
    packages = [_package_dir(name) for name in TRAINER_PACKAGES]
    parent = packages[0].parent
    if (parent / "pyproject.toml").exists() and all(p.parent == parent for p in packages):
        return parent
    return _copied_trainer_code(packages)


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise TrainerMissing(f"this install lacks its own '{name}' package; reinstall clml-desktop")
    return Path(next(iter(spec.submodule_search_locations)))


def _source_files(package: Path) -> list[Path]:
    return sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts)


def _copied_trainer_code(packages: list[Path]) -> Path:
    digest = hashlib.sha256()
    for package in packages:
        for source in _source_files(package):
            stat = source.stat()
            digest.update(f"{source.relative_to(package.parent)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    target = Path(platformdirs.user_cache_dir("clml-desktop")) / "trainer-code" / digest.hexdigest()[:16]
    if target.is_dir():
        return target
    staging = target.with_name(f"{target.name}.{os.getpid()}.partial")
    try:
        shutil.rmtree(staging, ignore_errors=True)
        for package in packages:
            for source in _source_files(package):
                destination = staging / package.name / source.relative_to(package)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, destination)
        os.replace(staging, target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if not target.is_dir():  # another process may have put it there first
            raise TrainerMissing(
                f"cannot copy the trainer code to {target} for another Python: {exc}"
            ) from exc
    return target
