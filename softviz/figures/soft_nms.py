"""Drawing helpers of lesson 04 (Soft-NMS) for the notebook's own matplotlib axes:
a scene with its boxes coloured by score, the three decay functions, the score colormap.

Soft-NMS: N. Bodla, B. Singh, R. Chellappa, L. S. Davis, "Soft-NMS -- Improving Object
Detection With One Line of Code", ICCV 2017, arXiv:1704.04503.

Used in: notebooks/04_soft_nms.ipynb (and SoftNMSPanel, softviz/panels/soft_nms.py)
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.patches import Patch, Rectangle

from .. import soft_nms as lesson
from ..panels import style

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D

__all__ = ["draw_scene", "draw_decay_curves", "score_colormap", "OBJECT_GREY"]

#: The fill of a ground-truth object (light enough that every box reads on it).
OBJECT_GREY = "#D9D9D9"


def score_colormap() -> LinearSegmentedColormap:
    """Dark yellow (score 0) -> dark blue (score 1), from ``style.PALETTE``.

    Both ends read on white (no light yellow: a low-score box must stay
    visible), and the lightness falls monotonically, so it also reads in
    grayscale.

    Used in: notebooks/04_soft_nms.ipynb
    """
    p = style.PALETTE
    return LinearSegmentedColormap.from_list("softviz_score", [p[2], p[0]])


def draw_scene(ax: Axes, scene: lesson.Scene, keep: np.ndarray | None = None, scores: np.ndarray | None = None, *,
               title: str | None = None, linewidth: float = 1.6) -> list[Patch]:
    """Draw ``scene`` on ``ax``: objects as grey areas, boxes coloured by score.

    ``keep``/``scores`` (from ``soft_nms``): only those boxes, coloured by
    their final score (the others are not drawn); default: every raw
    detection with its raw score. Image coordinates (y down). Returns the
    list of box patches.

    Used in: notebooks/04_soft_nms.ipynb
    """
    cmap = score_colormap()
    for g in scene.gt_boxes:
        ax.add_patch(Rectangle((g[0], g[1]), g[2] - g[0], g[3] - g[1], facecolor=OBJECT_GREY,
                               edgecolor="none", zorder=0))
    if keep is None:
        keep, scores = np.arange(len(scene.boxes)), scene.scores
    assert scores is not None, "scores comes with keep"
    order = np.argsort(scores, kind="stable")  # high scores drawn on top
    patches = []
    for i in order:
        b = scene.boxes[keep[i]]
        patches.append(ax.add_patch(Rectangle(
            (b[0], b[1]), b[2] - b[0], b[3] - b[1], fill=False, edgecolor=cmap(float(scores[i])),
            linewidth=linewidth, zorder=2 + float(scores[i]))))
    ax.set_xlim(0, scene.size)
    ax.set_ylim(scene.size, 0)
    ax.set_aspect("equal")
    ax.set_xlabel("x (pixels)")
    ax.set_ylabel("y (pixels)")
    if title is not None:
        ax.set_title(title)
    return patches


def draw_decay_curves(ax: Axes, *, sigma: float = 0.5, iou_threshold: float = 0.3,
                      highlight: str | None = None) -> dict[str, Line2D]:
    """The three decay functions f(IoU) on ``ax`` (``highlight``: the method drawn bold).

    Used in: notebooks/04_soft_nms.ipynb
    """
    u = np.linspace(0.0, 1.0, 501)
    lines = {}
    # Colour, dash pattern and marker differ per method, and hard/linear sit a hair apart:
    # both are exactly 1 below Nt, and drawn on top of each other one would vanish.
    looks = {"hard": (style.PALETTE[1], (0, (6, 3)), "s", 0.012),
             "linear": (style.PALETTE[2], "-.", "^", -0.012),
             "gaussian": (style.PALETTE[0], "-", "o", 0.0)}
    for method in lesson.METHODS:
        color, dash, marker, offset = looks[method]
        bold = highlight in (None, method)
        lines[method] = ax.plot(u, lesson.decay_weight(u, method, sigma=sigma,
                                                    iou_threshold=iou_threshold) + offset,
                                color=color, linestyle=dash, marker=marker, markevery=(25, 50),
                                markersize=5, linewidth=2.2 if bold else 1.2,
                                alpha=1.0 if bold else 0.45, label=method)[0]
    ax.axvline(iou_threshold, color=style.INK, linestyle=":", linewidth=1.0)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.03, 1.08)
    ax.set_xlabel("IoU(M, b)")
    ax.set_ylabel("score multiplier f")
    return lines
