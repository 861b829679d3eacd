"""``TrainingPanel``: train the modular-addition network, then scrub through its training.

Pick the activation (softmax or StableMax), the dtype, the optimizer (Adam or
⊥Grad) and the weight decay, press **train** (a progress bar follows the run;
runs already trained come from a cache at once), then move the **step**
slider. Left: train and test accuracy and the fraction of collapsed training
samples over the steps, with a cursor at the chosen step. Middle: the logits
of one training sample at that step (its correct class in dark red). Right:
every training sample's gradient on its correct logit, |dL_i/dz_y|, against
its margin z_y - max_{j != y} z_j; a gradient that is exactly 0 (softmax
collapse) is drawn as a cross on the bottom edge.

From Prieto, Barsbey, Mediano and Birdal, "Grokking at the Edge of Numerical
Stability" (2025, arXiv:2501.04697); the computations are
``softviz.training.train_run``. The lesson's static figure (``plot_runs``) is in
softviz/figures/training.py.

Used in: notebooks/07_training.ipynb
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.container import BarContainer
from matplotlib.ticker import MaxNLocator, NullLocator

from .. import _validate, training
from . import style
from .base import Panel
from .controls import WIDE

__all__ = ["TrainingPanel"]

_WEIGHT_DECAYS = (0.0, 0.1, 0.3, 1.0)
_OPTIMIZER_LABELS = (("Adam", "adam"), ("⊥Grad (Adam)", "perp_adam"))
_FLOOR = 1e-12           # where an exactly-zero gradient is drawn on the log axis
_SAMPLE = 0              # the training sample whose logits are shown


class TrainingPanel(Panel):
    """Curves of a modular-addition training run and, at a chosen step, logits and per-sample gradients.

    ``TrainingPanel(activation="softmax", dtype="float32", optimizer="adam",
    weight_decay=0.0, step=3000)``. Constructing it (or pressing train) runs
    ``softviz.training.train_run`` with the default size unless that run is
    cached. ``state()`` -> the params, ``trained`` (False when the controls
    name a run not trained yet: the figure then still shows the last run),
    ``shown_run`` (its config), ``step``, ``train_accuracy``,
    ``test_accuracy``, ``collapsed_fraction``, ``logit_norm`` at that step,
    ``collapse_step`` (first step past 50 % collapsed, or None),
    ``sample_logits`` and ``sample_label`` (the middle plot), ``margins`` and
    ``correct_grads`` (the right plot, one entry per training sample),
    ``zero_grads`` (how many are exactly 0).

    Used in: notebooks/07_training.ipynb
    """

    main_control = "step"

    def _controls(self):
        return {
            "activation": widgets.Dropdown(options=list(training.ACTIVATIONS), value="softmax",
                                           description="activation", style=WIDE,
                                           layout=widgets.Layout(width="14em")),
            "dtype": widgets.Dropdown(options=list(training.DTYPES), value="float32",
                                      description="dtype", style=WIDE,
                                      layout=widgets.Layout(width="10em")),
            "optimizer": widgets.Dropdown(options=list(_OPTIMIZER_LABELS), value="adam",
                                          description="optimizer", style=WIDE,
                                          layout=widgets.Layout(width="15em")),
            "weight_decay": widgets.Dropdown(options=list(_WEIGHT_DECAYS), value=0.0,
                                             description="weight decay", style=WIDE,
                                             layout=widgets.Layout(width="12em")),
            "step": widgets.IntSlider(value=3000, min=0, max=3000, step=25, description="step",
                                      style=WIDE, continuous_update=True,
                                      layout=widgets.Layout(width="34em")),
        }

    def _layout(self):
        c = self.controls
        self._button = widgets.Button(description="train", button_style="primary",
                                      tooltip="train with these settings",
                                      layout=widgets.Layout(width="7em"))
        self._button.on_click(lambda _: self._train_clicked())
        self._progress = widgets.IntProgress(value=0, min=0, max=1, description="progress",
                                             style=WIDE, layout=widgets.Layout(width="18em"))
        row = widgets.Layout(flex_flow="row wrap", align_items="center")
        return [widgets.HBox([c["step"]], layout=row),
                widgets.HBox([c["activation"], c["dtype"], c["optimizer"], c["weight_decay"]],
                             layout=row),
                widgets.HBox([self._button, self._progress], layout=row)]

    def _coerce(self, name, value):
        if name == "weight_decay":
            if isinstance(value, (bool, np.bool_)):
                raise TypeError(f"weight_decay must be one of {_WEIGHT_DECAYS}, got a bool")
            try:
                value = float(value)
            except (TypeError, ValueError, OverflowError):
                raise ValueError(f"weight_decay must be one of {_WEIGHT_DECAYS}, got {_validate.short(value)}") from None
        if name == "step":
            try:
                step = int(value)
            except (TypeError, ValueError, OverflowError):
                raise ValueError(f"step must be an integer, got {_validate.short(value)}") from None
            if abs(step) > 10**9:
                raise ValueError(f"step={_validate.short(value)} is outside the slider's range")
            # the slider moves in steps of 25: snap as the browser would
            return int(round(step / 25.0) * 25) if step == value else value
        return value

    # -- drawing -------------------------------------------------------------------

    def _draw(self, fig):
        grid = fig.add_gridspec(1, 3, width_ratios=(1.35, 1.0, 1.1))
        ax = self._ax_curves = fig.add_subplot(grid[0])
        pal = style.PALETTE
        (self._l_train,) = ax.plot([], [], color=pal[0], label="train acc.")
        (self._l_test,) = ax.plot([], [], color=pal[2], linestyle="--", label="test acc.")
        (self._l_coll,) = ax.plot([], [], color=pal[1], linestyle=":", linewidth=2.4,
                                  label="collapsed")
        self._cursor = ax.axvline(0, color=style.INK, linewidth=0.9, alpha=0.7)
        ax.set_ylim(-0.03, 1.03)
        ax.set_yticks([0.0, 0.25, 0.5, 0.75, 1.0])
        ax.set_xlabel("training step")
        ax.set_ylabel("fraction")
        ax.legend(loc="center left", frameon=False, fontsize=8)
        self._curves_title = ax.set_title(" ", loc="left")

        ax = self._ax_logits = fig.add_subplot(grid[1])
        self._bars: BarContainer | None = None  # made once the logits' length is known
        ax.set_xlabel("class")
        ax.set_ylabel("logit z of sample 0")
        self._logits_title = ax.set_title(" ", loc="left")

        ax = self._ax_grads = fig.add_subplot(grid[2])
        (self._pts,) = ax.plot([], [], "o", color=pal[0], markersize=3, alpha=0.6,
                               label="gradient > 0")
        (self._zeros,) = ax.plot([], [], "x", color=pal[1], markersize=5, label="exactly 0")
        ax.set_yscale("log")
        ax.set_ylim(_FLOOR / 3, 3.0)
        ax.set_yticks([1e-12, 1e-8, 1e-4, 1.0], ["0", "1e-8", "1e-4", "1"])
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("margin")
        ax.set_ylabel("$|\\partial L_i / \\partial z_y|$")
        ax.legend(loc="upper right", frameon=False, fontsize=8)
        self._grads_title = ax.set_title(" ", loc="left")
        self._run: training.TrainingRun | None = None  # the first _update trains or finds one

    # -- updating ------------------------------------------------------------------

    def _config(self):
        p = self.params
        return training.run_config(31, p["activation"], p["dtype"], float(p["weight_decay"]),
                                3000, 0, p["optimizer"], 0.05, 128, 0.5, 25)

    def _update(self, changed):
        config = self._config()
        run = training.cached_run(config)
        if run is None and self._run is None:
            run = self._train(config)          # first draw: there is nothing to show yet
        self._trained = run is not None
        if run is not None and run is not self._run:
            self._show_run(run)
        self._show_step()

    def _train(self, config):
        self._progress.max = config["steps"]
        self._progress.value = 0

        def progress(step, steps):
            self._progress.value = step

        return training.train_run(config["p"], activation=config["activation"],
                                  dtype=config["dtype"], weight_decay=config["weight_decay"],
                                  steps=config["steps"], seed=config["seed"],
                                  optimizer=config["optimizer"], lr=config["lr"],
                                  hidden=config["hidden"],
                                  train_fraction=config["train_fraction"],
                                  record_every=config["record_every"], progress=progress)

    def _train_clicked(self):
        try:
            self._button.disabled = True
            self._train(self._config())
        except Exception as exc:  # shown in the panel, like any callback error
            self._show_error(exc)
            return
        finally:
            self._button.disabled = False
        self._apply({"activation"})

    def _show_run(self, run):
        self._run = run
        h = run.history
        steps = h["step"]
        self._l_train.set_data(steps, h["train_accuracy"])
        self._l_test.set_data(steps, h["test_accuracy"])
        self._l_coll.set_data(steps, h["collapsed_fraction"])
        self._ax_curves.set_xlim(0, steps[-1])
        self._ax_curves.set_xticks(np.linspace(0, steps[-1], 4))
        z = run.logits
        k = z.shape[2]
        ax = self._ax_logits
        if self._bars is None or len(self._bars) != k:
            if self._bars is not None:
                self._bars.remove()
            self._bars = ax.bar(np.arange(k), np.zeros(k), color=style.PALETTE[3],
                                edgecolor=style.INK, linewidth=0.3)
            ax.set_xlim(-1, k)
            ax.set_xticks([0, k // 2, k - 1])
        self._collapse_step = training.collapse_step(h)
        cfg = run.config
        self._label = (f"{cfg['activation']}, {cfg['dtype']}, "
                       f"{'⊥Grad' if cfg['optimizer'] == 'perp_adam' else 'Adam'}, "
                       f"wd {cfg['weight_decay']:g}")

    def _index(self):
        assert self._run is not None
        steps = self._run.history["step"]
        step = min(int(self.params["step"]), int(steps[-1]))
        return int(np.searchsorted(steps, step, side="right") - 1)

    def _show_step(self):
        run, r = self._run, self._index()
        assert run is not None
        assert self._bars is not None  # made by _show_run
        h = run.history
        step = int(h["step"][r])
        self._cursor.set_xdata([step, step])
        title = self._label if self._trained else "not trained yet: press train"
        self.figure.suptitle(title, x=0.01, ha="left", fontweight="bold")
        self._curves_title.set_text("accuracy, collapse")

        z = run.logits[r].astype(np.float64)
        y = run.labels
        z0, y0 = z[_SAMPLE], int(y[_SAMPLE])
        for j, bar in enumerate(self._bars):
            bar.set_height(z0[j])
            bar.set_color(style.PALETTE[1] if j == y0 else style.PALETTE[3])
            bar.set_edgecolor(style.INK)
        lo, hi = min(z0.min(), 0.0), max(z0.max(), 0.0)
        pad = 0.08 * (hi - lo) + 1e-9
        y_lo, y_hi = lo - pad, hi + pad
        self._ax_logits.set_ylim(y_lo, y_hi)
        self._ax_logits.set_yticks([t for t in MaxNLocator(4).tick_values(y_lo, y_hi)
                                    if y_lo <= t <= y_hi])
        self._logits_title.set_text(f"step {step}")

        grads = np.abs(run.grads_at(r)[np.arange(len(y)), y].astype(np.float64))
        others = z.copy()
        others[np.arange(len(y)), y] = -np.inf
        margins = z[np.arange(len(y)), y] - others.max(axis=1)
        zero = grads == 0
        self._pts.set_data(margins[~zero], grads[~zero])
        self._zeros.set_data(margins[zero], np.full(int(zero.sum()), _FLOOR))
        m_lo, m_hi = float(margins.min()), float(margins.max())
        span = max(m_hi - m_lo, 1.0)
        x0, x1 = m_lo - 0.05 * span, m_hi + 0.05 * span
        self._ax_grads.set_xlim(x0, x1)
        self._ax_grads.set_xticks([t for t in MaxNLocator(3).tick_values(x0, x1) if x0 <= t <= x1])
        self._grads_title.set_text(f"{int(zero.sum())} at 0")
        self._shown = {
            "step": step,
            "train_accuracy": float(h["train_accuracy"][r]),
            "test_accuracy": float(h["test_accuracy"][r]),
            "collapsed_fraction": float(h["collapsed_fraction"][r]),
            "logit_norm": float(h["logit_norm"][r]),
            "sample_logits": z0.copy(),
            "sample_label": y0,
            "margins": margins,
            "correct_grads": grads,
            "zero_grads": int(zero.sum()),
        }

    def _state(self):
        assert self._run is not None
        return {**self.params, **{k: (v.copy() if isinstance(v, np.ndarray) else v)
                                  for k, v in self._shown.items()},
                "trained": self._trained, "shown_run": dict(self._run.config),
                "collapse_step": self._collapse_step}
