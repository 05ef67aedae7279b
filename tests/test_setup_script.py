"""scripts/setup.sh installs only what is missing.

The library check is sourced from the script and run with fake `ldconfig`,
`fc-list`, `apt-get`, `sudo` and validators on a PATH that holds only them and
the few real programs the check uses, so no real package is ever installed and
the host's own tools do not count. `ldconfig -p` on a desktop prints far more than a pipe holds; a
check that pipes it into `grep -q` under `set -o pipefail` sees the writer die
of SIGPIPE and reports present libraries as missing (issue 13).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "setup.sh"
BIG = 200 * 1024  # well past a 64 KB pipe buffer


def _needed_libraries() -> dict[str, str]:
    """The script's Debian package -> library table, read from its text."""
    return dict(re.findall(r"\[([\w.+-]+)\]=(lib[\w.+-]+\.so\.\d+)", SCRIPT.read_text(encoding="utf-8")))


def _needed_tools() -> dict[str, str]:
    """The script's Debian package -> program table (the packaging tests' validators)."""
    text = SCRIPT.read_text(encoding="utf-8")
    table = re.search(r"declare -A SYSTOOLS=\((.*?)\)", text, re.S)
    assert table, "the test no longer finds the script's tool table"
    return dict(re.findall(r"\[([\w.+-]+)\]=([\w.+-]+)", table.group(1)))


def _ldconfig_listing(libraries: list[str]) -> str:
    """`ldconfig -p` as a desktop prints it: the needed libraries first, then >200 KB of others."""
    lines = [f"{len(libraries) + 5000} libs found in cache `/etc/ld.so.cache'"]
    lines += [f"\t{lib} (libc6,x86-64) => /lib/x86_64-linux-gnu/{lib}" for lib in libraries]
    n = 0
    while sum(len(line) + 1 for line in lines) < BIG:
        lines.append(f"\tlibfiller{n}.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libfiller{n}.so.1")
        n += 1
    return "\n".join(lines) + "\n"


def _fake_tool(bindir: Path, name: str, body: str) -> None:
    tool = bindir / name
    tool.write_text(f"#!/usr/bin/env bash\n{body}\n", encoding="utf-8")
    tool.chmod(0o755)


def _run_check(tmp_path: Path, libraries: list[str],
               tools: list[str] | None = None) -> tuple[subprocess.CompletedProcess, str]:
    """Source the script and run its system-package step; return the result and the install log.

    `tools`: the validator programs present (default: all the script checks for).
    """
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for real in ("bash", "env", "grep", "cat", "id"):
        (bindir / real).symlink_to(shutil.which(real))
    for tool in _needed_tools().values() if tools is None else tools:
        _fake_tool(bindir, tool, "exit 0")
    listing = tmp_path / "ldconfig.txt"
    listing.write_text(_ldconfig_listing(libraries), encoding="utf-8")
    fonts = tmp_path / "fonts.txt"
    fonts.write_text("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf: DejaVu Sans:style=Book\n" * 3000,
                     encoding="utf-8")
    log = tmp_path / "install.log"
    log.touch()
    _fake_tool(bindir, "ldconfig", f'[ "$1" = -p ] && cat "{listing}"')
    _fake_tool(bindir, "fc-list", f'cat "{fonts}"')
    _fake_tool(bindir, "apt-get", f'echo "apt-get $*" >> "{log}"')
    _fake_tool(bindir, "sudo", f'echo "sudo $*" >> "{log}"; "$@"')
    workdir = tmp_path / "work"
    workdir.mkdir()
    # PYTHON=false: should sourcing ever run the venv step, it stops there, installing nothing.
    command = f'PATH="{bindir}"; PYTHON=false; source "{SCRIPT}"; ensure_system_packages'
    result = subprocess.run(["bash", "-c", command], cwd=workdir, capture_output=True, text=True, timeout=60)
    return result, log.read_text(encoding="utf-8")


def test_present_libraries_are_not_reinstalled_when_ldconfig_prints_more_than_a_pipe_holds(tmp_path):
    needed = _needed_libraries()
    assert len(needed) >= 10, "the test no longer finds the script's library table"
    result, installs = _run_check(tmp_path, list(needed.values()))
    assert installs == "", f"apt-get ran although every library is present:\n{installs}{result.stdout}"
    assert "installing" not in result.stdout
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("absent", ["libxcb-cursor0", "libgl1"])
def test_an_absent_library_is_still_installed(tmp_path, absent):
    needed = _needed_libraries()
    result, installs = _run_check(tmp_path, [lib for pkg, lib in needed.items() if pkg != absent])
    assert result.returncode == 0, result.stderr
    install_lines = [line for line in installs.splitlines() if line.startswith("apt-get install")]
    assert len(install_lines) == 1 and install_lines[0].split()[-1] == absent, installs
    assert f"installing system packages for Qt and the tests: {absent}" in result.stdout


def test_absent_packaging_validators_are_installed(tmp_path):
    tools = _needed_tools()
    assert set(tools) == {"desktop-file-utils", "appstream"}, tools
    result, installs = _run_check(tmp_path, list(_needed_libraries().values()), tools=[])
    assert result.returncode == 0, result.stderr
    install_lines = [line for line in installs.splitlines() if line.startswith("apt-get install")]
    assert len(install_lines) == 1, installs
    assert sorted(install_lines[0].split()[-2:]) == ["appstream", "desktop-file-utils"], installs
