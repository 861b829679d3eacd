"""Static figures of lesson 07 (training): training runs side by side.

From Prieto, Barsbey, Mediano and Birdal, "Grokking at the Edge of Numerical
Stability" (2025, arXiv:2501.04697); the runs come from ``softviz.training.train``.

Used in: notebooks/07_training.ipynb
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..panels import style

if TYPE_CHECKING:  # matplotlib and numpy load on first use
    import numpy as np
    from matplotlib.figure import Figure

__all__ = ["plot_runs"]

#: One dash pattern per run, so colour is never the only channel.
_LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)))


def plot_runs(histories: dict[str, dict[str, np.ndarray]]) -> Figure:
    """Compare training runs: test accuracy, collapsed fraction and logit norm over the steps.

    ``histories`` maps a label to a dict returned by ``softviz.training.train``.
    Each run has its own colour AND line style (colour is never the only
    channel). Returns a new pyplot figure in the house style.

    Used in: notebooks/07_training.ipynb
    """
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    if not isinstance(histories, dict) or not histories:
        raise ValueError("histories must be a non-empty dict {label: history}")
    with mpl.rc_context(style.rc()):
        fig, axes = plt.subplots(1, 3, figsize=(style.FIGSIZE[0] * 1.25, style.FIGSIZE[1] * 1.1),
                                 layout="constrained")
        for k, (label, h) in enumerate(histories.items()):
            kw = {"color": style.PALETTE[k % len(style.PALETTE)],
                  "linestyle": _LINESTYLES[k % len(_LINESTYLES)], "label": label}
            axes[0].plot(h["step"], h["test_accuracy"], **kw)
            axes[1].plot(h["step"], h["collapsed_fraction"], **kw)
            axes[2].plot(h["step"], h["logit_norm"], **kw)
        for ax, title, ylabel in zip(axes, ("test accuracy", "collapsed training samples",
                                            "logit norm"),
                                     ("fraction of test pairs", "fraction (loss exactly 0)",
                                      "mean |z| (log scale)")):
            ax.set_title(title, loc="left")
            ax.set_xlabel("training step")
            ax.set_ylabel(ylabel)
        axes[0].set_ylim(-0.03, 1.03)
        axes[1].set_ylim(-0.03, 1.03)
        axes[1].axhline(0.5, color=style.INK, linewidth=0.7, alpha=0.5)
        axes[2].set_yscale("log")
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center",
                   ncol=min(len(histories), 5), frameon=False)
    return fig
