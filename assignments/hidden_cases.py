"""The course's private grading table: points, hidden cases and forbidden shortcuts per exercise.

Keyed by the exercise's self-check (its id through every layer). Each entry:

* ``points``: (visible test, hidden test) points;
* ``cases``: hidden cases as ``(name, args)`` with ``args`` Python source (a tuple
  expression, evaluated with ``np``, ``math`` and ``softviz``); the expected results
  are computed from the reference solution in notebooks/solutions/ when the
  assignment is generated and written into the hidden test cell only;
* ``kind``: "values" (the default), "sampler" or "top_k" (random: a chi-square
  test against the exact probabilities) or "answer" (a value);
* ``forbid``: the softviz functions that compute the answer, which the solution
  must not call (the exercise asks the student to write it);
* ``options``: keyword arguments of :func:`softviz.exercises.grading.expect_values`.

``MISTAKES`` supplies a typical mistake (taken from the check's hints) where the
solutions notebook shows none; ``EXPLANATIONS`` the manually graded questions.
A lesson's exercises are found in the notebooks (assignments/extract.py); one that
has no entry here makes ``tests/test_assignments.py`` fail, so a new exercise
cannot ship without hidden tests.
"""
from __future__ import annotations

__all__ = ["HIDDEN", "MISTAKES", "EXPLANATIONS"]

_SOFTMAX = ("softviz.softmax", "softviz.reference.stable_softmax", "softviz.reference.naive_softmax",
            "softviz.reference.exact_softmax")

