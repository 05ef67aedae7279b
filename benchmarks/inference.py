"""Inference speed: onnxruntime (our session options) vs torch eager, share of the CPU's
sgemm rate, and end-to-end `suggest` over generated JPEGs vs model-only throughput.

    .venv/bin/python benchmarks/inference.py                 # CPU table + end-to-end
    .venv/bin/python benchmarks/inference.py --quick         # fewer rounds and images
    .venv/bin/python benchmarks/inference.py --profile       # + where ORT's time goes
    .venv/bin/python benchmarks/inference.py --device cuda   # CUDA provider vs torch CUDA

How it keeps a shared machine from deciding the result:
- every engine of a cell (ours, ORT with default options, torch eager, and
  the sgemm that the share is measured against) runs once per round, in
  alternating order, after two warm-up calls each; so all see the same load,
  and the table gives medians over rounds;
- "ours/torch" and "of sgemm (paired)" are medians of per-round ratios;
  "of sgemm (best)" is the best round of ours against the best sgemm of the
  whole run (capability against capability);
- numpy's OpenBLAS, torch and onnxruntime all use the same thread count
  (the cores this process may use), set before the libraries load.
FLOPs are 2 × the multiply-accumulates of every Conv and Gemm/MatMul node of
the ONNX graph at that size (the same convention as sgemm's 2·n³); for
ResNet101 at 224 px that is 7.8 GMAC = 15.6 GFLOP per image.
"""

from __future__ import annotations

import os


def _usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


# BLAS and OpenMP size their pools when the library loads: before numpy and torch.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, str(_usable_cores()))

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402
from onnx import shape_inference  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clml_contract.manifest import Manifest  # noqa: E402
from clml_contract.preprocess import preprocess_file  # noqa: E402
from clml_desktop.collection.scan import scan_folder  # noqa: E402
from clml_desktop.collection.store import CollectionStore  # noqa: E402
from clml_desktop.inference import cpu_share, providers  # noqa: E402
from clml_desktop.inference.engine import Engine  # noqa: E402
from clml_desktop.inference.pipeline import DECODE_NICENESS, predict_collection  # noqa: E402
from models.export import calibrate_batchnorm, export_onnx  # noqa: E402
from models.resnet import build_model  # noqa: E402

TAGS = [f"tag{i:02d}" for i in range(20)]
SGEMM_N = 4096
WARMUP = 2
SETTLE_S = 0.3  # pause before each timed call; see `interleaved`


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


def interleaved(
    fns: dict[str, Callable[[], object]], rounds: int, min_seconds: float = 0.0
) -> dict[str, list[float]]:
    """Seconds per call of each function, one call each per round in alternating order
    (ABC, CBA, ...) after WARMUP calls each, so a change of load hits all of them alike.

    Each timed call starts after a SETTLE_S pause: the pool threads of the call
    before (onnxruntime's and OpenBLAS's spin after a run, OpenBLAS's for up to
    ~0.1 s) must not compete with the next engine, as they never do in the app,
    which runs one engine at a time."""
    for fn in fns.values():
        for _ in range(WARMUP):
            fn()
    names = list(fns)
    times: dict[str, list[float]] = {name: [] for name in names}
    start = time.perf_counter()
    r = 0
    while r < rounds or time.perf_counter() - start < min_seconds:
        for name in names if r % 2 == 0 else reversed(names):
            time.sleep(SETTLE_S)
            t = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - t)
        r += 1
    return times


