"""Peers: softviz's default softmax against numpy, scipy, ONNX Runtime and PyTorch.

The shapes a user runs (batches of attention rows, vocabulary rows, single long rows),
float32 and float64, one thread for every library, each contender making a fresh output
as a user's call does.  Contenders are interleaved (``time_interleaved``) and each one's
result is checked against a float64 reference before it is timed: a peer that disagrees
is reported, not ranked.  ONNX Runtime (``pip install "softviz[bench]"``) and torch are
measured when they are installed and named as missing otherwise.

Used by: ``python -m softviz.bench`` (the peers table and its targets) and lesson 06's
section on short rows (notebooks/06_two_pass.ipynb).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import softviz

from .timing import Progress, time_interleaved

__all__ = ["PEER_SHAPES", "QUICK_PEER_SHAPES", "PEER_LIBRARIES", "SCALING_SHAPES", "peer_contenders", "peers",
           "available_peers", "batch_scaling"]

#: (label, rows, n): attention rows, vocabulary rows, single rows in cache and out of it.
PEER_SHAPES: tuple[tuple[str, int, int], ...] = (
    ("attention", 8192, 64),
    ("attention", 8192, 128),
    ("attention", 2048, 512),
    ("attention", 512, 4096),
    ("attention", 16, 65536),
    ("vocabulary", 64, 32000),
    ("vocabulary", 64, 50257),
    ("vocabulary", 16, 128256),
    ("vocabulary", 8, 256000),
    ("single row", 1, 2**16),
    ("single row", 1, 2**24),
)
#: The shapes the targets name, for ``--quick``.
QUICK_PEER_SHAPES: tuple[tuple[str, int, int], ...] = (
    ("attention", 8192, 128),
    ("attention", 512, 4096),
    ("vocabulary", 64, 50257),
    ("single row", 1, 2**16),
    ("single row", 1, 2**24),
)
PEER_LIBRARIES = ("numpy", "scipy", "onnxruntime", "torch")

# float32 results of the peers sum in float32: agreement is judged at this relative error
_AGREE = {"float32": 5e-3, "float64": 1e-10}


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except Exception:  # not installed, or broken: reported as missing
        return None


def available_peers() -> dict[str, str | None]:
    """{library: version or None} for the optional peers."""
    out: dict[str, str | None] = {}
    for name in ("onnxruntime", "torch"):
        mod = _import(name)
        out[name] = getattr(mod, "__version__", "unknown") if mod is not None else None
    return out


def _onnx_softmax(dtype: str) -> Callable[[np.ndarray], Any] | None:
    ort, onnx = _import("onnxruntime"), _import("onnx")
    if ort is None or onnx is None:
        return None
    from onnx import TensorProto, helper

    elem = TensorProto.FLOAT if dtype == "float32" else TensorProto.DOUBLE
    graph = helper.make_graph(
        [helper.make_node("Softmax", ["x"], ["y"], axis=-1)], "softmax",
        [helper.make_tensor_value_info("x", elem, None)], [helper.make_tensor_value_info("y", elem, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = min(model.ir_version, 9)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return lambda x: sess.run(None, {"x": x})[0]


def _torch_softmax() -> Callable[[np.ndarray], Any] | None:
    torch = _import("torch")
    if torch is None:
        return None
    torch.set_num_threads(1)

    def run(x: np.ndarray) -> Any:
        return torch.softmax(torch.from_numpy(x), dim=-1)

    return run


def peer_contenders(x: np.ndarray) -> dict[str, Callable[[], object]]:
    """The contenders on one batch x (rows x n): each call makes a fresh output."""
    import scipy.special

    dtype = x.dtype.name
    out: dict[str, Callable[[], object]] = {
        "softviz": lambda: softviz.softmax(x),
        "numpy": lambda: softviz.reference.stable_softmax(x),
        "scipy": lambda: scipy.special.softmax(x, axis=-1),
    }
    ort = _onnx_softmax(dtype)
    if ort is not None:
        out["onnxruntime"] = lambda: ort(x)
    tor = _torch_softmax()
    if tor is not None:
        out["torch"] = lambda: tor(x)
    return out


def _agrees(result: Any, ref: np.ndarray, dtype: str) -> float:
    y = np.asarray(result.numpy() if hasattr(result, "numpy") else result, dtype=np.float64)
    return float(np.max(np.abs(y - ref) / np.maximum(ref, 1e-30)))


def peers(shapes: Sequence[tuple[str, int, int]] = PEER_SHAPES, dtypes: Sequence[str] = ("float32", "float64"),
          repeats: int = 7, *, seed: int = 0, progress: Progress | None = None) -> list[dict[str, Any]]:
    """One row per (dtype, shape): ns per element of every contender, their errors, and
    which algorithm softviz's default chose.  Peers that are not installed are absent."""
    rng = np.random.default_rng(seed)
    rows = []
    for dtype in dtypes:
        for label, nrows, n in shapes:
            if progress is not None:
                progress.step(f"peers {dtype} {label} {nrows}x{n}")
            x = (rng.standard_normal((nrows, n)) * 4).astype(dtype)
            ref = np.exp(x.astype(np.float64) - x.max(axis=-1, keepdims=True))
            ref /= ref.sum(axis=-1, keepdims=True)
            contenders = peer_contenders(x)
            errors = {}
            for name, fn in list(contenders.items()):
                try:
                    errors[name] = _agrees(fn(), ref, dtype)
                except Exception as exc:  # a broken peer is reported, not timed
                    errors[name] = float("nan")
                    contenders.pop(name)
                    print(f"softviz.bench: {name} failed on {nrows}x{n} {dtype}: {exc}")
            bad = [k for k, e in errors.items() if not e <= _AGREE[dtype]]
            for name in bad:
                contenders.pop(name, None)
            timing = time_interleaved(contenders, repeats=repeats)
            ns = {k: (t.seconds / x.size * 1e9 if t.seconds is not None else None) for k, t in timing.items()}
            others = [v for k, v in ns.items() if k in ("onnxruntime", "torch") and v is not None]
            ours = ns.get("softviz")
            rows.append({
                "dtype": dtype, "shape": label, "rows": nrows, "n": n,
                "algorithm": softviz.auto_algorithm(n, dtype, rows=nrows),
                "ns_per_element": ns, "max_rel_error": errors, "disagree": bad,
                "best_peer": min(others) if others else None,
                "speedup_vs_best_peer": (min(others) / ours) if others and ours else None,
            })
    return rows


