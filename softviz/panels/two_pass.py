"""``TwoPassPanel``: one softmax algorithm on a 12-element row, one element at a time.

(Lesson 06's panel; ``StepThroughPanel``, its former name, stays an alias.)

The step slider (or the buttons, or the play control) walks through
``softviz.two_pass.trace_softmax``: pass by pass, element by element.  The top
strip shows the arrays x and y with the cell being read (blue) and written
(red) and every value written so far; the lower plot follows the accumulators
in logit units -- the running max (or the exponent E ln 2 of the two-pass
sum) and the log of the running sum -- with the raw accumulators and the bytes
moved so far beside it.

Three-pass is the textbook form; Two-Pass is Dukhan & Ablavatski, "The
Two-Pass Softmax Algorithm" (2020, arXiv:2001.04438); online is Milakov &
Gimelshein, "Online normalizer calculation for softmax" (2018, arXiv:1805.02867).

Used in: notebooks/06_two_pass.ipynb
"""
from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from ..core import ALGORITHMS
from ..two_pass import SoftmaxTrace, memory_traffic, trace_softmax
from . import style
from .base import Panel
from .controls import WIDE

__all__ = ["TwoPassPanel", "StepThroughPanel", "VECTORS"]

_INF = float("inf")
#: The rows the panel steps through (12 elements each), by name.
VECTORS = {
    "mixed logits": (0.8, -1.3, 2.1, 0.4, -0.2, 3.0, 1.7, -2.6, 0.9, 2.4, -0.7, 1.1),
    "rising (new max every step)": (-3.0, -2.4, -1.8, -1.2, -0.6, 0.0, 0.6, 1.2, 1.8, 2.4, 3.0, 3.6),
    "falling (max comes first)": (3.6, 3.0, 2.4, 1.8, 1.2, 0.6, 0.0, -0.6, -1.2, -1.8, -2.4, -3.0),
    "huge (exp(1000) overflows)": (1000.0, 998.5, -1000.0, 999.0, 995.0, 1001.0,
                                   -3.0, 999.5, 990.0, 997.0, 1002.0, 0.0),
    "masked (-inf entries)": (1.5, -_INF, 0.3, 2.2, -_INF, -_INF, 1.0, 0.7, -_INF, 2.9, -0.4, 1.2),
}
_N = 12
# Short names for the titles (they must fit in lecture mode too).
_SHORT = {"mixed logits": "mixed", "rising (new max every step)": "rising",
          "falling (max comes first)": "falling", "huge (exp(1000) overflows)": "huge, ±1000",
          "masked (-inf entries)": "masked, -inf"}
_PASSES = {
    "three_pass_reload": ("max", "exp, store y, sum", "y times 1/s"),
    "three_pass_recompute": ("max", "sum of exps", "exp again, times 1/s"),
    "online": ("running max and sum", "exp, times 1/d"),
    "two_pass": ("sum as M·2^E", "p/M · 2^(n-E)"),
}
_READ, _WRITE, _IDLE = style.PALETTE[3], style.PALETTE[4], "#F4F4F4"


def _cell_text(v):
    """A value in at most 5 characters, so neighbouring cells never collide."""
    v = float(v)
    if math.isnan(v):
        return ""
    if math.isinf(v):
        return "-inf" if v < 0 else "inf"
    if v == 0:
        return "0"
    if 0.01 <= abs(v) < 1e4:
        for digits in (4, 3, 2, 1):
            text = f"{v:.{digits}g}"
            if len(text) <= 5:
                return text
    mant, _, expo = f"{v:.0e}".partition("e")
    return f"{mant}e{int(expo)}"


def _num(v):
    v = float(v)
    if math.isinf(v):
        return "-inf" if v < 0 else "inf"
    return f"{v:.6g}"


def _log_view(alg, acc):
    """(running max in logit units, log of the running sum) from one step's accumulators."""
    with np.errstate(divide="ignore"):
        if alg == "two_pass":
            e, m = acc["exponent"], acc["mantissa"]
            if not math.isfinite(e) or m <= 0:
                return math.nan, math.nan
            return e * math.log(2.0), e * math.log(2.0) + math.log(m)
        mx = acc.get("max", math.nan)
        # the online pass starts from the lowest finite float: not a logit worth plotting
        if not math.isfinite(mx) or mx < -1e30:
            return math.nan, math.nan
        s = acc.get("sum")
        return mx, (mx + math.log(s) if s is not None and s > 0 else math.nan)


