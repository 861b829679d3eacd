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

The lesson's static figures (``plot_*``) are in softviz/figures/kde.py.
Built on G. Biroli and M. Mezard, "Kernel Density Estimators in Large
Dimensions" (2024, arXiv:2408.05807).

Used in: notebooks/05_kde_regimes.ipynb
"""
from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import MaxNLocator

from .. import kde
from ..figures.kde import H_RANGE, REGIME_COLOURS, REGIME_LABELS, draw_phase_background
from . import style
from .base import Panel
from .controls import WIDE, log_slider, on_release

__all__ = ["KDEPanel"]

_PANEL_MAX_N = 20_000   # keeps one h step (softmax over n_test x n) at a few ms
_N_TEST = 150
_N_BARS = 12
_N_BINS = 24


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
            "h": log_slider(1.0, *H_RANGE, "bandwidth h"),
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
        draw_phase_background(ax_p)
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
        # Ticks chosen here, inside the limits (see draw_phase_background).
        nbins = 3 if style.lecture_scale() == 1 else 2
        # Not at the very edges, where a label would run into the y label.
        margin = 0.1 * (hi - lo)
        xt = [t for t in MaxNLocator(nbins).tick_values(lo, hi) if lo + margin <= t <= hi - margin]
        ax.set_xticks(xt, [_tick(t) for t in xt])

    def _state(self):
        shown = dict(self._shown)
        shown["weights"] = shown["weights"].copy()
        return shown
