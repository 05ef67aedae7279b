"""Inference speed: onnxruntime (our session options) vs torch eager, share of the CPU's
sgemm rate, and end-to-end `suggest` over generated JPEGs vs model-only throughput.

    .venv/bin/python benchmarks/inference.py            # full run (several minutes on 2 cores)
    .venv/bin/python benchmarks/inference.py --quick    # fewer repetitions and images

Prints tables; numbers on a shared machine are noisy, so each cell is the best
of several timed repetitions after a warm-up. FLOPs are counted as 2 × the
multiply-accumulates of every conv/linear layer (the same convention as the
2·n³ of sgemm); torchvision's "7.8 GFLOPS" for ResNet101 counts MACs.
With `--cuda` (or automatically when a GPU is usable) the same model table is
run on the CUDA provider and torch on cuda.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clml_desktop.collection.scan import scan_folder  # noqa: E402
from clml_desktop.collection.store import CollectionStore  # noqa: E402
from clml_desktop.inference import providers  # noqa: E402
from clml_desktop.inference.engine import Engine  # noqa: E402
from clml_desktop.inference.pipeline import DECODE_NICENESS, predict_collection  # noqa: E402
from clml_desktop.inference.preprocess import preprocess_file  # noqa: E402
from models.export import calibrate_batchnorm, export_onnx  # noqa: E402
from models.manifest import Manifest  # noqa: E402
from models.resnet import build_model  # noqa: E402

TAGS = [f"tag{i:02d}" for i in range(20)]


def best_time(fn, reps: int, min_seconds: float = 0.0) -> float:
    """Best wall time of `reps` calls after one warm-up call."""
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < reps or time.perf_counter() - start < min_seconds:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def sgemm_gflops(n: int = 4096, reps: int = 3) -> tuple[float, float]:
    """fp32 matrix-multiply rate of numpy and torch on this CPU (GFLOP/s, 2·n³ per product)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    flops = 2.0 * n**3
    t_np = best_time(lambda: a @ b, reps)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    t_torch = best_time(lambda: ta @ tb, reps)
    return flops / t_np / 1e9, flops / t_torch / 1e9


class SgemmPeak:
    """The best sgemm rate seen so far, re-measured beside every timed row: on a shared
    machine one unlucky measurement would make any share look better than it is."""

    def __init__(self, reps: int) -> None:
        self.reps = reps
        self.best = 0.0
        self.samples: list[float] = []

    def sample(self) -> float:
        gf_np, gf_torch = sgemm_gflops(reps=self.reps)
        self.samples += [gf_np, gf_torch]
        self.best = max(self.best, gf_np, gf_torch)
        return self.best


def count_macs(model: torch.nn.Module, size: int) -> float:
    """Multiply-accumulates of one image through every Conv2d and Linear layer."""
    total = 0.0

    def conv_hook(mod, _inp, out):
        nonlocal total
        k = mod.kernel_size[0] * mod.kernel_size[1]
        total += out.numel() / out.shape[0] * (mod.in_channels // mod.groups) * k

    def linear_hook(mod, _inp, out):
        nonlocal total
        total += mod.in_features * mod.out_features

    hooks = []
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, torch.nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    return total


def make_model_dir(folder: Path, model: torch.nn.Module, size: int) -> Path:
    """model.onnx + manifest.json for `model` at `size` px."""
    folder.mkdir(parents=True, exist_ok=True)
    export_onnx(model, folder / "model.onnx", size)
    Manifest(
        id=f"bench-resnet101-{size}",
        tags=TAGS,
        architecture="resnet101",
        input_size=size,
        embedding_dim=2048,
    ).write(folder)
    return folder


def default_session(path: Path, provider: str) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=[provider])


