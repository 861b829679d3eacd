"""``TemperaturePanel``: what the temperature T does to softmax(z / T), in four views.

Editable logits and a log-scale T slider drive one figure of three axes:

* the probabilities softmax(z / T) as bars, next to the frequencies of a
  sample drawn from them (same seed at every T: the sample changes only
  because the distribution does);
* the entropy curve H(T), non-decreasing from ln k (k tied maxima) to ln n,
  with the current T marked;
* the smooth maximum T logsumexp(z / T) against T, inside its bounds
  [max z, max z + T ln n], zoomed on the current T.

Used in: notebooks/02_temperature.ipynb
"""
from __future__ import annotations

import math
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import Locator, ScalarFormatter
from numpy.typing import ArrayLike

from .. import temperature as tp
from . import style
from .base import Panel
from .controls import WIDE, FloatVector, log_slider

__all__ = ["TemperaturePanel"]

_T_MIN, _T_MAX = 0.01, 100.0
_T_GRID = np.logspace(math.log10(_T_MIN), math.log10(_T_MAX), 161)
_N_MIN, _N_MAX = 2, 8
_DEFAULT_LOGITS = (1.0, 2.0, 3.0)  # the default: z_i = i, i = 1..n
_PMAX = 1.34  # headroom above p = 1 for the legend


class _InView(Locator):
    """Wraps a locator and drops the ticks outside the view limits.

    Matplotlib keeps (undrawn) tick labels for locations just outside the
    view; they would count as text leaving the figure or overlapping a title
    when the figure's layout is checked (``style.text_problems``).
    """

    def __init__(self, inner: Locator) -> None:
        self.inner = inner

    def set_axis(self, axis: Any) -> None:
        super().set_axis(axis)
        self.inner.set_axis(axis)

    # matplotlib's own locators return arrays too; its stubs say Sequence[float]
    def __call__(self) -> np.ndarray:  # type: ignore[override]
        assert self.axis is not None, "set_axis() comes first"  # matplotlib calls it on set_major_locator
        lo, hi = sorted(self.axis.get_view_interval())
        return self._inside(self.inner(), lo, hi)

    def tick_values(self, vmin: float, vmax: float) -> np.ndarray:  # type: ignore[override]
        return self._inside(self.inner.tick_values(vmin, vmax), *sorted((vmin, vmax)))

    @staticmethod
    def _inside(locs: ArrayLike, lo: float, hi: float) -> np.ndarray:
        locs = np.asarray(locs, dtype=float)
        slack = 1e-9 * (hi - lo)
        return locs[(locs >= lo - slack) & (locs <= hi + slack)]


def _ticks_in_view(ax: Axes) -> None:
    axis: Axis
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(_InView(axis.get_major_locator()))
        axis.set_minor_locator(_InView(axis.get_minor_locator()))


def _subscript(i: int) -> str:
    return "z" + "".join("₀₁₂₃₄₅₆₇₈₉"[int(d)] for d in str(i))


