"""Static figures of lesson 08 (attention): the softmax in low precision, and the benchmark.

``plot_precision`` draws ``softviz.attention.precision_study``: the softmax denominator
accumulated in float16, bfloat16 and float32 against the number of keys, and the two top
scores after rounding.  ``plot_attention_benchmark`` draws the rows of
``softviz.bench.attention.run``: time and peak memory of tiled and naive attention against
the sequence length.  FlashAttention: Dao et al. 2022 (arXiv:2205.14135), Dao 2023
(arXiv:2307.08691).

Used in: notebooks/08_attention.ipynb
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..panels import style

if TYPE_CHECKING:  # matplotlib loads on first use
    from matplotlib.figure import Figure

__all__ = ["plot_precision", "plot_attention_benchmark"]

_FORMATS = (("float16", "--"), ("bfloat16", ":"), ("float32", "-"))


def plot_precision(study: dict[str, Any]) -> Figure:
    """Two panels from ``precision_study``: the running sum of exp(s - max) accumulated in each
    format against the keys seen (the exact sum dashed-dotted), and the top two scores as the
    format stores them (a tie where the winner is lost).  Returns a new pyplot figure.

    Used in: notebooks/08_attention.ipynb
    """
    import matplotlib as mpl
    import matplotlib.pyplot as plt
    import numpy as np

    if not isinstance(study, dict) or "formats" not in study:
        raise ValueError("study must be the dict softviz.attention.precision_study returns")
    rows = study["formats"]
    with mpl.rc_context(style.rc()):
        fig, (ax, bx) = plt.subplots(1, 2, figsize=(style.FIGSIZE[0] * 1.15, style.FIGSIZE[1]),
                                     layout="constrained", width_ratios=(1.5, 1.0))
        keys = np.arange(1, study["n_keys"] + 1)
        ax.plot(keys, study["running_sum_exact"], color=style.INK, linestyle="-.", linewidth=1.2,
                label="exact")
        for k, (fmt, ls) in enumerate(_FORMATS):
            ax.plot(keys, rows[fmt]["running_sum"], color=style.PALETTE[k], linestyle=ls,
                    label=f"{fmt}: {rows[fmt]['sum_low']:.4g}")
        ax.set_xlabel("keys added")
        ax.set_ylabel("running sum of exp(s − max)")
        ax.set_title("the softmax denominator, accumulated in each format", loc="left")
        ax.legend(fontsize=8, loc="upper left")
        scores = np.sort(study["scores"])[::-1][:2]
        width = 0.25
        for k, (fmt, _) in enumerate(_FORMATS):
            vals = [_rounded(float(s), fmt) for s in scores]
            bars = bx.bar(np.arange(2) + (k - 1) * width, vals, width=width, color=style.PALETTE[k],
                          hatch=("//", "..", "")[k], edgecolor=style.INK, linewidth=0.5, label=fmt)
            del bars
        lo = float(scores[1]) - 0.15
        bx.set_ylim(lo, float(scores[0]) + 0.1)
        bx.set_xticks([0, 1], ["winner", f"runner-up\n({study['gap']:g} lower)"])
        bx.set_ylabel("score as stored")
        bx.set_title("the top two scores", loc="left")
        bx.legend(fontsize=8, loc="upper right")
    return fig


def _rounded(x: float, fmt: str) -> float:
    import numpy as np

    from ..numerics import round_to

    return float(round_to(np.array([x]), fmt)[0])


def plot_attention_benchmark(rows: Sequence[dict[str, Any]], title: str | None = None) -> Figure:
    """Time and peak memory against the sequence length N for tiled and naive attention (log-log),
    from the rows of ``softviz.bench.attention.run``.  Returns a new pyplot figure.

    Used in: notebooks/08_attention.ipynb
    """
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    rows = list(rows)
    if not rows or not all(isinstance(r, dict) and {"n", "method", "seconds", "peak_bytes"} <= set(r)
                           for r in rows):
        raise ValueError("rows must be the list softviz.bench.attention.run returns")
    with mpl.rc_context(style.rc()):
        fig, (ax, bx) = plt.subplots(1, 2, figsize=(style.FIGSIZE[0] * 1.1, style.FIGSIZE[1]),
                                     layout="constrained")
        for k, (method, marker, ls) in enumerate((("tiled", "o", "-"), ("naive", "s", "--"))):
            mine = sorted((r for r in rows if r["method"] == method), key=lambda r: r["n"])
            ns = [r["n"] for r in mine]
            label = "tiled (C core, online softmax)" if method == "tiled" else "naive numpy (S, P, O)"
            ax.plot(ns, [r["seconds"] for r in mine], marker=marker, linestyle=ls, color=style.PALETTE[k],
                    label=label)
            bx.plot(ns, [r["peak_bytes"] / 2**20 for r in mine], marker=marker, linestyle=ls,
                    color=style.PALETTE[k], label=label)
        blas = sorted((r for r in rows if r["method"] == "matmul"), key=lambda r: r["n"])
        if blas:
            ax.plot([r["n"] for r in blas], [r["seconds"] for r in blas], marker="^", linestyle=":",
                    color=style.PALETTE[2], label="the two matmuls alone (BLAS)")
        for a, ylabel, t in ((ax, "seconds per call", "time"), (bx, "peak MiB (tracemalloc)", "peak memory")):
            a.set_xscale("log", base=2)
            a.set_yscale("log")
            a.set_xlabel("sequence length N (d = 64, float32, one thread)")
            a.set_ylabel(ylabel)
            a.set_title(t, loc="left")
        ax.legend(fontsize=8, loc="upper left")
        if title:
            fig.suptitle(title, x=0.01, ha="left")
    return fig