def model_table(
    model, dirs: dict[int, Path], batches, reps, device: str, sgemm: SgemmPeak | None
) -> list[list[str]]:
    """images/s of onnxruntime (ours, default options) and torch eager per size and batch."""
    rows = []
    torch_device = "cuda" if device == "cuda" else "cpu"
    net = model.to(torch_device).eval()
    for size, folder in dirs.items():
        engine = Engine.load(folder, device=device)
        plain = default_session(folder / "model.onnx", engine.provider.provider)
        gflop = 2 * count_macs(model.cpu(), size) / 1e9
        net = model.to(torch_device).eval()
        for batch in batches:
            x = np.random.default_rng(0).standard_normal((batch, 3, size, size)).astype(np.float32)
            xt = torch.from_numpy(x).to(torch_device)

            def run_torch(net=net, xt=xt):
                with torch.inference_mode():
                    net(xt)
                if torch_device == "cuda":
                    torch.cuda.synchronize()

            t_ours = best_time(lambda engine=engine, x=x: engine.run(x), reps)
            t_plain = best_time(lambda plain=plain, x=x: plain.run(None, {"images": x}), reps)
            t_torch = best_time(run_torch, reps)
            ours = batch / t_ours
            peak = sgemm.sample() if sgemm else None
            share = f"{ours * gflop / peak * 100:5.1f}%" if peak else "-"
            rows.append(
                [
                    f"{size}",
                    f"{batch}",
                    f"{gflop:.1f}",
                    f"{ours:8.2f}",
                    f"{batch / t_plain:8.2f}",
                    f"{batch / t_torch:8.2f}",
                    f"{ours / (batch / t_torch):5.2f}x",
                    f"{ours * gflop:7.1f}",
                    share,
                ]
            )
            print("  " + "  ".join(rows[-1]), flush=True)
    model.cpu()
    return rows


def make_jpegs(folder: Path, count: int, size=(1024, 768)) -> None:
    """Photo-like JPEGs (smooth gradients + texture) so decoding costs what real ones do."""
    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    texture = rng.normal(0, 25, (h, w, 3)).astype(np.float32)
    for i in range(count):
        phase = i * 0.37
        base = np.stack(
            [
                127 + 100 * np.sin(x / 97 + phase),
                127 + 100 * np.cos(y / 71 - phase),
                127 + 80 * np.sin((x + y) / 131 + 2 * phase),
            ],
            axis=-1,
        )
        pixels = np.clip(base + np.roll(texture, i * 7, axis=1), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"img_{i:04d}.jpg", quality=90)


