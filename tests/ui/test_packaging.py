"""The desktop integration files parse, agree with each other, pass the
distributions' validators, and install into (and uninstall from) XDG folders."""

from __future__ import annotations

import configparser
import os
import shutil
import struct
import subprocess
import sys
import tomllib
from pathlib import Path

import defusedxml.ElementTree as ET
import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "clml_desktop" / "desktop_integration"
APP_ID = "io.github.clml_desktop.CLMLDesktop"
ENTRY = PKG / f"{APP_ID}.desktop"
METAINFO = PKG / f"{APP_ID}.metainfo.xml"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
INSTALLER = PKG / "install-desktop.sh"


def _entry(path: Path) -> configparser.SectionProxy:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(path, encoding="utf-8")
    return entry["Desktop Entry"]


def test_desktop_entry_metainfo_and_icon_agree():
    desktop = _entry(ENTRY)
    assert desktop["Type"] == "Application"
    assert desktop["Exec"].split()[0] == "clml-desktop"
    assert desktop["Icon"] == APP_ID
    meta = ET.parse(METAINFO).getroot()
    assert meta.findtext("id") == APP_ID
    assert meta.find("launchable").text == f"{APP_ID}.desktop"
    icon = ROOT / "clml_desktop" / "ui" / "resources" / f"{APP_ID}.svg"
    assert ET.parse(icon).getroot().tag.endswith("svg")


def test_desktop_entry_keeps_to_what_older_validators_know():
    desktop = _entry(ENTRY)
    # Debian 12's desktop-file-validate knows versions up to 1.4 and no SingleMainWindow.
    assert desktop.get("Version", "1.0") == "1.0"
    assert all(key.startswith("X-") for key in desktop if key in {"SingleMainWindow", "X-SingleMainWindow"})
    # The app opens one folder: `clml-desktop FOLDER`, a local path (%f), as a folder handler.
    assert desktop["Exec"] == "clml-desktop %f"
    assert desktop["MimeType"].split(";")[:1] == ["inode/directory"]


def test_metainfo_carries_release_screenshots_rating_and_links():
    meta = ET.parse(METAINFO).getroot()
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    releases = meta.findall("releases/release")
    assert releases and releases[0].get("version") == version, "the newest <release> is pyproject's version"
    assert releases[0].findtext("description/p")
    shots = meta.findall("screenshots/screenshot")
    assert [s.get("type") for s in shots].count("default") == 1
    for shot in shots:
        url = shot.findtext("image")
        assert url.startswith("https://") and shot.findtext("caption")
        assert (ROOT / "docs" / url.rsplit("/", 1)[1]).is_file(), f"{url} names no screenshot in docs/"
    assert meta.find("content_rating").get("type").startswith("oars-")
    assert meta.find("developer").get("id")
    assert meta.findtext("provides/binary") == "clml-desktop"
    assert meta.find("url[@type='homepage']").text.startswith("https://")


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_icon_pngs_exist_at_every_size_the_render_script_makes():
    render = (ROOT / "packaging" / "render_icons.py").read_text(encoding="utf-8")
    assert f"SIZES = {SIZES}" in render
    for size in SIZES:
        png = PKG / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        assert _png_size(png) == (size, size)


def test_render_script_regenerates_the_pngs(tmp_path, qapp):
    import importlib.util

    spec = importlib.util.spec_from_file_location("render_icons", ROOT / "packaging" / "render_icons.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.render(out=tmp_path, sizes=(16, 48))
    assert [_png_size(p) for p in written] == [(16, 16), (48, 48)]
    from PySide6.QtGui import QImage

    image = QImage(str(written[1]))
    assert image.pixelColor(24, 24).alpha() == 255 and image.pixelColor(0, 0).alpha() == 0


def _validate_desktop(path: Path) -> None:
    result = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


needs_desktop_validate = pytest.mark.skipif(
    shutil.which("desktop-file-validate") is None,
    reason="desktop-file-validate is not installed (Debian: desktop-file-utils; scripts/setup.sh installs it)")


@needs_desktop_validate
def test_desktop_file_validate_accepts_the_entry():
    _validate_desktop(ENTRY)


@pytest.mark.skipif(shutil.which("appstreamcli") is None,
                    reason="appstreamcli is not installed (Debian: appstream; scripts/setup.sh installs it)")
def test_appstreamcli_accepts_the_metainfo_without_warnings():
    result = subprocess.run(["appstreamcli", "validate", "--no-net", "--no-color", str(METAINFO)],
                            capture_output=True, text=True, timeout=60)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    issues = [line for line in out.splitlines() if line[:2] in {"E:", "W:"}]
    assert not issues, out


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else b"<dir>")
            for p in sorted(root.rglob("*"))}