def sgemm_fns(device: str) -> dict[str, Callable[[], object]]:
    """fp32 n×n matrix products: numpy (OpenBLAS) and torch (MKL) on the CPU; torch with
    TF32 off on CUDA."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((SGEMM_N, SGEMM_N), dtype=np.float32)
    b = rng.standard_normal((SGEMM_N, SGEMM_N), dtype=np.float32)
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        ta, tb = torch.from_numpy(a).cuda(), torch.from_numpy(b).cuda()

        def cuda_mm():
            ta @ tb
            torch.cuda.synchronize()

        return {"torch-cuda": cuda_mm}
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    return {"numpy": lambda: a @ b, "torch": lambda: ta @ tb}


def gflops_of(seconds: float) -> float:
    return 2.0 * SGEMM_N**3 / seconds / 1e9


class Sgemm:
    """The sgemm side of the share: picks the faster library once, then provides one
    product per round (paired with the model's runs) and remembers the best rate seen."""

    def __init__(self, device: str, rounds: int) -> None:
        fns = sgemm_fns(device)
        times = interleaved(fns, rounds)
        self.first = {name: gflops_of(min(ts)) for name, ts in times.items()}
        self.name = max(self.first, key=self.first.get)
        self.fn = fns[self.name]
        self.best = max(self.first.values())

    def seen(self, seconds: list[float]) -> list[float]:
        rates = [gflops_of(s) for s in seconds]
        self.best = max(self.best, *rates)
        return rates


def onnx_gflop(path: Path, size: int) -> float:
    """GFLOP of one image: 2 × the MACs of every Conv and Gemm/MatMul node, with shapes
    from ONNX shape inference at batch 1 and `size` px."""
    model = onnx.load(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[0].dim_value, dims[2].dim_value, dims[3].dim_value = 1, size, size
    model = shape_inference.infer_shapes(model)
    shapes: dict[str, list[int]] = {
        vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim]
        for vi in [*model.graph.input, *model.graph.value_info, *model.graph.output]
    }
    shapes.update({init.name: list(init.dims) for init in model.graph.initializer})
    macs = 0
    for node in model.graph.node:
        out = int(np.prod(shapes[node.output[0]]))
        if node.op_type == "Conv":
            weight = shapes[node.input[1]]
            macs += out * int(np.prod(weight[1:]))
        elif node.op_type in ("Gemm", "MatMul"):
            a = shapes[node.input[0]]
            trans_a = any(at.name == "transA" and at.i for at in node.attribute)
            macs += out * (a[-2] if trans_a else a[-1])
    return 2.0 * macs / 1e9


def count_macs(model: torch.nn.Module, size: int) -> float:
    """Multiply-accumulates of one image through every Conv2d and Linear layer (torch
    side; a cross-check of `onnx_gflop`)."""
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


def median_ratio(a: list[float], b: list[float]) -> float:
    """Median over rounds of a[i] / b[i]."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def torch_runner(net: torch.nn.Module, x: np.ndarray, device: str) -> Callable[[], object]:
    """torch eager doing what `Engine.run` does: host array in, host arrays out."""

    def run():
        with torch.inference_mode():
            xt = torch.from_numpy(x).to(device)
            logits, embedding = net(xt)
            return logits.cpu().numpy(), embedding.cpu().numpy()

    return run


def model_table(
    model,
    dirs: dict[int, Path],
    batches,
    rounds: int,
    device: str,
    sgemm: Sgemm,
    with_ort: bool = True,
) -> list[list[str]]:
    """images/s of onnxruntime (ours, and default options) and torch eager per size and
    batch, interleaved with the sgemm the share is measured against. Without onnxruntime
    (`with_ort=False`: no CUDA provider in this build) only torch's columns are filled."""
    rows = []
    net = model.to(device).eval()
    for size, folder in dirs.items():
        gflop = onnx_gflop(folder / "model.onnx", size)
        torch_gflop = 2 * count_macs(model.cpu(), size) / 1e9
        net = model.to(device).eval()
        engine = Engine.load(folder, device=device) if with_ort else None
        plain = default_session(folder / "model.onnx", engine.provider.provider) if engine else None
        status = engine.provider.status() if engine else "onnxruntime left out"
        if engine and not engine.provider.on_gpu:
            spins = engine.session.get_session_options().get_session_config_entry(
                "session.intra_op.allow_spinning"
            )
            status += f"; our threads {'spin' if spins == '1' else 'sleep'} between operators"
        print(
            f"  {size} px: {gflop:.2f} GFLOP/image from the ONNX graph "
            f"({torch_gflop:.2f} from torch's layers); {status}",
            flush=True,
        )
        for batch in batches:
            x = np.random.default_rng(0).standard_normal((batch, 3, size, size)).astype(np.float32)
            fns: dict[str, Callable[[], object]] = {}
            if engine is not None and plain is not None:
                fns["ours"] = lambda engine=engine, x=x: engine.run(x)
                fns["default"] = lambda plain=plain, x=x: plain.run(None, {"images": x})
            fns["torch"] = torch_runner(net, x, device)
            fns["sgemm"] = sgemm.fn
            times = interleaved(fns, rounds, min_seconds=5.0)
            sg = sgemm.seen(times["sgemm"])
            if engine is None:
                torch_rate = batch / statistics.median(times["torch"])
                rows.append(
                    [f"{size}", f"{batch}", f"{len(sg)}", "-", "-", f"{torch_rate:8.2f}", "-"]
                    + [f"{torch_rate * gflop:7.1f}", f"{statistics.median(sg):7.1f}", "-", "-"]
                )
                print("  " + "  ".join(rows[-1]), flush=True)
                continue
            ours = [batch / t for t in times["ours"]]
            paired = statistics.median(o * gflop / s for o, s in zip(ours, sg, strict=True))
            med = statistics.median
            rows.append(
                [
                    f"{size}",
                    f"{batch}",
                    f"{len(ours)}",
                    f"{med(ours):8.2f}",
                    f"{batch / med(times['default']):8.2f}",
                    f"{batch / med(times['torch']):8.2f}",
                    f"{median_ratio(times['torch'], times['ours']):5.2f}x",
                    f"{med(ours) * gflop:7.1f}",
                    f"{med(sg):7.1f}",
                    f"{paired * 100:5.1f}%",
                    f"{max(ours) * gflop / sgemm.best * 100:5.1f}%",
                ]
            )
            print("  " + "  ".join(rows[-1]), flush=True)
    model.cpu()
    return rows


MODEL_HEADER = [
    "px",
    "batch",
    "rounds",
    "ORT ours",
    "ORT default",
    "torch",
    "ours/torch",
    "GFLOP/s",
    "sgemm",
    "of sgemm (paired)",
    "of sgemm (best)",
]


def profile_table(dirs: dict[int, Path], batches, runs: int, sgemm: Sgemm) -> list[list[str]]:
    """Where our CPU session spends its time (onnxruntime's profiler, after one warm-up
    run): share per operator type, the convolutions' own GFLOP/s and their share of the
    best sgemm, and the run time outside any operator."""
    rows = []
    for size, folder in dirs.items():
        gflop = onnx_gflop(folder / "model.onnx", size)
        for batch in batches:
            opts = providers.session_options(on_cpu=True, spin=cpu_share.spinning()[0])
            opts.enable_profiling = True
            opts.profile_file_prefix = str(folder / f"profile-{batch}")
            session = ort.InferenceSession(
                str(folder / "model.onnx"), opts, providers=[providers.CPU]
            )
            x = np.random.default_rng(0).standard_normal((batch, 3, size, size)).astype(np.float32)
            for _ in range(runs + 1):
                session.run(None, {"images": x})
            events = json.loads(Path(session.end_profiling()).read_text())
            model_runs = sorted(
                (e for e in events if e.get("name") == "model_run"), key=lambda e: e["ts"]
            )
            after_warmup = model_runs[0]["ts"] + model_runs[0]["dur"]
            wall = sum(e["dur"] for e in model_runs[1:])
            per_op: dict[str, float] = defaultdict(float)
            for e in events:
                if e.get("cat") == "Node" and e["ts"] >= after_warmup:
                    per_op[e["args"].get("op_name", "?")] += e["dur"]
            in_ops = sum(per_op.values())
            conv = per_op.get("Conv", 0.0)
            conv_gflops = gflop * batch * runs / (conv / 1e6) if conv else 0.0
            others = sorted(((v, k) for k, v in per_op.items() if k != "Conv"), reverse=True)
            rows.append(
                [
                    f"{size}",
                    f"{batch}",
                    f"{wall / runs / 1000:8.1f}",
                    f"{conv / wall * 100:5.1f}%",
                    ", ".join(f"{k} {v / wall * 100:.1f}%" for v, k in others[:3]),
                    f"{(wall - in_ops) / wall * 100:5.1f}%",
                    f"{conv_gflops:7.1f}",
                    f"{conv_gflops / sgemm.best * 100:5.1f}%",
                ]
            )
            print("  " + "  ".join(rows[-1]), flush=True)
    return rows


PROFILE_HEADER = [
    "px",
    "batch",
    "ms/run",
    "Conv",
    "other operators",
    "outside operators",
    "Conv GFLOP/s",
    "Conv of best sgemm",
]


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
    parser.add_argument("--quick", action="store_true", help="fewer rounds and images")
    parser.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help="cpu: CPU provider vs torch on the CPU; cuda: CUDA provider vs torch on CUDA",
    )
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per cell")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[224, 448], help="input sizes of the table"
    )
    parser.add_argument(
        "--batches", type=int, nargs="+", default=None, help="batch sizes (CPU 1 8, CUDA 1 8 32)"
    )
    parser.add_argument(
        "--images", type=int, default=None, help="JPEGs for the end-to-end run (default 500)"
    )
    parser.add_argument(
        "--e2e-size", type=int, default=224, help="input size for the end-to-end run"
    )
    parser.add_argument("--skip-table", action="store_true", help="no engine comparison table")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--skip-similarity", action="store_true")
    parser.add_argument(
        "--profile", action="store_true", help="also profile our CPU session per operator type"
    )
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 7)
    images = args.images or (100 if args.quick else 500)
    device = args.device
    with_ort = True
    if device == "cuda":
        if not torch.cuda.is_available():
            print("CUDA benchmark impossible here: torch sees no CUDA device")
            return 2
        problem = providers.cuda_problem()
        if problem is not None:
            # Still worth torch's CUDA column; the GPU share of ORT needs onnxruntime-gpu.
            print(f"onnxruntime's CUDA provider cannot run here: {problem}; torch columns only")
            with_ort = False
        torch.backends.cudnn.benchmark = True  # ORT's CUDA provider searches conv algorithms too
    threads = providers.cpu_threads()
    torch.set_num_threads(threads)
    print(
        f"CPU threads {threads} (OMP/OpenBLAS/MKL {os.environ['OMP_NUM_THREADS']}/"
        f"{os.environ['OPENBLAS_NUM_THREADS']}/{os.environ['MKL_NUM_THREADS']}); "
        f"onnxruntime {ort.__version__}; torch {torch.__version__}; "
        f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}",
        flush=True,
    )
    if device == "cuda":
        print(
            f"GPU {torch.cuda.get_device_name()}; torch cudnn.allow_tf32="
            f"{torch.backends.cudnn.allow_tf32} matmul.allow_tf32="
            f"{torch.backends.cuda.matmul.allow_tf32}",
            flush=True,
        )
    sgemm = Sgemm(device, rounds=3)
    print(
        f"fp32 sgemm {SGEMM_N}² ({', '.join(f'{k} {v:.1f}' for k, v in sgemm.first.items())} "
        f"GFLOP/s); pairing each round with {sgemm.name}",
        flush=True,
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
        sizes = sorted(set(args.sizes) | ({args.e2e_size} if not args.skip_e2e else set()))
        dirs = {size: make_model_dir(work / f"m{size}", model, size) for size in sizes}
        table_dirs = {size: dirs[size] for size in args.sizes}
        batches = args.batches or ((1, 8, 32) if device == "cuda" else (1, 8))
        if not args.skip_table:
            where = "CUDA" if device == "cuda" else "CPU"
            print(f"\nResNet101 (random weights, BN-calibrated) on {where}, images/s:", flush=True)
            rows = model_table(model, table_dirs, batches, rounds, device, sgemm, with_ort)
            print_table(
                f"ResNet101 on {where} (images/s, median of interleaved rounds)",
                MODEL_HEADER,
                rows,
            )
            print(
                f"'of sgemm (paired)': median over rounds of ours against that round's sgemm; "
                f"'(best)': ours' best round against the best sgemm seen ({sgemm.best:.1f} "
                f"GFLOP/s)"
            )
        if args.profile and device == "cpu":
            print("\nwhere our CPU session's time goes (onnxruntime profiler):", flush=True)
            print_table(
                "operator time per run (Conv includes the Add/ReLU fused into it)",
                PROFILE_HEADER,
                profile_table(table_dirs, batches, 3, sgemm),
            )
        if not args.skip_e2e and not with_ort:
            print("\nend-to-end skipped: it would measure the CPU provider, not the GPU")
        elif not args.skip_e2e:
            print(
                f"\nend-to-end suggest over {images} JPEGs (1024×768), ResNet101 at "
                f"{args.e2e_size} px on {device}:"
            )
            rows = end_to_end(dirs[args.e2e_size], images, work, device)
            print_table(
                "end-to-end (decode threads + model + store) vs model only, same batch",
                ["px", "batch", "decode nice", "images", "model only", "end-to-end", "share"],
                rows,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
