"""Tests of softviz.soft_nms (and its alias softviz.nms), its derivations, its exercise check and SoftNMSPanel (lesson 04).

References are independent: hand-computed IoUs and APs, a worked
example of four boxes, plain-Python loops written from the definitions (torchvision.ops.nms
semantics; the Soft-NMS rounds of Bodla et al. 2017, arXiv:1704.04503), closed
forms checked numerically with scipy.
"""
import math

import numpy as np
import pytest
import scipy.optimize
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from softviz import soft_nms as lesson
from softviz import soft_nms_scenes as lesson_scenes
from softviz.derive import soft_nms as derive
from softviz.exercises import check_gaussian_step

EXAMPLE_BOXES = [[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [5, 0, 15, 10]]
EXAMPLE_SCORES = [0.9, 0.8, 0.7, 0.6]


# -- plain-Python references, written from the definitions ------------------------

def loop_iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def loop_nms(boxes, scores, thr):
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    keep = []
    for i in order:
        if all(loop_iou(boxes[i], boxes[k]) <= thr for k in keep):
            keep.append(i)
    return keep


def loop_soft_nms(boxes, scores, method, sigma=0.5, nt=0.3, thr=0.001):
    pool = {i: s for i, s in enumerate(scores) if s >= thr}
    keep, kept = [], []
    while pool:
        m = min(pool, key=lambda i: (-pool[i], i))
        keep.append(m)
        kept.append(pool.pop(m))
        for i in list(pool):
            u = loop_iou(boxes[m], boxes[i])
            if method == "linear":
                w = 1 - u if u > nt else 1.0
            elif method == "gaussian":
                w = math.exp(-u * u / sigma)
            else:
                w = 0.0 if u > nt else 1.0
            pool[i] *= w
            if w == 0.0 and method == "hard" or pool[i] < thr:
                del pool[i]
    return keep, kept


def random_set(seed, n=40, ties=False):
    boxes, scores = lesson.random_boxes(n, seed, size=200.0, max_side=60.0)
    if ties:
        scores = np.round(scores * 4) / 4 + 0.25  # few distinct values: many ties
    return boxes, scores


# -- box_iou -------------------------------------------------------------------------------

def test_box_iou_hand_values():
    iou = lesson.box_iou(EXAMPLE_BOXES, EXAMPLE_BOXES)
    assert iou[0, 1] == pytest.approx(81 / 119, abs=1e-15)
    assert iou[0, 3] == pytest.approx(50 / 150, abs=1e-15)
    assert iou[1, 3] == pytest.approx(54 / 146, abs=1e-15)
    assert iou[0, 2] == 0.0
    np.testing.assert_array_equal(np.diag(iou), 1.0)
    np.testing.assert_array_equal(iou, iou.T)


def test_box_iou_matches_a_loop():
    a, _ = random_set(1, 25)
    b, _ = random_set(2, 17)
    want = np.array([[loop_iou(x, y) for y in b] for x in a])
    got = lesson.box_iou(a, b)
    assert got.shape == (25, 17) and got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert (want > 0).sum() > 10  # the sets overlap enough to test something


def test_zero_area_boxes_have_iou_zero_with_everything():
    boxes = [[0, 0, 0, 0], [0, 0, 10, 10], [5, 5, 5, 9], [5, 5, 5, 9]]
    iou = lesson.box_iou(boxes, boxes)
    assert iou[0, 0] == 0 and iou[2, 3] == 0 and iou[2, 1] == 0 and iou[1, 1] == 1
    assert not np.isnan(iou).any()
    np.testing.assert_array_equal(lesson.box_area(boxes), [0, 100, 0, 0])


@pytest.mark.parametrize("bad, match", [
    ([[0, 0, -1, 10]], "x2 < x1"),
    ([[0, 5, 10, 4]], "x2 < x1 or y2 < y1"),
    ([[0, 0, 10]], "shape"),
    ([[0, 0, np.nan, 1]], "finite"),
    ([[0, 0, np.inf, 1]], "finite"),
])
def test_invalid_boxes_raise(bad, match):
    with pytest.raises(ValueError, match=match):
        lesson.box_iou(bad, [[0, 0, 1, 1]])
    with pytest.raises(ValueError, match=match):
        lesson.nms(bad, [0.5] * len(bad), 0.5)
    with pytest.raises(ValueError, match=match):
        lesson.soft_nms(bad, [0.5] * len(bad))


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="method must be one of"):
        lesson.soft_nms(EXAMPLE_BOXES, EXAMPLE_SCORES, method="soft")
    with pytest.raises(ValueError, match="sigma"):
        lesson.soft_nms(EXAMPLE_BOXES, EXAMPLE_SCORES, sigma=0.0)
    with pytest.raises(ValueError, match="shape"):
        lesson.soft_nms(EXAMPLE_BOXES, EXAMPLE_SCORES[:3])
    with pytest.raises(ValueError, match="NaN"):
        lesson.nms(EXAMPLE_BOXES, [0.9, np.nan, 0.1, 0.2], 0.5)
    with pytest.raises(ValueError, match="iou_threshold"):
        lesson.nms(EXAMPLE_BOXES, EXAMPLE_SCORES, 1.5)
    with pytest.raises(TypeError, match="iou_threshold"):
        lesson.nms(EXAMPLE_BOXES, EXAMPLE_SCORES, "0.5")
    with pytest.raises(TypeError):
        lesson.box_iou("boxes", EXAMPLE_BOXES)


