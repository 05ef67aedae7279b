"""XMP sidecars (digiKam `name.ext.xmp`, Lightroom `name.xmp`).

Read: `dc:subject` items are flat tags; `lr:hierarchicalSubject` (`a|b|c`)
and `digiKam:TagsList` (`a/b/c`) are paths whose *leaf* becomes the tag
(ADR 0007: dc:subject, which both programs write alongside, holds leaves
too, and the model's tags are flat). Write: `dc:subject` is set to the tags;
hierarchical entries whose leaf is still a tag are kept as they are, new
tags are added as one-level paths, entries whose leaf is no longer a tag are
removed; every other element and attribute of an existing sidecar is kept.

XMP is untrusted XML: defusedxml's rules hold (a DTD entity, as in billion
laughs, or an external entity is refused with a clear message and the file
is neither read nor rewritten), checked by expat in C before ElementTree's C
parser builds the tree (see `_parse`).
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
import xml.parsers.expat as expat
from collections.abc import Sequence
from pathlib import PurePosixPath
from xml.sax.saxutils import escape

from clml_desktop.collection.formats.common import FormatError, unique_tags

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
}
_RDF = "{" + NS["rdf"] + "}"
DC_SUBJECT = "{" + NS["dc"] + "}subject"
LR_HIERARCHICAL = "{" + NS["lr"] + "}hierarchicalSubject"
DK_TAGSLIST = "{" + NS["digiKam"] + "}TagsList"
_HIERARCHIES = ((LR_HIERARCHICAL, "|", "Bag"), (DK_TAGSLIST, "/", "Seq"))
_XPACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
_XPACKET_END = '\n<?xpacket end="w"?>\n'
_AUTO_PREFIX = re.compile(r"ns\d+$")
_XMLNS = re.compile(rb"""xmlns:([A-Za-z_][\w.-]*)\s*=\s*(["'])(.*?)\2""")


class _Unsafe(Exception):
    """An entity declaration or an external reference: refused, as defusedxml refuses them."""


def _refuse(*_args: object) -> None:
    raise _Unsafe()


def _refuse_unsafe(data: bytes) -> None:
    """defusedxml's rules (no entity declarations, no external references) checked by
    expat itself, in C: Python runs only if the file declares something. defusedxml's
    own parser is ElementTree's pure-Python one, 10 s for a 70 MB sidecar."""
    scan = expat.ParserCreate()
    scan.EntityDeclHandler = _refuse
    scan.UnparsedEntityDeclHandler = _refuse
    scan.ExternalEntityRefHandler = _refuse
    scan.Parse(data, True)


def _parse(data: bytes, name: str) -> tuple[ET.Element, list[tuple[str, str]]]:
    """The root element and the file's namespace prefixes; unsafe or broken XML refused.

    First the safety pass (`check_xmp`), then ElementTree's C parser: with no
    entity declared, nothing can expand (billion laughs) and nothing outside the
    file is read."""
    check_xmp(data, name)
    try:
        parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True))
        parser.feed(data)
        root = parser.close()
    except ET.ParseError as exc:
        raise FormatError(f"{name}: not well-formed XML ({exc}); not read, not rewritten") from exc
    # the prefixes only name namespaces on output: a scan of the text for them is enough, and a
    # second (iterparse) pass over a 50 MB sidecar cost as long as the parse itself
    prefixes = [(m.group(1).decode(), m.group(3).decode("utf-8", "replace")) for m in _XMLNS.finditer(data)]
    return root, prefixes


def _items(prop: ET.Element) -> list[str]:
    return [(li.text or "") for li in prop.iter(_RDF + "li")]


def parse_xmp(data: bytes, name: str) -> list[str]:
    """The tags of an XMP sidecar: dc:subject, then leaves of hierarchical paths, deduplicated."""
    root, _ = _parse(data, name)
    tags: list[str] = []
    for prop in root.iter(DC_SUBJECT):
        tags.extend(_items(prop))
    for tag_name, sep, _kind in _HIERARCHIES:
        for prop in root.iter(tag_name):
            tags.extend(leaf(item, sep) for item in _items(prop))
    return unique_tags(tags)


def leaf(path: str, separator: str) -> str:
    """The last non-empty element of a hierarchical keyword (`Animals|Dog` -> `Dog`)."""
    last = path.rpartition(separator)[2].strip()
    if last:
        return last  # the common case, without splitting the whole path (2.6M items in a big sidecar)
    parts = [p.strip() for p in path.split(separator) if p.strip()]
    return parts[-1] if parts else ""


def _register(prefixes: list[tuple[str, str]]) -> None:
    """Keep the file's own prefixes on output (ElementTree's registry is process-wide)."""
    for prefix, uri in [*NS.items(), *prefixes]:
        if prefix and not _AUTO_PREFIX.match(prefix):
            try:
                ET.register_namespace(prefix, uri)
            except ValueError:
                continue


def _description(root: ET.Element) -> ET.Element:
    """The first rdf:Description (created, with rdf:RDF, where missing)."""
    desc = root.find(f".//{_RDF}Description")
    if desc is not None:
        return desc
    rdf = root if root.tag == _RDF + "RDF" else root.find(f".//{_RDF}RDF")
    if rdf is None:
        rdf = ET.SubElement(root, _RDF + "RDF")
    return ET.SubElement(rdf, _RDF + "Description", {_RDF + "about": ""})


