"""Issue 14: the manifest follows the store's tag-name rule and caps the input size."""

from __future__ import annotations

import pytest

from clml_contract.manifest import Manifest, ManifestError


def _manifest(**over) -> dict:
    data = {"format": 1, "id": "m-1", "tags": ["cat", "dog"], "architecture": "resnet18",
            "input_size": 224, "embedding_dim": 512}
    data.update(over)
    return data


@pytest.mark.parametrize("bad", ["ca\x00t", "two\nlines", "evil\u202etxt.exe", "tab\there", "  "])
def test_tag_names_the_store_refuses_are_refused(bad):
    with pytest.raises(ManifestError, match="tags"):
        Manifest.from_dict(_manifest(tags=["ok", bad]))


def test_tag_names_with_surrounding_space_are_refused():
    with pytest.raises(ManifestError, match="tags"):
        Manifest.from_dict(_manifest(tags=["ok", " cat"]))


@pytest.mark.parametrize("size", [4096, 2048, 1025])
def test_input_size_is_capped(size):
    with pytest.raises(ManifestError, match="input_size.*1024"):
        Manifest.from_dict(_manifest(input_size=size))


def test_sizes_people_use_still_pass():
    for size in (32, 224, 448, 512, 1024):
        assert Manifest.from_dict(_manifest(input_size=size)).input_size == size
