"""``KDEPanel``: a Gaussian KDE in high dimension, its softmax weights and its regime.

Sliders for the bandwidth h (log scale), alpha = log(n)/d and the dimension d.
Left: the histogram, over test points, of log rho_hat(x) - log E[rho_hat(x)] (the
data's own fluctuation of the estimate) with the Gaussian the CLT predicts.
Middle: the largest kernel weights of one test point, sorted -- a softmax bar
chart -- and its participation ratio. Right: the phase diagram (alpha, h) with
h_G, h_CLT and h_opt, and the current point coloured by its measured regime.

Moving h is cheap (one softmax over the cached distances); alpha and d redraw
data, so they report only when released, and simulations are memoised
(``softviz.kde.cached_simulation``).

The module also holds the static figures of the lesson (``plot_*``).
Built on G. Biroli and M. Mezard, "Kernel Density Estimators in Large
Dimensions" (2024, arXiv:2408.05807).

Used in: notebooks/05_kde_regimes.ipynb
"""
from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import MaxNLocator, NullLocator

from .. import kde
from . import style
from .base import Panel
from .controls import WIDE, log_slider, on_release

__all__ = ["KDEPanel", "REGIME_COLOURS", "REGIME_LABELS", "plot_low_dimension", "plot_h_sweep",
           "plot_phase_diagram", "plot_kl"]

#: One palette colour per regime (condensed, stable, CLT): dark to light.
REGIME_COLOURS = {"condensed": style.PALETTE[1], "stable": style.PALETTE[2], "clt": style.PALETTE[3]}
REGIME_LABELS = {"condensed": "condensed", "stable": "stable", "clt": "CLT"}

_PANEL_MAX_N = 20_000   # keeps one h step (softmax over n_test x n) at a few ms
_N_TEST = 150
_N_BARS = 12
_N_BINS = 24
_ALPHA_RANGE = (0.04, 0.45)
_H_RANGE = (0.1, 10.0)   # powers of ten: the log slider hits its ends exactly


def _phase_curves(alphas):
    return kde.h_g(alphas), kde.h_clt(alphas), kde.h_opt(alphas)


def _draw_phase_background(ax, *, labels=True):
    """Shaded regimes, the h_G / h_CLT / h_opt curves, axes set up; returns nothing."""
    a = np.linspace(*_ALPHA_RANGE, 200)
    hg, hc, ho = _phase_curves(a)
    lo, hi = _H_RANGE
    ax.fill_between(a, lo, hg, color=REGIME_COLOURS["condensed"], alpha=0.12, linewidth=0)
    ax.fill_between(a, hg, hc, color=REGIME_COLOURS["stable"], alpha=0.15, linewidth=0)
    ax.fill_between(a, hc, hi, color=REGIME_COLOURS["clt"], alpha=0.15, linewidth=0)
    ax.plot(a, hc, color=REGIME_COLOURS["clt"], label=r"$h_\mathrm{CLT}$")
    ax.plot(a, hg, color=REGIME_COLOURS["stable"], label=r"$h_\mathrm{G}$")
    ax.plot(a, ho, color=style.INK, linestyle="--", linewidth=1.2, label=r"$h_\mathrm{opt}$")
    ax.set_yscale("log")
    ax.set_xlim(*_ALPHA_RANGE)
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
                y = math.sqrt(kde.h_g(x) * kde.h_clt(x))
            ax.text(x, y, text, ha="center", va="center", fontsize="small", color=style.INK)
        ax.text(0.44, 0.93 * kde.h_opt(0.44), r"$h_\mathrm{opt}$", ha="right", va="top", fontsize="large",
                color=style.INK)


def _tick(t):
    if t == 0:
        return "0"
    return f"{t / 1000:g}k" if abs(t) >= 1000 else f"{t:.3g}"


