"""Synthetic collections whose true tags are known: the bundled demo
(`clml-desktop demo`) and the skeleton the scenes benchmark shares with it.

Not part of the collection store: these modules only write image, sidecar
and truth files into a folder, which the store then scans like any other.
`painter` draws the demo's images, `writer` lays a generated collection out
and reads its truth back, `bundled` puts the two together as the demo.
"""

from clml_desktop.demo.bundled import DEMO_IMAGES, make_demo
from clml_desktop.demo.painter import TAGS
from clml_desktop.demo.writer import (
    TRUTH_FILE,
    DemoError,
    DemoInfo,
    DemoTruth,
    is_demo,
    read_truth,
    write_collection,
)

__all__ = [
    "DEMO_IMAGES",
    "TAGS",
    "TRUTH_FILE",
    "DemoError",
    "DemoInfo",
    "DemoTruth",
    "is_demo",
    "make_demo",
    "read_truth",
    "write_collection",
]
