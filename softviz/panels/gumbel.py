"""``GumbelPanel``: the Gumbel-max trick and Gumbel-softmax, live.

GumbelPanel: three editable logits z, a temperature tau (log slider), the
number of samples N, a hard/soft switch and a seed. Left, the Gumbel-max
counts argmax(z + G) of N draws as frequencies against softmax(z), with the
chi-square p-value; right, Gumbel-softmax samples softmax((z + G) / tau) on the
probability simplex (a ternary plot), their mean and softmax(z).

The same seed gives the same noise G for every tau, so dragging tau moves the
very same samples between the corners (small tau) and the centre (large tau),
while the histogram does not move at all: argmax((z + G) / tau) = argmax(z + G).

The lesson's static figures are in softviz/figures/gumbel.py.

Papers: Jang, Gu, Poole 2017 (arXiv:1611.01144); Maddison, Mnih, Teh 2017
(arXiv:1611.00712); Kool, van Hoof, Welling 2019 (arXiv:1903.06059).

Used in: notebooks/03_gumbel.ipynb
"""
from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np

from .. import core
from .. import gumbel as gm
from ..figures.gumbel import CORNERS, ternary_axes
from . import style
from .base import Panel
from .controls import WIDE, FloatVector, log_slider, on_release

__all__ = ["GumbelPanel"]

_N_OPTIONS = (100, 1_000, 10_000, 100_000)
# Drawing 10^5 points would make every tau step slow and the plot a blob;
# the scatter shows the first _SHOWN samples, the statistics use all N.
_SHOWN = 1_500


def _fmt_p(p):
    if not np.isfinite(p):
        return "n/a"
    return f"{p:.3f}" if p >= 1e-3 else f"{p:.1e}"


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

        ternary_axes(ax_s)
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
        self._shown: dict[str, Any] | None = None  # set by the first _update

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
            self._scatter.set_offsets(CORNERS)
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
        assert self._shown is not None
        return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self._shown.items()}