class TemperaturePanel(Panel):
    """softmax(z / T) as bars with a sample histogram, H(T), and the smooth max with its bounds.

    ``TemperaturePanel(logits=(1.0, 2.0, 3.0), temperature=1.0, samples=1000, seed=0)``;
    the number of logits (2 to 8) is fixed by the ``logits`` given at
    construction. ``state()`` -> ``{"logits", "temperature", "samples", "seed",
    "probabilities", "entropy", "perplexity", "smooth_max", "smooth_max_bounds",
    "sample_frequencies", "sample_entropy", "distinct"}`` (entropies in nats),
    every number computed by ``softviz.temperature``.

    Used in: notebooks/02_temperature.ipynb
    """

    main_control = "temperature"

    def __init__(self, **initial: Any) -> None:
        logits = initial.get("logits", _DEFAULT_LOGITS)
        try:
            n = len(logits)
        except TypeError:
            raise ValueError(f"logits must be a sequence of numbers, got {logits!r}") from None
        if not _N_MIN <= n <= _N_MAX:
            raise ValueError(f"logits needs {_N_MIN} to {_N_MAX} numbers, got {n}")
        self._n = n
        super().__init__(**initial)

    def _controls(self) -> dict[str, Any]:
        return {
            "logits": FloatVector(tuple(float(i) for i in range(1, self._n + 1)),
                                  labels=[_subscript(i + 1) for i in range(self._n)], step=0.5),
            "temperature": log_slider(1.0, _T_MIN, _T_MAX, "temperature T"),
            "samples": widgets.IntSlider(value=1000, min=10, max=10_000, step=10,
                                         description="samples", style=WIDE,
                                         layout=widgets.Layout(width="22em")),
            "seed": widgets.BoundedIntText(value=0, min=0, max=2**31 - 1, description="seed",
                                           style=WIDE, layout=widgets.Layout(width="9em")),
        }

    def _layout(self) -> list[Any]:
        c = self.controls
        row = widgets.Layout(flex_flow="row wrap", align_items="center")
        return [widgets.HBox([c["logits"]], layout=row),
                widgets.HBox([c["temperature"], c["samples"], c["seed"]], layout=row)]

    def _draw(self, fig: Figure) -> None:
        n = self._n
        gs = fig.add_gridspec(1, 3, width_ratios=[1.1, 1, 1.15])
        ax_p, ax_h, ax_s = self._axes = [fig.add_subplot(gs[0, k]) for k in range(3)]
        x = np.arange(n)
        zero = np.zeros(n)

        self._bars = ax_p.bar(x - 0.2, zero, width=0.4, color=style.PALETTE[0],
                              edgecolor=style.INK, linewidth=0.6, label="p")
        self._sample_bars = ax_p.bar(x + 0.2, zero, width=0.4, color=style.PALETTE[3],
                                     edgecolor=style.INK, linewidth=0.6, label="sampled")
        ax_p.set_xlim(-0.6, n - 0.4)
        ax_p.set_ylim(0, _PMAX)
        ax_p.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
        # Names, not values: the logits are in the boxes above, and a value
        # such as -1000.5 would not fit under a bar.
        ax_p.set_xticks(x, [f"$z_{{{i + 1}}}$" for i in x])
        ax_p.set_title("p and a sample", loc="left")
        ax_p.set_xlabel("entry $i$ of z")
        ax_p.set_ylabel("probability")
        ax_p.legend(loc="upper left", ncol=2, frameon=False, handlelength=1.0,
                    columnspacing=0.8, borderaxespad=0.2)

        (self._h_line,) = ax_h.plot(_T_GRID, np.zeros_like(_T_GRID), color=style.PALETTE[0])
        self._h_max = ax_h.axhline(math.log(n), color=style.PALETTE[2], linestyle="--",
                                   linewidth=1.2)
        self._h_min = ax_h.axhline(0.0, color=style.PALETTE[2], linestyle=":", linewidth=1.2)
        self._h_now = ax_h.axvline(1.0, color=style.PALETTE[4], linewidth=1.0)
        (self._h_dot,) = ax_h.plot([1.0], [0.0], "o", color=style.PALETTE[1])
        ax_h.set_xscale("log")
        ax_h.set_xlim(_T_MIN, _T_MAX)
        ax_h.set_ylim(-0.04 * math.log(n), 1.1 * math.log(n))
        ax_h.set_title("entropy H(T)", loc="left")
        ax_h.set_xlabel("temperature T")
        ax_h.set_ylabel("H (nats), at most ln n")

        # Bounds minus max z: 0 <= T·LSE(z/T) - max z <= T ln n, for any logits.
        ax_s.fill_between(_T_GRID, 0.0, _T_GRID * math.log(n), color=style.PALETTE[5],
                          alpha=0.35, linewidth=0, zorder=0)
        (self._s_line,) = ax_s.plot(_T_GRID, np.zeros_like(_T_GRID), color=style.PALETTE[0])
        self._s_lo = ax_s.axhline(0.0, color=style.PALETTE[2], linestyle=":", linewidth=1.2)
        (self._s_hi,) = ax_s.plot(_T_GRID, np.zeros_like(_T_GRID), color=style.PALETTE[2],
                                  linestyle="--", linewidth=1.2)
        self._s_now = ax_s.axvline(1.0, color=style.PALETTE[4], linewidth=1.0)
        (self._s_dot,) = ax_s.plot([1.0], [0.0], "o", color=style.PALETTE[1])
        ax_s.set_xscale("log")
        ax_s.set_xlim(_T_MIN, _T_MAX)
        formatter = ax_s.yaxis.get_major_formatter()
        assert isinstance(formatter, ScalarFormatter)  # a linear axis's default
        formatter.set_useOffset(False)
        ax_s.set_title("smooth max", loc="left")
        ax_s.set_xlabel("temperature T")
        # Measured from max z, so the tick labels stay short for any logits.
        ax_s.set_ylabel("T·LSE(z/T) − max z")
        for ax in self._axes:
            _ticks_in_view(ax)

        self._title = fig.suptitle(" ", x=0.01, ha="left", fontweight="bold")
        self._z = np.zeros(n)
        self._shown: dict[str, Any] = {}

    def _update(self, changed: frozenset[str]) -> None:
        p = self.params
        z = np.asarray(p["logits"], dtype=np.float64)
        T = float(p["temperature"])
        n = self._n

        if "logits" in changed:
            # The curves over T depend on the logits only, not on T.
            self._z = z
            self._h_curve = tp.entropy_curve(z, _T_GRID)
            self._s_curve = np.array([tp.smooth_max(z, t) for t in _T_GRID])
            m = float(z.max())
            k = int(np.count_nonzero(z == m))
            self._h_line.set_ydata(self._h_curve)
            self._h_min.set_ydata([math.log(k)] * 2)
            self._s_line.set_ydata(self._s_curve - m)
            self._s_hi.set_ydata(_T_GRID * math.log(n))

        probs = tp.tempered_softmax(z, T)
        H = float(tp.entropy(probs))
        ppl = float(np.exp(H))
        smax = float(tp.smooth_max(z, T))  # a float for 1-D z, as are the bounds
        lo, hi = (float(v) for v in tp.smooth_max_bounds(z, T))

        draws = np.asarray(tp.sample_tokens(z, T, size=int(p["samples"]), rng=int(p["seed"])))
        freq = np.bincount(draws, minlength=n) / draws.size
        for bar, pi in zip(self._bars, probs):
            bar.set_height(pi)
        for bar, fi in zip(self._sample_bars, freq):
            bar.set_height(fi)

        self._h_now.set_xdata([T, T])
        self._h_dot.set_data([T], [H])
        self._s_now.set_xdata([T, T])
        self._s_dot.set_data([T], [smax - lo])
        # Zoom on the current T: the bounds' gap T ln n sets the scale.
        gap = hi - lo
        self._axes[2].set_ylim(-0.3 * gap, 1.6 * gap)

        self._title.set_text(f"T = {T:.3g}: H = {H:.3f} nats, perplexity {ppl:.2f} of {n}")
        self._shown = {
            "logits": tuple(float(v) for v in z), "temperature": T,
            "samples": int(p["samples"]), "seed": int(p["seed"]),
            "probabilities": probs, "entropy": H, "perplexity": ppl,
            "smooth_max": float(smax), "smooth_max_bounds": (lo, hi),
            "sample_frequencies": freq, "sample_entropy": float(tp.entropy(freq)),
            "distinct": int(np.count_nonzero(freq)),
        }

    def _state(self) -> dict[str, Any]:
        shown = dict(self._shown)
        shown["probabilities"] = shown["probabilities"].copy()
        shown["sample_frequencies"] = shown["sample_frequencies"].copy()
        return shown
