"""The whole benchmark run: every section, one JSON-ready dict (``python -m softviz.bench``).

The sections, in order: the call overhead and, per dtype and N, every softmax contender
interleaved with the memory probes (``throughput``); the same long row on every
instruction set the CPU supports (``isas``); ``workers=`` scaling; accuracy (short rows
vs mpmath, long rows vs a float64 reference); with ``with_panels`` the panels; Soft-NMS;
then the targets.  The document's layout is described in ``softviz.bench.schema``.

Used by: ``python -m softviz.bench`` (``softviz.bench.cli``).
"""
from __future__ import annotations

import datetime
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

import softviz

from .extras import NMS_SIZES, nms_benchmark, panel_benchmark, workers_scaling
from .isas import ISA_ALGORITHMS, forced_isa, isa_comparison
from .machine import load_average, machine_info, usable_cpus
from .numerical_error import LONG_ROW_LENGTHS, SCALES, accuracy, long_row_accuracy
from .peers import PEER_SHAPES, QUICK_PEER_SHAPES, SCALING_SHAPES, available_peers, batch_scaling, peers
from .schema import SCHEMA
from .speed import BASELINES, NUMPY_BASELINE, OVERHEAD_N, SCIPY_BASELINE, throughput
from .targets import evaluate_targets
from .timing import MIN_SAMPLE_SECONDS, Progress

__all__ = ["DEFAULT_SIZES", "QUICK_SIZES", "DTYPES", "parse_sizes", "long_row_lengths", "run"]

#: Row lengths of the full run: 2^10, 2^12, ..., 2^24.
DEFAULT_SIZES = tuple(2**p for p in range(10, 25, 2))
#: Row lengths of ``--quick``.
QUICK_SIZES = (2**10, 2**16, 2**20, 2**22, 2**24)
DTYPES = ("float32", "float64")


def parse_sizes(text: str) -> list[int]:
    """Parse ``"10,16,24"`` (powers of two) into ``[1024, 65536, 16777216]``."""
    sizes = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            p = int(part)
        except ValueError:
            raise ValueError(f"--sizes takes powers of two such as 10,16,24; got {part!r}") from None
        if not 0 <= p <= 30:
            raise ValueError(f"--sizes: power {p} out of range 0..30")
        sizes.append(2**p)
    if not sizes:
        raise ValueError("--sizes: no sizes given")
    return sorted(set(sizes))


def long_row_lengths(sizes: Sequence[int]) -> list[int]:
    """The long-row accuracy lengths of a run: ``LONG_ROW_LENGTHS`` up to its longest row."""
    top = max(sizes)
    return sorted({n for n in LONG_ROW_LENGTHS if n <= top} | {top})


def _config(sizes: list[int], dtypes: tuple[str, ...], quick: bool, reps: tuple[int, int],
            acc_rows: int, seed: int, with_accuracy: bool) -> dict[str, Any]:
    workers = sorted({1, 2, usable_cpus()})
    return {
        "sizes": sizes, "dtypes": list(dtypes), "quick": bool(quick),
        "repeats": reps[0], "repeats_large_n": reps[1], "min_sample_seconds": MIN_SAMPLE_SECONDS,
        "seed": seed, "algorithms": list(softviz.ALGORITHMS), "baselines": list(BASELINES),
        "numpy_baseline": NUMPY_BASELINE, "scipy_baseline": SCIPY_BASELINE,
        "logits": "10 * standard normal, numpy.random.default_rng(seed), rounded to the dtype",
        "timing": "contenders interleaved round-robin within each repeat after a warm-up; "
                  "median of the repeats; time.perf_counter",
        "call_overhead_n": OVERHEAD_N, "scaling_n": max(sizes), "scaling_workers": workers,
        "isa_n": max(sizes), "isa_algorithms": list(ISA_ALGORITHMS),
        "accuracy": ({"rows": acc_rows, "length": 256, "scales": list(SCALES), "digits": 50,
                      "long_row_lengths": long_row_lengths(sizes),
                      "compared": "elements whose exact value >= finfo(dtype).tiny"}
                     if with_accuracy else None),
    }


