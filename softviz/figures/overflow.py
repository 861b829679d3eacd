"""Static figures of lesson 01 (overflow): softmax collapse at a glance.

Plain matplotlib through pyplot in the house style (``softviz.panels.style``), so a
notebook shows them under ``%matplotlib widget`` and inline alike.

Used in: notebooks/01_overflow.ipynb
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.ticker import NullLocator

from .. import numerics
from .. import overflow as lesson
from ..panels import style

if TYPE_CHECKING:  # matplotlib.pyplot loads on first use
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

__all__ = ["plot_collapse"]


def plot_collapse(gap_max: float = 45.0, ax: Axes | None = None) -> Figure | SubFigure:
    """The loss gradient of the correct class for logits [D, 0] against D: softmax collapse at a glance.

    Plots |dL/dz_correct| on a log scale for softmax cross-entropy computed in
    float32 and float64 (``softviz.overflow.collapse_profile``), the exact
    value, and StableMax in float32; a computed gradient that is exactly 0
    (collapse) is drawn on the bottom edge. Each curve has its own line style
    or marker, so the figure reads without colour. Vertical lines mark
    ``collapse_threshold`` (24 ln 2 for float32, 53 ln 2 for float64). From
    Prieto, Barsbey, Mediano and Birdal, "Grokking at the Edge of Numerical
    Stability" (2025, arXiv:2501.04697). Draws on ``ax`` or on a new pyplot
    figure of ``style.FIGSIZE``; returns the figure.

    Used in: notebooks/01_overflow.ipynb
    """
    import matplotlib as mpl

    if not (np.isfinite(gap_max) and gap_max > 0):
        raise ValueError(f"gap_max must be finite and > 0, got {gap_max!r}")
    with mpl.rc_context(style.rc()):
        if ax is None:
            import matplotlib.pyplot as plt

            fig: Figure | SubFigure
            fig, ax = plt.subplots(figsize=style.FIGSIZE, layout="constrained")
        else:
            fig = ax.figure
        gaps = np.linspace(0.0, gap_max, 2001)
        f32, f64 = (lesson.collapse_profile(gaps, d) for d in ("float32", "float64"))
        floor = 1e-22  # where an exact 0 is drawn: below every non-zero value shown
        ax.set_yscale("log")

        def show(values):
            a = np.abs(values)
            return np.where(a == 0, floor, a)

        # Colour is never the only channel (grayscale prints, colour-blind
        # readers): every curve also has its own line style or marker.
        every = len(gaps) // 12
        ax.plot(gaps, np.abs(f64["exact_grad"]), color=style.INK, linewidth=1.0,
                linestyle=":", label="softmax, exact")
        ax.plot(gaps, show(f64["grad"]), color=style.PALETTE[3], linestyle="--", linewidth=2.2,
                label="softmax, float64")
        ax.plot(gaps, show(f32["grad"]), color=style.PALETTE[1], linestyle="-",
                label="softmax, float32")
        ax.plot(gaps, show(f32["stablemax_grad"]), color=style.PALETTE[0], linestyle="-",
                marker="o", markevery=(every // 2, every), markersize=5,
                label="StableMax, float32")
        for dtype, colour in (("float32", style.PALETTE[1]), ("float64", style.PALETTE[3])):
            d = numerics.collapse_threshold(dtype)
            ax.axvline(d, color=colour, linestyle=(0, (1, 3)), linewidth=1.0)
            ax.annotate(f"{dtype} collapses\nD = {d:.4g}", xy=(d, 1e-11),
                        xytext=(4, 0), textcoords="offset points", color=colour,
                        ha="left", va="center")
        ax.set_ylim(floor / 3, 3.0)
        ax.set_yticks([1e-20, 1e-15, 1e-10, 1e-5, 1.0])
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_xlim(0, gap_max)
        ax.set_xlabel("logit gap D (logits [D, 0], the first class is correct)")
        ax.set_ylabel("|gradient| of the correct logit\n(exact 0 drawn at the bottom)")
        ax.set_title("Softmax collapse: the gradient becomes exactly 0", loc="left")
        ax.legend(loc="lower left", frameon=False)
    return fig
