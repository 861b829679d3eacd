"""Static figures of lesson 03 (Gumbel): the Gumbel density, tau sweeps on the simplex,
the binary Concrete CDF, and three uses of the simplex; and ``ternary_axes``, the bare
simplex GumbelPanel draws on too.

Plain matplotlib through pyplot in the house style (``softviz.panels.style``), so a
notebook shows them. Papers: Jang, Gu, Poole 2017 (arXiv:1611.01144); Maddison, Mnih,
Teh 2017 (arXiv:1611.00712); Kool, van Hoof, Welling 2019 (arXiv:1903.06059).

Used in: notebooks/03_gumbel.ipynb
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.stats
from numpy.typing import ArrayLike

from .. import core
from .. import gumbel as gm
from .._validate import RngLike
from ..panels import style

if TYPE_CHECKING:  # matplotlib loads on first use
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "gumbel_noise_figure",
    "tau_sweep_figure",
    "binary_concrete_figure",
    "simplex_uses_figure",
    "ternary_axes",
    "CORNERS",
]

#: The simplex corners (classes 1, 2, 3) in the ternary plane.
CORNERS = gm.ternary_xy(np.eye(3))


def ternary_axes(ax: Axes, labels: Sequence[str] = ("class 1", "class 2", "class 3")) -> None:
    """Triangle, corner labels, equal aspect and no ticks: a bare simplex to draw on.

    Used in: notebooks/03_gumbel.ipynb (these figures and GumbelPanel).
    """
    ax.plot(*np.vstack([CORNERS, CORNERS[:1]]).T, color=style.INK, linewidth=1.0)
    offsets = ((-0.02, -0.06, "right", "top"), (0.02, -0.06, "left", "top"),
               (0.0, 0.04, "center", "bottom"))
    for (x, y), (dx, dy, ha, va), label in zip(CORNERS, offsets, labels):
        ax.text(x + dx, y + dy, label, ha=ha, va=va, fontsize="small")
    ax.set_xlim(-0.36, 1.36)
    ax.set_ylim(-0.16, 1.04)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("$x = p_2 + p_3/2$")
    ax.set_ylabel(r"$y = \frac{\sqrt{3}}{2}\,p_3$")


def _figure(ncols, figsize, **kw):
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    with mpl.rc_context(style.rc()):
        fig, axes = plt.subplots(1, ncols, figsize=figsize, layout="constrained", **kw)
    return fig, np.atleast_1d(axes)


def gumbel_noise_figure(n: int = 100_000, rng: RngLike = 0) -> Figure:
    """Histogram of ``sample_gumbel`` against the Gumbel density exp(-(g + e^-g)).

    Used in: notebooks/03_gumbel.ipynb
    """
    import matplotlib as mpl

    g = gm.sample_gumbel(n, rng)
    fig, (ax,) = _figure(1, (6.4, 3.0))
    with mpl.rc_context(style.rc()):
        ax.hist(g, bins=np.linspace(-3, 8, 89), density=True, color=style.PALETTE[3],
                edgecolor="white", linewidth=0.3, label=f"{n:,} draws of −log(−log U)")
        x = np.linspace(-3, 8, 400)
        ax.plot(x, np.exp(-(x + np.exp(-x))), color=style.PALETTE[0], label=r"density $e^{-(g + e^{-g})}$")
        ax.axvline(np.euler_gamma, color=style.PALETTE[1], linestyle="--", linewidth=1.2,
                   label="mean γ ≈ 0.5772")
        ax.set_xlabel("g")
        ax.set_ylabel("density")
        ax.set_title("The standard Gumbel distribution", loc="left")
        ax.legend(frameon=False, fontsize="small")
    return fig


def tau_sweep_figure(logits: Sequence[float] = (1.0, 2.0, 3.0), taus: Sequence[float] = (0.1, 0.5, 1.0, 5.0),
                     n: int = 600, rng: RngLike = 0) -> Figure:
    """Gumbel-softmax samples on the simplex, one ternary plot per tau, same noise for all.

    Used in: notebooks/03_gumbel.ipynb
    """
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    z = np.broadcast_to(np.asarray(logits, dtype=np.float64), (n, 3))
    probs = core.softmax(np.asarray(logits, dtype=np.float64))
    # One seed for every tau: the same noise, so the plots show the same samples.
    seed = int(np.random.default_rng(rng).integers(2**63))
    ncols = 2 if len(taus) > 2 else len(taus)
    nrows = -(-len(taus) // ncols)
    with mpl.rc_context(style.rc()):
        # A grid of large triangles: at small tau the samples pile into the corners, and a
        # row of four small triangles showed nothing but the corners.
        fig, axes = plt.subplots(nrows, ncols, figsize=(3.8 * ncols, 3.3 * nrows),
                                 layout="constrained", squeeze=False)
        for ax in axes.ravel()[len(taus):]:
            ax.set_visible(False)
        for ax, tau in zip(axes.ravel(), taus):
            ternary_axes(ax, labels=("1", "2", "3"))
            ax.set_xlim(-0.12, 1.12)
            ax.set_ylim(-0.12, 0.98)
            y = gm.gumbel_softmax(z, tau=tau, rng=seed)
            near = float(np.mean(y.max(axis=1) > 0.95))
            ax.scatter(*gm.ternary_xy(y).T, s=9, color=style.PALETTE[0], alpha=0.45, linewidths=0)
            ax.plot(*gm.ternary_xy(y.mean(axis=0)), "X", color=style.PALETTE[1], markersize=11,
                    markeredgecolor="white")
            ax.plot(*gm.ternary_xy(probs), "*", color=style.PALETTE[2], markersize=15,
                    markeredgecolor=style.INK, markeredgewidth=0.8)
            ax.set_title(f"τ = {tau:g}: {near:.0%} of samples\nwithin 0.05 of a corner",
                         loc="center", fontsize="medium")
            ax.set_xlabel("")
            ax.set_ylabel("")
        fig.suptitle(f"softmax((z + G)/τ) for z = {tuple(float(v) for v in logits)}, the same noise "
                     f"in every panel:\n{n} samples (dots), their mean (X) and softmax(z) (★)",
                     fontsize="medium")
    return fig


def binary_concrete_figure(logits: ArrayLike = (1.0, 0.0), taus: Sequence[float] = (0.3, 1.0, 3.0),
                           n: int = 100_000, rng: RngLike = 0) -> Figure:
    """Empirical CDF of Y_1 from ``gumbel_softmax`` against the binary Concrete closed form.

    The legend gives each tau's Kolmogorov-Smirnov p-value (``scipy.stats.kstest``).
    Used in: notebooks/03_gumbel.ipynb
    """
    import matplotlib as mpl

    z = np.asarray(logits, dtype=np.float64)
    fig, (ax,) = _figure(1, (6.4, 3.2))
    grid = np.linspace(0.0, 1.0, 401)
    gen = np.random.default_rng(rng)
    with mpl.rc_context(style.rc()):
        for i, tau in enumerate(taus):
            # Fresh noise per tau: with the same noise every tau would give the same KS
            # statistic (the test sees G_1 - G_2 through a monotone map).
            y1 = gm.gumbel_softmax(np.broadcast_to(z, (n, 2)), tau=tau, rng=gen)[:, 0]
            ks = scipy.stats.kstest(y1, lambda t, tau=tau: gm.binary_concrete_cdf(t, z, tau))
            color = style.PALETTE[i % len(style.PALETTE)]
            keep = np.unique(np.r_[np.arange(0, n, max(1, n // 2000)), n - 1])  # ends included
            ax.plot(np.sort(y1)[keep], (keep + 1) / n, color=color, linewidth=4, alpha=0.35)
            ax.plot(grid, gm.binary_concrete_cdf(grid, z, tau), color=color, linewidth=1.3,
                    label=f"τ = {tau:g}: KS p = {ks.pvalue:.2f}")
        ax.set_xlabel("$y_1$ (first coordinate of the sample)")
        ax.set_ylabel("$P(Y_1 \\leq y_1)$")
        ax.set_title("Binary Concrete: empirical CDF (wide) vs closed form (thin)", loc="left")
        ax.legend(frameon=False, fontsize="small", loc="upper left")
    return fig


def simplex_uses_figure(logits: ArrayLike = (1.0, 2.0, 2.5), tau: float = 0.5, n: int = 400,
                        rng: RngLike = 0) -> Figure:
    """Three ternary plots: soft thinking, SofT-GRPO-style Gumbel noise, a Gumbel-softmax flow.

    Left: the "soft token" softmax(z), one deterministic point, next to the
    greedy token (a corner). Middle: Gumbel-softmax samples softmax((z + G)/tau)
    spread around it (the exploration Gumbel noise brings back). Right: paths of
    a Gumbel-softmax interpolant towards the vertex of class 3, the temperature
    shrinking with time t (tau(t) = 4 * (0.03/4)^t here; paths that end at class 3), as in Gumbel-softmax flow matching.

    Used in: notebooks/03_gumbel.ipynb
    """
    import matplotlib as mpl

    z = np.asarray(logits, dtype=np.float64)
    probs = core.softmax(z)
    gen = np.random.default_rng(rng)
    fig, axes = _figure(3, (8.6, 2.8))
    with mpl.rc_context(style.rc()):
        for ax in axes:
            ternary_axes(ax, labels=("1", "2", "3"))
            ax.set_xlabel("")
            ax.set_ylabel("")
        a, b, c = axes
        a.plot(*gm.ternary_xy(probs), "*", color=style.PALETTE[2], markersize=13,
               markeredgecolor=style.INK, markeredgewidth=0.6)
        a.plot(*CORNERS[int(np.argmax(z))], "o", color=style.PALETTE[1], markersize=9)
        a.annotate("greedy token", CORNERS[int(np.argmax(z))], xytext=(10, -4),
                   textcoords="offset points", fontsize="small", color=style.PALETTE[1])
        a.set_title("soft thinking:\none point p = softmax(z)", loc="center", fontsize="medium")
        y = gm.gumbel_softmax(np.broadcast_to(z, (n, 3)), tau=tau, rng=gen)
        b.scatter(*gm.ternary_xy(y).T, s=5, color=style.PALETTE[3], alpha=0.6, linewidths=0)
        b.plot(*gm.ternary_xy(probs), "*", color=style.PALETTE[2], markersize=13,
               markeredgecolor=style.INK, markeredgewidth=0.6)
        b.set_title(f"+ Gumbel noise (τ = {tau:g}):\nspread = exploration", loc="center",
                    fontsize="medium")
        # Paths conditioned on ending at class 3 (the "data" vertex): noise rows whose
        # argmax(target + G) is class 3. Early, large tau: smooth interior points.
        target = np.array([0.0, 0.0, 1.5])
        t = np.linspace(0.0, 1.0, 40)
        taus = 4.0 * (0.03 / 4.0) ** t  # exponential decay from 4 to 0.03
        noise = gm.sample_gumbel((200, 3), gen)
        noise = noise[np.argmax(target + noise, axis=1) == 2][:12]
        for g in noise:
            path = np.array([core.softmax(target + g, temperature=s) for s in taus])
            c.plot(*gm.ternary_xy(path).T, color=style.PALETTE[0], linewidth=0.9, alpha=0.7)
            c.plot(*gm.ternary_xy(path[0]), "o", color=style.PALETTE[3], markersize=3)
        c.set_title("flow on the simplex:\nτ(t) shrinks, paths end at a vertex", loc="center",
                    fontsize="medium")
    return fig
