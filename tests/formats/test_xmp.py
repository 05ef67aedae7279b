"""XMP sidecars: flat and hierarchical keywords, merging into foreign files, unsafe XML."""

from __future__ import annotations

import pytest
from formats_strategies import tag_lists
from hypothesis import given, settings

from clml_desktop.collection.formats.common import FormatError
from clml_desktop.collection.formats.xmp import parse_xmp, render_xmp, xmp_candidates

LIGHTROOM = b"""<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    crs:Exposure2012="+0.35" xmp:Rating="4">
   <!-- edited in Lightroom -->
   <dc:subject><rdf:Bag><rdf:li>Animals</rdf:li><rdf:li>Dog</rdf:li><rdf:li>beach</rdf:li></rdf:Bag></dc:subject>
   <lr:hierarchicalSubject><rdf:Bag><rdf:li>Animals|Dog</rdf:li><rdf:li>Places|beach</rdf:li></rdf:Bag></lr:hierarchicalSubject>
   <crs:ToneCurvePV2012><rdf:Seq><rdf:li>0, 0</rdf:li><rdf:li>255, 255</rdf:li></rdf:Seq></crs:ToneCurvePV2012>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""

DIGIKAM = b"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:digiKam="http://www.digikam.org/ns/1.0/">
<digiKam:TagsList><rdf:Seq><rdf:li>People/Alice</rdf:li><rdf:li>Events/Party 2024</rdf:li></rdf:Seq></digiKam:TagsList>
</rdf:Description></rdf:RDF></x:xmpmeta>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag><rdf:li>&xxe;</rdf:li></rdf:Bag></dc:subject>
</rdf:Description></rdf:RDF></x:xmpmeta>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/">&lol3;</x:xmpmeta>"""


@settings(max_examples=40, deadline=None)
@given(tag_lists())
def test_round_trip_of_a_new_sidecar(tags):
    assert parse_xmp(render_xmp(tags), "x.xmp") == tags


@settings(max_examples=30, deadline=None)
@given(tag_lists())
def test_round_trip_through_a_lightroom_sidecar(tags):
    assert parse_xmp(render_xmp(tags, LIGHTROOM), "x.xmp") == tags


def test_lightroom_reads_flat_and_leaf_of_hierarchical_keywords():
    assert parse_xmp(LIGHTROOM, "x.xmp") == ["Animals", "Dog", "beach"]


def test_digikam_tags_list_gives_leaves():
    assert parse_xmp(DIGIKAM, "x.xmp") == ["Alice", "Party 2024"]


def test_merge_keeps_every_foreign_field_and_the_hierarchy():
    out = render_xmp(["Animals", "Dog", "sunset"], LIGHTROOM)
    text = out.decode("utf-8")
    for kept in ('Exposure2012="+0.35"', 'Rating="4"', "ToneCurvePV2012", "255, 255", "edited in Lightroom",
                 'xmptk="Adobe XMP Core 7.0"'):
        assert kept in text
    assert "Animals|Dog" in text
    assert "Places|beach" not in text
    assert parse_xmp(out, "x.xmp") == ["Animals", "Dog", "sunset"]
    assert text.count(">Animals<") == 1  # an ancestor in a kept path is not added again


def test_merge_into_digikam_keeps_paths_and_adds_new_tags():
    out = render_xmp(["Alice", "cake"], DIGIKAM).decode("utf-8")
    assert "People/Alice" in out and "Events/Party 2024" not in out
    assert parse_xmp(out.encode(), "x.xmp") == ["Alice", "cake"]


@pytest.mark.parametrize("payload", [XXE, LAUGHS], ids=["external-entity", "billion-laughs"])
def test_unsafe_xml_is_refused_for_reading_and_merging(payload):
    with pytest.raises(FormatError, match="unsafe XML"):
        parse_xmp(payload, "evil.xmp")
    with pytest.raises(FormatError, match="unsafe XML"):
        render_xmp(["cat"], payload, "evil.xmp")


def test_broken_xml_is_a_clear_error():
    with pytest.raises(FormatError, match="not well-formed XML"):
        parse_xmp(b"<x:xmpmeta", "bad.xmp")


def test_sidecar_names_follow_digikam_and_lightroom():
    assert xmp_candidates("d/p.jpg") == ("d/p.jpg.xmp", "d/p.xmp")