# -- nms and soft_nms ----------------------------------------------------------------------

def test_design_worked_example():
    keep, scores = lesson.soft_nms(EXAMPLE_BOXES, EXAMPLE_SCORES, method="linear")
    assert keep.tolist() == [0, 2, 3, 1] and keep.dtype == np.int64
    np.testing.assert_allclose(scores, [0.9, 0.7, 0.4, 0.160976], atol=1e-6)
    keep, scores = lesson.soft_nms(EXAMPLE_BOXES, EXAMPLE_SCORES, method="gaussian")
    assert keep.tolist() == [0, 2, 3, 1]
    np.testing.assert_allclose(scores, [0.9, 0.7, 0.480442, 0.240901], atol=1e-6)
    keep, scores = lesson.soft_nms(EXAMPLE_BOXES, EXAMPLE_SCORES, method="hard")
    assert keep.tolist() == [0, 2] and scores.tolist() == [0.9, 0.7]
    assert lesson.nms(EXAMPLE_BOXES, EXAMPLE_SCORES, 0.3).tolist() == [0, 2]


def test_worked_example_by_hand():
    # linear: B = 0.8 (1 - 81/119) after round 1, then x (1 - 54/146) after D is picked
    _, scores = lesson.soft_nms(EXAMPLE_BOXES, EXAMPLE_SCORES, method="linear")
    assert scores[3] == pytest.approx(0.8 * (1 - 81 / 119) * (1 - 54 / 146), rel=1e-14)
    _, scores = lesson.soft_nms(EXAMPLE_BOXES, EXAMPLE_SCORES, method="gaussian", sigma=0.5)
    g = lambda u: math.exp(-u * u / 0.5)  # noqa: E731
    assert scores[2] == pytest.approx(0.6 * g(50 / 150), rel=1e-14)
    assert scores[3] == pytest.approx(0.8 * g(81 / 119) * g(54 / 146), rel=1e-14)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("ties", [False, True])
def test_nms_matches_the_definition(seed, ties):
    boxes, scores = random_set(seed, ties=ties)
    for thr in (0.0, 0.3, 0.5, 0.9):
        got = lesson.nms(boxes, scores, thr)
        assert got.dtype == np.int64
        assert got.tolist() == loop_nms(boxes.tolist(), scores.tolist(), thr)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("ties", [False, True])
def test_hard_soft_nms_equals_nms(seed, ties):
    boxes, scores = random_set(seed, ties=ties)
    for thr in (0.0, 0.3, 0.5, 0.7):
        keep, kept = lesson.soft_nms(boxes, scores, method="hard", iou_threshold=thr)
        np.testing.assert_array_equal(keep, lesson.nms(boxes, scores, thr))
        np.testing.assert_array_equal(kept, scores[keep])
    # a threshold of 0 does not keep zeroed boxes: still nms
    keep, _ = lesson.soft_nms(boxes, scores, method="hard", score_threshold=0.0)
    np.testing.assert_array_equal(keep, lesson.nms(boxes, scores, 0.3))


@given(st.integers(0, 2**32 - 1), st.integers(0, 30), st.sampled_from(lesson.METHODS),
       st.floats(0.05, 2.0), st.floats(0.0, 0.9))
def test_soft_nms_matches_the_loop(seed, n, method, sigma, nt):
    boxes, scores = random_set(seed, n)
    keep, kept = lesson.soft_nms(boxes, scores, method=method, sigma=sigma, iou_threshold=nt)
    want_keep, want_kept = loop_soft_nms(boxes.tolist(), scores.tolist(), method, sigma, nt)
    assert keep.tolist() == want_keep
    np.testing.assert_allclose(kept, want_kept, rtol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_gaussian_with_tiny_sigma_is_nms_at_zero(seed):
    boxes, scores = random_set(seed, 60)
    keep, kept = lesson.soft_nms(boxes, scores, method="gaussian", sigma=1e-300)
    np.testing.assert_array_equal(keep, lesson.nms(boxes, scores, 0.0))
    np.testing.assert_array_equal(kept, scores[keep])


def test_identical_boxes():
    boxes = [[0, 0, 10, 10]] * 3
    assert lesson.nms(boxes, [0.5, 0.9, 0.7], 0.5).tolist() == [1]
    # linear: IoU 1 -> weight 0 -> below the threshold, gone
    keep, _ = lesson.soft_nms(boxes, [0.5, 0.9, 0.7], method="linear")
    assert keep.tolist() == [1]
    keep, kept = lesson.soft_nms(boxes, [0.5, 0.9, 0.7], method="gaussian", sigma=0.5)
    d = math.exp(-2.0)
    assert keep.tolist() == [1, 2, 0]
    np.testing.assert_allclose(kept, [0.9, 0.7 * d, 0.5 * d * d], rtol=1e-14)


def test_ties_go_to_the_lower_index():
    boxes = [[0, 0, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60], [50, 50, 60, 60]]
    scores = [0.5, 0.5, 0.5, 0.5]
    assert lesson.nms(boxes, scores, 0.5).tolist() == [0, 2]
    for method in lesson.METHODS:
        keep, _ = lesson.soft_nms(boxes, scores, method=method)
        assert keep[:2].tolist() == [0, 2]
    # disjoint boxes with equal scores come out in index order
    far = [[10 * i, 0, 10 * i + 5, 5] for i in range(6)]
    assert lesson.soft_nms(far, [0.3] * 6)[0].tolist() == list(range(6))


def test_zero_area_boxes_are_never_suppressed():
    boxes = [[5, 5, 5, 5], [5, 5, 5, 5], [0, 0, 10, 10]]
    assert lesson.nms(boxes, [0.9, 0.8, 0.7], 0.0).tolist() == [0, 1, 2]
    keep, kept = lesson.soft_nms(boxes, [0.9, 0.8, 0.7], method="gaussian")
    assert keep.tolist() == [0, 1, 2] and kept.tolist() == [0.9, 0.8, 0.7]


@pytest.mark.parametrize("empty", [[], np.zeros((0, 4)), np.zeros((0, 4), np.float32)])
def test_empty_input(empty):
    keep = lesson.nms(empty, [], 0.5)
    assert keep.shape == (0,) and keep.dtype == np.int64
    for method in lesson.METHODS:
        keep, kept = lesson.soft_nms(empty, [], method=method)
        assert keep.shape == kept.shape == (0,)
        assert keep.dtype == np.int64 and kept.dtype == np.float64
    assert lesson.soft_nms_trace(empty, []) == []
    assert lesson.box_iou(empty, EXAMPLE_BOXES).shape == (0, 4)


def test_score_threshold_discards_initial_and_decayed_scores():
    scores = [0.9, 0.0005, 0.7, 0.6]
    keep, _ = lesson.soft_nms(EXAMPLE_BOXES, scores, method="gaussian")
    assert 1 not in keep.tolist()  # below 0.001 from the start
    # D decays to 0.6 exp(-(1/3)^2 / 0.5) = 0.480 in round 1: a threshold of 0.5 drops it
    keep, _ = lesson.soft_nms(EXAMPLE_BOXES, EXAMPLE_SCORES, method="gaussian", score_threshold=0.5)
    assert keep.tolist() == [0, 2]
    # a score exactly at the threshold stays ("below" is strict)
    keep, _ = lesson.soft_nms([[0, 0, 1, 1], [5, 5, 6, 6]], [0.9, 0.25], score_threshold=0.25)
    assert keep.tolist() == [0, 1]


def test_inputs_are_not_modified():
    boxes, scores = random_set(3)
    b0, s0 = boxes.copy(), scores.copy()
    lesson.soft_nms(boxes, scores, method="linear")
    lesson.nms(boxes, scores, 0.3)
    np.testing.assert_array_equal(boxes, b0)
    np.testing.assert_array_equal(scores, s0)


def test_trace_records_every_round():
    rounds = lesson.soft_nms_trace(EXAMPLE_BOXES, EXAMPLE_SCORES, method="linear")
    assert [r.selected for r in rounds] == [0, 2, 3, 1]
    r0 = rounds[0]
    assert r0.others.tolist() == [1, 2, 3]
    np.testing.assert_allclose(r0.iou, [81 / 119, 0, 1 / 3], rtol=1e-14)
    np.testing.assert_allclose(r0.weight, [1 - 81 / 119, 1, 2 / 3], rtol=1e-14)
    np.testing.assert_allclose(r0.after, r0.before * r0.weight, rtol=1e-15)
    assert r0.discarded.size == 0
    hard = lesson.soft_nms_trace(EXAMPLE_BOXES, EXAMPLE_SCORES, method="hard")
    assert hard[0].discarded.tolist() == [1, 3]
    for seed in range(3):
        boxes, scores = random_set(seed)
        for method in lesson.METHODS:
            keep, kept = lesson.soft_nms(boxes, scores, method=method)
            trace = lesson.soft_nms_trace(boxes, scores, method=method)
            assert [r.selected for r in trace] == keep.tolist()
            assert [r.score for r in trace] == kept.tolist()


def test_decay_weight():
    u = np.array([0.0, 0.3, 0.30000001, 0.5, 1.0])
    np.testing.assert_array_equal(lesson.decay_weight(u, "hard", iou_threshold=0.3), [1, 1, 0, 0, 0])
    np.testing.assert_allclose(lesson.decay_weight(u, "linear", iou_threshold=0.3),
                               [1, 1, 1 - 0.30000001, 0.5, 0.0])
    np.testing.assert_allclose(lesson.decay_weight(u, "gaussian", sigma=0.5), np.exp(-u**2 / 0.5))


# -- evaluation --------------------------------------------------------------------------

GT2 = np.array([[0, 0, 10, 10], [20, 0, 30, 10]], float)


def test_ap_hand_cases():
    ap = lesson.average_precision
    assert ap([GT2[:1]], [[0.9]], [GT2[:1]]) == 1.0
    # TP, FP, TP: precision 1, 1/2, 2/3; envelope 1, 2/3, 2/3 -> (1 + 2/3) / 2
    dets = np.array([[0, 0, 10, 10], [50, 50, 60, 60], [20, 0, 30, 10]], float)
    assert ap([dets], [[0.9, 0.8, 0.7]], [GT2]) == pytest.approx((1 + 2 / 3) / 2, abs=1e-15)
    # the same boxes, FP ranked last: AP 1
    assert ap([dets], [[0.9, 0.1, 0.7]], [GT2]) == 1.0
    # one object of two found: AP 1/2
    assert ap([dets[:1]], [[0.9]], [GT2]) == 0.5
    # a duplicate detection of a found object is a false positive
    dup = np.array([[0, 0, 10, 10], [0, 0, 10, 9], [20, 0, 30, 10]], float)
    assert ap([dup], [[0.9, 0.8, 0.7]], [GT2]) == pytest.approx((1 + 2 / 3) / 2, abs=1e-15)
    # no detections: 0; no ground truth: NaN
    assert ap([np.zeros((0, 4))], [[]], [GT2]) == 0.0
    assert math.isnan(ap([dets], [[0.9, 0.8, 0.7]], [np.zeros((0, 4))]))


def test_ap_iou_thresholds_and_coco_mean():
    gt = [np.array([[0, 0, 10, 10]], float)]
    det = [np.array([[0, 0, 10, 8]], float)]  # IoU 0.8
    assert lesson.average_precision(det, [[0.5]], gt, iou_threshold=0.8) == 1.0
    assert lesson.average_precision(det, [[0.5]], gt, iou_threshold=0.85) == 0.0
    # TP at 0.50, 0.55, ..., 0.80 (7 of 10 thresholds)
    coco = lesson.average_precision(det, [[0.5]], gt, iou_threshold=lesson.COCO_IOU_THRESHOLDS)
    assert coco == pytest.approx(0.7, abs=1e-15)
    assert lesson.COCO_IOU_THRESHOLDS == (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def test_ap_pools_images_by_score():
    # image 1: TP 0.9; image 2: FP 0.8, TP 0.3. Ranked: TP, FP, TP -> (1 + 2/3) / 2
    gts = [GT2[:1], GT2[1:]]
    dets = [GT2[:1], np.array([[50, 50, 60, 60], [20, 0, 30, 10]], float)]
    assert lesson.average_precision(dets, [[0.9], [0.8, 0.3]], gts) == pytest.approx(5 / 6)
    curve = lesson.precision_recall(dets, [[0.9], [0.8, 0.3]], gts)
    np.testing.assert_allclose(curve.recall, [0.5, 0.5, 1.0])
    np.testing.assert_allclose(curve.precision, [1, 0.5, 2 / 3])
    np.testing.assert_allclose(curve.envelope, [1, 2 / 3, 2 / 3])
    assert curve.scores.tolist() == [0.9, 0.8, 0.3] and curve.n_gt == 2
    with pytest.raises(ValueError, match="one entry per image"):
        lesson.average_precision(dets, [[0.9]], gts)


def test_matching_takes_the_best_unmatched_object():
    gt = np.array([[0, 0, 10, 10], [4, 0, 14, 10]], float)
    det = np.array([[1, 0, 11, 10], [2, 0, 12, 10]], float)
    # det 0 overlaps gt 0 most (0.82 vs 0.54); det 1 then takes gt 1 (0.67 >= 0.5)
    tp, found = lesson.match_detections(det, [0.9, 0.8], gt, 0.5)
    assert tp.tolist() == [True, True] and found.tolist() == [True, True]
    tp, found = lesson.match_detections(det, [0.9, 0.8], gt, 0.7)
    assert tp.tolist() == [True, False] and found.tolist() == [True, False]


# -- scenes --------------------------------------------------------------------------

def test_make_scene_is_seeded_and_valid():
    a, b = lesson.make_scene(5), lesson.make_scene(5)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    c = lesson.make_scene(np.random.default_rng(6))
    assert not np.array_equal(a.boxes, c.boxes)
    assert a.boxes.shape == (8 * 6 + 3, 4) and a.gt_boxes.shape == (8, 4)
    for s in (a, c):
        assert (s.boxes >= 0).all() and (s.boxes <= s.size).all()
        lesson.box_iou(s.boxes, s.gt_boxes)  # valid boxes (raises otherwise)
        assert ((s.scores > 0) & (s.scores <= 1)).all()
        assert set(s.source.tolist()) <= set(range(-1, 8))


def test_crowd_density_controls_overlap():
    full = [lesson.make_scene(seed, crowd=1.0) for seed in range(10)]
    assert all(s.crowded.all() for s in full)
    none = [lesson.make_scene(seed, crowd=0.0) for seed in range(10)]
    assert np.mean([s.crowded.mean() for s in none]) < 0.1
    # crowded pairs overlap heavily: above Nt = 0.3 in most cases
    iou = [np.sort(lesson.box_iou(s.gt_boxes, s.gt_boxes) - np.eye(8), axis=1)[:, -1] for s in full]
    assert np.median(np.concatenate(iou)) > 0.3


def test_soft_nms_beats_hard_nms_in_crowds():
    settings = {"hard": {"method": "hard"}, "gaussian": {"method": "gaussian"},
                "linear": {"method": "linear"}}
    r = lesson.evaluate_methods(settings, n_scenes=30, rng=3, crowd=0.8)
    for soft in ("gaussian", "linear"):
        assert r[soft]["AP50"] > r["hard"]["AP50"] + 0.05
        assert r[soft]["recall_crowded"] > r["hard"]["recall_crowded"]
    assert r["hard"]["kept"] < r["gaussian"]["kept"]
    assert set(r["hard"]) == {"AP50", "AP", "recall_crowded", "recall_alone", "kept"}


def test_random_boxes():
    b, s = lesson.random_boxes(50, 1)
    b2, s2 = lesson.random_boxes(50, np.random.default_rng(1))
    np.testing.assert_array_equal(b, b2)
    assert b.shape == (50, 4) and s.shape == (50,)
    assert (b[:, 2] > b[:, 0]).all() and (s >= 0.05).all()
    with pytest.raises(ValueError):
        lesson.random_boxes(-1)


# -- derivations -------------------------------------------------------------------------

def test_derived_decay_functions_match_decay_weight():
    u, nt, sigma = derive.nms_symbols()
    grid = np.linspace(0, 1, 41)
    for method, f in derive.nms_decay_functions().items():
        fn = sp.lambdify(u, f.subs({nt: sp.Rational(3, 10), sigma: sp.Rational(1, 2)}), "math")
        want = lesson.decay_weight(grid, method, sigma=0.5, iou_threshold=0.3)
        np.testing.assert_allclose([float(fn(x)) for x in grid], want, rtol=1e-14)


def test_derived_jumps_and_limits():
    _, nt, _ = derive.nms_symbols()
    assert derive.nms_decay_jumps() == {"hard": 1, "linear": nt, "gaussian": 0}
    assert derive.nms_gaussian_small_sigma() == (0, 1)


def test_gaussian_half_decay_and_inflection_numerically():
    _, _, sigma = derive.nms_symbols()
    for s in (0.1, 0.5, 1.3):
        half = float(derive.nms_gaussian_half_decay().subs(sigma, s))
        root = scipy.optimize.brentq(lambda x, s=s: math.exp(-x * x / s) - 0.5, 0, 5)
        assert half == pytest.approx(root, rel=1e-12)
        infl = float(derive.nms_gaussian_inflection().subs(sigma, s))

        def f(x, s=s):
            return math.exp(-x * x / s)

        h = 1e-4
        second = [(f(x + h) - 2 * f(x) + f(x - h)) / h**2 for x in (infl - 0.01, infl + 0.01)]
        assert second[0] < 0 < second[1]  # the curvature changes sign there
    assert float(derive.nms_gaussian_half_decay().subs(sigma, 0.5)) == pytest.approx(0.5887, abs=1e-4)


# -- the exercise check ----------------------------------------------------------------------

def gaussian_step(boxes, scores, m, sigma, score_threshold):
    iou = lesson.box_iou(boxes[m:m + 1], boxes)[0]
    new = scores * np.exp(-iou**2 / sigma)
    new[m] = scores[m]
    keep = new >= score_threshold
    keep[m] = False
    return new, keep


def _variant(change):
    def step(boxes, scores, m, sigma, score_threshold):
        iou = lesson.box_iou(boxes[m:m + 1], boxes)[0]
        return change(boxes, scores, m, sigma, score_threshold, iou)
    return step


def _finish(new, scores, m, thr, *, decay_m=False, strict=False, keep_m=False):
    if not decay_m:
        new[m] = scores[m]
    keep = new > thr if strict else new >= thr
    keep[m] = keep_m
    return new, keep


MISTAKES = {
    "not squared": (_variant(lambda b, s, m, sg, t, u: _finish(s * np.exp(-u / sg), s, m, t)),
                    "not squared"),
    "2 sigma^2": (_variant(lambda b, s, m, sg, t, u: _finish(s * np.exp(-u**2 / (2 * sg**2)), s, m, t)),
                  "2 sigma**2"),
    "decays M": (_variant(lambda b, s, m, sg, t, u: _finish(s * np.exp(-u**2 / sg), s, m, t,
                                                            decay_m=True)), "M's own score"),
    "> vs >=": (_variant(lambda b, s, m, sg, t, u: _finish(s * np.exp(-u**2 / sg), s, m, t,
                                                           strict=True)), "BELOW"),
    "keeps M": (_variant(lambda b, s, m, sg, t, u: _finish(s * np.exp(-u**2 / sg), s, m, t,
                                                           keep_m=True)), "keep[m]"),
}


def test_check_passes_the_solution(capsys):
    result = check_gaussian_step(gaussian_step)
    assert result.passed is True and "passes all 5 cases" in capsys.readouterr().out


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_check_names_the_typical_mistakes(mistake, capsys):
    fn, words = MISTAKES[mistake]
    result = check_gaussian_step(fn)
    assert result.passed is False and result.case
    assert words in capsys.readouterr().out


@pytest.mark.parametrize("fn, passed", [
    (None, None), (lambda *a: None, None), (lambda *a: (None, None), None),
    (lambda *a: 3, False), (lambda *a: ("x", "y"), False), (lambda *a: 1 / 0, False),
    (np.zeros(3), False),
])
def test_check_never_raises(fn, passed, capsys):
    result = check_gaussian_step(fn)
    assert result.passed is passed
    assert capsys.readouterr().out.strip() == result.message


# -- the panel, headless -----------------------------------------------------------------

@pytest.fixture
def panel():
    from softviz.panels import SoftNMSPanel
    from softviz.panels.base import offscreen

    with offscreen():
        p = SoftNMSPanel()
    yield p
    p.close()


def test_panel_state_matches_the_library(panel):
    s = panel.state()
    scene = lesson.make_scene(0, crowd=0.6, n_objects=7, detections_per_object=5, false_positives=3)
    keep, kept = lesson.soft_nms(scene.boxes, scene.scores, method="gaussian")
    np.testing.assert_array_equal(s["keep"], keep)
    np.testing.assert_array_equal(s["final_scores"], kept)
    assert s["round"] == s["n_rounds"] == len(keep)
    assert s["AP50"] == lesson.average_precision([scene.boxes[keep]], [kept], [scene.gt_boxes])
    assert panel.last_error is None
    # at the last round every box is kept or discarded
    assert set(np.unique(s["status"]).tolist()) <= {1, 2}
    assert (s["status"] == 1).sum() == len(keep)


def test_panel_hard_mode_is_nms_and_steps_round_by_round(panel):
    fig, patches = panel.figure, list(panel._boxes)
    panel.set(method="hard", iou_threshold=0.5, crowd=0.9, seed=7)
    s = panel.state()
    scene = lesson.make_scene(7, crowd=0.9, n_objects=7, detections_per_object=5, false_positives=3)
    np.testing.assert_array_equal(s["keep"], lesson.nms(scene.boxes, scene.scores, 0.5))
    assert s["round"] == s["n_rounds"] == panel.controls["round"].max  # stays at the end

    panel.set(round=0)
    s0 = panel.state()
    assert s0["selected"] == -1 and (s0["status"] == 0).all()
    np.testing.assert_array_equal(s0["current_scores"], scene.scores)

    panel.set(round=1)
    s1 = panel.state()
    m = s1["selected"]
    assert m == int(np.argmax(scene.scores)) and s1["status"][m] == 1
    iou = lesson.box_iou(scene.boxes[m:m + 1], scene.boxes[s1["others"]])[0]
    np.testing.assert_allclose(s1["iou"], iou)
    np.testing.assert_array_equal(s1["status"][s1["others"]] == 2, iou > 0.5)
    np.testing.assert_array_equal(panel._points.get_xdata(), s1["iou"])

    panel.set(method="gaussian", sigma=0.2)  # the round shown stays where it is
    assert panel.state()["round"] == 1
    assert panel.figure is fig and panel._boxes == patches
    assert panel.to_png().startswith(b"\x89PNG")


def test_panel_state_is_a_copy_and_bad_values_raise(panel):
    panel.state()["keep"][:] = -1
    assert (panel.state()["keep"] >= 0).all()
    from softviz.panels import SoftNMSPanel

    with pytest.raises(ValueError):
        SoftNMSPanel(method="soft")
    with pytest.raises(ValueError):
        panel.set(sigma=0.0)


def test_evaluate_methods_is_average_precision_over_the_drawn_scenes():
    gen = np.random.default_rng(9)
    scenes = [lesson.make_scene(gen, crowd=0.5) for _ in range(5)]
    out = [lesson.soft_nms(s.boxes, s.scores, method="linear") for s in scenes]
    boxes = [s.boxes[k] for s, (k, _) in zip(scenes, out)]
    want = lesson.average_precision(boxes, [v for _, v in out], [s.gt_boxes for s in scenes])
    r = lesson.evaluate_methods({"lin": {"method": "linear"}}, n_scenes=5, rng=9, crowd=0.5)
    assert r["lin"]["AP50"] == want
    assert r["lin"]["kept"] == np.mean([len(k) for k, _ in out])


# --------------------------------------------------------------------------
# Robust inputs (issue 15)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("box", [
    [-1e308, -1e308, 1e308, 1e308], [0.0, 0.0, 1e308, 1e-300], [1e-200, 1e-200, 3e-200, 2e-200],
    [-1e308, 5.0, 1e308, 6.0],
])
def test_identical_boxes_have_iou_one_at_any_scale(box):
    boxes = np.array([box, box])
    np.testing.assert_array_equal(lesson.box_iou(boxes, boxes), np.ones((2, 2)))
    assert lesson.nms(boxes, [0.9, 0.8], 0.5).tolist() == [0]
    keep, _ = lesson.soft_nms(boxes, [0.9, 0.8], method="hard", iou_threshold=0.5)
    assert keep.tolist() == [0]


def test_huge_boxes_give_the_scale_free_iou():
    # the same picture as [0, 0, 2, 2] vs [1, 0, 3, 2] (IoU 1/3), scaled by 1e307
    a = np.array([[0.0, 0.0, 2e307, 2e307]])
    b = np.array([[1e307, 0.0, 3e307, 2e307]])
    assert lesson.box_iou(a, b)[0, 0] == pytest.approx(1 / 3, rel=1e-15)


def test_ordinary_boxes_keep_the_direct_formula_bit_for_bit():
    boxes, _ = lesson.random_boxes(60, 3)
    a, b = boxes[:, None, :], boxes[None, :, :]
    w = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    h = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = np.maximum(w, 0) * np.maximum(h, 0)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    np.testing.assert_array_equal(lesson.box_iou(boxes, boxes),
                                  inter / (area[:, None] + area[None, :] - inter))


@pytest.mark.parametrize("call, error, words", [
    (lambda: lesson.decay_weight(None), TypeError, "iou must"),
    (lambda: lesson.decay_weight([0.5, 1.5]), ValueError, r"iou must hold numbers in \[0, 1\]"),
    (lambda: lesson.decay_weight(0.5, method=np.array(["hard"])), ValueError, "method must be one of"),
    (lambda: lesson.random_boxes(5, size=math.nan), ValueError, "size must be"),
    (lambda: lesson.random_boxes(5, size=1e308, max_side=1e308), ValueError, "size \\+ max_side"),
    (lambda: lesson.random_boxes(10 ** 12), ValueError, "n must be an integer in"),
    (lambda: lesson.make_scene(n_objects=10 ** 9), ValueError, "n_objects"),
    (lambda: lesson.make_scene(rng="x"), TypeError, "rng must be"),
    (lambda: lesson.nms(EXAMPLE_BOXES, [0.9, math.inf, 0.1, 0.2], 0.5), ValueError, "scores must be finite"),
    (lambda: lesson.nms(np.zeros((30_000, 4)), np.zeros(30_000), 0.5), ValueError, "the limit"),
    (lambda: lesson.precision_recall("x", "y", "z"), TypeError, "det_boxes must be a list"),
    (lambda: lesson.precision_recall([EXAMPLE_BOXES], [[0.5]], [EXAMPLE_BOXES]), ValueError,
     r"det_scores\[0\]"),
    (lambda: lesson.average_precision([EXAMPLE_BOXES], [EXAMPLE_SCORES], [EXAMPLE_BOXES],
                                   iou_threshold=[0.5, 2.0]), ValueError, "iou_threshold"),
    (lambda: lesson.evaluate_methods({"x": {"method": "hard"}}, n_scenes=10 ** 9), ValueError, "n_scenes"),
    (lambda: lesson.evaluate_methods({"x": {"metod": "hard"}}), ValueError, "settings"),
    (lambda: lesson.evaluate_methods({"x": {}}, crowds=0.5), TypeError, "crowds"),
])
def test_bad_input_is_refused_naming_the_parameter(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_nms_is_a_stable_alias_of_soft_nms():
    # softviz.nms is the documented older name of lesson 04's module: same names, same objects
    from softviz import nms

    assert nms.__all__ == lesson.__all__
    for name in lesson.__all__:
        assert getattr(nms, name) is getattr(lesson, name), name
    for name in lesson.SCENES:  # the synthetic scenes, loaded on first use in both
        assert getattr(nms, name) is getattr(lesson, name) is getattr(lesson_scenes, name), name
    assert set(lesson.SCENES) <= set(dir(nms))
    with pytest.raises(AttributeError, match="softviz.nms"):
        nms.not_a_name  # noqa: B018
