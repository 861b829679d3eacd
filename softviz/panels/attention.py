"""Lesson 08's panels: ``AttentionPanel`` (tiled attention, one key block at a time) and
``AttentionScalePanel`` (what the 1/sqrt(d) scale does as d grows).

``AttentionPanel`` steps through ``softviz.attention.tiled_trace`` for one block of four
queries of a 64-token sequence: the score matrix with the key block being folded in
outlined (the tiled code never holds more than that block), every row's running max
(a triangle where a new block raised it and the partial output was rescaled by
exp(m_old - m_new)), one query's partial output against the full-matrix result, and
the bytes each approach has moved so far.  FlashAttention is Dao et al. 2022
(arXiv:2205.14135) and Dao 2023 (arXiv:2307.08691); the online rule is Milakov &
Gimelshein 2018 (arXiv:1805.02867).

``AttentionScalePanel`` shows one query's attention weights over 64 random keys for a
key dimension d and the scale (1/sqrt(d), Vaswani et al. 2017, arXiv:1706.03762, or
none), beside the mean entropy and the size of the softmax Jacobian against d.

Used in: notebooks/08_attention.ipynb
"""
from __future__ import annotations

import math
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from ..attention import TiledTrace, random_qkv, scale_sweep, tiled_trace
from . import style
from .base import Panel
from .controls import WIDE

__all__ = ["AttentionPanel", "AttentionScalePanel", "SEQUENCE", "QUERY_ROWS"]

#: Tokens in the panel's sequence, and the query rows (one query block) it follows.
SEQUENCE = 64
QUERY_ROWS = (28, 29, 30, 31)
_D, _DV = 16, 6
_BLOCKS = [4, 8, 16, 32, 64]
_MARKERS = ("o", "s", "D", "v")


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    q, k, v = random_qkv(SEQUENCE, SEQUENCE, _D, dv=_DV, rng=8)
    # a slow upward drift of the scores along the sequence, so the running max moves several
    # times (as it does in real text, where later tokens are often more relevant)
    k = k + np.linspace(-0.6, 0.9, SEQUENCE, dtype=np.float32)[:, None] * q[list(QUERY_ROWS)].mean(axis=0)
    return q[list(QUERY_ROWS)], np.ascontiguousarray(k, dtype=np.float32), v