def _run_installer(action: str, data: Path, program: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_DATA_HOME": str(data), "CLML_DESKTOP_BIN": str(program)}
    result = subprocess.run(["bash", str(INSTALLER), action], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_install_and_uninstall_desktop_into_xdg_data_home(tmp_path):
    data = tmp_path / "data home"
    # Another app's files are there before and must be there, unchanged, after.
    other = data / "icons" / "hicolor" / "48x48" / "apps" / "other.png"
    other.parent.mkdir(parents=True)
    other.write_bytes(b"other")
    (data / "applications").mkdir()
    (data / "applications" / "other.desktop").write_text("[Desktop Entry]\n", encoding="utf-8")
    before = _files(data)
    program = tmp_path / "some venv" / "bin" / "clml-desktop"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    program.chmod(0o755)

    _run_installer("install", data, program)
    entry_path = data / "applications" / f"{APP_ID}.desktop"
    entry = _entry(entry_path)
    assert entry["Exec"] == f'"{program}" %f'
    assert entry["TryExec"] == str(program)
    assert entry["Icon"] == APP_ID
    assert (data / "metainfo" / f"{APP_ID}.metainfo.xml").read_bytes() == METAINFO.read_bytes()
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    for size in SIZES:
        assert _png_size(data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png") == (size, size)
    if shutil.which("desktop-file-validate"):
        _validate_desktop(entry_path)
    # Installing again replaces, it does not pile up.
    _run_installer("install", data, program)

    result = _run_installer("uninstall", data, program)
    assert "removed 12 files" in result.stdout
    assert _files(data) == before
    # Uninstalling twice is harmless.
    _run_installer("uninstall", data, program)
    assert _files(data) == before


def test_make_targets_call_the_installer():
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    for target, command in (("install-desktop", ".venv/bin/clml-desktop install-desktop"),
                            ("uninstall-desktop", "desktop_integration/install-desktop.sh uninstall")):
        result = subprocess.run([make, "-n", "-C", str(ROOT), target], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert command in result.stdout


def test_an_installed_app_adds_itself_to_the_menu_and_removes_itself(tmp_path, monkeypatch, capsys):
    """`clml-desktop install-desktop` (a pipx install, the bundle: no checkout) runs the
    installer that ships in the package, with itself as the entry's program."""
    from clml_desktop.app import main

    data = tmp_path / "data"
    program = tmp_path / "pipx" / "bin" / "clml-desktop"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    program.chmod(0o755)
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.setattr("sys.argv", [str(program), "install-desktop"])
    assert main(["install-desktop"]) == 0
    entry = _entry(data / "applications" / f"{APP_ID}.desktop")
    assert entry["Exec"] == f"{program} %f" and entry["TryExec"] == str(program)
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    assert main(["install-desktop", "--remove"]) == 0
    assert not (data / "applications" / f"{APP_ID}.desktop").exists()
    assert not list(data.rglob("*.png"))


def test_the_wheel_carries_the_desktop_files(tmp_path):
    """What `install-desktop` needs is package data, so it is in every install and the bundle."""
    import zipfile

    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {done.stderr[-300:]}")
    names = set(zipfile.ZipFile(next(tmp_path.glob("*.whl"))).namelist())
    base = "clml_desktop/desktop_integration/"
    assert {base + "install-desktop.sh", base + f"{APP_ID}.desktop", base + f"{APP_ID}.metainfo.xml",
            f"clml_desktop/ui/resources/{APP_ID}.svg"} <= names
    for size in SIZES:
        assert f"{base}icons/hicolor/{size}x{size}/apps/{APP_ID}.png" in names
