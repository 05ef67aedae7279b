"""The desktop integration files parse and agree with each other."""

from __future__ import annotations

import configparser
from pathlib import Path

import defusedxml.ElementTree as ET

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "packaging"
APP_ID = "io.github.clml_desktop.CLMLDesktop"


def test_desktop_entry_metainfo_icon_and_deploy_spec_agree():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(PKG / f"{APP_ID}.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application"
    assert desktop["Exec"].split()[0] == "clml-desktop"
    assert desktop["Icon"] == APP_ID
    meta = ET.parse(PKG / f"{APP_ID}.metainfo.xml").getroot()
    assert meta.findtext("id") == APP_ID
    assert meta.find("launchable").text == f"{APP_ID}.desktop"
    icon = PKG / "icons" / f"{APP_ID}.svg"
    assert ET.parse(icon).getroot().tag.endswith("svg")
    spec = configparser.ConfigParser(interpolation=None)
    spec.read(PKG / "pysidedeploy.spec", encoding="utf-8")
    project = (PKG / spec["app"]["project_dir"]).resolve()
    assert (project / spec["app"]["input_file"]).is_file()
    assert (project / spec["app"]["icon"]).is_file()