#: The batches whose ``workers=2`` speed-up the targets judge.
SCALING_SHAPES: tuple[tuple[str, int, int], ...] = (("attention", 8192, 128), ("vocabulary", 64, 50257),
                                                    ("attention", 512, 4096))


def batch_scaling(shapes: Sequence[tuple[str, int, int]] = SCALING_SHAPES, workers: Sequence[int] = (1, 2),
                  repeats: int = 7, *, seed: int = 0, progress: Progress | None = None) -> list[dict[str, Any]]:
    """``workers=`` on batches (whole rows per thread, fresh outputs, float32), interleaved:
    one row per (shape, workers) with the speed-up over one thread."""
    from .machine import usable_cpus

    rng = np.random.default_rng(seed)
    cpus = usable_cpus()
    out = []
    for label, nrows, n in shapes:
        if progress is not None:
            progress.step(f"batch workers {nrows}x{n}")
        x = (rng.standard_normal((nrows, n)) * 4).astype(np.float32)
        def call(w: int, x: np.ndarray = x) -> Callable[[], object]:
            return lambda: softviz.softmax(x, workers=w)

        timing = time_interleaved({w: call(w) for w in workers}, repeats=repeats)
        base = timing[workers[0]].seconds
        for w in workers:
            s = timing[w].seconds
            out.append({"shape": label, "rows": nrows, "n": n, "workers": w, "available": cpus,
                        "seconds": s, "ns_per_element": s / x.size * 1e9 if s else None,
                        "speedup": base / s if base and s else None, "error": timing[w].error})
    return out
