"""Seeded synthetic detection scenes for lesson 04: crowds of overlapping objects, noisy
detections around them, and the AP of each suppression method over many scenes.

``make_scene`` (a crowd generator), ``evaluate_methods`` (AP50, AP50:95 and crowd recall
per method, after Bodla et al., "Soft-NMS -- Improving Object Detection With One Line of
Code", 2017, arXiv:1704.04503) and ``random_boxes`` (the benchmark's boxes).  Built on
softviz.soft_nms, which also exposes these names.

Used in: notebooks/04_soft_nms.ipynb
"""
from __future__ import annotations

import inspect
import math
from typing import Any, NamedTuple

import numpy as np

from . import _validate as V
from ._validate import RngLike
from .soft_nms import (
    COCO_IOU_THRESHOLDS,
    average_precision,
    box_iou,
    check_count,
    check_real,
    match_detections,
    soft_nms,
)

__all__ = ["Scene", "make_scene", "evaluate_methods", "random_boxes"]


# --------------------------------------------------------------------------
# Synthetic scenes
# --------------------------------------------------------------------------

class Scene(NamedTuple):
    """A synthetic detection scene (all coordinates in a ``size`` x ``size`` image).

    ``gt_boxes`` (G, 4) ground truth; ``crowded`` (G,) True for objects that
    overlap another object (IoU > 0); ``boxes`` (N, 4) and ``scores`` (N,) the
    detector's raw output; ``source`` (N,) the ground-truth index each
    detection was drawn around (-1: background false positive).
    """

    gt_boxes: np.ndarray
    crowded: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    source: np.ndarray
    size: float


def make_scene(rng: RngLike = None, *, n_objects: int = 8, crowd: float = 0.5, detections_per_object: int = 6,
               false_positives: int = 3, size: float = 100.0) -> Scene:
    """A seeded synthetic scene: upright objects, some in crowds, and noisy detections.

    Objects are pedestrian-like boxes (width 10-18, height 22-38 in a
    ``size`` x ``size`` image). With probability ``crowd`` (0 to 1) an object
    is placed beside an earlier one, shifted sideways by 20-50 % of its
    width so that the two overlap heavily (IoU about 0.3-0.65, a crowd); it
    stands partly behind, so its detections score lower. Each object gets
    ``detections_per_object`` boxes jittered around it, scored by how well
    they fit times how visible the object is; ``false_positives`` background
    boxes get low scores. Reproducible with ``rng`` (a Generator or a seed).

    Used in: notebooks/04_soft_nms.ipynb
    """
    rng = V.rng(rng)
    crowd = check_real("crowd", crowd, 0.0, 1.0)
    size = check_real("size", size, 0.0, lo_open=True)
    n_objects = check_count("n_objects", n_objects, 1000)
    detections_per_object = check_count("detections_per_object", detections_per_object, 100)
    false_positives = check_count("false_positives", false_positives, 10_000)
    # The scene is drawn in a 100 x 100 image and scaled to ``size`` at the end:
    # every length is in percent of the image, and nothing can overflow on the way.
    scale, image_size, size = size / 100.0, size, 100.0
    u = 1.0
    gt = np.zeros((n_objects, 4))
    visibility = np.zeros(n_objects)
    for k in range(n_objects):
        w, h = rng.uniform(10, 18) * u, rng.uniform(22, 38) * u
        if k and rng.random() < crowd:
            p = int(rng.integers(k))
            pw = gt[p, 2] - gt[p, 0]
            h = gt[p, 3] - gt[p, 1]  # same height: a neighbour in the same row
            w = pw * rng.uniform(0.9, 1.1)
            shift = pw * rng.uniform(0.2, 0.5) * (1 if rng.random() < 0.5 else -1)
            x1 = gt[p, 0] + shift
            y1 = gt[p, 1] + rng.normal(0, 0.05) * h
            visibility[k] = rng.uniform(0.45, 0.8)  # partly hidden behind its neighbour
        else:
            # Somewhere free if possible: an isolated object overlaps nothing.
            for _ in range(50):
                x1, y1 = rng.uniform(0, size - w), rng.uniform(0, size - h)
                if not k or box_iou([[x1, y1, x1 + w, y1 + h]], gt[:k]).max() == 0:
                    break
            visibility[k] = rng.uniform(0.75, 1.0)
        x1 = min(max(x1, 0.0), size - w)
        y1 = min(max(y1, 0.0), size - h)
        gt[k] = (x1, y1, x1 + w, y1 + h)
    overlap = box_iou(gt, gt)
    np.fill_diagonal(overlap, 0.0)
    crowded = np.asarray((overlap > 0).any(axis=1))

    boxes, scores, source = [], [], []
    for k in range(n_objects):
        w, h = gt[k, 2] - gt[k, 0], gt[k, 3] - gt[k, 1]
        n = detections_per_object
        cx = (gt[k, 0] + gt[k, 2]) / 2 + rng.normal(0, 0.10 * w, n)
        cy = (gt[k, 1] + gt[k, 3]) / 2 + rng.normal(0, 0.07 * h, n)
        dw = w * np.exp(rng.normal(0, 0.12, n))
        dh = h * np.exp(rng.normal(0, 0.08, n))
        det = np.column_stack([cx - dw / 2, cy - dh / 2, cx + dw / 2, cy + dh / 2])
        fit = box_iou(det, gt[k:k + 1])[:, 0]
        boxes.append(det)
        scores.append(visibility[k] * fit * rng.uniform(0.85, 1.0, n))
        source.append(np.full(n, k))
    fw = rng.uniform(8, 20, false_positives) * u
    fh = rng.uniform(15, 35, false_positives) * u
    fx1 = rng.uniform(0, size - fw)
    fy1 = rng.uniform(0, size - fh)
    boxes.append(np.column_stack([fx1, fy1, fx1 + fw, fy1 + fh]))
    scores.append(rng.uniform(0.05, 0.45, false_positives))
    source.append(np.full(false_positives, -1))
    boxes = np.clip(np.concatenate(boxes), 0.0, size)
    if scale != 1.0:
        with np.errstate(under="ignore"):
            gt, boxes = gt * scale, boxes * scale
    return Scene(gt_boxes=gt, crowded=crowded, boxes=boxes,
                 scores=np.clip(np.concatenate(scores), 0.01, 1.0),
                 source=np.concatenate(source).astype(np.int64), size=image_size)