HIDDEN: dict[str, dict] = {
    # -- 00 start_here ---------------------------------------------------------------------
    "check_softmax": dict(points=(1, 2), forbid=_SOFTMAX, cases=[
        ("all logits equal [0, 0, 0]", "(np.zeros(3),)"),
        ("mixed [-1, 0.5, 2, 7]", "(np.array([-1.0, 0.5, 2.0, 7.0]),)"),
        ("a Python list [3, 1, 2]", "([3.0, 1.0, 2.0],)"),
        ("close logits [10, 10.5]", "(np.array([10.0, 10.5]),)"),
    ]),
    "check_logits_for_probabilities": dict(points=(1, 2), options=dict(via="softviz.softmax"), cases=[
        ("p = [0.1, 0.6, 0.3]", "(np.array([0.1, 0.6, 0.3]),)"),
        ("two classes [0.5, 0.5]", "(np.array([0.5, 0.5]),)"),
        ("a zero in the middle [0.05, 0, 0.95]", "(np.array([0.05, 0.0, 0.95]),)"),
        ("a tiny probability [1e-10, 1 - 1e-10]", "(np.array([1e-10, 1.0 - 1e-10]),)"),
    ]),
    # -- 01 overflow ------------------------------------------------------------------------
    "check_stable_softmax": dict(points=(1, 2), forbid=_SOFTMAX, options=dict(same_dtype=True), cases=[
        ("past float64's overflow [710, 709, -5]", "(np.array([710.0, 709.0, -5.0]),)"),
        ("past float32's overflow [89, 88, 87]", "(np.array([89.0, 88.0, 87.0], dtype=np.float32),)"),
        ("a -inf mask around a finite logit", "(np.array([-np.inf, 3.0, -np.inf]),)"),
        ("all below float64's underflow [-800, -801]", "(np.array([-800.0, -801.0]),)"),
    ]),
    "check_stable_log_softmax": dict(
        points=(1, 2), forbid=("softviz.log_softmax", "softviz.logsumexp", "softviz.reference.stable_softmax"),
        options=dict(same_dtype=True), cases=[
            ("a wide range [0, -1000, 5]", "(np.array([0.0, -1000.0, 5.0]),)"),
            ("float32 wide range [50, 0, -100]", "(np.array([50.0, 0.0, -100.0], dtype=np.float32),)"),
            ("a -inf mask [-inf, 2, 1]", "(np.array([-np.inf, 2.0, 1.0]),)"),
            ("overflow [1000, 1000]", "(np.array([1000.0, 1000.0]),)"),
        ]),
    "check_stablemax": dict(points=(1, 2), forbid=("softviz.reference.stablemax",), cases=[
        ("mixed signs [0.5, -0.5, 3]", "(np.array([0.5, -0.5, 3.0]),)"),
        ("all negative [-10, -20]", "(np.array([-10.0, -20.0]),)"),
        ("a gap of a million [1e6, 0]", "(np.array([1e6, 0.0]),)"),
        ("zeros and a mask [0, 0, 0, -inf]", "(np.array([0.0, 0.0, 0.0, -np.inf]),)"),
    ]),
    # -- 02 temperature ---------------------------------------------------------------------
    "check_entropy": dict(points=(1, 2), forbid=("softviz.temperature.entropy",
                                             "softviz.exercises.temperature._reference_entropy"), cases=[
        ("p = [0.1, 0.2, 0.3, 0.4]", "(np.array([0.1, 0.2, 0.3, 0.4]),)"),
        ("one-hot at the end [0, 0, 1]", "(np.array([0.0, 0.0, 1.0]),)"),
        ("two zeros [0.25, 0, 0.75, 0]", "(np.array([0.25, 0.0, 0.75, 0.0]),)"),
        ("uniform over 10", "(np.full(10, 0.1),)"),
    ]),
    "check_smooth_max": dict(
        points=(1, 2), forbid=("softviz.temperature.smooth_max", "softviz.logsumexp"), cases=[
            ("T = 0.01 with logits in the hundreds", "(np.array([500.0, 400.0, 300.0]), 0.01)"),
            ("far below underflow, T = 0.5", "(np.array([-2000.0, -2001.0]), 0.5)"),
            ("a three-way tie, T = 1", "(np.array([3.0, 3.0, 3.0]), 1.0)"),
            ("a very large T = 1000", "(np.array([0.0, 1.0]), 1000.0)"),
        ]),
    "check_temperature_for_entropy": dict(
        points=(1, 2), forbid=("softviz.temperature.temperature_for_entropy",), options=dict(rtol=1e-6), cases=[
            ("z = [0, 1, 2, 3], target 1.2", "(np.array([0.0, 1.0, 2.0, 3.0]), 1.2)"),
            ("z = [5, 0, 0], target 0.3", "(np.array([5.0, 0.0, 0.0]), 0.3)"),
            ("z = [0, 0.5], target 0.69 (a large T)", "(np.array([0.0, 0.5]), 0.69)"),
            ("z = [0, 10, 10], target 0.8 (a tie above ln 2)", "(np.array([0.0, 10.0, 10.0]), 0.8)"),
        ]),
    # -- 03 gumbel: samplers are judged by a chi-square test against the exact probabilities --
    "check_gumbel_max": dict(points=(1, 2), kind="sampler", cases=[
        ("uniform [0, 0, 0, 0]", "np.zeros(4)"),
        ("a masked class [-1, 4, 0.5, 2, -inf]", "np.array([-1.0, 4.0, 0.5, 2.0, -np.inf])"),
        ("large logits [300, 301, 299]", "np.array([300.0, 301.0, 299.0])"),
    ]),
    "check_relaxed_sample": dict(points=(1, 2), forbid=("softviz.gumbel.gumbel_softmax",), cases=[
        ("a batch of two, tau = 0.001",
         "(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), np.array([[0.3, -0.2, 0.1], [1.5, 0.2, -0.7]]), 0.001)"),
        ("tau = 5 (nearly uniform)", "(np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.1, -0.3]), 5.0)"),
        ("a masked class, tau = 0.5", "(np.array([2.0, -np.inf, 1.0]), np.array([0.2, 0.4, -0.1]), 0.5)"),
    ]),
    "check_gumbel_top_k": dict(points=(1, 2), kind="top_k", cases=[
        ("three logits [0, 1, 2], k = 3", "(np.array([0.0, 1.0, 2.0]), 3)"),
        ("a tie and a mask [2, 2, -inf, 0], k = 2", "(np.array([2.0, 2.0, -np.inf, 0.0]), 2)"),
    ]),
    # -- 04 soft_nms ------------------------------------------------------------------------
    "check_box_iou": dict(points=(1, 2), forbid=("softviz.soft_nms.box_iou",), cases=[
        ("identical boxes", "(np.array([1.0, 1.0, 4.0, 3.0]), np.array([1.0, 1.0, 4.0, 3.0]))"),
        ("half overlap", "(np.array([0.0, 0.0, 2.0, 2.0]), np.array([1.0, 0.0, 3.0, 2.0]))"),
        ("apart in x, level in y", "(np.array([0.0, 0.0, 1.0, 1.0]), np.array([2.0, 0.0, 3.0, 1.0]))"),
        ("one inside the other", "(np.array([0.0, 0.0, 10.0, 10.0]), np.array([2.0, 3.0, 4.0, 5.0]))"),
        ("apart in x and y", "(np.array([0.0, 0.0, 1.0, 1.0]), np.array([3.0, 2.0, 4.0, 5.0]))"),
    ]),
    "check_gaussian_step": dict(points=(1, 2), forbid=("softviz.soft_nms.soft_nms",
                                                   "softviz.exercises.soft_nms._reference_step"), cases=[
        ("four boxes, M = A, sigma = 0.3",
         "(np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [5, 0, 15, 10]], dtype=float), "
         "np.array([0.9, 0.8, 0.7, 0.6]), 0, 0.3, 0.001)"),
        ("four boxes, M = B, sigma = 1.0",
         "(np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [5, 0, 15, 10]], dtype=float), "
         "np.array([0.5, 0.8, 0.7, 0.6]), 1, 1.0, 0.001)"),
        ("a high threshold drops the overlapped box",
         "(np.array([[0, 0, 10, 10], [0, 0, 10, 9], [50, 50, 60, 60]], dtype=float), "
         "np.array([0.9, 0.5, 0.3]), 0, 0.5, 0.3)"),
    ]),
    # -- 05 kde -----------------------------------------------------------------------------
    "check_participation_ratio": dict(
        points=(1, 2), forbid=("softviz.kde.participation_ratio", "softviz.kde.kernel_weights"),
        options=dict(rtol=1e-7), cases=[
            ("d = 3, n = 50, h = 0.5",
             "(np.zeros(3), np.random.default_rng(1).normal(size=(50, 3)), 0.5)"),
            ("d = 200, n = 100, h = 0.2 (every exp underflows)",
             "(np.full(200, 0.2), np.random.default_rng(2).normal(size=(100, 200)), 0.2)"),
            ("d = 1, n = 10, a huge h (all points share)",
             "(np.zeros(1), np.random.default_rng(3).normal(size=(10, 1)), 1000.0)"),
        ]),
    "check_condensation_bandwidth": dict(points=(1, 2), cases=[
        ("a hidden simulation, 25 test points x 80 data points",
         "(np.random.default_rng(4).chisquare(10, size=(25, 80)), np.linspace(0.05, 3.0, 60))"),
        ("a grid that never condenses", "(np.ones((5, 8)) + np.arange(8) * 1e-3, np.linspace(1.0, 2.0, 5))"),
        ("another simulation, 40 x 30",
         "(np.random.default_rng(5).chisquare(4, size=(40, 30)) * 3.0, np.linspace(0.1, 4.0, 40))"),
    ]),
    # -- 06 two_pass --------------------------------------------------------------------------
    "check_online_merge": dict(
        points=(1, 2), forbid=("softviz.exercises.two_pass._merge_reference",), options=dict(rtol=1e-12), cases=[
            ("an empty state first", "((-math.inf, 0.0), (3.0, 2.5))"),
            ("equal maxima", "((2.0, 1.5), (2.0, 0.5))"),
            ("two empty states", "((-math.inf, 0.0), (-math.inf, 0.0))"),
            ("maxima 2000 apart", "((1000.0, 1.0), (-1000.0, 4.0))"),
            ("the second max larger", "((5.0, 1.0), (7.0, 1.0))"),
        ]),
    "check_extexp_merge": dict(
        points=(1, 2), forbid=("softviz.exercises.two_pass._extexp_reference",), options=dict(rtol=1e-12), cases=[
            ("exponents near 3000", "((0.5, 3000.0), (0.75, 2999.0))"),
            ("two empty states", "((0.0, -math.inf), (0.0, -math.inf))"),
            ("exponents 4010 apart", "((1.0, -4000.0), (1.0, 10.0))"),
            ("an empty state second", "((1.5, 7.0), (0.0, -math.inf))"),
        ]),
    "check_memory_floor": dict(
        points=(1, 2), forbid=("softviz.exercises.two_pass._floor_reference",), options=dict(rtol=1e-12), cases=[
            ("three-pass reload, read 0.2, copy 0.5", "('three_pass_reload', 0.2, 0.5)"),
            ("three-pass recompute, read 0.2, copy 0.5", "('three_pass_recompute', 0.2, 0.5)"),
            ("two-pass, read 1.0, copy 3.0", "('two_pass', 1.0, 3.0)"),
            ("online, read 0.1, copy 0.1", "('online', 0.1, 0.1)"),
        ]),
    # -- 07 training -------------------------------------------------------------------------
    "check_cross_entropy_grad": dict(
        points=(1, 2), forbid=("softviz.training.cross_entropy_grad",), options=dict(rtol=1e-7, atol=1e-10), cases=[
            ("two samples, 3 classes", "(np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]), np.array([2, 0]))"),
            ("huge logits [500, -500, 0]", "(np.array([[500.0, -500.0, 0.0]]), np.array([1]))"),
            ("5 samples, 2 classes", "(np.random.default_rng(6).normal(size=(5, 2)), np.array([0, 1, 1, 0, 1]))"),
        ]),
    "check_collapse_prediction": dict(points=(1, 0), kind="answer", cases=[]),
    "check_stablemax_cross_entropy": dict(
        points=(1, 2), forbid=("softviz.training.cross_entropy",), options=dict(rtol=1e-9), cases=[
            ("two classes, equal logits", "(np.array([[0.0, 0.0]]), np.array([0]))"),
            ("a gap of two million", "(np.array([[1e6, -1e6, 0.0]]), np.array([1]))"),
            ("4 samples, 3 classes", "(np.random.default_rng(7).normal(size=(4, 3)) * 5, np.array([0, 2, 1, 1]))"),
        ]),
    # -- 08 attention ------------------------------------------------------------------------
    "check_tile_update": dict(points=(1, 2), options=dict(rtol=1e-10, atol=1e-12), cases=[
        ("the empty state and one block",
         "((-math.inf, 0.0, np.zeros(2)), np.array([0.5, -1.0, 2.0]), np.arange(6.0).reshape(3, 2))"),
        ("a block whose max is lower",
         "((3.0, 1.5, np.array([1.0, -1.0])), np.array([0.0, 1.0]), np.array([[2.0, 0.0], [0.0, 2.0]]))"),
        ("scores around 800",
         "((800.0, 2.0, np.array([0.5, 0.5, 1.0])), np.array([805.0, 790.0]), np.ones((2, 3)))"),
    ]),
    "check_masked_tile_update": dict(points=(1, 2), options=dict(rtol=1e-10, atol=1e-12), cases=[
        ("an empty state meets a fully masked block",
         "((-math.inf, 0.0, np.zeros(2)), np.array([-np.inf, -np.inf]), np.ones((2, 2)))"),
        ("a partly masked block",
         "((1.0, 1.0, np.array([1.0, 2.0])), np.array([-np.inf, 2.0]), np.array([[5.0, 5.0], [1.0, 0.0]]))"),
        ("a fully masked block after real ones",
         "((2.0, 3.0, np.array([0.5, 0.25])), np.array([-np.inf]), np.ones((1, 2)))"),
    ]),
    "check_tile_size": dict(points=(1, 2), forbid=("softviz.attention.largest_tile",),
                            options=dict(rtol=0.0, atol=0.0), cases=[
        ("a 32 KiB cache, d = 64", "(32 * 1024, 64)"),
        ("a 1 MiB cache, d = 128", "(1024 * 1024, 128)"),
        ("a 48 KiB cache, d = 16", "(48 * 1024, 16)"),
    ]),
}