def _set_items(prop: ET.Element, kind: str, items: Sequence[str], fill: dict[str, Sequence[str]] | None = None) -> None:
    """Replace the `rdf:li` items of `prop`'s container with `items`, keeping its other children.

    With `fill`, one marker item stands in for them and `fill[marker]` holds the
    items, spliced in as text after serialising (`_splice`): building and writing
    2.6M elements through ElementTree took most of the 488 s, then still 9 s."""
    container = next((c for c in prop if c.tag in (_RDF + "Bag", _RDF + "Seq", _RDF + "Alt")), None)
    if container is None:
        container = ET.SubElement(prop, _RDF + kind)
    # one slice assignment: removing items one at a time is quadratic (488 s for 2.6M items)
    container[:] = [child for child in container if child.tag != _RDF + "li"]
    if fill is None:
        for item in items:
            ET.SubElement(container, _RDF + "li").text = item
        return
    marker = f"clml-items-{len(fill)}-{uuid.uuid4().hex}"
    fill[marker] = items
    if items:
        ET.SubElement(container, _RDF + "li").text = marker
    else:
        fill.pop(marker)


def _splice(body: str, fill: dict[str, Sequence[str]]) -> str:
    """Put each marker's items in place of its one `<…li>marker</…li>`, written exactly as
    ElementTree writes an item (the same tag spelling; text escaped like its `_escape_cdata`)."""
    for marker, items in fill.items():
        at = body.index(marker)
        start = body.rindex("<", 0, at)
        end = body.index(">", at + len(marker)) + 1
        open_tag, close_tag = body[start:at], body[at + len(marker):end]
        text = "".join(open_tag + escape(item) + close_tag for item in items)
        body = body[:start] + text + body[end:]
    return body


def _hierarchy_items(prop: ET.Element | None, tags: Sequence[str], sep: str) -> list[str]:
    """Existing paths whose leaf is still a tag, then the tags no kept path mentions.

    A tag that is an ancestor in a kept path (Lightroom's `Animals` of
    `Animals|Dog`) is covered already; a tag holding the separator stays in
    dc:subject only, since as a path it would read back as its leaf.
    """
    wanted = set(tags)
    kept = [p for p in (_items(prop) if prop is not None else []) if leaf(p, sep) in wanted]
    covered = {part.strip() for p in kept for part in p.split(sep)}
    return kept + [t for t in tags if t not in covered and sep not in t]


def render_xmp(tags: Sequence[str], existing: bytes | None = None, name: str = "sidecar.xmp") -> bytes:
    """An XMP packet with `tags`, merged into `existing` without dropping anything else."""
    tags = unique_tags(list(tags))
    merging = existing is not None and bool(existing.strip())
    if merging:
        root, prefixes = _parse(existing, name)
    else:
        root, prefixes = ET.Element("{" + NS["x"] + "}xmpmeta"), []
    # a new file is indented for people to read (real elements); an existing one is never
    # re-indented, so its items can be spliced in as text
    fill: dict[str, Sequence[str]] | None = {} if merging else None
    _register(prefixes)
    desc = _description(root)
    subject = root.find(f".//{DC_SUBJECT}")
    if subject is None:
        subject = ET.SubElement(desc, DC_SUBJECT)
    _set_items(subject, "Bag", tags, fill)
    for tag_name, sep, kind in _HIERARCHIES:
        prop = root.find(f".//{tag_name}")
        if prop is None and tag_name != LR_HIERARCHICAL:
            continue
        items = _hierarchy_items(prop, tags, sep)
        if prop is None:
            prop = ET.SubElement(desc, tag_name)
        _set_items(prop, kind, items, fill)
    try:
        if not merging:
            ET.indent(root, space=" ")
        body = ET.tostring(root, encoding="unicode")
    except RecursionError:
        # ElementTree writes recursively: a sidecar nested thousands of levels deep is read, not rewritten
        raise FormatError(f"{name}: XML nested too deeply to rewrite safely; left untouched") from None
    if fill:
        body = _splice(body, fill)
    return (_XPACKET_BEGIN + body + _XPACKET_END).encode("utf-8")


def check_xmp(data: bytes, name: str) -> None:
    """Refuse (FormatError) what `parse_xmp` would refuse, without building the tree: one
    pass of expat in C, for the overwrite check before an in-place export."""
    try:
        _refuse_unsafe(data)
    except _Unsafe:
        raise FormatError(
            f"{name}: unsafe XML (entity declarations or external references are not "
            "allowed); not read, not rewritten"
        ) from None
    except expat.ExpatError as exc:
        raise FormatError(f"{name}: not well-formed XML ({exc}); not read, not rewritten") from exc


NAME_MAX_BYTES = 255  # the longest file name ext4, APFS, NTFS... take (UTF-8 bytes: the strictest reading)


def xmp_candidates(image_relpath: str) -> tuple[str, str]:
    """(`name.ext.xmp`, `name.xmp`): digiKam's and Lightroom's sidecar names for an image.

    Where `name.ext.xmp` would be longer than a file name can be, both are
    `name.xmp`, so a long image name still gets (and finds) a sidecar.
    """
    p = PurePosixPath(image_relpath)
    plain = str(p.with_name(p.stem + ".xmp"))
    if len((p.name + ".xmp").encode("utf-8", "surrogateescape")) > NAME_MAX_BYTES:
        return plain, plain
    return str(p.with_name(p.name + ".xmp")), plain
