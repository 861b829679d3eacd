"""Stable alias of :mod:`softviz.soft_nms` (lesson 04), kept because ``softviz.nms`` is a
documented public name: ``softviz.nms.box_iou``, ``softviz.nms.nms`` and
``softviz.nms.soft_nms`` are the very objects of ``softviz.soft_nms``.

New code should import ``softviz.soft_nms``; this module re-exports its ``__all__``
(and, on first use, the synthetic scenes of ``softviz.soft_nms_scenes``, as
``softviz.soft_nms`` does).

Used in: notebooks/04_soft_nms.ipynb (through softviz.soft_nms), softviz.bench.
"""
from __future__ import annotations

from typing import Any

from . import soft_nms as _lesson
from .soft_nms import (
    COCO_IOU_THRESHOLDS,
    METHODS,
    PRCurve,
    SoftNMSRound,
    average_precision,
    box_area,
    box_iou,
    decay_weight,
    match_detections,
    nms,
    precision_recall,
    soft_nms,
    soft_nms_trace,
)

__all__ = [
    "METHODS",
    "COCO_IOU_THRESHOLDS",
    "box_area",
    "box_iou",
    "decay_weight",
    "nms",
    "soft_nms",
    "soft_nms_trace",
    "SoftNMSRound",
    "match_detections",
    "precision_recall",
    "PRCurve",
    "average_precision",
]


def __getattr__(name: str) -> Any:
    # the scenes (make_scene, evaluate_methods, ...) load lazily in softviz.soft_nms
    if name in _lesson.SCENES:
        return getattr(_lesson, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_lesson.SCENES))
