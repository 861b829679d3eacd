"""The same rows on every instruction set this CPU runs: portable, AVX2+FMA, AVX-512F.

The C core picks its kernels once at load; ``softviz._native.select_isa`` switches them
in-process.  Each contender here selects its ISA before each call (a few hundred
nanoseconds, nothing next to a long row), so the paths are timed interleaved in the
same rounds like any other contenders.  The ISA the process ran before is restored.

Dukhan & Ablavatski (2020, arXiv:2001.04438) report Two-Pass 18 % faster than
Three-Pass with AVX2 and 28 % with AVX-512, out of cache; the project's AVX2 target reads
the float32 2^24 row of this table.

Used by: ``python -m softviz.bench``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import softviz
from softviz import _native

from .probes import probe_row
from .speed import add_ratios, logits, method_fn, out_call, timing_row
from .timing import MIN_SAMPLE_SECONDS, Progress, pow2_label, time_interleaved

__all__ = ["ISA_ALGORITHMS", "forced_isa", "isa_comparison"]

#: What the per-ISA table compares: the paper's pair.
ISA_ALGORITHMS = ("three_pass_recompute", "two_pass")


class forced_isa:
    """Context manager: run the kernels of ``isa`` inside, restore the previous choice after.

    ``isa=None`` changes nothing.  An ISA this build or CPU cannot run raises ValueError.
    """

    def __init__(self, isa: str | None) -> None:
        self.isa = isa
        self._before: str | None = None

    def __enter__(self) -> forced_isa:
        if self.isa is not None:
            self._before = softviz.kernel_info()["requested"] or None
            _native.select_isa(self.isa)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.isa is not None:
            _native.select_isa(self._before)


def _on(isa: str, fn: Callable[[], object]) -> Callable[[], object]:
    def call() -> object:
        _native.select_isa(isa)
        return fn()
    return call


def isa_comparison(n: int = 2**24, dtype: str = "float32", *, isas: Sequence[str] | None = None,
                   algorithms: Sequence[str] = ISA_ALGORITHMS, repeats: int = 5,
                   min_time: float = MIN_SAMPLE_SECONDS, seed: int = 0,
                   progress: Progress | None = None) -> list[dict[str, Any]]:
    """``out=`` time of ``algorithms`` and the memory probes on one row, per ISA.

    ``isas`` defaults to every ISA the CPU supports (``kernel_info()["supported"]``).
    Rows are those of ``throughput`` plus ``isa``; ``vs_recompute`` compares within one
    ISA, ``vs_floor`` uses that ISA's own probes.  Without the C core: an empty list.
    """
    info = softviz.kernel_info()
    isas = list(info["supported"] if isas is None else isas)
    if not softviz.native_available() or not isas:
        return []
    dt = np.dtype(dtype)
    x = logits(n, dt, seed)
    out = np.empty_like(x)
    if progress is not None:
        progress.step(f"{dt.name} N={pow2_label(n)}: {', '.join(isas)} kernels")
    contenders: dict[str, Callable[[], object]] = {}
    for isa in isas:
        for alg in algorithms:
            contenders[f"{isa}|{alg}"] = _on(isa, out_call(method_fn(alg), x, out))
        contenders[f"{isa}|read"] = _on(isa, lambda: softviz.kernels.read_probe(x))
        contenders[f"{isa}|copy"] = _on(isa, lambda: softviz.kernels.copy_probe(x, out))
    with forced_isa(info["requested"] or info["isa"]):
        timings = time_interleaved(contenders, repeats, min_time=min_time)
    rows = []
    for isa in isas:
        group = [dict(timing_row(alg, "out", dt, int(n), timings[f"{isa}|{alg}"]), isa=isa)
                 for alg in algorithms]
        probe = probe_row(dt.name, int(n), timings[f"{isa}|read"], timings[f"{isa}|copy"])
        add_ratios(group, probe)
        for r in group:
            r["floor_seconds"] = probe["floor_seconds"]
        rows += group
    return rows
