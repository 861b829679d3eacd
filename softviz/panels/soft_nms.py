"""``SoftNMSPanel``: hard NMS vs linear and Gaussian Soft-NMS on a synthetic crowded scene.

Left, a seeded scene (``softviz.soft_nms.make_scene``): grey objects, detections
drawn as boxes coloured by score (dark yellow = low, dark blue = high); right, the decay
f(IoU) with the current parameters and, for the round shown, each box's IoU
with M and the factor it got. The ``round`` slider steps through the greedy
rounds (0 = the raw detections; the last round = the final result).

The drawing helpers the notebook uses on its own matplotlib axes (``draw_scene``,
``draw_decay_curves``, ``score_colormap``) are in softviz/figures/soft_nms.py.

Soft-NMS: N. Bodla, B. Singh, R. Chellappa, L. S. Davis, "Soft-NMS --
Improving Object Detection With One Line of Code", ICCV 2017, arXiv:1704.04503.

Used in: notebooks/04_soft_nms.ipynb
"""
from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from .. import soft_nms as lesson
from ..figures.soft_nms import OBJECT_GREY, score_colormap
from . import style
from .base import Panel
from .controls import WIDE, log_slider

__all__ = ["SoftNMSPanel"]

# The panel's scene: 7 objects x 5 detections + 3 false positives = 38 boxes,
# small enough to follow round by round.
_SCENE = {"n_objects": 7, "detections_per_object": 5, "false_positives": 3}
_ROUND_MAX = 10_000  # "the last round": the slider is clamped to the real count
_GONE_GREY = "#9A9A9A"