def end_to_end(model_dir: Path, images: int, work: Path, device: str) -> list[list[str]]:
    """`suggest`'s pipeline (decode threads + model + store) vs the model alone, same batch
    size; once with the default decode priority, once with niced decode threads."""
    folder = work / "jpegs"
    t = time.perf_counter()
    make_jpegs(folder, images)
    print(f"  generated {images} JPEGs of 1024×768 in {time.perf_counter() - t:.1f} s", flush=True)
    engine = Engine.load(model_dir, device=device)
    batch = engine.batch_size()
    sample = sorted(folder.glob("*.jpg"))[: batch * 2]
    t = time.perf_counter()
    arrays = [preprocess_file(p, engine.input_size, engine.normalizer) for p in sample]
    decode_per_image = (time.perf_counter() - t) / len(sample)
    x = np.stack(arrays[:batch])
    n_model = max(batch * 4, min(images, 64))
    engine.run(x)

    def model_only() -> float:
        runs = max(1, n_model // batch)
        t = time.perf_counter()
        for _ in range(runs):
            engine.run(x)
        return runs * batch / (time.perf_counter() - t)

    print(
        f"  serial decode+resize {decode_per_image * 1000:.1f} ms/image "
        f"({1 / decode_per_image:.1f} images/s on one thread)",
        flush=True,
    )
    rows = []
    for niceness in (DECODE_NICENESS, 10):
        shutil.rmtree(folder / ".clml", ignore_errors=True)
        # Model-only right before and after the end-to-end run: the machine's load drifts.
        before = model_only()
        with CollectionStore.open(folder) as store:
            t = time.perf_counter()
            scan_folder(store)
            scan_s = time.perf_counter() - t
            report = predict_collection(store, engine, decode_niceness=niceness)
        e2e = report.scored / report.seconds
        reference = (before + model_only()) / 2
        print(
            f"  decode niceness {niceness}: scan {scan_s:.1f} s, {e2e:.2f} images/s end-to-end, "
            f"model only {before:.2f} before / {reference * 2 - before:.2f} after",
            flush=True,
        )
        rows.append(
            [
                f"{engine.input_size}",
                f"{batch}",
                f"{niceness}",
                f"{report.scored}",
                f"{reference:8.2f}",
                f"{e2e:8.2f}",
                f"{e2e / reference * 100:5.1f}%",
            ]
        )
    return rows


def similarity_row(n: int, dim: int, k: int = 20) -> list[str]:
    """Top-k cosine search over n float16 embeddings (what the store holds)."""
    from clml_desktop.inference.similarity import SimilarityIndex

    rng = np.random.default_rng(2)
    embeddings = np.abs(rng.standard_normal((n, dim), dtype=np.float32)).astype(np.float16)
    t = time.perf_counter()
    index = SimilarityIndex(np.arange(n), embeddings)
    build = time.perf_counter() - t
    one = best_time(lambda: index.similar_to([123], k=k), 5)
    several = best_time(lambda: index.similar_to([1, 2, 3, 4, 5], k=k), 5)
    return [f"{n:,}", f"{dim}", f"{build:.2f}", f"{one * 1000:.1f}", f"{several * 1000:.1f}"]


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]
    print(f"\n{title}")
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and images")
    parser.add_argument(
        "--images", type=int, default=None, help="JPEGs for the end-to-end run (default 500)"
    )
    parser.add_argument(
        "--e2e-size", type=int, default=224, help="input size for the end-to-end run"
    )
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--skip-similarity", action="store_true")
    parser.add_argument(
        "--cuda", action="store_true", help="also run the CUDA table (auto when usable)"
    )
    args = parser.parse_args()
    reps = 2 if args.quick else 4
    images = args.images or (100 if args.quick else 500)
    threads = providers.cpu_threads()
    torch.set_num_threads(threads)
    print(
        f"CPU threads {threads}; onnxruntime {ort.__version__}; torch {torch.__version__}; "
        f"cpu: {providers.ProviderChoice('auto', providers.CPU).status()}",
        flush=True,
    )
    sgemm = SgemmPeak(reps)
    sgemm.sample()
    print(
        f"fp32 sgemm 4096² (numpy, torch): {sgemm.samples[0]:.1f}, {sgemm.samples[1]:.1f} GFLOP/s"
    )

    if not args.skip_similarity:
        print_table(
            "similar images: cosine top-20 over float16 embeddings",
            ["images", "dim", "index build s", "1 query ms", "5 queries ms"],
            [similarity_row(100_000, 2048)],
        )

    torch.manual_seed(0)
    model = build_model("resnet101", len(TAGS))
    calibrate_batchnorm(model, torch.rand(8, 3, 224, 224) * 2 - 1, batch_size=8)
    model.eval()
    work = Path(tempfile.mkdtemp(prefix="clml-bench-"))
    try:
        dirs = {size: make_model_dir(work / f"m{size}", model, size) for size in (224, 448)}
        header = [
            "px",
            "batch",
            "GFLOP/img",
            "ORT ours",
            "ORT default",
            "torch",
            "ours/torch",
            "GFLOP/s",
            "of sgemm",
        ]
        print("\nResNet101 (random weights, BN-calibrated), CPU, images/s:", flush=True)
        rows = model_table(model, dirs, (1, 8), reps, "cpu", sgemm)
        print_table("ResNet101 on CPU (images/s; best of repetitions)", header, rows)
        print(
            f"'of sgemm' is against the best fp32 sgemm rate seen so far ({sgemm.best:.1f} GFLOP/s; "
            f"samples {min(sgemm.samples):.1f}–{max(sgemm.samples):.1f})"
        )
        cuda_problem = providers.cuda_problem()
        if cuda_problem is None and torch.cuda.is_available():
            print("\nResNet101 on CUDA:", flush=True)
            gpu_rows = model_table(model, dirs, (1, 8, 32), reps * 3, "cuda", None)
            print_table("ResNet101 on CUDA (images/s)", header, gpu_rows)
        else:
            print(f"\nCUDA table skipped: {cuda_problem or 'torch sees no CUDA device'}")
        if not args.skip_e2e:
            print(
                f"\nend-to-end suggest over {images} JPEGs (1024×768), ResNet101 at {args.e2e_size} px:"
            )
            e2e_dir = dirs.get(args.e2e_size) or make_model_dir(
                work / f"m{args.e2e_size}", model, args.e2e_size
            )
            device = "auto"
            rows = end_to_end(e2e_dir, images, work, device)
            print_table(
                "end-to-end (decode threads + model + store) vs model only, same batch",
                ["px", "batch", "decode nice", "images", "model only", "end-to-end", "share"],
                rows,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", str(providers.cpu_threads()))
    sys.exit(main())
