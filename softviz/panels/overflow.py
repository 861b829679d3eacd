"""``OverflowPanel``: naive, stable and two-pass softmax side by side, and where naive breaks.

Four logits z = s * BASE + c (BASE = (1, 0.9, 0, -1), so the largest
logit is s + c) are pushed by a scale slider s and a shift slider c into the
range where exp overflows or underflows, in a format of your choice
(float16, bfloat16, float32, float64).

Left, a table: the logits, the naive exp(z), and the probabilities of the
naive formula exp(z) / sum(exp(z)), of the stable (max-shifted) formula and of
the C core's two-pass algorithm, with the row sum in the last column. Cells
that became inf, NaN or exactly 0 are coloured; logits past the format's
overflow threshold (or below its underflow threshold) are hatched.

Right, the whole (scale, dtype) plane at the current shift, coloured by what
the naive formula returns (``softviz.overflow.NAIVE_OUTCOMES``), with each
format's overflow threshold marked and the current slider position ringed.

How each row is computed:

* naive and stable: every operation rounded to the chosen format
  (``softviz.overflow.softmax_steps``), so bfloat16 is emulated exactly and
  float16 is really float16;
* two-pass: ``softviz.softmax(z, algorithm="two_pass")`` (Dukhan and
  Ablavatski, "The Two-Pass Softmax Algorithm", 2020, arXiv:2001.04438). The C
  core runs float32 and float64; float16 and bfloat16 logits are computed in
  float32 and the result rounded to the format, which is what libraries do
  with 16-bit inputs.

The lesson's static figure (``plot_collapse``) is in softviz/figures/overflow.py.

Used in: notebooks/01_overflow.ipynb
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.artist import Artist
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import NullLocator
from numpy.typing import ArrayLike

from .. import numerics
from .. import overflow as lesson
from ..core import softmax
from . import style
from .base import Panel
from .controls import WIDE, log_slider

__all__ = ["OverflowPanel", "BASE", "two_pass_in"]

#: The logit pattern the sliders scale and shift: z = s * BASE + c; max(BASE) = 1.
BASE = (1.0, 0.9, 0.0, -1.0)
METHODS = ("naive", "stable", "two_pass")

_SCALE_RANGE = (0.1, 1000.0)
_SHIFT_RANGE = (-800.0, 800.0)
_PLANE_POINTS = 320
_N = len(BASE)

# Colours shared by the table and the plane, in NAIVE_OUTCOMES order:
# finite, inf, all zero, NaN.
_OUTCOME_COLOURS = (style.PALETTE[3], style.PALETTE[1], style.PALETTE[5], style.PALETTE[4])
_OUTCOME_LABELS = ("finite", "exp = inf \N{RIGHTWARDS ARROW} NaN", "sum = inf \N{RIGHTWARDS ARROW} 0",
                   "all exp = 0 \N{RIGHTWARDS ARROW} NaN")
_INF, _ZERO, _NAN = _OUTCOME_COLOURS[1], _OUTCOME_COLOURS[2], _OUTCOME_COLOURS[3]
_ROWS = ("z", "exp(z)", "naive p", "stable p", "two-pass p")


def _cell_text(v, digits):
    if np.isnan(v):
        return "NaN"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    text = f"{v:.{digits}g}"
    if "e" in text:  # 1.1e+26 -> 1.1e26, 4.9e-08 -> 4.9e-8: the cells are narrow
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def _cell_colour(v):
    if np.isnan(v):
        return _NAN
    if np.isinf(v):
        return _INF
    if v == 0:
        return _ZERO
    return "white"


def two_pass_in(z: ArrayLike, dtype: str) -> np.ndarray:
    """``softviz.softmax(z, algorithm="two_pass")`` for logits of ``dtype`` (one of numerics.DTYPES).

    float32/float64 run natively in the C core; float16 and bfloat16 logits
    are computed in float32 and the result is rounded to the format. Returns
    float64 values of the format.

    Used in: notebooks/01_overflow.ipynb (OverflowPanel).
    """
    x = numerics.round_to(z, dtype)
    work = np.float64 if dtype == "float64" else np.float32
    p = softmax(x.astype(work), algorithm="two_pass")
    return numerics.round_to(p, dtype)


class OverflowPanel(Panel):
    """Naive / stable / two-pass softmax of z = scale * BASE + shift in one format, and the naive plane.

    ``OverflowPanel(scale=10.0, shift=0.0, dtype="float32")``. ``state()`` ->
    ``{"scale", "shift", "dtype", "logits", "exp", "naive", "stable",
    "two_pass", "sums", "nonfinite", "nonfinite_methods", "naive_outcome",
    "threshold", "threshold_scale", "plane", "plane_scales", "dtypes"}``:
    the logits and every result as float64 arrays of the format's values;
    ``sums`` the row sums; ``nonfinite`` maps each method to True when its
    result holds an inf or a NaN, ``nonfinite_methods`` lists those methods;
    ``naive_outcome`` is one of ``softviz.overflow.NAIVE_OUTCOMES``;
    ``threshold`` the format's largest logit with finite exp and
    ``threshold_scale`` the scale at which the largest logit reaches it;
    ``plane`` the outcome codes over ``plane_scales`` for each of ``dtypes``.

    Used in: notebooks/01_overflow.ipynb
    """

    main_control = "scale"

    def _controls(self):
        return {
            "scale": log_slider(10.0, *_SCALE_RANGE, "logit scale s"),
            "shift": widgets.FloatSlider(value=0.0, min=_SHIFT_RANGE[0], max=_SHIFT_RANGE[1],
                                         step=1.0, description="shift c", style=WIDE,
                                         readout_format=".0f",
                                         layout=widgets.Layout(width="24em")),
            "dtype": widgets.Dropdown(options=list(numerics.DTYPES), value="float32",
                                      description="dtype", style=WIDE,
                                      layout=widgets.Layout(width="12em")),
        }

    # -- drawing ---------------------------------------------------------------------

    def _draw(self, fig):
        grid = fig.add_gridspec(1, 2, width_ratios=(1.9, 1.0))
        self._draw_table(fig.add_subplot(grid[0, 0]))
        self._draw_plane(fig.add_subplot(grid[0, 1]))

    def _draw_table(self, ax):
        self._tax = ax
        ncol = _N + 1  # the classes, then the row sum
        self._cells, self._texts = [], []
        for r in range(len(_ROWS)):
            row_cells, row_texts = [], []
            for k in range(ncol):
                rect = Rectangle((k, r), 1, 1, facecolor="white", edgecolor="#BBBBBB",
                                 linewidth=0.8)
                ax.add_patch(rect)
                row_cells.append(rect)
                row_texts.append(ax.text(k + 0.5, r + 0.5, "", ha="center", va="center",
                                         fontsize=8.0 * style.lecture_scale()))
            self._cells.append(row_cells)
            self._texts.append(row_texts)
        # the row-sum column is set apart by a thicker rule
        ax.axvline(_N, color=style.INK, linewidth=1.2)
        ax.set_xlim(0, ncol)
        ax.set_ylim(len(_ROWS), 0)
        ax.set_xticks(np.arange(ncol) + 0.5)
        ax.set_xticklabels([f"$z_{k + 1}$" for k in range(_N)] + ["sum"])
        ax.set_yticks(np.arange(len(_ROWS)) + 0.5)
        ax.set_yticklabels(_ROWS)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_xlabel("$z = s\\cdot(" + ", ".join(f"{b:g}" for b in BASE) + ") + c$")
        ax.set_ylabel("quantity")
        self._table_title = ax.set_title(" ", loc="left")

    def _draw_plane(self, ax):
        self._pax = ax
        lo, hi = _SCALE_RANGE
        self._plane_edges = np.geomspace(lo, hi, _PLANE_POINTS + 1)
        self._plane_scales = np.sqrt(self._plane_edges[:-1] * self._plane_edges[1:])
        ndt = len(numerics.DTYPES)
        cmap = ListedColormap(_OUTCOME_COLOURS)
        norm = BoundaryNorm(np.arange(-0.5, len(_OUTCOME_COLOURS)), cmap.N)
        self._mesh = ax.pcolormesh(self._plane_edges, np.arange(ndt + 1) - 0.5,
                                   np.zeros((ndt, _PLANE_POINTS)), cmap=cmap, norm=norm,
                                   shading="flat")
        ax.set_xscale("log")
        ax.set_xlim(lo, hi)
        ax.set_ylim(ndt - 0.5, -0.5)
        ax.set_yticks(range(ndt))
        ax.set_yticklabels(numerics.DTYPES)
        self._thresholds = np.array([numerics.exp_thresholds(d).max_finite_arg
                                     for d in numerics.DTYPES])
        self._ticks = [ax.plot([np.nan, np.nan], [k - 0.45, k + 0.45], color=style.INK,
                               linewidth=2.2, solid_capstyle="butt")[0] for k in range(ndt)]
        self._now_line = ax.axvline(1.0, color=style.INK, linewidth=0.8, linestyle=":")
        (self._marker,) = ax.plot([1.0], [0], marker="o", markersize=11, markerfacecolor="none",
                                  markeredgecolor=style.INK, markeredgewidth=2.0, linestyle="none",
                                  clip_on=False)  # at s = 1000 it sits on the right edge
        ax.set_xlabel(" ")
        ax.set_ylabel("dtype")
        ax.set_title("naive result", loc="left")
        ax.set_xticks([0.1, 10, 1000], ["0.1", "10", "1000"])
        ax.xaxis.set_minor_locator(NullLocator())
        handles: list[Artist] = [Patch(facecolor=col, edgecolor="#888888", label=lab)
                   for col, lab in zip(_OUTCOME_COLOURS, _OUTCOME_LABELS)]
        handles.append(Line2D([], [], color=style.INK, linewidth=2.2,
                              label="overflow threshold"))
        handles.append(Patch(facecolor="white", edgecolor=_INF, hatch="///",
                             label="z past threshold"))
        # Below both axes: the plane is all colour, and the table is full of numbers.
        ax.figure.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False,
                         handlelength=1.4, columnspacing=1.2)

    # -- updating ----------------------------------------------------------------------

    def _update(self, changed):
        p = self.params
        dtype, scale, shift = p["dtype"], float(p["scale"]), float(p["shift"])
        z = scale * np.asarray(BASE) + shift
        naive = lesson.softmax_steps(z, dtype, "naive")
        stable = lesson.softmax_steps(z, dtype, "stable")
        results = {"naive": naive.p, "stable": stable.p, "two_pass": two_pass_in(z, dtype)}
        limits = numerics.exp_thresholds(dtype)
        with np.errstate(all="ignore"):
            sums = {m: float(np.sum(results[m])) for m in METHODS}
        nonfinite = {m: bool(not np.isfinite(results[m]).all()) for m in METHODS}
        outcome = lesson.NAIVE_OUTCOMES[int(lesson.naive_outcome(z, dtype))]
        if changed & {"shift"} or not hasattr(self, "_plane"):
            self._plane = lesson.naive_outcome_grid(BASE, self._plane_scales, shift)
            self._mesh.set_array(self._plane.ravel())
            # the scale at which the largest logit, s + c, reaches each threshold
            self._threshold_scales = self._thresholds - shift
            for tick, s_star in zip(self._ticks, self._threshold_scales):
                x = s_star if _SCALE_RANGE[0] <= s_star <= _SCALE_RANGE[1] else np.nan
                tick.set_xdata([x, x])
        self._fill_table(naive, results, sums, limits, dtype)
        row = numerics.DTYPES.index(dtype)
        self._marker.set_data([scale], [row])
        self._now_line.set_xdata([scale, scale])
        self._pax.set_xlabel(f"scale s (c = {shift:g})")
        self._shown = {
            "scale": scale, "shift": shift, "dtype": dtype,
            "logits": naive.logits, "exp": naive.exp, **results, "sums": sums,
            "nonfinite": nonfinite,
            "nonfinite_methods": tuple(m for m in METHODS if nonfinite[m]),
            "naive_outcome": outcome,
            "threshold": limits.max_finite_arg,
            "threshold_scale": float(self._threshold_scales[row]),
        }

    def _fill_table(self, naive, results, sums, limits, dtype):
        rows = [naive.logits, naive.exp, results["naive"], results["stable"], results["two_pass"]]
        totals = [None, naive.sum, sums["naive"], sums["stable"], sums["two_pass"]]
        for r, (values, total) in enumerate(zip(rows, totals)):
            for k, v in enumerate(values):
                text, cell = self._texts[r][k], self._cells[r][k]
                if r == 0:
                    over, under = v > limits.max_finite_arg, v < limits.min_nonzero_arg
                    text.set_text(_cell_text(v, 4))
                    cell.set_facecolor("white")
                    # None clears the hatch: matplotlib accepts it, its stub says str
                    cell.set_hatch("///" if over or under else None)  # type: ignore[arg-type]
                    cell.set_edgecolor(_INF if over else style.PALETTE[2] if under else "#BBBBBB")
                else:
                    text.set_text(_cell_text(v, 2))
                    colour = _cell_colour(v)
                    cell.set_facecolor(colour)
                    text.set_color("white" if colour == _INF else style.INK)
            sum_text, sum_cell = self._texts[r][_N], self._cells[r][_N]
            if total is None:
                sum_text.set_text("")
                continue
            sum_text.set_text(_cell_text(float(total), 4))
            colour = _cell_colour(float(total))
            sum_cell.set_facecolor(colour)
            sum_text.set_color("white" if colour == _INF else style.INK)
        self._tax.set_yticklabels(list(_ROWS[:-1]) + [
            "two-pass p\n(float32)" if dtype in ("float16", "bfloat16") else "two-pass p"])
        self._table_title.set_text(f"{dtype}: exp(z) = inf past {limits.max_finite_arg:.4g}")

    def _state(self):
        shown = dict(self._shown)
        for key in ("logits", "exp", *METHODS):
            shown[key] = shown[key].copy()
        shown["sums"] = dict(shown["sums"])
        shown["nonfinite"] = dict(shown["nonfinite"])
        shown["plane"] = self._plane.copy()
        shown["plane_scales"] = self._plane_scales.copy()
        shown["dtypes"] = numerics.DTYPES
        return shown
