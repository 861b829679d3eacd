"""Non-maximum suppression and Soft-NMS, with the evaluation the paper uses.

Object detectors emit many overlapping boxes per object. Greedy
non-maximum suppression (NMS) keeps the highest-scoring box M and deletes
every box whose IoU with M exceeds a threshold Nt, then repeats on what is
left. Soft-NMS keeps the same greedy loop but, instead of deleting, multiplies
the score of every remaining box by a decay f(IoU(M, b)):

* hard (NMS):  f = 0 if IoU > Nt else 1
* linear:      f = 1 - IoU if IoU > Nt else 1
* gaussian:    f = exp(-IoU**2 / sigma)          (every box, no Nt)

A box whose score falls below ``score_threshold`` is discarded. Built on
N. Bodla, B. Singh, R. Chellappa, L. S. Davis, "Soft-NMS -- Improving Object
Detection With One Line of Code", ICCV 2017, arXiv:1704.04503.

Conventions (see notebooks/04_soft_nms.ipynb, "A note on conventions"):
boxes are ``(x1, y1, x2, y2)`` in continuous coordinates, area
``(x2 - x1) * (y2 - y1)``, as in ``torchvision.ops`` (the paper's code adds 1
pixel to widths and heights); inputs are never modified and ``keep`` holds
original indices (the paper's code reorders the caller's array in place and
returns positions in it); equal scores are taken lowest index first.

What is here:

* ``box_area``, ``box_iou``; ``nms`` (``torchvision.ops.nms`` semantics);
  ``soft_nms`` and ``soft_nms_trace`` (the greedy rounds, one record each);
  ``decay_weight`` (the three decay functions of IoU);
* ``match_detections``, ``precision_recall``, ``average_precision`` (VOC-style
  all-point interpolated AP at one IoU, or the COCO-style mean over several);
* ``make_scene`` (a seeded synthetic scene with a crowd-density knob),
  ``evaluate_methods`` (AP of each method over many seeded scenes) and
  ``random_boxes`` (plain random boxes for benchmarks).

Used in: notebooks/04_soft_nms.ipynb (and SoftNMSPanel, softviz/panels/soft_nms.py).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from . import _validate as V
from ._lazy import lazy_exports

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

#: The decay functions ``soft_nms`` knows, in the order the lesson shows them.
METHODS = ("hard", "linear", "gaussian")
#: IoU thresholds 0.50, 0.55, ..., 0.95 of the COCO-style mean AP.
COCO_IOU_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))


# --------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------

def _as_boxes(boxes: ArrayLike, name: str = "boxes", max_boxes: int | None = None) -> np.ndarray:
    b = V.real_array(name, boxes, finite="any")
    if b.size == 0 and b.ndim <= 2:
        return b.reshape(0, 4)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"{name} must have shape (N, 4) as (x1, y1, x2, y2) rows, got shape {b.shape}")
    if max_boxes is not None and len(b) > max_boxes:
        raise ValueError(f"{name} has {len(b)} boxes; the limit is {max_boxes} (the greedy loop "
                         f"is O(N^2))")
    if not np.isfinite(b).all():
        raise ValueError(f"{name} must be finite; row {int(np.flatnonzero(~np.isfinite(b).all(1))[0])} is not")
    bad = (b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}[{i}] = {b[i].tolist()} has x2 < x1 or y2 < y1; "
                         f"boxes are (x1, y1, x2, y2) with x1 <= x2 and y1 <= y2")
    return b


def _as_scores(scores: ArrayLike, n: int, name: str = "scores", boxes_name: str = "boxes") -> np.ndarray:
    s = V.real_array(name, scores, finite="any")
    if s.size == 0 and n == 0:
        return s.reshape(0)
    if s.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one score per box of {boxes_name}, "
                         f"got shape {s.shape}")
    if not np.isfinite(s).all():
        bad = int(np.flatnonzero(~np.isfinite(s))[0])
        raise ValueError(f"{name} must be finite (no NaN or inf; index {bad} is not)")
    return s


# check_real / check_count are shared with softviz/soft_nms_scenes.py (not lesson API, so not in __all__).
def check_real(name: str, value: object, lo: float = -math.inf, hi: float = math.inf, *,
               lo_open: bool = False) -> float:
    return V.real_scalar(name, value, lo=None if lo == -math.inf else lo,
                         hi=None if hi == math.inf else hi, lo_open=lo_open,
                         finite=not (lo == -math.inf and hi == math.inf))


def _method(method: object) -> str:
    return V.choice("method", method, METHODS)


def check_count(name: str, value: object, hi: int) -> int:
    return V.integer(name, value, lo=0, hi=hi, hi_reason="bounds the run time")


#: Most boxes ``nms``/``soft_nms`` take (the greedy loop is O(N^2)); ``soft_nms_trace``
#: stores O(N^2) numbers and takes at most ``_MAX_TRACE_BOXES``.
_MAX_BOXES = 20_000
_MAX_TRACE_BOXES = 2_000


# --------------------------------------------------------------------------
# Boxes
# --------------------------------------------------------------------------

def box_area(boxes: ArrayLike) -> np.ndarray:
    """Areas ``(x2 - x1) * (y2 - y1)`` of boxes ``(N, 4)`` in continuous coordinates.

    An area beyond the largest float (sides near 1e308) is +inf.

    Used in: notebooks/04_soft_nms.ipynb
    """
    b = _as_boxes(boxes)
    with np.errstate(over="ignore"):
        return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes a (..., 4) and b (..., 4), broadcast against each other.

    The direct formula inter / (area_a + area_b - inter) first; where it
    overflowed or underflowed (coordinates near 1e308 or 1e-200), the pair is
    recomputed with each axis scaled by the larger of the two sides (IoU is
    unchanged by scaling x and y), so identical boxes always give 1.
    A zero-area box has IoU 0 with everything (torchvision would give NaN).
    """
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        wa, ha = a[..., 2] - a[..., 0], a[..., 3] - a[..., 1]
        wb, hb = b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]
        iw = np.maximum(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0.0)
        ih = np.maximum(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0.0)
        inter = iw * ih
        union = wa * ha + wb * hb - inter
        iou = np.divide(inter, union, out=np.zeros(np.shape(union)), where=union > 0)
        positive = (wa > 0) & (ha > 0) & (wb > 0) & (hb > 0)
        redo = positive & ~(np.isfinite(union) & (union > 1e-250) & np.isfinite(inter)
                            & np.isfinite(wa) & np.isfinite(wb) & np.isfinite(ha) & np.isfinite(hb))
    if not redo.any():
        return iou
    a2, b2 = np.broadcast_arrays(a, b)
    a2, b2 = a2[redo] * 0.5, b2[redo] * 0.5  # halving is exact and keeps every difference finite
    wa, ha = a2[:, 2] - a2[:, 0], a2[:, 3] - a2[:, 1]
    wb, hb = b2[:, 2] - b2[:, 0], b2[:, 3] - b2[:, 1]
    sx, sy = np.maximum(wa, wb), np.maximum(ha, hb)
    iw = np.maximum(np.minimum(a2[:, 2], b2[:, 2]) - np.maximum(a2[:, 0], b2[:, 0]), 0.0) / sx
    ih = np.maximum(np.minimum(a2[:, 3], b2[:, 3]) - np.maximum(a2[:, 1], b2[:, 1]), 0.0) / sy
    with np.errstate(under="ignore"):
        inter = iw * ih
        union = (wa / sx) * (ha / sy) + (wb / sx) * (hb / sy) - inter
        iou[redo] = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return iou


