"""Checkpoint loading and backbone starts, exercised on files the tests make."""

from __future__ import annotations

import pickle
import urllib.error
import urllib.parse
from pathlib import Path

import pytest
import torch
from torchvision.models import ResNet18_Weights

from clml_contract.manifest import Manifest
from models.checkpoint import CheckpointError, load_checkpoint, load_into, strip_prefixes
from models.resnet import build_model
from models.weights import InitError, imagenet_cache_file, reporting_downloads, resolve_init


def _same_backbone(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa if not k.startswith("fc."))


def test_dataparallel_and_ema_prefixes_are_stripped(tmp_path):
    source = build_model("resnet18", 4)
    plain = source.state_dict()
    torch.save({f"module.{k}": v for k, v in plain.items()}, tmp_path / "dp.ckpt")
    torch.save(
        {"state_dict": {f"module._orig_mod.{k}": v for k, v in plain.items()}, "epoch": 3},
        tmp_path / "wrapped.pth",
    )
    for name in ("dp.ckpt", "wrapped.pth"):
        state = load_checkpoint(tmp_path / name)
        assert list(state) == list(plain)
        target = build_model("resnet18", 4)
        report = load_into(target, state, source=name)
        assert report.loaded == len(plain) and not report.skipped_fc
        assert all(torch.equal(target.state_dict()[k], plain[k]) for k in plain)


def test_prefix_only_stripped_when_every_key_has_it():
    state = {"module.a": torch.zeros(1), "b": torch.zeros(1)}
    assert strip_prefixes(state) == state


def test_classifier_with_other_class_count_is_skipped_backbone_loaded(tmp_path):
    source = build_model("resnet18", 10)
    torch.save(source.state_dict(), tmp_path / "w.pt")
    plan = resolve_init(tmp_path / "w.pt", arch="resnet18", tags=["a", "b", "c"])
    assert plan.kind == "file" and plan.skip_fc
    assert any("10 classes" in w for w in plan.warnings)
    target = build_model("resnet18", 3)
    fresh_fc = target.fc.weight.clone()
    plan.apply(target)
    assert _same_backbone(source, target)
    assert torch.equal(target.fc.weight, fresh_fc)


def test_weights_of_another_architecture_fail_with_the_file_named(tmp_path):
    torch.save(build_model("resnet18", 3).state_dict(), tmp_path / "small.pt")
    with pytest.raises(InitError, match="small.pt"):
        resolve_init(tmp_path / "small.pt", arch="resnet50", tags=["a", "b", "c"])


class _Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as fh:
        pickle.dump({"conv1.weight": _Payload()}, fh, protocol=2)
    with pytest.raises(CheckpointError, match="evil.pt"):
        load_checkpoint(path)
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty.pt"):
        load_checkpoint(tmp_path / "empty.pt")


def test_imagenet_start_goes_through_torchvisions_loader(monkeypatch):
    reference = build_model("resnet18", 1000)
    calls = []

    def fake_get_state_dict(self, *args, **kwargs):
        calls.append((self, kwargs))
        return reference.state_dict()

    monkeypatch.setattr(ResNet18_Weights, "get_state_dict", fake_get_state_dict)
    plan = resolve_init("imagenet", arch="resnet18", tags=["a", "b"])
    assert calls and calls[0][0] is ResNet18_Weights.IMAGENET1K_V1 and calls[0][1]["check_hash"]
    assert plan.kind == "imagenet" and not plan.warnings
    model = build_model("resnet18", 2)
    plan.apply(model)
    assert _same_backbone(reference, model)
    assert model.fc.weight.shape == (2, 512)


def test_offline_imagenet_falls_back_to_random_loudly():
    def offline(arch, progress):
        raise urllib.error.URLError("no network")

    plan = resolve_init("imagenet", arch="resnet18", tags=["a"], fetch=offline)
    assert plan.kind == "random" and plan.state is None
    assert "RANDOM" in plan.warnings[0] and "no network" in plan.warnings[0]