class TwoPassPanel(Panel):
    """Step through ``softviz.two_pass.trace_softmax`` on a 12-element row.

    ``TwoPassPanel(algorithm="two_pass", vector="mixed logits", dtype="float32", step=0)``;
    ``state()`` -> the current step's ``accumulators`` and per-element ``values``,
    ``pass_number``/``pass_name``/``element``, the cells read and written
    (``reads``/``writes``), ``bytes_read``/``bytes_written``/``bytes_moved`` and
    ``bytes_total`` (``memory_traffic``), the arrays ``x`` and ``y`` (NaN where
    not yet written), ``note`` and ``n_steps``.

    Used in: notebooks/06_two_pass.ipynb
    """

    main_control = "step"

    def _controls(self):
        return {
            "algorithm": widgets.Dropdown(options=list(ALGORITHMS), value="two_pass",
                                          description="algorithm", style=WIDE),
            "vector": widgets.Dropdown(options=list(VECTORS), value="mixed logits",
                                       description="row x", style=WIDE),
            "dtype": widgets.Dropdown(options=["float32", "float64"], value="float32",
                                      description="dtype", style=WIDE),
            "step": widgets.IntSlider(value=0, min=0, max=2 * _N, description="step", style=WIDE,
                                      layout=widgets.Layout(width="30em")),
        }

    def _layout(self):
        c = self.controls
        self._play = widgets.Play(value=0, min=0, max=c["step"].max, interval=700,
                                  description="play", layout=widgets.Layout(width="13em"))
        widgets.jslink((self._play, "value"), (c["step"], "value"))
        widgets.jslink((self._play, "max"), (c["step"], "max"))
        self._buttons = {
            "prev": widgets.Button(description="◀ step", tooltip="one step back",
                                   layout=widgets.Layout(width="6.5em")),
            "next": widgets.Button(description="step ▶", tooltip="one step on",
                                   layout=widgets.Layout(width="6.5em")),
            "pass": widgets.Button(description="next pass ▶▶", tooltip="to the start of the next pass",
                                   layout=widgets.Layout(width="9em")),
        }
        self._buttons["prev"].on_click(lambda _: self._move(-1))
        self._buttons["next"].on_click(lambda _: self._move(+1))
        self._buttons["pass"].on_click(lambda _: self._next_pass())
        self._log = widgets.HTML()
        row = widgets.Layout(flex_flow="row wrap", align_items="center")
        return [widgets.HBox([c["algorithm"], c["vector"], c["dtype"]], layout=row),
                widgets.HBox([self._play, c["step"], *self._buttons.values()], layout=row),
                self._log]

    # -- drawing -------------------------------------------------------------------

    def _draw(self, fig):
        grid = fig.add_gridspec(2, 1, height_ratios=(1.0, 1.25))
        ax = self._ax_mem = fig.add_subplot(grid[0])
        self._cells, self._texts = {}, {}
        for row, name in ((1, "x"), (0, "y")):
            for i in range(_N):
                rect = Rectangle((i - 0.46, row - 0.4), 0.92, 0.8, facecolor=_IDLE,
                                 edgecolor=style.INK, linewidth=0.6)
                ax.add_patch(rect)
                self._cells[name, i] = rect
                self._texts[name, i] = ax.text(i, row, "", ha="center", va="center", fontsize=8.5)
        ax.set_xlim(-0.6, _N - 0.4)
        ax.set_ylim(-0.55, 1.55)
        ax.set_xticks(range(_N))
        ax.set_yticks([0, 1], ["y", "x"])
        ax.tick_params(length=0)
        for side in ("top", "right", "bottom", "left"):
            ax.spines[side].set_visible(False)
        ax.set_ylabel("array")
        self._mem_title = ax.set_title(" ", loc="left")
        self._mem_label = ax.set_xlabel(" ")

        ax = self._ax_acc = fig.add_subplot(grid[1])
        steps = np.arange(3 * _N + 1)
        (self._line_max,) = ax.plot(steps, np.full(steps.shape, np.nan), "o-", markersize=2.5,
                                    color=style.PALETTE[0], label="running max (two-pass: E ln 2)")
        (self._line_lse,) = ax.plot(steps, np.full(steps.shape, np.nan), "o-", markersize=2.5,
                                    color=style.PALETTE[1], label="log of running sum")
        (self._dots,) = ax.plot([], [], "o", color=style.INK, markersize=5)
        self._pass_lines = [ax.axvline(0, color=style.PALETTE[2], linestyle="--", linewidth=1)
                            for _ in range(2)]
        self._cursor = ax.axvline(0, color=style.INK, linewidth=0.8, alpha=0.6)
        ax.legend(loc="upper right", fontsize=8)
        # one fixed step axis for every algorithm, so a two-pass trace visibly ends
        # a pass earlier; explicit ticks, all inside the limits
        ax.set_xlim(-0.5, 3 * _N + 0.5)
        ax.set_xticks(range(0, 3 * _N + 1, 6))
        ax.set_xlabel("step (dashed: a new pass over the row starts)")
        ax.set_ylabel("logit units")
        self._acc_title = ax.set_title(" ", loc="left")
        self._bytes_title = ax.set_title(" ", loc="right")
        self._acc_text = ax.text(0.01, 0.96, "", transform=ax.transAxes, va="top", ha="left",
                                 family="monospace", fontsize=8,
                                 bbox={"facecolor": "white", "edgecolor": style.PALETTE[3],
                                       "alpha": 0.9, "boxstyle": "round,pad=0.3"})
        fig.suptitle(" ", x=0.01, ha="left", fontweight="bold")
        self._trace: SoftmaxTrace | None = None  # made by the first _update
        self._key = None

    # -- updating ------------------------------------------------------------------

    def _update(self, changed):
        p = self.params
        key = (p["algorithm"], p["vector"], p["dtype"])
        if key != self._key:
            self._new_trace(key)
        assert self._trace is not None
        step = min(p["step"], len(self._trace) - 1)
        self._show(self._trace.steps[step])

    def _new_trace(self, key):
        alg, vector, dtype = key
        trace = trace_softmax(np.array(VECTORS[vector], dtype=dtype), alg)
        self._trace, self._key = trace, key
        last = len(trace) - 1
        slider = self.controls["step"]
        if slider.value > last:
            slider.value = last  # queued by the base as one more change
        slider.max = last
        views = np.array([_log_view(alg, s.accumulators) for s in trace.steps])
        self._views = views
        ax = self._ax_acc
        finite = views[np.isfinite(views)]
        lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
        pad = max(0.5, 0.15 * (hi - lo))
        # room at the top for the accumulator box and the legend
        y0, y1 = lo - pad, hi + pad + 1.1 * (hi - lo + 2 * pad)
        ax.set_ylim(y0, y1)
        ticks = MaxNLocator(4).tick_values(y0, y1)
        ax.set_yticks([t for t in ticks if y0 <= t <= y1])
        for line, x in zip(self._pass_lines, (_N, 2 * _N)):
            line.set_xdata([x + 0.5, x + 0.5])
            line.set_visible(x < last)
        self.figure.suptitle(f"{alg.replace('_', ' ')}, {dtype}, row: {_SHORT[vector]}")

    def _show(self, st):
        assert self._trace is not None
        trace, alg = self._trace, self._trace.algorithm
        reads, writes = set(st.reads), set(st.writes)
        for (name, i), rect in self._cells.items():
            cell = (name, i)
            rect.set_facecolor(_WRITE if cell in writes else _READ if cell in reads else _IDLE)
            rect.set_linewidth(1.6 if cell in reads or cell in writes else 0.6)
            value = trace.x[i] if name == "x" else st.y[i]
            self._texts[cell].set_text(_cell_text(value))
        n_pass = len(trace.passes)
        where = "before the first pass" if st.pass_number == 0 else \
            f"pass {st.pass_number}/{n_pass}: {_PASSES[alg][st.pass_number - 1]}"
        self._mem_title.set_text(f"step {st.step}/{len(trace) - 1} · {where}")
        moved = ", ".join(f"{v}[{i}]" for v, i in st.reads) or "nothing"
        wrote = ", ".join(f"{v}[{i}]" for v, i in st.writes) or "nothing"
        self._mem_label.set_text(f"element i (blue: read {moved}; red: written {wrote})")

        k = st.step
        for line, col in ((self._line_max, 0), (self._line_lse, 1)):
            y = np.full(3 * _N + 1, np.nan)
            y[: k + 1] = self._views[: k + 1, col]
            line.set_ydata(y)
        self._dots.set_data([k, k], self._views[k])
        self._cursor.set_xdata([k, k])
        total = memory_traffic(alg, _N, trace.dtype)["bytes"]
        self._acc_title.set_text("accumulators")
        self._bytes_title.set_text(f"bytes moved {st.bytes_moved}/{total}")
        lines = [f"{name:<9}= {_num(v)}" for name, v in st.accumulators.items()]
        lines += [f"{name} = {_num(v)}" for name, v in st.values.items()]
        self._acc_text.set_text("\n".join(lines))
        self._log.value = (f"<code>{st.note}</code> &nbsp; read {st.bytes_read} B, "
                           f"written {st.bytes_written} B")
        self._shown = st

    def _state(self):
        st, trace = self._shown, self._trace
        assert trace is not None
        return {
            **self.params,
            "n_steps": len(trace),
            "pass_number": st.pass_number,
            "pass_name": st.pass_name,
            "element": st.element,
            "reads": list(st.reads),
            "writes": list(st.writes),
            "accumulators": dict(st.accumulators),
            "values": dict(st.values),
            "bytes_read": st.bytes_read,
            "bytes_written": st.bytes_written,
            "bytes_moved": st.bytes_moved,
            "bytes_total": memory_traffic(trace.algorithm, _N, trace.dtype)["bytes"],
            "x": trace.x.copy(),
            "y": st.y.copy(),
            "note": st.note,
        }

    # -- buttons ---------------------------------------------------------------------

    def _move(self, delta):
        slider = self.controls["step"]
        self.set(step=int(min(max(slider.value + delta, 0), slider.max)))

    def _next_pass(self):
        assert self._trace is not None
        st = self._trace.steps[self.controls["step"].value]
        n = self._trace.x.shape[0]
        # the first element of the next pass, or the end of the trace
        target = min(st.pass_number * n + 1, len(self._trace) - 1)
        self.set(step=target)


#: The panel's name before lesson 06's modules took the lesson's name; kept so old code runs.
StepThroughPanel = TwoPassPanel