class SoftNMSPanel(Panel):
    """Hard NMS, linear and Gaussian Soft-NMS, step by step, on a seeded crowded scene.

    ``SoftNMSPanel(method="gaussian", iou_threshold=0.3, sigma=0.5,
    score_threshold=0.001, crowd=0.6, seed=0, round=<last>)``; ``state()`` ->
    the parameters plus ``keep`` (original indices, selection order),
    ``final_scores`` (their scores when selected), ``AP50`` (AP at IoU 0.5 on
    this scene) and ``AP`` (COCO-style mean over 0.50:0.95), ``n_rounds``, and
    for the round shown: ``selected`` (M, or -1 at round 0), ``others``,
    ``iou``, ``weight``, ``current_scores`` (every box's score after that
    round, NaN once it is kept or discarded) and ``status`` (0 in play,
    1 kept, 2 discarded).

    Used in: notebooks/04_soft_nms.ipynb
    """

    main_control = "sigma"

    def _controls(self):
        return {
            "method": widgets.ToggleButtons(options=list(lesson.METHODS), value="gaussian",
                                            description="method", style=WIDE),
            "iou_threshold": widgets.FloatSlider(value=0.3, min=0.0, max=0.9, step=0.05,
                                                 description="Nt (IoU threshold)", style=WIDE),
            "sigma": log_slider(0.5, 0.01, 2.0, "σ (Gaussian)"),
            "score_threshold": log_slider(0.001, 1e-4, 0.5, "score threshold"),
            "crowd": widgets.FloatSlider(value=0.6, min=0.0, max=1.0, step=0.05,
                                         description="crowd density", style=WIDE),
            "seed": widgets.IntSlider(value=0, min=0, max=99, description="scene seed", style=WIDE),
            "round": widgets.IntSlider(value=_ROUND_MAX, min=0, max=_ROUND_MAX,
                                       description="round", style=WIDE),
        }

    def _layout(self):
        c = self.controls
        row = widgets.Layout(flex_flow="row wrap", align_items="center")
        return [widgets.HBox([c["method"], c["iou_threshold"], c["sigma"]], layout=row),
                widgets.HBox([c["score_threshold"], c["crowd"], c["seed"]], layout=row),
                widgets.HBox([c["round"]], layout=row)]

    def _draw(self, fig):
        self._cmap = score_colormap()
        ax_scene, ax_curve = self._ax_scene, self._ax_curve = fig.subplots(
            1, 2, width_ratios=[1.0, 1.15])
        n_boxes = (_SCENE["n_objects"] * _SCENE["detections_per_object"]
                   + _SCENE["false_positives"])
        self._objects = [ax_scene.add_patch(Rectangle((0, 0), 0, 0, facecolor=OBJECT_GREY,
                                                      edgecolor="none", zorder=0))
                         for _ in range(_SCENE["n_objects"])]
        self._boxes = [ax_scene.add_patch(Rectangle((0, 0), 0, 0, fill=False))
                       for _ in range(n_boxes)]
        self._m_box = ax_scene.add_patch(Rectangle((0, 0), 0, 0, fill=False, linewidth=3.0,
                                                   edgecolor=style.PALETTE[1], zorder=10))
        ax_scene.set_xlim(0, 100)
        ax_scene.set_ylim(100, 0)
        ax_scene.set_aspect("equal")
        # Fixed ticks: the auto locator adds off-axis ticks at lecture sizes.
        ax_scene.set_xticks([0, 50, 100])
        ax_scene.set_yticks([0, 50, 100])
        ax_scene.set_xlabel("x (pixels)")
        ax_scene.set_ylabel("y (pixels)")
        self._scene_title = ax_scene.set_title(" ", loc="left")

        self._curve = ax_curve.plot([], [], color=style.PALETTE[0], linewidth=2.2,
                                    label="f(IoU) now")[0]
        self._nt_line = ax_curve.axvline(0.3, color=style.INK, linestyle=":", linewidth=1.0,
                                         label="Nt (hard, linear)")
        self._points = ax_curve.plot([], [], linestyle="none", marker="o", markersize=5,
                                     color=style.PALETTE[1], label="boxes vs M")[0]
        ax_curve.set_xlim(0, 1)
        ax_curve.set_ylim(-0.03, 1.08)
        ax_curve.set_xticks([0, 0.25, 0.5, 0.75, 1])
        ax_curve.set_yticks([0, 0.5, 1])
        ax_curve.set_xlabel("IoU(M, b) in the round shown")
        ax_curve.set_ylabel("score multiplier f")
        ax_curve.legend(loc="upper right", frameon=False)
        self._curve_title = ax_curve.set_title(" ", loc="left")
        self._title = fig.suptitle(" ", x=0.01, ha="left", fontweight="bold")
        fig.legend(handles=[
            Line2D([], [], color=style.PALETTE[0], linewidth=2.0, label="kept"),
            Line2D([], [], color=self._cmap(0.5), linewidth=1.2, linestyle="--", label="in play"),
            Line2D([], [], color=_GONE_GREY, linewidth=1.0, linestyle=":", label="discarded"),
            Line2D([], [], color=style.PALETTE[1], linewidth=2.5, label="M"),
            Patch(facecolor=OBJECT_GREY, label="object"),
        ], loc="outside lower center", ncols=5, frameon=False)
        self._u = np.linspace(0.0, 1.0, 401)
        self._scene: lesson.Scene | None = None  # made by the first _update

    def set(self, **params: Any) -> None:
        """Set control values as a user would, then update once.

        ``round`` is checked against [0, last possible round] rather than the
        slider's current range: that range depends on the other parameters
        (another method or σ runs a different number of rounds), so a saved
        ``panel.params`` must be accepted in one call even when it was taken
        under other settings. A round past the last one shows the last one.
        """
        if "round" not in params:
            return super().set(**params)
        slider = self.controls["round"]
        old_max = slider.max
        slider.max = _ROUND_MAX  # widest range while the new values are checked and set
        try:
            super().set(**params)
        finally:
            if slider.max == _ROUND_MAX:
                # _update did not run (nothing changed, or a bad value was refused):
                # restore the range it had; the value is still inside it.
                slider.max = max(old_max, slider.value)
        return None

    # -- computation -----------------------------------------------------------------

    def _update(self, changed):
        p = self.params
        if self._scene is None or changed & {"crowd", "seed"}:
            self._scene = lesson.make_scene(p["seed"], crowd=p["crowd"], **_SCENE)
            for patch, g in zip(self._objects, self._scene.gt_boxes):
                patch.set_bounds(g[0], g[1], g[2] - g[0], g[3] - g[1])
        if changed - {"round"}:
            self._run(p)
        rounds = len(self._rounds)
        slider = self.controls["round"]
        at_end = slider.value >= slider.max
        if slider.max != rounds:
            # Growing max first, then the value: the slider never clamps twice.
            slider.max = rounds
            if at_end or slider.value > rounds:
                slider.value = rounds  # queued by the base as a "round" change
        self._show(min(slider.value, rounds), p)

    def _run(self, p):
        sc = self._scene
        assert sc is not None
        kwargs = {"method": p["method"], "sigma": p["sigma"],
                  "iou_threshold": p["iou_threshold"], "score_threshold": p["score_threshold"]}
        self._rounds = lesson.soft_nms_trace(sc.boxes, sc.scores, **kwargs)
        self._keep = np.array([r.selected for r in self._rounds], dtype=np.int64)
        self._final = np.array([r.score for r in self._rounds], dtype=np.float64)
        kept_boxes = [sc.boxes[self._keep]]
        self._ap50 = lesson.average_precision(kept_boxes, [self._final], [sc.gt_boxes],
                                           iou_threshold=0.5)
        self._ap = lesson.average_precision(kept_boxes, [self._final], [sc.gt_boxes],
                                         iou_threshold=lesson.COCO_IOU_THRESHOLDS)
        self._curve.set_data(self._u, lesson.decay_weight(
            self._u, p["method"], sigma=p["sigma"], iou_threshold=p["iou_threshold"]))
        self._nt_line.set_xdata([p["iou_threshold"]] * 2)
        self._nt_line.set_visible(p["method"] != "gaussian")

    def _show(self, r, p):
        sc = self._scene
        assert sc is not None
        n = len(sc.boxes)
        status = np.where(sc.scores >= p["score_threshold"], 0, 2)
        current = np.where(status == 0, sc.scores, np.nan)
        for done in self._rounds[:r]:
            status[done.selected] = 1
            current[done.selected] = np.nan
            current[done.others] = done.after
            status[done.discarded] = 2
            current[done.discarded] = np.nan
        kept_score = np.full(n, np.nan)
        kept_score[self._keep[:r]] = self._final[:r]
        for i, (patch, b) in enumerate(zip(self._boxes, sc.boxes)):
            patch.set_bounds(b[0], b[1], b[2] - b[0], b[3] - b[1])
            if status[i] == 1:
                # Width grows with the score too: the eye finds the confident boxes.
                patch.set(edgecolor=self._cmap(kept_score[i]), linewidth=1.0 + 1.5 * kept_score[i],
                          linestyle="-",
                          zorder=3 + kept_score[i])
            elif status[i] == 0:
                patch.set(edgecolor=self._cmap(current[i]), linewidth=1.2, linestyle="--",
                          zorder=2 + current[i])
            else:
                patch.set(edgecolor=_GONE_GREY, linewidth=0.8, linestyle=":", zorder=1)
        if r:
            rnd = self._rounds[r - 1]
            b = sc.boxes[rnd.selected]
            self._m_box.set_bounds(b[0], b[1], b[2] - b[0], b[3] - b[1])
            self._m_box.set_visible(True)
            self._points.set_data(rnd.iou, rnd.weight)
            self._curve_title.set_text(f"round {r}/{len(self._rounds)}: M = box {rnd.selected}")
        else:
            rnd = None
            self._m_box.set_visible(False)
            self._points.set_data([], [])
            self._curve_title.set_text(f"round 0/{len(self._rounds)}: raw boxes")
        self._scene_title.set_text(p["method"])
        self._title.set_text(f"{len(self._keep)} of {n} kept · AP50 {self._ap50:.3f} · "
                             f"AP50:95 {self._ap:.3f}")
        self._shown = {
            **{k: v for k, v in p.items() if k != "round"},
            "round": r,
            "n_rounds": len(self._rounds),
            "keep": self._keep.copy(),
            "final_scores": self._final.copy(),
            "AP50": float(self._ap50),
            "AP": float(self._ap),
            "selected": -1 if rnd is None else int(rnd.selected),
            "others": np.zeros(0, np.int64) if rnd is None else rnd.others.copy(),
            "iou": np.zeros(0) if rnd is None else rnd.iou.copy(),
            "weight": np.zeros(0) if rnd is None else rnd.weight.copy(),
            "current_scores": current,
            "status": status,
        }

    def _state(self):
        return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self._shown.items()}
