"""The bundle's program: `clml-desktop ARGS...`, and `clml-desktop -m MODULE ARGS...`.

In the frozen app `sys.executable` is this bundle's binary, not a Python, and the
app starts its background scoring child as `[sys.executable, "-m",
"clml_desktop.workflow.score_child", ...]` (clml_desktop/workflow/scoring.py). So the
binary answers `-m MODULE ARGS...` as `python -m` would: the module runs as
`__main__` with `sys.argv` = [its file, ARGS...]. Everything else goes to
`clml_desktop.app.main()`. Training never runs here: torch is outside the bundle,
and the trainer runs in an external Python (ADR 0023).
"""

from __future__ import annotations

import importlib.util
import os
import runpy
import sys


def run_module(argv: list[str]) -> None:
    """`-m MODULE ARGS...`: run MODULE as __main__, like `python -m` (exits via SystemExit)."""
    module, rest = argv[1], argv[2:]
    try:
        found = importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package is missing
        found = False
    if not found:  # as python says it, and with its exit status
        sys.exit(f"{sys.executable}: No module named {module} (in this bundle)")
    sys.argv = [module, *rest]  # runpy puts the module's file in sys.argv[0]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


def restore_library_path() -> None:
    """Give the programs we start the user's LD_LIBRARY_PATH, not the bundle's.

    PyInstaller's loader puts `_internal/` first on LD_LIBRARY_PATH (the user's value
    kept in LD_LIBRARY_PATH_ORIG); every child would inherit it, and a program of the
    system (xdg-open, a file manager, the trainer's Python) would load our copies of
    libstdc++, OpenSSL or Qt instead of its own. The loader read the variable when this
    process started, so changing it now changes only what children see; a child that is
    this bundle again gets `_internal/` back from its own loader. The trainer's Python
    (clml_desktop/workflow/trainer_env.py) relies on this.
    """
    if not getattr(sys, "frozen", False) or not sys.platform.startswith("linux"):
        return
    original = os.environ.get("LD_LIBRARY_PATH_ORIG")
    if original is not None:
        os.environ["LD_LIBRARY_PATH"] = original
    else:
        os.environ.pop("LD_LIBRARY_PATH", None)


def main() -> None:
    restore_library_path()
    argv = sys.argv[1:]
    if argv and argv[0] == "-m":
        if len(argv) < 2:
            sys.exit("clml-desktop: -m needs a module name")
        run_module(argv)
        return
    from clml_desktop.app import main as app_main

    sys.exit(app_main())


if __name__ == "__main__":
    main()