# A typical mistake (the code that replaces the stub) for the exercises whose solutions
# notebook shows none; each is one the exercise's hints name.
MISTAKES: dict[str, str] = {
    # "the result sums to ..., not 1: divide the exps by their sum"
    "check_softmax": "return np.exp(z)",
    # "you returned the gradient of the SUM of the losses: divide by n"
    "check_cross_entropy_grad": ("z = np.asarray(logits, dtype=float)\n"
                                 "t = z - z.max(axis=1, keepdims=True)\n"
                                 "p = np.exp(t) / np.exp(t).sum(axis=1, keepdims=True)\n"
                                 "p[np.arange(len(labels)), labels] -= 1.0\n"
                                 "return p"),
}

# Manually graded explanations: (after which exercise, points, question, model answer for the graders).
EXPLANATIONS: dict[str, tuple[str, int, str, str]] = {
    "00_start_here": (
        "check_logits_for_probabilities", 2,
        "The lesson asks: *is the answer unique?* Explain in two or three sentences which logits give the "
        "same probabilities, and what logit a probability of exactly 0 needs.",
        "No: softmax only sees differences of logits, so ln p + c gives p for every constant c "
        "(exp(c) cancels in the ratio). A probability 0 needs the logit -inf, whose exponential is exactly 0."),
    "07_training": (
        "check_collapse_prediction", 2,
        "Explain your prediction: why does that run collapse first, and why do the other two collapse later "
        "or not at all?",
        "Collapse needs 1 + e^-margin to round to 1. float32 has 24 significand bits, so that happens at a "
        "margin of about 24 ln 2 = 16.6; float64 needs 53 ln 2 = 36.7. StableMax's share of the other "
        "classes decays like 1/margin, not exponentially, so it needs margins near 2^24."),
}