def _total_steps(cfg: dict[str, Any], with_panels: bool) -> int:
    n_dt = len(cfg["dtypes"])
    # call overhead + one group per N, per dtype; the ISA table; workers; one per soft_nms method
    total = n_dt * (1 + len(cfg["sizes"])) + 2 + 3
    if cfg.get("peers"):
        total += n_dt * len(cfg["peers"]["shapes"]) + len(SCALING_SHAPES)
    if cfg["accuracy"]:
        total += n_dt * len(SCALES) * (1 + len(cfg["accuracy"]["long_row_lengths"]))
    if with_panels:
        total += len(softviz.panels.registry())
    return total


def run(sizes: Sequence[int] = DEFAULT_SIZES, dtypes: Sequence[str] = DTYPES, *,
        repeats: int | None = None, quick: bool = False, with_accuracy: bool = True,
        with_panels: bool = False, with_peers: bool = True, isa: str | None = None, seed: int = 0,
        progress: bool | Progress = True, note: str = "",
        min_time: float = MIN_SAMPLE_SECONDS) -> dict[str, Any]:
    """Run every section and return one JSON-ready dict (what ``--json`` prints).

    ``isa`` forces the kernels of that instruction set for the whole run (restored
    after); ``progress`` is True (status line on stderr), False, or a ``Progress``;
    ``min_time`` is the least duration of one timing sample (``timing.time_interleaved``).
    """
    sizes = sorted({int(n) for n in sizes})
    dtypes = tuple(np.dtype(d).name for d in dtypes)
    if repeats is None:
        reps = (5, 3) if quick else (5, 5)
    else:
        reps = (max(1, int(repeats)),) * 2
    cfg = _config(sizes, dtypes, quick, reps, 5 if quick else 20, seed, with_accuracy)
    cfg["min_sample_seconds"] = float(min_time)
    cfg["peers"] = ({"shapes": [list(s) for s in (QUICK_PEER_SHAPES if quick else PEER_SHAPES)],
                     "installed": available_peers(), "threads": 1, "output": "fresh"} if with_peers else None)
    prog = progress if isinstance(progress, Progress) else Progress(
        _total_steps(cfg, with_panels), enabled=bool(progress))
    t_start = time.perf_counter()
    with forced_isa(isa):
        result: dict[str, Any] = {
            "schema": SCHEMA, "note": str(note),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine_info(), "config": cfg,
        }
        try:
            _measure(result, cfg, reps, with_panels, seed, prog)
        finally:
            prog.close()
    result["machine"]["load_average_end"] = load_average()
    result["elapsed_seconds"] = time.perf_counter() - t_start
    result["targets"] = evaluate_targets(result)
    return result


def _measure(result: dict[str, Any], cfg: dict[str, Any], reps: tuple[int, int],
             with_panels: bool, seed: int, prog: Progress) -> None:
    sizes, dtypes, top = cfg["sizes"], cfg["dtypes"], max(cfg["sizes"])
    big = reps[1] if top >= 2**22 else reps[0]
    timing = {"seed": seed, "progress": prog, "min_time": cfg["min_sample_seconds"]}
    result["throughput"] = throughput(sizes, dtypes, repeats=reps[0], large_repeats=reps[1], **timing)
    result["isas"] = isa_comparison(top, "float32", repeats=big, **timing)
    result["scaling"] = workers_scaling(top, cfg["scaling_workers"], repeats=big, **timing)
    acc = cfg["accuracy"]
    result["accuracy"] = (accuracy(dtypes=dtypes, scales=SCALES, rows=acc["rows"], seed=seed,
                                   progress=prog) if acc else None)
    result["long_row_accuracy"] = (long_row_accuracy(acc["long_row_lengths"], dtypes, SCALES,
                                                     seed=seed, progress=prog) if acc else None)
    result["panels"] = panel_benchmark(prog) if with_panels else None
    result["nms"] = nms_benchmark(NMS_SIZES, reps[0], seed=seed, progress=prog)
    pc = cfg.get("peers")
    result["peers"] = (peers([tuple(s) for s in pc["shapes"]], dtypes, repeats=max(reps[0], 5), seed=seed,
                             progress=prog) if pc else None)
    result["batch_scaling"] = (batch_scaling(SCALING_SHAPES, (1, 2), repeats=max(reps[0], 5), seed=seed,
                                             progress=prog) if pc else None)
