"""Figures of lesson 06's measurements: the sweep against N, and the accuracy against the spread.

Used in: notebooks/06_two_pass.ipynb
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .machine import bytes_str

__all__ = ["plot_sweep", "plot_accuracy", "plot_row_costs"]

_STYLE = {"three_pass_reload": (0, "-", "o"), "three_pass_recompute": (1, "-", "s"),
          "two_pass": (2, "-", "D"), "online": (3, "-", "^"),
          "numpy": (4, "--", "v"), "scipy": (5, "--", "x")}


def _pyplot() -> Any:
    import matplotlib.pyplot as plt
    return plt


def _method_style(method: str) -> dict[str, Any]:
    from softviz.panels.style import INK, PALETTE
    i, ls, marker = _STYLE.get(method, (0, ":", "."))
    # the baselines are drawn dashed in grey and black: the palette's light pink and yellow
    # vanish on white, and the markers tell them apart
    color = {"numpy": "#777777", "scipy": INK}.get(method, PALETTE[i])
    return {"color": color, "linestyle": ls, "marker": marker, "markersize": 4}


def _cache_marks(ax: Any, result: dict[str, Any]) -> None:
    from softviz.panels.style import PALETTE
    itemsize = np.dtype(result["dtype"]).itemsize
    lo, hi = min(result["sizes"]), max(result["sizes"])
    for i, level in enumerate(("L1", "L2", "L3")):
        size = result["caches"].get(level)
        if not size:
            continue
        n_fill = size / (2 * itemsize)
        if lo / 2 <= n_fill <= hi * 2:
            ax.axvline(n_fill, color=PALETTE[3], linewidth=1.0, linestyle=":")
            ax.text(n_fill, 0.02 + 0.07 * i, f" {level} {bytes_str(size)}",
                    transform=ax.get_xaxis_transform(), fontsize=8, color=PALETTE[0])


def plot_sweep(result: dict[str, Any], fig: Any = None, title: str | None = None) -> Any:
    """Figure of a ``sweep`` result, against the row length N, with the memory floor.

    Left: GB/s of input (N * itemsize / time) of every contender, and the memory floor
    (one read pass + one copy pass, measured at each N) as the ceiling.  Right: each
    contender's time divided by that floor (1 = as fast as moving the bytes).  Dotted
    lines mark where x and y together fill L1, L2 and L3.  ``title`` replaces the default
    heading ("softmax on this machine, ..."), e.g. for a stored reference run.  Returns the
    figure.

    Used in: notebooks/06_two_pass.ipynb
    """
    from softviz.panels.style import INK
    if fig is None:
        fig = _pyplot().figure(figsize=(11, 4.2), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    itemsize = np.dtype(result["dtype"]).itemsize
    floors = {p["n"]: p["floor_seconds"] for p in result["probes"] if p.get("floor_seconds")}
    for method in result["methods"]:
        mine = [r for r in result["rows"] if r["method"] == method and r.get("seconds")]
        if mine:
            style = _method_style(method)
            label = method.replace("_", " ")
            axes[0].plot([r["n"] for r in mine], [r["gbps"] for r in mine], label=label, **style)
            pts = [(r["n"], r["seconds"] / floors[r["n"]]) for r in mine if r["n"] in floors]
            if pts:
                axes[1].plot(*zip(*pts), label=label, **style)
    if floors:
        ns = sorted(floors)
        axes[0].plot(ns, [n * itemsize / floors[n] / 1e9 for n in ns], color=INK, linewidth=2.4,
                     alpha=0.55, label="memory floor (read + copy pass)")
        axes[1].axhline(1.0, color=INK, linewidth=2.4, alpha=0.55)
    for ax, heading, ylabel in ((axes[0], "throughput: GB/s of input", "GB/s"),
                                (axes[1], "time / memory floor", "x the floor (1 = the floor)")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(f"{heading} ({result['dtype']})")
        ax.set_xlabel("row length N")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="major", alpha=0.3)
        _cache_marks(ax, result)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", fontsize=8)
    fig.suptitle(title or "softmax on this machine, one thread (dotted: x and y together fill that cache)",
                 fontsize=11)
    return fig


def plot_accuracy(rows: list[dict[str, Any]], fig: Any = None) -> Any:
    """Figure of ``accuracy`` rows: max error in ulps against the logit spread, per dtype.

    Zero errors are drawn at 0 on a symmetric-log axis.  Returns the figure.

    Used in: notebooks/06_two_pass.ipynb
    """
    if fig is None:
        fig = _pyplot().figure(figsize=(11, 3.8), layout="constrained")
    dtypes = list(dict.fromkeys(r["dtype"] for r in rows))
    axes = np.atleast_1d(fig.subplots(1, len(dtypes)))
    for ax, dtype in zip(axes, dtypes):
        mine = [r for r in rows if r["dtype"] == dtype and r["max_ulp_error"] is not None]
        for method in dict.fromkeys(r["method"] for r in mine):
            pts = sorted((r["scale"], r["max_ulp_error"]) for r in mine if r["method"] == method)
            ax.plot(*zip(*pts), label=method.replace("_", " "), **_method_style(method))
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(0, 2 * max([r["max_ulp_error"] for r in mine] + [1.0]))
        ax.set_title(f"{dtype}: error vs mpmath")
        ax.set_xlabel("logit spread s (x = s * N(0, 1))")
        ax.set_ylabel("max error (ulps)")
        ax.grid(True, alpha=0.3)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", fontsize=8)
    return fig


def plot_row_costs(rows: Sequence[dict[str, Any]], fig: Any = None) -> Any:
    """ns per element against the row length, one line per algorithm, with each line's
    fitted ``b + a / n`` dashed.  Used in: notebooks/06_two_pass.ipynb."""
    from .rows import fit_row_cost

    if not rows:
        raise ValueError("rows must not be empty")
    if fig is None:
        fig = _pyplot().figure(figsize=(7.5, 3.6), layout="constrained")
    ax = fig.add_subplot(111)
    for a in dict.fromkeys(r["algorithm"] for r in rows):
        mine = [r for r in rows if r["algorithm"] == a and r["ns_per_element"]]
        ns = np.array([r["n"] for r in mine], dtype=float)
        style = _method_style(a)
        (line,) = ax.plot(ns, [r["ns_per_element"] for r in mine], label=a.replace("_", " "), **style)
        if len(mine) >= 2:
            fit = fit_row_cost(mine, a)
            grid = np.geomspace(ns.min(), ns.max(), 100)
            ax.plot(grid, fit["ns_per_element"] + fit["fixed_ns"] / grid, "--", color=line.get_color(), lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("row length n (elements)")
    ax.set_ylabel("ns per element")
    ax.set_title(f"the same {rows[0]['rows'] * rows[0]['n']:,} elements split into rows of n ({rows[0]['dtype']}, out=)")
    ax.legend(fontsize=8)
    return fig