class KDEPanel(Panel):
    """Gaussian KDE on N(0, I_d) data with n = e^{alpha d} points; its regime at bandwidth h.

    ``KDEPanel(h=1.0, alpha=0.2, d=40)``. ``state()`` -> ``{"h", "alpha", "d", "n",
    "regime", "regime_theory", "mu", "participation_ratio" (of the test point shown),
    "participation_median", "log_rho_mean", "log_rho_std", "log_ratio_mean",
    "log_ratio_std", "dominant_weight", "second_moment_ratio", "weights" (the bars)}``.
    d is lowered when e^{alpha d} would exceed 20 000 points (a note says so).

    Used in: notebooks/05_kde_regimes.ipynb
    """

    main_control = "h"
    throttle = 0.05

    def _controls(self):
        return {
            "h": log_slider(1.0, *_H_RANGE, "bandwidth h"),
            "alpha": on_release(widgets.FloatSlider(value=0.2, min=0.05, max=0.4, step=0.01,
                                                    description="α = ln n / d", style=WIDE,
                                                    readout_format=".2f")),
            "d": on_release(widgets.IntSlider(value=40, min=10, max=60, step=1,
                                              description="dimension d", style=WIDE)),
        }

    def _draw(self, fig):
        grid = fig.add_gridspec(1, 3, width_ratios=[1.15, 1.0, 1.05])
        ax_h, ax_w, ax_p = (fig.add_subplot(grid[0, i]) for i in range(3))
        self._axes = (ax_h, ax_w, ax_p)
        self._hist = ax_h.bar(np.zeros(_N_BINS), np.zeros(_N_BINS), width=1.0, align="edge",
                              color=style.PALETTE[0], alpha=0.8, edgecolor="white", linewidth=0.3)
        (self._gauss,) = ax_h.plot([], [], color=style.PALETTE[2], linewidth=1.6)
        ax_h.set_xlabel(r"$\ln\hat\rho(x) - \ln E\,\hat\rho(x)$")
        ax_h.set_ylabel("density over test points")
        ax_h.set_yticks([])  # a histogram's shape is the message; its scale changes with h
        ax_h.set_title("spread of ln ρ̂", loc="left")
        self._hist_note = ax_h.text(0.03, 0.97, "", transform=ax_h.transAxes, ha="left", va="top",
                                    fontsize="small")
        self._bars = ax_w.bar(np.arange(1, _N_BARS + 1), np.zeros(_N_BARS), width=0.7,
                              color=style.PALETTE[0], edgecolor=style.INK, linewidth=0.6)
        ax_w.set_xlim(0.3, _N_BARS + 0.7)
        ax_w.set_ylim(0, 1.05)
        ax_w.set_xticks([1, 4, 8, 12])
        ax_w.set_yticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "", "0.5", "", "1"])
        ax_w.set_xlabel("rank of data point")
        ax_w.set_ylabel("kernel weight $w_i$")
        ax_w.set_title("top weights", loc="left")
        self._w_note = ax_w.text(0.97, 0.97, "", transform=ax_w.transAxes, ha="right", va="top",
                                 fontsize="small")
        _draw_phase_background(ax_p)
        (self._point,) = ax_p.plot([], [], marker="o", markersize=9, linestyle="none",
                                   markeredgecolor=style.INK, markeredgewidth=1.2)
        ax_p.set_title("regimes", loc="left")
        self._suptitle = fig.suptitle(" ", x=0.01, ha="left", fontweight="bold", fontsize="medium")
        self._shown = {}

    def _coerce(self, name, value):
        if name == "d" and not isinstance(value, (bool, np.bool_)):
            try:
                if float(value) == int(float(value)):
                    return int(float(value))
            except (TypeError, ValueError, OverflowError):
                pass  # not a whole number: check_value words the error
        return value

    def _update(self, changed):
        p = self.params
        alpha, d, h = float(p["alpha"]), int(p["d"]), float(p["h"])
        d_max = int(math.log(_PANEL_MAX_N) / alpha)
        note = f" (max for n ≤ {_PANEL_MAX_N:,})" if d >= d_max else ""
        if d > d_max:
            d = d_max
            self.controls["d"].value = d  # queued by the base as a change of "d"
        sim = kde.cached_simulation(round(alpha, 6), d, _N_TEST, 0)
        st = sim.statistics(h)
        ratio = sim.log_ratio(h)
        self._draw_hist(ratio)
        w = np.sort(sim.weights(h, 0))[::-1]
        top = np.zeros(_N_BARS)
        top[:min(_N_BARS, w.size)] = w[:_N_BARS]
        for bar, wi in zip(self._bars, top):
            bar.set_height(wi)
        pr = kde.participation_ratio(w)
        self._w_note.set_text(f"one test point\nPR = {pr:.3g}\nof n = {sim.n:,}")
        self._hist_note.set_text(f"sd {st['log_ratio_std']:.2g}")
        colour = REGIME_COLOURS[st["regime"]]
        self._point.set_data([sim.alpha], [h])
        self._point.set_markerfacecolor(colour)
        self._suptitle.set_text(
            f"h = {h:.3g}, d = {d}{note}: {REGIME_LABELS[st['regime']]} "
            f"(theory {REGIME_LABELS[st['regime_theory']]}, μ = {st['mu']:.2g})")
        self._shown = {
            "h": h, "alpha": float(sim.alpha), "d": d, "n": sim.n,
            "regime": st["regime"], "regime_theory": st["regime_theory"], "mu": st["mu"],
            "participation_ratio": float(pr), "participation_median": st["participation_median"],
            "log_rho_mean": st["log_rho_mean"], "log_rho_std": st["log_rho_std"],
            "log_ratio_mean": st["log_ratio_mean"], "log_ratio_std": st["log_ratio_std"],
            "dominant_weight": st["dominant_weight"],
            "second_moment_ratio": st["second_moment_ratio"],
            "weights": top,
        }

    def _draw_hist(self, values):
        ax = self._axes[0]
        mean, sd = float(values.mean()), float(values.std())
        lo, hi = float(values.min()), float(values.max())
        pad = max(0.05 * (hi - lo), 1e-9)
        lo, hi = lo - pad, hi + pad
        counts, edges = np.histogram(values, bins=_N_BINS, range=(lo, hi), density=True)
        for bar, c, e0, e1 in zip(self._hist, counts, edges[:-1], edges[1:]):
            bar.set_x(e0)
            bar.set_width(e1 - e0)
            bar.set_height(c)
        # The Gaussian of the same mean and spread: only the shape is compared.
        xs = np.linspace(lo, hi, 200)
        ys = np.exp(-0.5 * ((xs - mean) / max(sd, 1e-300)) ** 2) / (max(sd, 1e-300) * math.sqrt(2 * math.pi))
        self._gauss.set_data(xs, ys)
        top = 1.15 * max(counts.max(), ys.max())
        ax.set_xlim(lo, hi)
        ax.set_ylim(0, top)
        # Ticks chosen here, inside the limits (see _draw_phase_background).
        nbins = 3 if style.lecture_scale() == 1 else 2
        # Not at the very edges, where a label would run into the y label.
        margin = 0.1 * (hi - lo)
        xt = [t for t in MaxNLocator(nbins).tick_values(lo, hi) if lo + margin <= t <= hi - margin]
        ax.set_xticks(xt, [_tick(t) for t in xt])

    def _state(self):
        shown = dict(self._shown)
        shown["weights"] = shown["weights"].copy()
        return shown


# --------------------------------------------------------------------------
# Static figures of the lesson (pyplot: they show under %matplotlib widget and inline)
# --------------------------------------------------------------------------

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


def plot_low_dimension(rng=0, bandwidths=(0.08, 0.3, 1.2)):
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


def plot_h_sweep(sim, hs):
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


def plot_phase_diagram(points):
    """The (alpha, h) plane: regimes from theory (shaded, curves) and simulated points
    (``softviz.kde.phase_points``) coloured by their measured regime.

    Used in: notebooks/05_kde_regimes.ipynb
    """
    fig, (ax,) = _subplots(1, width=7.0, height=4.2)
    _draw_phase_background(ax)
    for name in kde.REGIMES:
        sel = points["regime"] == name
        ax.plot(points["alpha"][sel], points["h"][sel], "o", color=REGIME_COLOURS[name],
                markeredgecolor=style.INK, markersize=7, label=f"measured {REGIME_LABELS[name]}")
    ax.set_title("theory curves and simulated points", loc="left")
    ax.legend(frameon=True, fontsize="medium", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def plot_kl(sims, hs):
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
