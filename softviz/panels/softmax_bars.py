"""``SoftmaxBarsPanel``: three editable logits, a temperature, and their softmax as bars.

The "first taste" of softviz: type logits, drag the temperature, watch the
probabilities move (low T -> one-hot, high T -> uniform) and the entropy with
them; switching the algorithm changes nothing visible, which is the point of
lesson 06.

Used in: notebooks/00_start_here.ipynb
"""
from __future__ import annotations

import math
from typing import Any

import ipywidgets as widgets
import numpy as np
import scipy.special
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ..core import ALGORITHMS, softmax
from . import style
from .base import Panel
from .controls import WIDE, FloatVector, log_slider

__all__ = ["SoftmaxBarsPanel"]

_N = 3
_YMAX = 1.15  # headroom above p = 1 for the value label


def _fmt_probability(p: float) -> str:
    # Three decimals read best; tiny probabilities would all print 0.000.
    # An exact 0 (underflow) is worth telling apart from a small number.
    if p == 0:
        return "0"
    return f"{p:.3f}" if p >= 1e-3 else f"{p:.1e}"


class SoftmaxBarsPanel(Panel):
    """Bars of ``softviz.softmax(logits / temperature, algorithm=algorithm)``.

    ``SoftmaxBarsPanel(logits=(1.0, 2.0, 3.0), temperature=1.0, algorithm="two_pass")``;
    ``state()`` -> ``{"logits", "temperature", "algorithm", "probabilities", "entropy"}``
    (entropy in nats).

    Used in: notebooks/00_start_here.ipynb
    """

    main_control = "temperature"

    def _controls(self) -> dict[str, Any]:
        return {
            "logits": FloatVector((1.0, 2.0, 3.0), labels=["z₁", "z₂", "z₃"], step=0.5),
            "temperature": log_slider(1.0, 0.01, 100.0, "temperature T"),
            "algorithm": widgets.Dropdown(options=list(ALGORITHMS), value="two_pass",
                                          description="algorithm", style=WIDE),
        }

    def _draw(self, fig: Figure) -> None:
        ax = self._ax = fig.add_subplot()
        x = np.arange(_N)
        self._bars = ax.bar(x, np.zeros(_N), width=0.6, color=style.PALETTE[0],
                            edgecolor=style.INK, linewidth=0.8)
        self._labels = [ax.text(i, 0.0, "", ha="center", va="bottom") for i in range(_N)]
        ax.axhline(1 / _N, color=style.PALETTE[2], linestyle="--", linewidth=1.2)
        ax.annotate(f"uniform\n1/{_N}", xy=(1, 1 / _N), xycoords=("axes fraction", "data"),
                    xytext=(4, 0), textcoords="offset points", va="center", ha="left",
                    color=style.PALETTE[2])
        ax.set_xlim(-0.5, _N - 0.5)
        ax.set_ylim(0, _YMAX)
        ax.set_xticks(x)
        # Read at draw time, so a new logit never needs new tick artists.
        ax.xaxis.set_major_formatter(FuncFormatter(
            lambda v, pos: f"class {int(v) + 1}\nz = {self._shown['logits'][int(v)]:.3g}"))
        ax.set_ylabel("probability $p_i$")
        # Two rows (figure title, then axes title) so that neither can run
        # into the other at lecture-mode sizes; constrained layout stacks them.
        self._title = fig.suptitle(" ", x=0.01, ha="left", fontweight="bold")
        self._subtitle = ax.set_title(" ", loc="left", fontweight="normal")
        self._shown: dict[str, Any] = {"logits": (0.0,) * _N}

    def _update(self, changed: frozenset[str]) -> None:
        p = self.params
        logits = tuple(p["logits"])
        probs = softmax(np.asarray(logits, dtype=np.float64) / p["temperature"],
                        algorithm=p["algorithm"])
        entropy = float(scipy.special.entr(probs).sum())
        for bar, label, pi in zip(self._bars, self._labels, probs):
            bar.set_height(pi)
            label.set_y(pi + 0.015)
            label.set_text(_fmt_probability(pi))
        self._title.set_text(f"softmax(z / T) at T = {p['temperature']:.3g}")
        self._subtitle.set_text(f"entropy {entropy:.3f} nats (max {math.log(_N):.3f})")
        self._ax.set_xlabel(f"class $i$ and its logit $z_i$; computed by {p['algorithm']}")
        self._shown = {"logits": logits, "temperature": float(p["temperature"]),
                       "algorithm": p["algorithm"], "probabilities": probs, "entropy": entropy}

    def _state(self) -> dict[str, Any]:
        shown = dict(self._shown)
        shown["probabilities"] = shown["probabilities"].copy()
        return shown
