"""Optimised CPU graphs kept on disk, so a large model opens in a fraction of the time.

Most of onnxruntime's start-up for a ResNet101 (2.2–2.6 s on 2 cores) is graph
optimisation: constant folding, Conv+BatchNorm+Add+ReLU fusion and the NCHWc
layout transform. The optimised graph, saved once via
`SessionOptions.optimized_model_filepath`, opens in about 0.45 s (ADR 0016).
That graph is specific to this CPU (the NCHWc block size follows its vector
width) and to the onnxruntime version, so both are part of the cache key,
beside the source file's path, size and modification time.

Only CPU sessions of files of at least `MIN_BYTES` are cached: small models
start fast anyway, and a cache entry is as large as the model. The newest
`KEEP` entries stay. `CLML_DESKTOP_ORT_CACHE` names another folder, or turns
the cache off with "off". Any cache problem (unwritable folder, a damaged
entry) falls back to the source file: the cache may speed a load up, never
break it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import threading
import time
from pathlib import Path

import onnxruntime as ort
import platformdirs

log = logging.getLogger(__name__)

CACHE_ENV = "CLML_DESKTOP_ORT_CACHE"
MIN_BYTES = 64 * 2**20
KEEP = 3
STALE_PART_S = 3600.0


def cache_dir() -> Path | None:
    """Where optimised graphs go, or None when the cache is off."""
    value = os.environ.get(CACHE_ENV)
    if value is not None:
        value = value.strip()
        return None if value.lower() in ("", "0", "off") else Path(value)
    return Path(platformdirs.user_cache_dir("clml-desktop")) / "onnxruntime"


def cpu_identity() -> str:
    """The CPU model and instruction-set flags (what the NCHWc kernels depend on)."""
    model = flags = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not model:
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = value.strip()
                if model and flags:
                    break
    except OSError:
        pass
    return f"{platform.machine()}|{model or platform.processor()}|{flags}"


def cache_key(onnx_path: Path, opts: ort.SessionOptions) -> str:
    """A name for the optimised graph of `onnx_path` under `opts` on this CPU."""
    stat = onnx_path.stat()
    parts = [
        str(onnx_path.resolve()),
        str(stat.st_size),
        str(stat.st_mtime_ns),
        ort.__version__,
        cpu_identity(),
        str(int(opts.graph_optimization_level)),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def open_session(
    onnx_path: Path, opts: ort.SessionOptions, wanted: list[str]
) -> ort.InferenceSession:
    """An InferenceSession for `onnx_path`, through the cache when it applies.

    Errors about the model itself are onnxruntime's, raised from the source file,
    exactly as without the cache.
    """
    onnx_path = Path(onnx_path)
    folder = cache_dir()
    if wanted != ["CPUExecutionProvider"] or folder is None:
        return ort.InferenceSession(str(onnx_path), sess_options=opts, providers=wanted)
    try:
        if onnx_path.stat().st_size < MIN_BYTES:
            return ort.InferenceSession(str(onnx_path), sess_options=opts, providers=wanted)
        cached = folder / f"{cache_key(onnx_path, opts)}.onnx"
    except OSError:
        return ort.InferenceSession(str(onnx_path), sess_options=opts, providers=wanted)
    if cached.is_file():
        try:
            session = ort.InferenceSession(str(cached), sess_options=opts, providers=wanted)
        except Exception as exc:  # a damaged entry: drop it and rebuild from the source
            log.warning("optimised model cache: dropping %s (%s)", cached, exc)
            _unlink(cached)
        else:
            _touch(cached)
            log.debug("optimised model cache: %s from %s", onnx_path, cached)
            return session
    return _create_and_save(onnx_path, opts, wanted, cached)


def _create_and_save(
    onnx_path: Path, opts: ort.SessionOptions, wanted: list[str], cached: Path
) -> ort.InferenceSession:
    part = cached.with_name(f"{cached.name}.{os.getpid()}-{threading.get_ident()}.part")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.info("optimised model cache off: cannot create %s (%s)", cached.parent, exc)
        return ort.InferenceSession(str(onnx_path), sess_options=opts, providers=wanted)
    opts.optimized_model_filepath = str(part)
    opts.add_session_config_entry("session.save_model_format", "ONNX")
    try:
        session = ort.InferenceSession(str(onnx_path), sess_options=opts, providers=wanted)
    except Exception as exc:  # saving may fail (disk full); the model may be bad: retry plain
        log.info("optimised model cache: could not save %s (%s)", part, exc)
        _unlink(part)
        opts.optimized_model_filepath = ""
        return ort.InferenceSession(str(onnx_path), sess_options=opts, providers=wanted)
    opts.optimized_model_filepath = ""
    try:
        os.replace(part, cached)
    except OSError as exc:
        log.info("optimised model cache: could not keep %s (%s)", cached, exc)
        _unlink(part)
    else:
        _prune(cached.parent)
    return session


def _prune(folder: Path) -> None:
    """Keep the KEEP most recently used entries; drop leftovers of interrupted saves."""
    try:
        entries = sorted(
            (p for p in folder.glob("*.onnx") if p.is_file()),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in entries[KEEP:]:
            _unlink(old)
        now = time.time()
        for part in folder.glob("*.part"):
            if now - part.stat().st_mtime > STALE_PART_S:
                _unlink(part)
    except OSError as exc:
        log.debug("optimised model cache: pruning %s failed (%s)", folder, exc)


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass


def _unlink(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass
