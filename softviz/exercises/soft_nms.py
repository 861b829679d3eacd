"""Self-check for lesson 04: one round of Gaussian Soft-NMS, written by the student.

The student's function does what happens after the box M has been picked::

    new_scores, keep = gaussian_step(boxes, scores, m, sigma, score_threshold)

``boxes`` (n, 4) and ``scores`` (n,) are the boxes still in play and their
current scores, ``m`` the position of M among them. ``new_scores[i]`` is
``scores[i] * exp(-IoU(M, b_i)**2 / sigma)`` for every box except M, whose
score is left as it is; ``keep[i]`` is True for the boxes that stay in play
for the next round: not M, and a new score not below ``score_threshold``.

The check drives the whole greedy loop of Soft-NMS with the student's step on
hidden seeded scenes (``softviz.soft_nms.make_scene``) and compares every round with
``softviz.soft_nms.soft_nms_trace`` and the end result with ``softviz.soft_nms.soft_nms``
(N. Bodla et al., "Soft-NMS -- Improving Object Detection With One Line of
Code", 2017, arXiv:1704.04503).

``check_box_iou`` checks the student's intersection over union of two boxes
(section 1 of the lesson) against ``softviz.soft_nms.box_iou`` on disjoint,
touching, nested, partly overlapping and zero-area boxes.

Used in: notebooks/04_soft_nms.ipynb
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .. import soft_nms as lesson
from .checking import FAIL, OK, TODO, CheckResult, fmt, fn_name, guarded, not_callable

__all__ = ["check_box_iou", "check_gaussian_step"]

_CHECK = "check_gaussian_step"
_RTOL, _ATOL = 1e-9, 1e-12


class _Case(NamedTuple):
    name: str
    boxes: np.ndarray
    scores: np.ndarray
    sigma: float
    score_threshold: float


def _scene_case(seed, sigma, crowd):
    scene = lesson.make_scene(seed, n_objects=5, crowd=crowd, detections_per_object=4,
                           false_positives=2)
    return _Case(f"hidden scene {seed} (crowd {crowd}, sigma {sigma})",
                 scene.boxes, scene.scores, sigma, 0.001)


def _cases():
    # sigma = 0.5 hides one mistake (2 sigma**2 == sigma there), so most cases use another.
    return (
        _Case("the lesson's worked example A, B, C, D (4 boxes, sigma 0.5)",
              np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [5, 0, 15, 10]], float),
              np.array([0.9, 0.8, 0.7, 0.6]), 0.5, 0.001),
        _scene_case(11, 0.3, 0.8),
        _scene_case(22, 1.0, 0.5),
        _scene_case(33, 0.15, 1.0),
        # A box with IoU 0 keeps its score exactly, which equals the threshold:
        # it must stay. The last box falls below the threshold and must go.
        _Case("a box exactly at the score threshold (sigma 0.5)",
              np.array([[0, 0, 10, 10], [50, 50, 60, 60], [1, 0, 11, 10]], float),
              np.array([0.9, 0.001, 0.0015]), 0.5, 0.001),
    )


def _reference_step(boxes, scores, m, sigma, score_threshold):
    iou = lesson.box_iou(boxes[m:m + 1], boxes)[0]
    new = scores * np.exp(-iou**2 / sigma)
    new[m] = scores[m]
    keep = new >= score_threshold
    keep[m] = False
    return new, keep, iou


def _diagnose_scores(case, boxes, scores, m, got, want, iou, checked):
    """A hint for wrong ``new_scores``: try the typical mistakes on the same inputs."""
    s, sig = scores, case.sigma
    guesses = []
    with np.errstate(all="ignore"):
        m_decayed = want.copy()
        m_decayed[m] = s[m] * np.exp(-1.0 / sig)
        guesses.append((m_decayed, "M's own score was decayed too. IoU(M, M) = 1, so every "
                        "box including M gets exp(-1/sigma); leave new_scores[m] = scores[m] "
                        "(M is selected with the score it has)."))
        squared_not = s * np.exp(-iou / sig)
        squared_not[m] = s[m]
        guesses.append((squared_not, "the IoU is not squared: the Gaussian decay is "
                        "exp(-IoU**2 / sigma), with IoU**2."))
        two_sigma_sq = s * np.exp(-iou**2 / (2 * sig**2))
        two_sigma_sq[m] = s[m]
        guesses.append((two_sigma_sq, "this divides by 2 sigma**2 as in a normal density; "
                        "Soft-NMS uses exp(-IoU**2 / sigma), sigma itself (the two agree only "
                        "at sigma = 0.5, the paper's default)."))
        two_sigma = s * np.exp(-iou**2 / (2 * sig))
        two_sigma[m] = s[m]
        guesses.append((two_sigma, "this divides by 2 sigma; Soft-NMS uses exp(-IoU**2 / sigma)."))
        above_nt = np.where(iou > 0.3, s * np.exp(-iou**2 / sig), s)
        above_nt[m] = s[m]
        guesses.append((above_nt, "only boxes with IoU above a threshold were decayed. The "
                        "Gaussian decay has no Nt: every box is multiplied by exp(-IoU**2 / "
                        "sigma), which is close to 1 for small IoU anyway."))
        linear = np.where(iou > 0.3, s * (1 - iou), s)
        linear[m] = s[m]
        guesses.append((linear, "this is the linear decay s * (1 - IoU); the Gaussian one is "
                        "s * exp(-IoU**2 / sigma)."))
    for guess, hint in guesses:
        if np.allclose(got[checked], guess[checked], rtol=1e-6, atol=1e-12):
            return hint
    err = np.abs(got[checked] - want[checked])
    return (f"new_scores differ from scores * exp(-IoU**2 / sigma) by up to {err.max():.3g}. "
            f"Compute the IoU of M with every box (softviz.soft_nms.box_iou(boxes[m:m+1], boxes)[0]).")


def _diagnose_keep(got_keep, want_keep, new, m, thr):
    if got_keep[m]:
        return ("keep[m] is True: M leaves the pool once it is selected (it is already in "
                "the result), so keep[m] must be False.")
    wrong = got_keep != want_keep
    if (wrong & (new == thr)).any():
        return (f"a box whose new score equals score_threshold = {thr:g} exactly was dropped. "
                f"A box is discarded only when its score is BELOW the threshold: keep it when "
                f"new_score >= score_threshold (> instead of >= is the usual slip).")
    if got_keep.all() or (got_keep == ~np.eye(len(got_keep), dtype=bool)[m]).all():
        return (f"nothing was discarded: a box whose new score is below score_threshold "
                f"({thr:g}) leaves the pool (keep False).")
    return ("keep should be True exactly for the boxes other than M whose new score is not "
            "below score_threshold.")


def _as_step_output(out, n):
    """(new_scores, keep) from what the student returned, or a hint string."""
    if not isinstance(out, tuple) or len(out) != 2:
        return ("return two things, `return new_scores, keep`: the decayed scores and a boolean "
                "mask of the boxes that stay in play.")
    new, keep = out
    if new is None or keep is None:
        return None  # handled as "not done yet" by the caller
    try:
        new = np.asarray(new, dtype=np.float64)
        keep = np.asarray(keep)
    except (TypeError, ValueError) as exc:
        return f"the result could not be read as arrays ({type(exc).__name__}: {str(exc)[:100]})."
    if new.shape != (n,):
        return f"new_scores must have shape ({n},), one score per box in play; got {new.shape}."
    if keep.shape != (n,) or keep.dtype != bool:
        return (f"keep must be a boolean array of shape ({n},) (e.g. new_scores >= "
                f"score_threshold); got dtype {keep.dtype}, shape {keep.shape}.")
    return new, keep


def _run_case(fn, name, case):
    """Drive the greedy loop with ``fn``; return None (all good), or a CheckResult/hint."""
    want_keep, want_scores = lesson.soft_nms(case.boxes, case.scores, method="gaussian",
                                          sigma=case.sigma, score_threshold=case.score_threshold)
    idx = np.flatnonzero(case.scores >= case.score_threshold)
    cur = case.scores[idx].copy()
    keep_out, scores_out = [], []
    for rnd in range(len(case.scores) + 1):
        if not idx.size:
            break
        m = int(np.argmax(cur))
        boxes_in, scores_in = case.boxes[idx].copy(), cur.copy()
        new_ref, keep_ref, iou = _reference_step(case.boxes[idx], cur, m, case.sigma,
                                                 case.score_threshold)
        try:
            with np.errstate(all="ignore"):
                out = fn(boxes_in, scores_in, m, case.sigma, case.score_threshold)
        except NotImplementedError:
            return CheckResult(None, f"{TODO} not done yet: {name} raises NotImplementedError. "
                                     f"Replace the stub with your code, then run this cell again.")
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            return _fail(name, case, rnd, m, f"{name} raised {type(exc).__name__}"
                         + (f": {first}" if first else "")
                         + ". It is called as fn(boxes, scores, m, sigma, score_threshold) "
                           "with numpy arrays boxes (n, 4) and scores (n,).")
        if out is None or (isinstance(out, tuple) and len(out) == 2 and
                           (out[0] is None or out[1] is None)):
            return CheckResult(None, f"{TODO} not done yet: {name} returned None (the stub). "
                                     f"Compute new_scores and keep, return both, then run this "
                                     f"cell again.")
        parsed = _as_step_output(out, len(idx))
        if isinstance(parsed, str):
            return _fail(name, case, rnd, m, parsed)
        new, keep = parsed
        # Scores of the boxes that leave the pool are not compared: zeroing them is fine.
        checked = keep_ref.copy()
        checked[m] = True
        if not np.allclose(new[checked], new_ref[checked], rtol=_RTOL, atol=_ATOL):
            hint = _diagnose_scores(case, case.boxes[idx], cur, m, new, new_ref, iou, checked)
            return _fail(name, case, rnd, m, hint, new_ref, new)
        if not np.array_equal(keep, keep_ref):
            hint = _diagnose_keep(keep, keep_ref, new_ref, m, case.score_threshold)
            return _fail(name, case, rnd, m, hint, keep_ref.astype(int), keep.astype(int), "keep")
        keep_out.append(int(idx[m]))
        scores_out.append(float(cur[m]))
        idx, cur = idx[keep], new[keep]
    if keep_out != want_keep.tolist() or not np.allclose(scores_out, want_scores, rtol=_RTOL):
        return _fail(name, case, None, None, f"the rounds looked right but the end result differs "
                     f"from soft_nms: keep {keep_out} vs {want_keep.tolist()}.")
    return None


def _fail(name, case, rnd, m, hint, want=None, got=None, what="new_scores"):
    where = f" in round {rnd + 1} (M at position {m})" if rnd is not None else ""
    lines = [f'{FAIL} {name} fails case "{case.name}"{where}:']
    if want is not None:
        lines.append(f"    expected {what} = {fmt(want)}")
        lines.append(f"    got      {what} = {fmt(got)}")
    lines.append(f"  Hint: {hint}")
    return CheckResult(False, "\n".join(lines), case.name)


def _verdict(fn):
    missing = not_callable(_CHECK, fn)
    if missing is not None:
        return missing
    name = fn_name(fn)
    cases = _cases()
    for case in cases:
        result = _run_case(fn, name, case)
        if result is not None:
            return result
    return CheckResult(True, f"{OK} {name} passes all {len(cases)} cases (the worked example, "
                             f"3 hidden crowded scenes with sigma 0.3, 1.0 and 0.15, a box exactly "
                             f"at the threshold): every round and the final keep and scores equal "
                             f"soft_nms.")


def check_gaussian_step(fn: Callable[..., Any] | None) -> CheckResult:
    """Check one round of Gaussian Soft-NMS: ``fn(boxes, scores, m, sigma, score_threshold)``.

    ``fn`` returns ``(new_scores, keep)`` (see the module docstring). The check
    runs the greedy loop with ``fn`` on the lesson's four-box example, three
    hidden seeded scenes and a box exactly at the score threshold, compares
    each round with the reference and the result with ``softviz.soft_nms.soft_nms``.
    Hints name the typical mistakes: IoU not squared, dividing by 2 sigma**2,
    decaying M itself, > instead of >= at the threshold. Prints a verdict and
    returns a :class:`CheckResult`; never raises.

    Used in: notebooks/04_soft_nms.ipynb
    """
    return guarded(_CHECK, lambda: _verdict(fn))


# --------------------------------------------------------------------------
# check_box_iou: IoU of two boxes (x1, y1, x2, y2)
# --------------------------------------------------------------------------

_IOU_CASES = (
    ("A and D of the lesson (IoU 1/3)", (0, 0, 10, 10), (5, 0, 15, 10)),
    ("A and B of the lesson (shifted by 1, 1)", (0, 0, 10, 10), (1, 1, 11, 11)),
    ("the same box twice", (2, 3, 7, 9), (2, 3, 7, 9)),
    ("one box inside the other", (0, 0, 10, 10), (2, 2, 6, 6)),
    ("disjoint boxes (apart in x and y)", (0, 0, 10, 10), (20, 20, 30, 30)),
    ("disjoint boxes (apart in x only)", (0, 0, 4, 10), (6, 0, 9, 10)),
    ("boxes that touch along an edge", (0, 0, 10, 10), (10, 0, 20, 10)),
    ("a zero-area box (x1 == x2) on top of another", (5, 0, 5, 10), (0, 0, 10, 10)),
    ("non-integer coordinates", (0.5, 0.25, 3.5, 2.0), (1.0, 1.0, 4.0, 3.0)),
)


def _iou_guesses(a, b):
    """(value, hint) of the usual slips, for boxes a and b."""
    ax1, ay1, ax2, ay2 = a
    bx1, by1, bx2, by2 = b
    w, h = min(ax2, bx2) - max(ax1, bx1), min(ay2, by2) - max(ay1, by1)
    area_a, area_b = (ax2 - ax1) * (ay2 - ay1), (bx2 - bx1) * (by2 - by1)
    inter = max(w, 0.0) * max(h, 0.0)
    out = []
    if area_a + area_b - w * h != 0:
        out.append(((w * h) / (area_a + area_b - w * h),
                    "the overlap width or height is negative here (the boxes are apart) and "
                    "the product of two negatives is positive: clamp each at 0, "
                    "max(0, min(x2) - max(x1))."))
    if area_a + area_b:
        out.append((inter / (area_a + area_b), "the union counts the intersection twice: "
                    "|a ∪ b| = |a| + |b| - |a ∩ b|."))
    pa, pb = (ax2 - ax1 + 1) * (ay2 - ay1 + 1), (bx2 - bx1 + 1) * (by2 - by1 + 1)
    pi = max(w + 1, 0.0) * max(h + 1, 0.0)
    out.append((pi / (pa + pb - pi), "this is the pixel-inclusive convention (+1 in every "
                "width and height) of the original Caffe-era code; the lesson, like torchvision, "
                "uses continuous coordinates: width x2 - x1."))
    if min(area_a, area_b) > 0:
        out.append((inter / min(area_a, area_b), "this divides by the smaller area "
                    "(intersection over minimum); IoU divides by the union."))
    return out


def _iou_verdict(fn):
    missing = not_callable("check_box_iou", fn)
    if missing is not None:
        return missing
    name = fn_name(fn)
    hint: str | None
    for case, a, b in _IOU_CASES:
        want = float(lesson.box_iou(np.array([a], float), np.array([b], float))[0, 0])
        try:
            with np.errstate(all="ignore"):
                got = fn(np.array(a, float), np.array(b, float))
        except NotImplementedError:
            return CheckResult(None, f"{TODO} not done yet: {name} raises NotImplementedError. "
                                     f"Replace the stub with your code, then run this cell again.")
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            hint = (f"it raised {type(exc).__name__}" + (f": {first}" if first else "")
                    + f". The check calls {name}(a, b) with two float arrays (x1, y1, x2, y2).")
            if isinstance(exc, ZeroDivisionError):
                hint += " A union of area 0 (two zero-area boxes) cannot occur here; look for a division by a width or height."
            return CheckResult(False, f'{FAIL} {name} fails case "{case}":\n  Hint: {hint}', case)
        if got is None:
            return CheckResult(None, f"{TODO} not done yet: {name} returned None (the stub). "
                                     f"Write your code in place of `return None`, then run this "
                                     f"cell again.")
        try:
            value = float(np.asarray(got, dtype=np.float64).reshape(()))
        except (TypeError, ValueError):
            return CheckResult(False, f'{FAIL} {name} fails case "{case}":\n  Hint: return one '
                                      f"number, the IoU, got {fmt(got)}.", case)
        if abs(value - want) <= 1e-12 + 1e-9 * abs(want):
            continue
        hint = None
        for guess, text in _iou_guesses(a, b):
            if abs(value - guess) <= 1e-9 * max(1.0, abs(guess)):
                hint = text
                break
        if hint is None and not np.isfinite(value):
            hint = ("got NaN or inf: a zero-area box has IoU 0 with everything (its intersection "
                    "is 0), so compute the intersection first and return 0 when it is 0.")
        if hint is None:
            hint = ("IoU = |a ∩ b| / |a ∪ b| with |a ∩ b| = max(0, min(a.x2, b.x2) - max(a.x1, "
                    "b.x1)) * (the same in y).")
        return CheckResult(False, f'{FAIL} {name} fails case "{case}":\n'
                                  f"    a = {list(a)}, b = {list(b)}\n"
                                  f"    expected IoU {want:.6g}, got {value:.6g}\n  Hint: {hint}", case)
    return CheckResult(True, f"{OK} {name} gives the IoU on all {len(_IOU_CASES)} cases "
                             f"(overlapping, nested, disjoint, touching, zero-area boxes).")


def check_box_iou(fn: Callable[..., Any] | None) -> CheckResult:
    """Check ``fn(a, b) -> IoU`` of two boxes (x1, y1, x2, y2) in continuous coordinates.

    Cases: the lesson's boxes, identical, nested, disjoint (in x and y, in x
    only), touching, a zero-area box (IoU 0) and non-integer coordinates;
    reference ``softviz.soft_nms.box_iou``. A wrong answer gets a hint naming the
    likely slip (no clamping at 0, intersection counted twice in the union,
    the +1 pixel convention, intersection over minimum). Prints a verdict and
    returns a :class:`CheckResult`; never raises.

    Used in: notebooks/04_soft_nms.ipynb
    """
    return guarded("check_box_iou", lambda: _iou_verdict(fn))
