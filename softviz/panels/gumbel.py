"""``GumbelPanel`` and the static figures of the Gumbel lesson.

GumbelPanel: three editable logits z, a temperature tau (log slider), the
number of samples N, a hard/soft switch and a seed. Left, the Gumbel-max
counts argmax(z + G) of N draws as frequencies against softmax(z), with the
chi-square p-value; right, Gumbel-softmax samples softmax((z + G) / tau) on the
probability simplex (a ternary plot), their mean and softmax(z).

The same seed gives the same noise G for every tau, so dragging tau moves the
very same samples between the corners (small tau) and the centre (large tau),
while the histogram does not move at all: argmax((z + G) / tau) = argmax(z + G).

The figure functions below (plain matplotlib through pyplot, so that a notebook
shows them) draw the lesson's static figures.

Papers: Jang, Gu, Poole 2017 (arXiv:1611.01144); Maddison, Mnih, Teh 2017
(arXiv:1611.00712); Kool, van Hoof, Welling 2019 (arXiv:1903.06059).

Used in: notebooks/03_gumbel.ipynb
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import scipy.stats

from .. import core
from .. import gumbel as gm
from . import style
from .base import Panel
from .controls import WIDE, FloatVector, log_slider, on_release

__all__ = [
    "GumbelPanel",
    "gumbel_noise_figure",
    "tau_sweep_figure",
    "binary_concrete_figure",
    "simplex_uses_figure",
]

_N_OPTIONS = (100, 1_000, 10_000, 100_000)
# Drawing 10^5 points would make every tau step slow and the plot a blob;
# the scatter shows the first _SHOWN samples, the statistics use all N.
_SHOWN = 1_500
_CORNERS = gm.ternary_xy(np.eye(3))


def _fmt_p(p):
    if not np.isfinite(p):
        return "n/a"
    return f"{p:.3f}" if p >= 1e-3 else f"{p:.1e}"


def _ternary_axes(ax, labels=("class 1", "class 2", "class 3")):
    """Triangle, corner labels, equal aspect and no ticks: a bare simplex to draw on."""
    ax.plot(*np.vstack([_CORNERS, _CORNERS[:1]]).T, color=style.INK, linewidth=1.0)
    offsets = ((-0.02, -0.06, "right", "top"), (0.02, -0.06, "left", "top"),
               (0.0, 0.04, "center", "bottom"))
    for (x, y), (dx, dy, ha, va), label in zip(_CORNERS, offsets, labels):
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


class GumbelPanel(Panel):
    """Gumbel-max counts vs softmax(z), and Gumbel-softmax samples on the simplex.

    ``GumbelPanel(logits=(1.0, 2.0, 3.0), tau=1.0, n_samples=10_000, hard=False, seed=0)``;
    ``state()`` -> the params and ``probabilities`` (softmax(z)), ``counts`` and
    ``expected`` (N * softmax(z)) per class, ``chi2`` and ``p_value`` of the
    goodness-of-fit test, ``mean_sample`` (mean of the N relaxed samples; with
    ``hard=True`` the mean of the one-hot vectors, i.e. counts / N).

    Used in: notebooks/03_gumbel.ipynb
    """

    main_control = "tau"
    throttle = 0.05

    def _controls(self):
        controls = {
            "logits": FloatVector((1.0, 2.0, 3.0), labels=["z₁", "z₂", "z₃"], step=0.5),
            "tau": log_slider(1.0, 0.05, 20.0, "temperature τ"),
            "n_samples": widgets.Dropdown(options=list(_N_OPTIONS), value=10_000,
                                          description="samples N", style=WIDE,
                                          layout=widgets.Layout(width="13em")),
            "hard": widgets.Checkbox(value=False, description="hard (one-hot forward)",
                                     style=WIDE, indent=False),
            "seed": widgets.BoundedIntText(value=0, min=0, max=2**31 - 1, description="seed",
                                           style=WIDE, layout=widgets.Layout(width="10em")),
        }
        # New noise for N up to 10^5 draws: only when the user is done typing.
        on_release(controls["seed"], *controls["logits"].children)
        return controls

    def _layout(self):
        row = widgets.Layout(flex_flow="row wrap", align_items="center")
        c = self.controls
        return [widgets.HBox([c["logits"]], layout=row),
                widgets.HBox([c["tau"], c["n_samples"], c["hard"], c["seed"]], layout=row)]

    def _draw(self, fig):
        ax_h, ax_s = self._ax_hist, self._ax_simplex = fig.subplots(
            1, 2, gridspec_kw={"width_ratios": [1.0, 1.05]})
        x = np.arange(3)
        self._bars = ax_h.bar(x, np.zeros(3), width=0.6, color=style.PALETTE[0],
                              edgecolor=style.INK, linewidth=0.8, label="observed count / N")
        self._expected_line = ax_h.hlines(np.zeros(3), x - 0.36, x + 0.36, linewidth=2.5,
                                          color=style.PALETTE[4], label="softmax(z)")
        ax_h.set_xticks(x, [f"class {i + 1}" for i in x])
        ax_h.set_xlabel(" ")
        ax_h.set_xlim(-0.5, 2.5)
        ax_h.set_ylim(0, 1.0)
        ax_h.set_ylabel("frequency")
        ax_h.set_title("Gumbel-max counts", loc="left")
        ax_h.legend(handles=[self._bars, self._expected_line], loc="upper left", frameon=False,
                    fontsize="small")
        self._hist_xlabel = ax_h.set_xlabel(" ")

        _ternary_axes(ax_s)
        self._scatter = ax_s.scatter(np.zeros(0), np.zeros(0), s=5, color=style.PALETTE[3],
                                     alpha=0.35, linewidths=0, label="samples")
        (self._mean_marker,) = ax_s.plot([], [], "X", color=style.PALETTE[1], markersize=7,
                                         markeredgecolor="white", label="mean", zorder=4)
        (self._p_marker,) = ax_s.plot([], [], "*", color=style.PALETTE[2], markersize=12,
                                      markeredgecolor=style.INK, markeredgewidth=0.6,
                                      label="softmax(z)")
        ax_s.legend(handles=[self._mean_marker, self._p_marker], loc="upper right",
                    frameon=False, fontsize="small", handletextpad=0.2, borderaxespad=0.0)
        self._simplex_title = ax_s.set_title(" ", loc="center")
        self._shown = None

    def _update(self, changed):
        p = self.params
        z = np.asarray(p["logits"], dtype=np.float64)
        n = int(p["n_samples"])
        probs = core.softmax(z)
        if changed & {"logits", "n_samples", "seed"} or self._shown is None:
            draws = gm.gumbel_max(z, size=n, rng=p["seed"])
            self._fit = gm.chisquare_gof(draws, probs)
        # The same seed replays the same noise: changing tau moves the same samples.
        y = gm.gumbel_softmax(np.broadcast_to(z, (n, 3)), tau=p["tau"], hard=bool(p["hard"]),
                              rng=p["seed"])
        mean = y.mean(axis=0)

        fit = self._fit
        for bar, c in zip(self._bars, fit.counts):
            bar.set_height(c / n)
        self._expected_line.set_segments([[(i - 0.36, q), (i + 0.36, q)] for i, q in enumerate(probs)])
        self._hist_xlabel.set_text(f"N = {n:,};  χ² test p-value = {_fmt_p(fit.pvalue)}")
        if p["hard"]:
            # Every hard sample is a corner: one dot per corner, its area the frequency.
            self._scatter.set_offsets(_CORNERS)
            self._scatter.set_sizes(900.0 * mean)
            self._scatter.set_alpha(0.8)
        else:
            self._scatter.set_offsets(gm.ternary_xy(y[:_SHOWN]))
            self._scatter.set_sizes([5.0])
            self._scatter.set_alpha(0.35)
        self._mean_marker.set_data(*gm.ternary_xy(mean)[:, None])
        self._p_marker.set_data(*gm.ternary_xy(probs)[:, None])
        self._simplex_title.set_text(f"soft samples, τ = {p['tau']:.3g}" if not p["hard"]
                                     else "hard samples: corners")
        self._shown = {**p, "logits": tuple(z.tolist()), "probabilities": probs,
                       "counts": fit.counts.copy(), "expected": fit.expected.copy(),
                       "chi2": float(fit.statistic), "p_value": float(fit.pvalue),
                       "mean_sample": mean}

    def _state(self):
        return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self._shown.items()}


# --------------------------------------------------------------------------
# Static figures of the lesson (pyplot, so that the notebook displays them)
# --------------------------------------------------------------------------

def _figure(ncols, figsize, **kw):
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    with mpl.rc_context(style.rc()):
        fig, axes = plt.subplots(1, ncols, figsize=figsize, layout="constrained", **kw)
    return fig, np.atleast_1d(axes)


def gumbel_noise_figure(n=100_000, rng=0):
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


def tau_sweep_figure(logits=(1.0, 2.0, 3.0), taus=(0.1, 0.5, 1.0, 5.0), n=600, rng=0):
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
            _ternary_axes(ax, labels=("1", "2", "3"))
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


def binary_concrete_figure(logits=(1.0, 0.0), taus=(0.3, 1.0, 3.0), n=100_000, rng=0):
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


def simplex_uses_figure(logits=(1.0, 2.0, 2.5), tau=0.5, n=400, rng=0):
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
            _ternary_axes(ax, labels=("1", "2", "3"))
            ax.set_xlabel("")
            ax.set_ylabel("")
        a, b, c = axes
        a.plot(*gm.ternary_xy(probs), "*", color=style.PALETTE[2], markersize=13,
               markeredgecolor=style.INK, markeredgewidth=0.6)
        a.plot(*_CORNERS[int(np.argmax(z))], "o", color=style.PALETTE[1], markersize=9)
        a.annotate("greedy token", _CORNERS[int(np.argmax(z))], xytext=(10, -4),
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