def test_random_only_when_asked_and_with_a_warning():
    plan = resolve_init("random", arch="resnet18", tags=["a"])
    assert plan.kind == "random" and "RANDOM" in plan.warnings[0]
    with pytest.raises(InitError, match="no such file"):
        resolve_init("/nonexistent/weights.pt", arch="resnet18", tags=["a"])


def test_previous_model_maps_classifier_rows_by_tag_name(tmp_path):
    old = build_model("resnet18", 3)
    (tmp_path / "m1").mkdir()
    torch.save(old.state_dict(), tmp_path / "m1" / "checkpoint.pt")
    Manifest(
        id="m1",
        tags=["cat", "long_hair", "dog"],
        architecture="resnet18",
        input_size=64,
        embedding_dim=512,
        mean=[0.5, 0.5, 0.5],
        std=[0.25, 0.25, 0.25],
    ).write(tmp_path / "m1")
    plan = resolve_init(tmp_path / "m1", arch="resnet18", tags=["dog", "bird", "Long Hair"])
    assert plan.kind == "model" and plan.parent == "m1"
    assert list(plan.mean) == [0.5, 0.5, 0.5] and list(plan.std) == [0.25, 0.25, 0.25]
    assert any("bird" in w for w in plan.warnings)
    new = build_model("resnet18", 3)
    fresh_bird = new.fc.weight[1].clone()
    plan.apply(new)
    assert _same_backbone(old, new)
    assert torch.equal(new.fc.weight[0], old.fc.weight[2])  # dog
    assert torch.equal(new.fc.weight[2], old.fc.weight[1])  # Long Hair ≡ long_hair
    assert torch.equal(new.fc.bias[0], old.fc.bias[2])
    assert torch.equal(new.fc.weight[1], fresh_bird)  # bird is new
    with pytest.raises(InitError, match="resnet18"):
        resolve_init(tmp_path / "m1", arch="resnet50", tags=["dog"])


@pytest.mark.parametrize(
    ("training", "fold_start"),
    [
        ({"init": "random init (asked)"}, "random"),  # older manifests: read from the init text
        ({"init": "fine-tuning model m0", "root_init": "random"}, "random"),
        ({"init": "ImageNet weights (IMAGENET1K_V1)", "root_init": "imagenet"}, "imagenet"),
        ({"origin": "authors' release"}, None),  # never saw this collection: folds may start there
    ],
)
def test_fold_models_start_where_the_chain_began_unless_the_parent_never_saw_the_images(
    tmp_path, training, fold_start
):
    (tmp_path / "m1").mkdir()
    torch.save(build_model("resnet18", 1).state_dict(), tmp_path / "m1" / "checkpoint.pt")
    Manifest(id="m1", tags=["cat"], architecture="resnet18", input_size=64, embedding_dim=512,
             training=training).write(tmp_path / "m1")
    plan = resolve_init(tmp_path / "m1", arch="resnet18", tags=["cat"])
    assert plan.fold_start == fold_start
    assert resolve_init("random", arch="resnet18", tags=["cat"]).fold_start is None


def test_a_chain_of_fine_tunes_from_an_imported_model_begins_at_that_model(tmp_path):
    """The second fine-tune of an authors' model must start its fold models from the
    imported model (with its normalisation), not from ImageNet."""
    imported = tmp_path / "authors"
    imported.mkdir()
    torch.save(build_model("resnet18", 1).state_dict(), imported / "checkpoint.pt")
    Manifest(id="authors", tags=["cat"], architecture="resnet18", input_size=64, embedding_dim=512,
             mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0],
             training={"origin": "authors' release"}).write(imported)
    first = resolve_init(imported, arch="resnet18", tags=["cat"])
    assert first.fold_start is None and first.root == str(imported.resolve())

    child = tmp_path / "child"
    child.mkdir()
    torch.save(build_model("resnet18", 1).state_dict(), child / "checkpoint.pt")
    Manifest(id="child", tags=["cat"], architecture="resnet18", input_size=64, embedding_dim=512,
             mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0], parent="authors",
             training={"init": first.description, "root_init": first.root}).write(child)
    second = resolve_init(child, arch="resnet18", tags=["cat"])
    assert second.fold_start == str(imported.resolve())
    fold_start = resolve_init(second.fold_start, arch="resnet18", tags=["cat"])
    assert fold_start.mean == (0.0, 0.0, 0.0) and fold_start.std == (1.0, 1.0, 1.0)


