"""Issue 14: exporting XMP into a huge sidecar (default 2.6M items, ~50 MB).

Times what `export --format xmp --in-place` does per sidecar: check it
(the overwrite check, `check_xmp`: one expat pass), merge the tags in
(`render_xmp`: parse, replace the items, serialise). `--old` swaps in the item-at-a-time removal that took
488 s at full size (use a smaller `--items` with it: it is quadratic).

    .venv/bin/python benchmarks/xmp_large_sidecar.py [--items N] [--old]
"""

from __future__ import annotations

import argparse
import time

from clml_desktop.collection.formats import xmp


def _old_set_items(prop, kind, items, fill=None):
    container = next((c for c in prop if c.tag in (xmp._RDF + "Bag", xmp._RDF + "Seq", xmp._RDF + "Alt")), None)
    if container is None:
        container = xmp.ET.SubElement(prop, xmp._RDF + kind)
    for li in list(container):
        if li.tag == xmp._RDF + "li":
            container.remove(li)
    for item in items:
        xmp.ET.SubElement(container, xmp._RDF + "li").text = item


def sidecar(items: int) -> tuple[bytes, list[str]]:
    half = items // 2
    tags = [f"t{i}" for i in range(half)]
    li = "".join(f"<rdf:li>{t}</rdf:li>" for t in tags)
    hli = "".join(f"<rdf:li>Group|{t}</rdf:li>" for t in tags)
    data = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:lr="http://ns.adobe.com/lightroom/1.0/">'
        f"<dc:subject><rdf:Bag>{li}</rdf:Bag></dc:subject>"
        f"<lr:hierarchicalSubject><rdf:Bag>{hli}</rdf:Bag></lr:hierarchicalSubject>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()
    return data, tags


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=2_600_000)
    ap.add_argument("--old", action="store_true")
    args = ap.parse_args()
    if args.old:
        xmp._set_items = _old_set_items
    data, tags = sidecar(args.items)
    keep = tags[: len(tags) - len(tags) // 10] + ["new tag"]  # a tenth removed, one added
    t0 = time.perf_counter()
    xmp.check_xmp(data, "big.xmp")
    t1 = time.perf_counter()
    out = xmp.render_xmp(keep, data, "big.xmp")
    t2 = time.perf_counter()
    print(f"{args.items} items, {len(data) / 1e6:.1f} MB{' (old removal)' if args.old else ''}: "
          f"check {t1 - t0:.2f} s, render {t2 - t1:.2f} s, total {t2 - t0:.2f} s, wrote {len(out) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