def _iou_one_to_many(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one box with each row of ``others``: the inner step of every greedy round."""
    return _iou(box[None, :], others)


def box_iou(boxes1: ArrayLike, boxes2: ArrayLike) -> np.ndarray:
    """Intersection over union of every pair: an ``(N, M)`` float64 array.

    Boxes are ``(x1, y1, x2, y2)`` rows in continuous coordinates (no +1 pixel),
    as in ``torchvision.ops.box_iou``. A box of zero area has IoU 0 with every
    box, itself included; two identical boxes of positive area have IoU 1,
    even with coordinates near +-1e308. Boxes with x2 < x1 or y2 < y1 raise
    ``ValueError``. N * M is at most ``softviz._validate.MAX_ELEMENTS``.

    Used in: notebooks/04_soft_nms.ipynb
    """
    a = _as_boxes(boxes1, "boxes1")
    b = _as_boxes(boxes2, "boxes2")
    if len(a) * len(b) > V.MAX_ELEMENTS:
        raise ValueError(f"boxes1 x boxes2 = {len(a)} x {len(b)} pairs; the limit is {V.MAX_ELEMENTS}")
    return _iou(a[:, None, :], b[None, :, :])


def decay_weight(iou: ArrayLike, method: str = "gaussian", *, sigma: float = 0.5,
                 iou_threshold: float = 0.3) -> np.ndarray:
    """The factor a box's score is multiplied by, as a function of its IoU with M.

    ``hard``: 0 where IoU > iou_threshold, else 1 (greedy NMS);
    ``linear``: 1 - IoU where IoU > iou_threshold, else 1;
    ``gaussian``: exp(-IoU**2 / sigma) everywhere (iou_threshold is not used).
    The comparison with the threshold is strict, as in the paper's code
    (the paper's equations write >=; the two differ only at IoU == Nt exactly).
    ``iou`` holds numbers in [0, 1].

    Used in: notebooks/04_soft_nms.ipynb
    """
    _method(method)
    sigma = check_real("sigma", sigma, 0.0, lo_open=True)
    nt = check_real("iou_threshold", iou_threshold, 0.0, 1.0)
    u = V.real_array("iou", iou)
    if ((u < 0) | (u > 1)).any():
        raise ValueError("iou must hold numbers in [0, 1]")
    return _weight(u, method, sigma, nt)


def _weight(iou: np.ndarray, method: str, sigma: float, nt: float) -> np.ndarray:
    if method == "gaussian":
        with np.errstate(over="ignore", under="ignore"):  # tiny sigma: exp(-inf) = 0, as meant
            return np.exp(-(iou * iou) / sigma)
    over = iou > nt
    if method == "linear":
        return np.where(over, 1.0 - iou, 1.0)
    return np.where(over, 0.0, 1.0)


# --------------------------------------------------------------------------
# NMS and Soft-NMS
# --------------------------------------------------------------------------

def _stable_order(scores: np.ndarray) -> np.ndarray:
    # Highest score first; equal scores keep index order (stable sort of -s).
    return np.argsort(-scores, kind="stable")


def nms(boxes: ArrayLike, scores: ArrayLike, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression with ``torchvision.ops.nms`` semantics.

    Returns the int64 indices of the kept boxes, highest score first. Going
    down the boxes by score, each box not yet suppressed is kept and
    suppresses every later box whose IoU with it is > ``iou_threshold``
    (strictly). Equal scores: lower index first. Empty input gives an empty
    result.

    Used in: notebooks/04_soft_nms.ipynb
    """
    b = _as_boxes(boxes, max_boxes=_MAX_BOXES)
    s = _as_scores(scores, len(b))
    nt = check_real("iou_threshold", iou_threshold, 0.0, 1.0)
    order = _stable_order(s)
    sb = b[order]
    alive = np.ones(len(order), dtype=bool)
    keep = []
    # One IoU row per KEPT box against the boxes after it: O(N * kept) numpy work.
    for i in range(len(order)):
        if not alive[i]:
            continue
        keep.append(order[i])
        rest = i + 1 + np.flatnonzero(alive[i + 1:])
        if rest.size:
            iou = _iou_one_to_many(sb[i], sb[rest])
            alive[rest[iou > nt]] = False
    return np.asarray(keep, dtype=np.int64)


class SoftNMSRound(NamedTuple):
    """One greedy round of ``soft_nms_trace``; every index is an ORIGINAL box index.

    ``selected``: the box M picked this round, ``score``: its score then;
    ``others``: the boxes still in play besides M (ascending index), with
    ``iou`` their IoU with M, ``weight`` the decay factor, ``before`` and
    ``after`` their scores; ``discarded``: those of ``others`` that leave the
    game this round (score below the threshold, or suppressed by hard NMS).
    """

    round: int
    selected: int
    score: float
    others: np.ndarray
    iou: np.ndarray
    weight: np.ndarray
    before: np.ndarray
    after: np.ndarray
    discarded: np.ndarray


def _greedy(boxes: ArrayLike, scores: ArrayLike, method: str, sigma: float, iou_threshold: float,
            score_threshold: float, record: bool) -> tuple[np.ndarray, np.ndarray, list[SoftNMSRound]]:
    """The Soft-NMS loop shared by ``soft_nms`` and ``soft_nms_trace``.

    Every round costs O(n) numpy work on the n boxes still in play, so the
    whole loop is O(N^2) at worst and shrinks as boxes are kept or discarded.
    """
    b = _as_boxes(boxes, max_boxes=_MAX_TRACE_BOXES if record else _MAX_BOXES)
    s = _as_scores(scores, len(b))
    _method(method)
    sigma = check_real("sigma", sigma, 0.0, lo_open=True)
    nt = check_real("iou_threshold", iou_threshold, 0.0, 1.0)
    thr = V.real_scalar("score_threshold", score_threshold, finite=False)

    start = s >= thr  # initial scores below the threshold never enter
    # One (5, n) block, compacted with ONE fancy-index per round: x1 y1 x2 y2,
    # original index (exact in float64). Rows stay in index order, so
    # argmax (first maximum) breaks ties towards the lower original index.
    idx = np.flatnonzero(start)
    live = np.empty((5, idx.size))
    live[:4] = b[idx].T
    live[4] = idx
    cur = s[idx].copy()

    keep: list[int] = []
    kept_scores: list[float] = []
    rounds: list[SoftNMSRound] = []
    while cur.size:
        j = int(np.argmax(cur))
        m = live[:, j]
        keep.append(int(m[4]))
        kept_scores.append(float(cur[j]))
        # M is in the row too (IoU 1 with itself) and is dropped with the
        # discarded boxes: one compaction per round instead of two.
        iou = _iou_one_to_many(m[:4], live[:4].T)
        weight = _weight(iou, method, sigma, nt)
        with np.errstate(under="ignore"):
            after = cur * weight
        # Hard NMS removes suppressed boxes outright, so that it is exactly
        # torchvision's nms whatever the threshold (a zeroed score is not
        # "below" a threshold of 0).
        stay = after >= thr if method != "hard" else (weight > 0) & (after >= thr)
        stay[j] = False
        if record:
            rest = np.ones(cur.size, dtype=bool)
            rest[j] = False
            rounds.append(SoftNMSRound(
                round=len(rounds), selected=keep[-1], score=kept_scores[-1],
                others=live[4, rest].astype(np.int64), iou=iou[rest], weight=weight[rest],
                before=cur[rest], after=after[rest],
                discarded=live[4, rest & ~stay].astype(np.int64)))
        live, cur = live[:, stay], after[stay]
    return np.asarray(keep, dtype=np.int64), np.asarray(kept_scores, dtype=np.float64), rounds


def soft_nms(boxes: ArrayLike, scores: ArrayLike, *, method: str = "gaussian", sigma: float = 0.5,
             iou_threshold: float = 0.3, score_threshold: float = 0.001) -> tuple[np.ndarray, np.ndarray]:
    """Soft-NMS (Bodla et al. 2017, arXiv:1704.04503): decay scores instead of deleting boxes.

    Greedy rounds: pick the box M with the highest current score (equal
    scores: lower original index), keep it with that score, multiply the
    score of every other box still in play by ``decay_weight(IoU(M, b))``
    (``method`` "hard", "linear" or "gaussian"), drop boxes whose score is
    now below ``score_threshold``; repeat until no box is left. Boxes whose
    initial score is below ``score_threshold`` are discarded at the start.

    Returns ``(keep, new_scores)``: int64 ORIGINAL indices in selection order,
    and the float64 score each kept box had when it was selected.
    ``method="hard"`` removes the boxes with IoU > iou_threshold and equals
    ``nms(boxes, scores, iou_threshold)`` on the boxes that pass the score
    threshold (so exactly ``nms`` when no score is below ``score_threshold``).
    O(N^2) numpy work at most (one O(n) row per round); inputs are not modified.

    A worked example: A[0,0,10,10] 0.9, B[1,1,11,11] 0.8,
    C[20,20,30,30] 0.7, D[5,0,15,10] 0.6, linear: keep [0, 2, 3, 1],
    scores [0.9, 0.7, 0.4, 0.160976].

    Used in: notebooks/04_soft_nms.ipynb
    """
    keep, new_scores, _ = _greedy(boxes, scores, method, sigma, iou_threshold,
                                  score_threshold, record=False)
    return keep, new_scores


def soft_nms_trace(boxes: ArrayLike, scores: ArrayLike, *, method: str = "gaussian", sigma: float = 0.5,
                   iou_threshold: float = 0.3, score_threshold: float = 0.001) -> list[SoftNMSRound]:
    """The greedy rounds of ``soft_nms``, one ``SoftNMSRound`` each (same arguments).

    ``[r.selected for r in rounds]`` and ``[r.score for r in rounds]`` are
    exactly ``soft_nms``'s ``keep`` and ``new_scores``. For teaching-size
    inputs (it stores O(N^2) numbers).

    Used in: notebooks/04_soft_nms.ipynb (the panel's step-through control).
    """
    return _greedy(boxes, scores, method, sigma, iou_threshold, score_threshold, record=True)[2]


# --------------------------------------------------------------------------
# Evaluation: matching, precision-recall, average precision
# --------------------------------------------------------------------------

def match_detections(boxes: ArrayLike, scores: ArrayLike, gt_boxes: ArrayLike,
                     iou_threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Match one image's detections to its ground truth, highest score first.

    Each detection, in decreasing score order (ties: lower index first), is
    matched to the not-yet-matched ground-truth box it overlaps most, if that
    IoU is >= ``iou_threshold``; otherwise it is a false positive (a second
    detection of an already-found object included). This is the greedy rule
    of the COCO evaluation. Returns ``(tp, found)``: ``tp`` (N,) bool in the
    detections' own order, ``found`` (G,) bool per ground-truth box.

    Used in: notebooks/04_soft_nms.ipynb
    """
    b = _as_boxes(boxes)
    s = _as_scores(scores, len(b))
    g = _as_boxes(gt_boxes, "gt_boxes")
    t = check_real("iou_threshold", iou_threshold, 0.0, 1.0)
    return _match(b, s, g, t)


def _match(b: np.ndarray, s: np.ndarray, g: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    tp = np.zeros(len(b), dtype=bool)
    found = np.zeros(len(g), dtype=bool)
    if len(b) == 0 or len(g) == 0:
        return tp, found
    if len(b) * len(g) > V.MAX_ELEMENTS:
        raise ValueError(f"boxes x gt_boxes = {len(b)} x {len(g)} pairs; the limit is {V.MAX_ELEMENTS}")
    iou = _iou(b[:, None, :], g[None, :, :])
    for i in _stable_order(s):
        row = np.where(found, -1.0, iou[i])
        k = int(np.argmax(row))
        if row[k] >= t and row[k] > 0:
            tp[i] = found[k] = True
    return tp, found


class PRCurve(NamedTuple):
    """A precision-recall curve: one point per detection, in decreasing score order.

    ``envelope`` is the interpolated precision (max precision at this recall
    or beyond) that all-point average precision integrates.
    """

    recall: np.ndarray
    precision: np.ndarray
    envelope: np.ndarray
    scores: np.ndarray
    tp: np.ndarray
    n_gt: int


def _per_image(det_boxes: Sequence[ArrayLike], det_scores: Sequence[ArrayLike],
               gt_boxes: Sequence[ArrayLike]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Validated (boxes, scores, gt) per image."""
    seqs = {"det_boxes": det_boxes, "det_scores": det_scores, "gt_boxes": gt_boxes}
    for name, seq in seqs.items():
        if not isinstance(seq, (list, tuple, np.ndarray)):
            raise TypeError(f"{name} must be a list with one entry per image (for a single image: "
                            f"[boxes], [scores], [gt_boxes]), got {type(seq).__name__}")
    n = len(det_boxes)
    if len(det_scores) != n or len(gt_boxes) != n:
        raise ValueError(f"det_boxes, det_scores and gt_boxes must hold one entry per image; "
                         f"got {n}, {len(det_scores)} and {len(gt_boxes)} images")
    images = []
    for i in range(n):
        b = _as_boxes(det_boxes[i], f"det_boxes[{i}]")
        s = _as_scores(det_scores[i], len(b), f"det_scores[{i}]", f"det_boxes[{i}]")
        images.append((b, s, _as_boxes(gt_boxes[i], f"gt_boxes[{i}]")))
    return images


def _precision_recall(images: list[tuple[np.ndarray, np.ndarray, np.ndarray]], t: float) -> PRCurve:
    scores, tps, n_gt = [], [], 0
    for b, s, g in images:
        tp, found = _match(b, s, g, t)
        scores.append(s)
        tps.append(tp)
        n_gt += found.size
    s = np.concatenate(scores) if scores else np.zeros(0)
    tp = np.concatenate(tps) if tps else np.zeros(0, dtype=bool)
    order = _stable_order(s)
    s, tp = s[order], tp[order]
    ctp = np.cumsum(tp)
    precision = ctp / np.arange(1, len(tp) + 1)
    recall = ctp / n_gt if n_gt else np.full(len(tp), np.nan)
    envelope = np.maximum.accumulate(precision[::-1])[::-1] if len(tp) else precision
    return PRCurve(recall=recall, precision=precision, envelope=envelope, scores=s, tp=tp,
                   n_gt=n_gt)


def precision_recall(det_boxes: Sequence[ArrayLike], det_scores: Sequence[ArrayLike],
                     gt_boxes: Sequence[ArrayLike], *, iou_threshold: float = 0.5) -> PRCurve:
    """Precision and recall after each detection, over a set of images.

    ``det_boxes``, ``det_scores``, ``gt_boxes``: sequences with one entry per
    image (for one image, wrap each in a list). Detections are matched per
    image with ``match_detections`` and ranked together by score (ties: image
    order, then index). Returns a ``PRCurve`` (recall is NaN when there is no
    ground truth at all).

    Used in: notebooks/04_soft_nms.ipynb
    """
    images = _per_image(det_boxes, det_scores, gt_boxes)
    t = check_real("iou_threshold", iou_threshold, 0.0, 1.0)
    return _precision_recall(images, t)


def average_precision(det_boxes: Sequence[ArrayLike], det_scores: Sequence[ArrayLike],
                      gt_boxes: Sequence[ArrayLike], *, iou_threshold: float | Sequence[float] = 0.5) -> float:
    """Average precision over a set of images (sequences, one entry per image).

    At one ``iou_threshold``: the area under the interpolated precision-recall
    curve with all-point interpolation (PASCAL VOC since 2010): the sum, over
    the true positives, of 1/n_gt times the best precision reached at that
    recall or beyond. Missed objects contribute 0. With a sequence of
    thresholds (e.g. ``COCO_IOU_THRESHOLDS``, 0.50:0.05:0.95): the mean of
    those APs, COCO-style (COCO's own tool samples the envelope at 101 recall
    points instead of all points; the numbers differ slightly). NaN if there is
    no ground truth at all.

    Used in: notebooks/04_soft_nms.ipynb
    """
    images = _per_image(det_boxes, det_scores, gt_boxes)
    if isinstance(iou_threshold, (bool, np.bool_)):
        raise TypeError("iou_threshold must be a number or a sequence of numbers, got a bool")
    thresholds = V.real_array("iou_threshold", iou_threshold, ndim=(0, 1), max_size=1000).reshape(-1)
    if thresholds.size == 0:
        raise ValueError("iou_threshold must be a number or a non-empty sequence")
    if ((thresholds < 0) | (thresholds > 1)).any():
        raise ValueError("iou_threshold must be in [0, 1]")
    aps = []
    for t in thresholds:
        curve = _precision_recall(images, float(t))
        aps.append(np.nan if curve.n_gt == 0 else float(curve.envelope[curve.tp].sum() / curve.n_gt))
    return float(np.mean(aps))


# The seeded scenes the lesson scores methods on are a job of their own (softviz.soft_nms_scenes),
# reachable from here too, loaded on first use since they need this module itself.
SCENES = ("Scene", "make_scene", "evaluate_methods", "random_boxes")

# The same names for type checkers and editors, which cannot see through __getattr__.
if TYPE_CHECKING:
    from .soft_nms_scenes import Scene as Scene
    from .soft_nms_scenes import evaluate_methods as evaluate_methods
    from .soft_nms_scenes import make_scene as make_scene
    from .soft_nms_scenes import random_boxes as random_boxes

__getattr__, __dir__ = lazy_exports(__package__, dict.fromkeys(SCENES, "soft_nms_scenes"), globals(), __all__,
                                    owner=__name__)