def test_a_model_folders_checkpoint_file_fine_tunes_that_model(tmp_path):
    """`--init MODEL/checkpoint.pt` must not slip past the fold-model protection of `--init MODEL`."""
    (tmp_path / "m1").mkdir()
    torch.save(build_model("resnet18", 1).state_dict(), tmp_path / "m1" / "checkpoint.pt")
    Manifest(id="m1", tags=["cat"], architecture="resnet18", input_size=64, embedding_dim=512,
             training={"init": "fine-tuning model m0", "root_init": "random"}).write(tmp_path / "m1")
    by_file = resolve_init(tmp_path / "m1" / "checkpoint.pt", arch="resnet18", tags=["cat"])
    assert by_file.kind == "model" and by_file.parent == "m1"
    assert by_file.fold_start == "random"
    loose = tmp_path / "loose.pt"
    torch.save(build_model("resnet18", 1).state_dict(), loose)
    assert resolve_init(loose, arch="resnet18", tags=["cat"]).kind == "file"


def test_a_torch_hub_download_is_heard_byte_by_byte(tmp_path):
    """The real torch.hub path, from a file:// URL: the app sees a first-time ImageNet download."""
    source = tmp_path / "weights-0123abcd.pth"
    torch.save({"w": torch.arange(300_000, dtype=torch.float32)}, source)  # 1.2 MB: several chunks
    heard = []
    original_bar = torch.hub.tqdm
    with reporting_downloads(lambda *report: heard.append(report), "test weights"):
        state = torch.hub.load_state_dict_from_url(source.as_uri(), model_dir=str(tmp_path / "hub"),
                                                   progress=True, check_hash=False)
    assert torch.equal(state["w"], torch.arange(300_000, dtype=torch.float32))
    size = source.stat().st_size
    assert heard[0] == ("test weights", 0, size) and heard[-1] == ("test weights", size, size)
    assert len(heard) > 3 and [done for _w, done, _t in heard] == sorted(done for _w, done, _t in heard)
    assert torch.hub.tqdm is original_bar


def test_resolve_init_passes_imagenet_download_progress_on(tmp_path, monkeypatch):
    source = tmp_path / "resnet18-fake.pth"
    torch.save({"w": torch.zeros(200_000)}, source)
    reference = build_model("resnet18", 1000)

    def fetch(arch, progress):  # downloads like torchvision's loader would, then hands weights over
        torch.hub.load_state_dict_from_url(source.as_uri(), model_dir=str(tmp_path / "hub"),
                                           progress=progress)
        return reference.state_dict()

    heard = []
    plan = resolve_init("imagenet", arch="resnet18", tags=["a"], fetch=fetch,
                        on_download=lambda *report: heard.append(report))
    assert plan.kind == "imagenet"
    assert heard[-1] == ("ImageNet weights for resnet18", source.stat().st_size, source.stat().st_size)


def test_an_unreadable_cached_download_is_named_with_what_to_do(tmp_path, monkeypatch):
    """torchvision loads a cached file without checking it again; a broken one must not
    leave the person told to 'connect once' while every training starts from random."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    cached = imagenet_cache_file("resnet18")
    assert cached.name == Path(urllib.parse.urlparse(ResNet18_Weights.IMAGENET1K_V1.url).path).name
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"PK\x03\x04 not really a checkpoint")
    plan = resolve_init("imagenet", arch="resnet18", tags=["a"])  # torchvision's real loader
    assert plan.kind == "random"
    assert str(cached) in plan.warnings[0] and "delete it" in plan.warnings[0]


def test_offline_without_a_cached_copy_says_connect_once(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def offline(arch, progress):
        raise urllib.error.URLError("no network")

    plan = resolve_init("imagenet", arch="resnet18", tags=["a"], fetch=offline)
    assert "Connect once" in plan.warnings[0] and "delete it" not in plan.warnings[0]
