"""Static figures of lesson 05 (KDE regimes): KDE in low dimension, the bandwidth sweep,
the phase diagram, the KL per dimension; and ``draw_phase_background``, the (alpha, h)
plane KDEPanel draws on too.

Plain matplotlib through pyplot (they show under ``%matplotlib widget`` and inline).
Built on G. Biroli and M. Mezard, "Kernel Density Estimators in Large Dimensions"
(2024, arXiv:2408.05807).

Used in: notebooks/05_kde_regimes.ipynb, notebooks/05_kde_regimes_further.ipynb
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.ticker import NullLocator
from numpy.typing import ArrayLike

from .. import kde
from .._validate import RngLike
from ..panels import style

if TYPE_CHECKING:  # matplotlib.pyplot loads on first use
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_low_dimension", "plot_h_sweep", "plot_phase_diagram", "plot_kl", "draw_phase_background",
           "REGIME_COLOURS", "REGIME_LABELS", "ALPHA_RANGE", "H_RANGE"]

#: One palette colour per regime (condensed, stable, CLT): dark to light.
REGIME_COLOURS = {"condensed": style.PALETTE[1], "stable": style.PALETTE[2], "clt": style.PALETTE[3]}
REGIME_LABELS = {"condensed": "condensed", "stable": "stable", "clt": "CLT"}
#: The (alpha, h) window of the phase diagram; h in powers of ten, so a log slider hits its ends exactly.
ALPHA_RANGE = (0.04, 0.45)
H_RANGE = (0.1, 10.0)


def _phase_curves(alphas):
    return kde.h_g(alphas), kde.h_clt(alphas), kde.h_opt(alphas)


def draw_phase_background(ax: Axes, *, labels: bool = True) -> None:
    """Shaded regimes, the h_G / h_CLT / h_opt curves, axes set up; returns nothing.

    Used in: notebooks/05_kde_regimes.ipynb (``plot_phase_diagram`` and KDEPanel).
    """
    a = np.linspace(*ALPHA_RANGE, 200)
    hg, hc, ho = _phase_curves(a)
    lo, hi = H_RANGE
    ax.fill_between(a, lo, hg, color=REGIME_COLOURS["condensed"], alpha=0.12, linewidth=0)
    ax.fill_between(a, hg, hc, color=REGIME_COLOURS["stable"], alpha=0.15, linewidth=0)
    ax.fill_between(a, hc, hi, color=REGIME_COLOURS["clt"], alpha=0.15, linewidth=0)
    ax.plot(a, hc, color=REGIME_COLOURS["clt"], label=r"$h_\mathrm{CLT}$")
    ax.plot(a, hg, color=REGIME_COLOURS["stable"], label=r"$h_\mathrm{G}$")
    ax.plot(a, ho, color=style.INK, linestyle="--", linewidth=1.2, label=r"$h_\mathrm{opt}$")
    ax.set_yscale("log")
    ax.set_xlim(*ALPHA_RANGE)
    ax.set_ylim(lo, hi)
    # Fixed ticks inside the limits: locators also make (undrawn) labels outside them.
    ax.set_yticks([0.1, 0.2, 0.5, 1, 2, 5, 10], ["0.1", "0.2", "0.5", "1", "2", "5", "10"])
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_xticks([0.1, 0.2, 0.3, 0.4])
    ax.set_xlabel(r"$\alpha = \ln n / d$")
    ax.set_ylabel("bandwidth $h$")
    if labels:
        for text, x, y in (("CLT", 0.12, 5.0), ("stable", 0.36, None), ("condensed", 0.24, 0.14)):
            if y is None:
                y = math.sqrt(float(kde.h_g(x)) * float(kde.h_clt(x)))
            ax.text(x, y, text, ha="center", va="center", fontsize="small", color=style.INK)
        ax.text(0.44, 0.93 * float(kde.h_opt(0.44)), r"$h_\mathrm{opt}$", ha="right", va="top", fontsize="large",
                color=style.INK)


def _subplots(ncols, width=None, height=3.4, **kw):
    import matplotlib.pyplot as plt

    with_rc = {k: v for k, v in style.rc().items() if k.startswith(("axes.prop", "axes.spines"))}
    with plt.rc_context(with_rc):
        fig, axes = plt.subplots(1, ncols, figsize=(width or style.FIGSIZE[0], height),
                                 layout="constrained", **kw)
    return fig, np.atleast_1d(axes)


def _plain_log_ticks(ax, ticks):
    from matplotlib.ticker import NullFormatter

    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())


def plot_low_dimension(rng: RngLike = 0, bandwidths: Sequence[float] = (0.08, 0.3, 1.2)) -> Figure:
    """KDE in 1-D (three bandwidths over a histogram) and 2-D (contours): what h does.

    Data: a two-component Gaussian mixture, drawn with ``rng``. Returns the Figure.
    Used in: notebooks/05_kde_regimes.ipynb
    """
    gen = np.random.default_rng(rng)
    x1 = np.concatenate([gen.normal(-1.5, 0.5, 60), gen.normal(1.0, 0.8, 90)])
    fig, (a1, a2) = _subplots(2, width=9.0, height=3.4)
    grid = np.linspace(-4, 4, 400)
    a1.hist(x1, bins=30, density=True, color=style.PALETTE[5], edgecolor="white", label="data")
    for h, c in zip(bandwidths, (style.PALETTE[1], style.PALETTE[0], style.PALETTE[2])):
        a1.plot(grid, np.exp(kde.log_density(grid, x1, h)), color=c, label=f"h = {h:g}")
    a1.plot(x1, np.full_like(x1, -0.02), "|", color=style.INK, markersize=6)
    a1.set_title("1-D: small h is spiky, large h blurs", loc="left")
    a1.set_xlabel("x")
    a1.set_ylabel(r"$\hat\rho(x)$")
    a1.legend(frameon=False)
    x2 = np.concatenate([gen.normal([-1, -1], 0.5, (60, 2)), gen.normal([1, 0.8], 0.7, (90, 2))])
    g = np.linspace(-3, 3, 120)
    gx, gy = np.meshgrid(g, g)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    dens = np.exp(kde.log_density(pts, x2, 0.35)).reshape(gx.shape)
    a2.contourf(gx, gy, dens, levels=12, cmap="Blues")
    a2.plot(x2[:, 0], x2[:, 1], ".", color=style.PALETTE[1], markersize=3)
    a2.set_title("2-D: h = 0.35", loc="left")
    a2.set_xlabel("$x_1$")
    a2.set_ylabel("$x_2$")
    a2.set_aspect("equal")
    return fig


def plot_h_sweep(sim: kde.KDESimulation, hs: Sequence[float]) -> Figure:
    """For each h in ``hs``: the histogram of ln rho_hat - ln E[rho_hat] over test points,
    standardised, next to a standard normal; and the median participation ratio vs h.

    Used in: notebooks/05_kde_regimes.ipynb
    """
    hs = list(hs)
    fig, axes = _subplots(len(hs) + 1, width=11.0, height=3.2)
    z = np.linspace(-4, 4, 200)
    for ax, h in zip(axes, hs):
        st = sim.statistics(h)
        r = sim.log_ratio(h)
        zr = (r - r.mean()) / r.std()
        ax.hist(zr, bins=25, range=(-4, 4), density=True,
                color=REGIME_COLOURS[st["regime"]], alpha=0.75, edgecolor="white")
        ax.plot(z, np.exp(-z * z / 2) / math.sqrt(2 * math.pi), color=style.INK, linewidth=1.2)
        ax.set_title(f"h = {h:.3g} (μ = {st['mu']:.2g})\n{REGIME_LABELS[st['regime']]}, "
                     f"PR ≈ {st['participation_median']:.3g}", loc="left", fontsize="medium")
        ax.set_xlabel("standardised ln ρ̂ fluctuation")
    axes[0].set_ylabel("density over test points")
    ax = axes[-1]
    grid = np.geomspace(0.3, 4.0, 40)
    sw = sim.sweep(grid)
    ax.loglog(grid, sw["participation_median"], color=style.PALETTE[0], label="median PR")
    ax.axhline(sim.n, color=style.PALETTE[3], linestyle=":", label=f"n = {sim.n:,}")
    ax.axhline(1, color=style.INK, linewidth=0.8)
    hg = kde.h_g(sim.alpha)
    ax.axvline(hg, color=REGIME_COLOURS["stable"], linestyle="--", label=r"$h_\mathrm{G}$")
    ax.axvline(math.sqrt(2) * hg, color=REGIME_COLOURS["clt"], linestyle="--", label=r"$h_\mathrm{CLT}$")
    _plain_log_ticks(ax, [0.3, 0.5, 1, 2, 4])
    ax.set_xlabel("bandwidth h")
    ax.set_ylabel("participation ratio")
    ax.set_title("effective number of points", loc="left", fontsize="medium")
    ax.legend(frameon=False, fontsize="medium", loc="lower right")
    return fig


def plot_phase_diagram(points: dict[str, np.ndarray]) -> Figure:
    """The (alpha, h) plane: regimes from theory (shaded, curves) and simulated points
    (``softviz.kde.phase_points``) coloured by their measured regime.

    Used in: notebooks/05_kde_regimes.ipynb
    """
    fig, (ax,) = _subplots(1, width=7.0, height=4.2)
    draw_phase_background(ax)
    for name in kde.REGIMES:
        sel = points["regime"] == name
        ax.plot(points["alpha"][sel], points["h"][sel], "o", color=REGIME_COLOURS[name],
                markeredgecolor=style.INK, markersize=7, label=f"measured {REGIME_LABELS[name]}")
    ax.set_title("theory curves and simulated points", loc="left")
    ax.legend(frameon=True, fontsize="medium", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def plot_kl(sims: Sequence[kde.KDESimulation], hs: ArrayLike) -> Figure:
    """KL(p || rho_hat)/d against h: theory (d -> inf), each simulation, and the exact
    finite-size bounds (annealed below, nearest-neighbour above) for the largest d.

    ``sims``: KDESimulation objects at the same alpha (e.g. two d's).
    Used in: notebooks/05_kde_regimes_further.ipynb
    """
    hs = np.asarray(hs, dtype=float)
    fig, (ax,) = _subplots(1, width=7.5, height=4.0)
    alpha = sims[-1].alpha
    ax.plot(hs, kde.kl_per_dim(hs, alpha), color=style.INK, linewidth=2.0, label="theory, d → ∞")
    big = max(sims, key=lambda s: s.d)
    lower, upper = kde.kl_bounds(hs, big.n, big.d)
    ax.fill_between(hs, lower, upper, color=style.PALETTE[5], alpha=0.35, linewidth=0,
                    label=f"exact bounds, d = {big.d}")
    markers = ("s", "o", "^")
    colours = (style.PALETTE[3], style.PALETTE[0], style.PALETTE[1])
    for sim, m, c in zip(sorted(sims, key=lambda s: s.d), markers, colours):
        kl = [sim.kl_per_dim(h) for h in hs]
        ax.plot(hs, kl, m, color=c, markersize=4.5, label=f"simulation, d = {sim.d}, n = {sim.n:,}")
    ax.axvline(kde.h_opt(alpha), color=style.INK, linestyle="--", linewidth=1.0)
    ax.axvline(kde.h_g(alpha), color=REGIME_COLOURS["stable"], linestyle=":", linewidth=1.2)
    ax.text(kde.h_opt(alpha), 0.02, r" $h_\mathrm{opt}$", transform=ax.get_xaxis_transform(), ha="right",
            fontsize="large")
    ax.text(kde.h_g(alpha), 0.02, r" $h_\mathrm{G}$", transform=ax.get_xaxis_transform(), ha="left",
            fontsize="large")
    ax.set_xscale("log")
    _plain_log_ticks(ax, [0.5, 0.7, 1, 1.5, 2, 3])
    ax.set_ylim(0, min(1.0, float(np.nanmax(upper)) * 1.05))
    ax.set_xlabel("bandwidth h")
    ax.set_ylabel("KL(p ‖ ρ̂) / d")
    ax.set_title(f"KL per dimension at α = {alpha:.3g}", loc="left")
    ax.legend(frameon=False, fontsize="medium")
    return fig