def evaluate_methods(settings: dict[str, dict[str, Any]], *, n_scenes: int = 100, rng: RngLike = 0,
                     **scene_kwargs: Any) -> dict[str, dict[str, float]]:
    """AP of several suppression settings over the same ``n_scenes`` seeded scenes.

    ``settings``: ``{label: soft_nms keyword dict}``, e.g.
    ``{"hard NMS": {"method": "hard"}, "Gaussian": {"method": "gaussian"}}``;
    ``scene_kwargs`` go to ``make_scene`` (e.g. ``crowd=0.8``). The scenes
    are drawn once from ``rng`` (a Generator or a seed), so every setting
    sees the same scenes. Returns ``{label: {"AP50", "AP", "recall_crowded",
    "recall_alone", "kept"}}``: AP at IoU 0.5, the COCO-style mean AP over
    0.50:0.95, the fraction of crowded and of isolated objects found at IoU
    0.5, and the mean number of boxes kept per scene.

    Used in: notebooks/04_soft_nms.ipynb
    """
    if not isinstance(settings, dict) or not settings:
        raise TypeError("settings must be a non-empty dict {label: soft_nms keyword dict}")
    known = {"method", "sigma", "iou_threshold", "score_threshold"}
    for label, kwargs in settings.items():
        if not isinstance(kwargs, dict) or not set(kwargs) <= known:
            raise ValueError(f"settings[{label!r}] must be a dict of soft_nms keywords "
                             f"{sorted(known)}, got {V.short(kwargs)}")
    n_scenes = V.integer("n_scenes", n_scenes, lo=1, hi=10_000, hi_reason="bounds the run time")
    scene_params = set(inspect.signature(make_scene).parameters) - {"rng"}
    unknown = set(scene_kwargs) - scene_params
    if unknown:
        raise TypeError(f"unknown make_scene keyword {min(unknown)!r}; it takes {sorted(scene_params)}")
    gen = V.rng(rng)
    scenes = [make_scene(gen, **scene_kwargs) for _ in range(n_scenes)]
    gts = [sc.gt_boxes for sc in scenes]
    results = {}
    for label, kwargs in settings.items():
        out = [soft_nms(sc.boxes, sc.scores, **kwargs) for sc in scenes]
        boxes = [sc.boxes[k] for sc, (k, _) in zip(scenes, out)]
        scores = [s for _, s in out]
        found = np.concatenate([match_detections(b, s, sc.gt_boxes, 0.5)[1]
                                for b, s, sc in zip(boxes, scores, scenes)])
        crowded = np.concatenate([sc.crowded for sc in scenes])
        results[label] = {
            "AP50": average_precision(boxes, scores, gts, iou_threshold=0.5),
            "AP": average_precision(boxes, scores, gts, iou_threshold=COCO_IOU_THRESHOLDS),
            "recall_crowded": float(found[crowded].mean()) if crowded.any() else math.nan,
            "recall_alone": float(found[~crowded].mean()) if (~crowded).any() else math.nan,
            "kept": float(np.mean([len(k) for k, _ in out])),
        }
    return results


def random_boxes(n: int, rng: RngLike = None, *, size: float = 1000.0,
                 max_side: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random boxes and scores, e.g. to time ``soft_nms`` on 2,000 boxes.

    Boxes have corners uniform in a ``size`` x ``size`` image and sides up to
    ``max_side``; scores are uniform in [0.05, 1) (all above the default
    score threshold, so ``soft_nms(..., method="hard")`` equals ``nms``).
    Returns ``(boxes (n, 4), scores (n,))``.

    Used in: python -m softviz.bench (Soft-NMS timing), tests/test_soft_nms.py
    """
    n = V.integer("n", n, lo=0, hi=V.MAX_ELEMENTS // 4, hi_reason="the largest array softviz builds")
    rng = V.rng(rng)
    size = check_real("size", size, 0.0, lo_open=True)
    max_side = check_real("max_side", max_side, 0.0, lo_open=True)
    if not math.isfinite(size + max_side):
        raise ValueError("size + max_side must stay below the largest float (1.8e308)")
    xy = rng.uniform(0, size, (n, 2))
    wh = rng.uniform(min(1.0, max_side), max_side, (n, 2))
    boxes = np.column_stack([xy, xy + wh])
    return boxes, rng.uniform(0.05, 1.0, n)