def _bytes(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n >= 1024 else f"{n} B"


class AttentionPanel(Panel):
    """Step through tiled attention (``softviz.attention.tiled_trace``) for one query block.

    ``AttentionPanel(step=3, block_k=8, causal=False, query=0)``; ``state()`` -> ``n_steps``,
    ``keys`` (the key block just folded in), per row ``max``, ``sum``, ``rescale``,
    ``max_moved``, the shown query's ``partial`` output and the full-matrix ``reference``,
    ``error`` (largest |partial - reference| of that query), ``bytes_tiled``,
    ``bytes_naive``, ``scores_stored`` (entries of S the tiled code holds at once) and
    ``scores_naive`` (entries the naive code stores for this query block).

    Used in: notebooks/08_attention.ipynb
    """

    main_control = "step"

    def _controls(self) -> dict[str, Any]:
        return {
            "step": widgets.IntSlider(value=0, min=0, max=SEQUENCE // 8, description="key block",
                                      style=WIDE, layout=widgets.Layout(width="26em")),
            "block_k": widgets.Dropdown(options=_BLOCKS, value=8, description="block size",
                                        style=WIDE),
            "causal": widgets.Checkbox(value=False, description="causal mask", indent=False),
            "query": widgets.Dropdown(options=list(range(len(QUERY_ROWS))), value=0,
                                      description="query shown", style=WIDE),
        }

    def _layout(self) -> list[Any]:
        c = self.controls
        self._log = widgets.HTML()
        row = widgets.Layout(flex_flow="row wrap", align_items="center")
        return [widgets.HBox([c["step"], c["block_k"], c["causal"], c["query"]], layout=row), self._log]

    def _draw(self, fig: Figure) -> None:
        self._q, self._k, self._v = _data()
        grid = fig.add_gridspec(2, 2, height_ratios=(1.0, 1.35), width_ratios=(1.15, 1.0))
        ax = self._ax_s = fig.add_subplot(grid[0, :])
        self._image = ax.imshow(np.zeros((len(QUERY_ROWS), SEQUENCE)), aspect="auto", cmap="viridis",
                                interpolation="nearest", extent=(-0.5, SEQUENCE - 0.5, len(QUERY_ROWS) - 0.5, -0.5))
        self._fog = Rectangle((0, -0.5), 1, len(QUERY_ROWS), facecolor="white", alpha=0.75, edgecolor="none")
        self._box = Rectangle((0, -0.5), 1, len(QUERY_ROWS), facecolor="none", edgecolor=style.PALETTE[1],
                              linewidth=2.4)
        ax.add_patch(self._fog)
        ax.add_patch(self._box)
        ax.set_yticks(range(len(QUERY_ROWS)), [str(r) for r in QUERY_ROWS])
        ax.set_xticks(range(0, SEQUENCE, 8))
        ax.set_ylabel("query i")
        ax.set_xlabel("key j (faded: not read yet; outlined: in the tile)")
        self._s_title = ax.set_title(" ", loc="left")
        self._bytes_title = ax.set_title(" ", loc="right", fontsize=9)

        ax = self._ax_m = fig.add_subplot(grid[1, 0])
        self._lines = []
        self._moved = []
        for r in range(len(QUERY_ROWS)):
            colour = style.PALETTE[r % len(style.PALETTE)]
            (line,) = ax.plot([], [], "-", marker=_MARKERS[r], markersize=4, color=colour,
                              label=f"row {QUERY_ROWS[r]}")
            (moved,) = ax.plot([], [], "^", markersize=9, markerfacecolor="none", color=colour)
            self._lines.append(line)
            self._moved.append(moved)
        self._final = [ax.axhline(0, color=style.PALETTE[r], linestyle=":", linewidth=1)
                       for r in range(len(QUERY_ROWS))]
        ax.set_xlabel("key blocks folded in (△: max moved)")
        ax.set_ylabel("running max m")
        ax.legend(loc="lower right", fontsize=7, ncol=2)
        ax.set_title("running max (dotted: final)", loc="left", fontsize=10)

        ax = self._ax_o = fig.add_subplot(grid[1, 1])
        x = np.arange(_DV)
        self._bars = ax.bar(x - 0.18, np.zeros(_DV), width=0.36, color=style.PALETTE[0],
                            label="tiled, keys so far")
        self._ref = ax.bar(x + 0.18, np.zeros(_DV), width=0.36, color="none", edgecolor=style.INK,
                           hatch="//", label="full matrix")
        ax.axhline(0, color=style.INK, linewidth=0.6)
        ax.set_xticks(x)
        ax.set_xlabel("output component")
        ax.set_ylabel("o / l")
        ax.legend(loc="lower left", fontsize=7)
        self._o_title = ax.set_title(" ", loc="left", fontsize=10)
        self._trace: TiledTrace | None = None
        self._key: tuple[int, bool] | None = None

    def _update(self, changed: frozenset[str]) -> None:
        p = self.params
        key = (p["block_k"], p["causal"])
        if key != self._key:
            self._new_trace(key)
        assert self._trace is not None
        step = min(p["step"], len(self._trace) - 1)
        self._show(step)

    def _new_trace(self, key: tuple[int, bool]) -> None:
        block_k, causal = key
        mask = None
        if causal:
            # the query block sits at positions 28..31 of the sequence: key j is visible to
            # query i iff j <= i
            mask = np.arange(SEQUENCE)[None, :] <= np.array(QUERY_ROWS)[:, None]
        trace = tiled_trace(self._q, self._k, self._v, block_k=block_k, mask=mask)
        self._trace, self._key = trace, key
        last = len(trace) - 1
        slider = self.controls["step"]
        if slider.value > last:
            slider.value = last
        slider.max = last
        scores = trace.scores
        finite = scores[np.isfinite(scores)]
        shown = np.where(np.isfinite(scores), scores, np.nan)
        self._image.set_data(shown)
        self._image.set_clim(finite.min(), finite.max())
        self._image.set_cmap(self._image.get_cmap().with_extremes(bad="#BBBBBB"))
        ax = self._ax_m
        ax.set_xlim(-0.3, last + 0.3)
        ax.set_xticks(range(0, last + 1, max(1, last // 8)))
        maxima = np.concatenate([s.max[np.isfinite(s.max)] for s in trace.steps[1:]])
        lo, hi = float(maxima.min()), float(maxima.max())
        y0, y1 = lo - 0.15 * (hi - lo + 1e-9) - 0.1, hi + 0.15 * (hi - lo + 1e-9) + 0.1
        ax.set_ylim(y0, y1)
        ax.set_yticks([t for t in MaxNLocator(4).tick_values(y0, y1) if y0 <= t <= y1])
        for r, line in enumerate(self._final):
            line.set_ydata([trace.steps[-1].max[r]] * 2)
        ref = trace.reference
        lim = 1.15 * max(float(np.abs(ref).max()), float(np.nanmax(np.abs(
            np.array([s.partial for s in trace.steps[1:]])))))
        self._ax_o.set_ylim(-lim, lim)
        self._ax_o.set_yticks([t for t in MaxNLocator(4, symmetric=True).tick_values(-lim, lim) if -lim <= t <= lim])

    def _show(self, step: int) -> None:
        trace = self._trace
        assert trace is not None
        st = trace.steps[step]
        r = self.params["query"]
        done = st.keys[1]
        self._fog.set_x(done - 0.5)
        self._fog.set_width(max(SEQUENCE - done, 0))
        self._box.set_x(st.keys[0] - 0.5)
        self._box.set_width(st.keys[1] - st.keys[0])
        self._box.set_visible(step > 0)
        blocks = len(trace) - 1
        self._s_title.set_text(f"scores, block {step}/{blocks}"
                               + (f": keys {st.keys[0]}–{st.keys[1] - 1}" if step else ""))
        xs = np.arange(step + 1)
        for row, (line, moved) in enumerate(zip(self._lines, self._moved)):
            ys = np.array([s.max[row] for s in trace.steps[: step + 1]])
            ys = np.where(np.isfinite(ys), ys, np.nan)
            line.set_data(xs, ys)
            flags = np.array([s.max_moved[row] for s in trace.steps[: step + 1]])
            moved.set_data(xs[flags], ys[flags])
        partial = st.partial[r]
        for bar, value in zip(self._bars, partial):
            bar.set_height(0.0 if not np.isfinite(value) else value)
        for bar, value in zip(self._ref, trace.reference[r]):
            bar.set_height(value)
        err = float(np.max(np.abs(partial - trace.reference[r]))) if np.all(np.isfinite(partial)) else math.nan
        self._o_title.set_text(f"query {QUERY_ROWS[r]}" + (f": off by {err:.2g}" if step else ": output"))
        n = len(QUERY_ROWS)
        self._bytes_title.set_text(f"bytes: tiled {_bytes(st.bytes_tiled)}, naive {_bytes(st.bytes_naive)}")
        if step:
            rescale = ", ".join(f"{a:.3g}" for a in st.rescale)
            self._log.value = (f"<code>block {step}: keys {st.keys[0]}..{st.keys[1] - 1}; rescale "
                               f"exp(m_old - m_new) per row: {rescale}; the tile holds {st.scores_stored} "
                               f"scores, the naive version stores {n * SEQUENCE}</code>")
        else:
            self._log.value = "<code>start: m = -inf, l = 0, output 0 for every row</code>"
        self._shown = (step, err)

    def _state(self) -> dict[str, Any]:
        trace = self._trace
        assert trace is not None
        step, err = self._shown
        st = trace.steps[step]
        r = self.params["query"]
        return {
            **self.params,
            "n_steps": len(trace),
            "keys": st.keys,
            "max": st.max.copy(),
            "sum": st.sum.copy(),
            "rescale": st.rescale.copy(),
            "max_moved": st.max_moved.copy(),
            "partial": st.partial[r].copy(),
            "reference": trace.reference[r].astype(np.float64),
            "error": err,
            "bytes_tiled": st.bytes_tiled,
            "bytes_naive": st.bytes_naive,
            "scores_stored": st.scores_stored,
            "scores_naive": len(QUERY_ROWS) * SEQUENCE,
        }


_DIMS = [4, 8, 16, 32, 64, 128, 256, 512, 1024]
_SCALES = ["1/sqrt(d)", "none"]


class AttentionScalePanel(Panel):
    """One query's attention over 64 random keys, for a key dimension d, with or without 1/sqrt(d).

    ``AttentionScalePanel(d=64, scale="1/sqrt(d)")``; ``state()`` -> ``weights`` (sorted,
    largest first), ``top`` (the largest weight), ``entropy`` (mean over 64 queries, nats),
    ``entropy_uniform`` (ln 64), ``jacobian`` (mean Frobenius norm of diag(p) - p p^T) and
    ``score_std`` (the standard deviation of q·k at this d).

    Used in: notebooks/08_attention.ipynb
    """

    main_control = "d"

    def _controls(self) -> dict[str, Any]:
        return {
            "d": widgets.SelectionSlider(options=_DIMS, value=64, description="key dimension d",
                                         style=WIDE, layout=widgets.Layout(width="26em")),
            "scale": widgets.Dropdown(options=_SCALES, value="1/sqrt(d)", description="scale", style=WIDE),
        }

    def _draw(self, fig: Figure) -> None:
        self._sweep = scale_sweep(_DIMS, n_keys=64, n_queries=64, rng=0)
        grid = fig.add_gridspec(1, 3, width_ratios=(1.2, 1.0, 1.0))
        ax = self._ax_w = fig.add_subplot(grid[0])
        self._bars = ax.bar(np.arange(64), np.zeros(64), width=0.9, color=style.PALETTE[0])
        ax.set_ylim(0, 1)
        ax.set_yticks([0, 0.5, 1])
        ax.set_xlim(-1, 64)
        ax.set_xticks([0, 20, 40, 60])
        ax.set_xlabel("keys, largest weight first")
        ax.set_ylabel("attention weight")
        self._w_title = ax.set_title(" ", loc="left", fontsize=10)
        dims = np.array(_DIMS)
        self._ax_h = fig.add_subplot(grid[1])
        self._ax_j = fig.add_subplot(grid[2])
        for ax, key, label, ylabel in ((self._ax_h, "entropy", "mean entropy", "nats"),
                                       (self._ax_j, "jacobian", "gradient factor", "‖diag(p) − ppᵀ‖")):
            ax.plot(dims, self._sweep[f"{key}_scaled"], "o-", color=style.PALETTE[0], markersize=3,
                    label="1/√d")
            ax.plot(dims, self._sweep[f"{key}_unscaled"], "s--", color=style.PALETTE[1], markersize=3,
                    label="no scale")
            ax.set_xscale("log", base=2)
            ax.set_xlim(3, 1400)
            ax.set_xticks([4, 64, 1024], ["4", "64", "1024"])
            ax.minorticks_off()
            ax.set_xlabel("d")
            ax.set_ylabel(ylabel)
            ax.set_title(label, loc="left", fontsize=10)
            ax.legend(fontsize=7, loc="lower left")
        self._ax_h.axhline(math.log(64), color=style.INK, linestyle=":", linewidth=1)
        self._ax_h.set_ylim(0, 4.5)
        self._ax_h.set_yticks([0, 1, 2, 3, 4])
        self._ax_j.set_ylim(0, 0.35)
        self._ax_j.set_yticks([0, 0.1, 0.2, 0.3])
        (self._dot_h,) = self._ax_h.plot([], [], "o", markersize=9, markerfacecolor="none", color=style.INK)
        (self._dot_j,) = self._ax_j.plot([], [], "o", markersize=9, markerfacecolor="none", color=style.INK)

    def _update(self, changed: frozenset[str]) -> None:
        d, scale = self.params["d"], self.params["scale"]
        i = _DIMS.index(d)
        tag = "scaled" if scale == "1/sqrt(d)" else "unscaled"
        w = np.sort(self._sweep[f"weights_{tag}"][i])[::-1]
        for bar, value in zip(self._bars, w):
            bar.set_height(value)
        self._w = w
        self._entropy = float(self._sweep[f"entropy_{tag}"][i])
        self._jac = float(self._sweep[f"jacobian_{tag}"][i])
        self._dot_h.set_data([d], [self._entropy])
        self._dot_j.set_data([d], [self._jac])
        self._w_title.set_text(f"d={d}, {'1/√d' if tag == 'scaled' else 'no scale'}: top {w[0]:.2f}")

    def _state(self) -> dict[str, Any]:
        i = _DIMS.index(self.params["d"])
        return {**self.params, "weights": self._w.copy(), "top": float(self._w[0]), "entropy": self._entropy,
                "entropy_uniform": math.log(64), "jacobian": self._jac,
                "score_std": float(self._sweep["score_std"][i])}
