"""Tests for lesson 02 (temperature): softviz.temperature, its derivations, checks and panel.

Reference values come from the issue (z = [1, 2, 3]); everything else is
checked against independent computations: scipy.special / scipy.stats,
mpmath, closed forms, finite differences, and hypothesis properties of the
monotonicity facts the lesson teaches.
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import softviz
from softviz import exercises as ex
from softviz import temperature as tp
from softviz.derive import temperature as dv

Z123 = np.array([1.0, 2.0, 3.0])


# --------------------------------------------------------------------------
# Reference values (issue 5)
# --------------------------------------------------------------------------

def test_reference_values():
    np.testing.assert_allclose(tp.tempered_softmax(Z123, 1.0),
                               [0.09003057, 0.24472847, 0.66524096], rtol=1e-7)
    assert tp.entropy(tp.tempered_softmax(Z123, 1.0)) == pytest.approx(0.83239558, rel=1e-8)
    assert tp.smooth_max(Z123, 1.0) == pytest.approx(3.40760596, rel=1e-8)
    assert tp.entropy(tp.tempered_softmax(Z123, 0.5)) == pytest.approx(0.44105744, rel=1e-8)
    assert tp.entropy(tp.tempered_softmax(Z123, 2.0)) == pytest.approx(1.02019134, rel=1e-8)


def _mp_tempered(z, T):
    with mpmath.workdps(40):
        e = [mpmath.exp(mpmath.mpf(float(v)) / mpmath.mpf(T)) for v in z]
        s = mpmath.fsum(e)
        p = [x / s for x in e]
        H = -mpmath.fsum(q * mpmath.log(q) for q in p if q > 0)
        return [float(q) for q in p], float(H), float(mpmath.mpf(T) * mpmath.log(s))


@pytest.mark.parametrize("z, T", [([1, 2, 3], 0.3), ([-4.0, 0.5, 0.5, 7.25], 2.5),
                                  ([100.0, 101.0], 0.05), ([0.0, 1e-3, -2.0], 40.0)])
def test_against_mpmath(z, T):
    p, H, S = _mp_tempered(z, T)
    np.testing.assert_allclose(tp.tempered_softmax(z, T), p, rtol=1e-12, atol=1e-300)
    assert tp.entropy(tp.tempered_softmax(z, T)) == pytest.approx(H, rel=1e-11, abs=1e-14)
    assert tp.smooth_max(z, T) == pytest.approx(S, rel=1e-13)


def test_axis_and_batch_agree_with_scipy():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(4, 5, 3)) * 3
    for axis in (0, 1, -1):
        np.testing.assert_allclose(tp.tempered_softmax(z, 0.7, axis=axis),
                                   scipy.special.softmax(z / 0.7, axis=axis), rtol=1e-12)
        np.testing.assert_allclose(tp.smooth_max(z, 0.7, axis=axis),
                                   0.7 * scipy.special.logsumexp(z / 0.7, axis=axis), rtol=1e-12)
        p = scipy.special.softmax(z, axis=axis)
        np.testing.assert_allclose(tp.entropy(p, axis=axis),
                                   scipy.stats.entropy(p, axis=axis), rtol=1e-12)
    grid = tp.tempered_softmax_grid(Z123, [0.5, 1.0, 4.0])
    np.testing.assert_allclose(grid, [scipy.special.softmax(Z123 / t) for t in (0.5, 1, 4)],
                               rtol=1e-12)
    np.testing.assert_allclose(tp.entropy_curve(Z123, [0.5, 2.0]), [0.44105744, 1.02019134],
                               rtol=1e-8)


# --------------------------------------------------------------------------
# Limits, entropy and perplexity
# --------------------------------------------------------------------------

def test_limits():
    # T -> 0+: uniform over the argmax set (no overflow even for absurd T)
    np.testing.assert_array_equal(tp.tempered_softmax([1.0, 3.0, 3.0], 1e-300), [0, 0.5, 0.5])
    np.testing.assert_array_equal(tp.tempered_softmax([5.0, -1e300, 2.0], 1e-10), [1, 0, 0])
    # T -> inf: uniform
    np.testing.assert_allclose(tp.tempered_softmax(Z123, 1e12), [1 / 3] * 3, rtol=1e-11)
    assert tp.smooth_max(Z123, 1e-6) == 3.0
    assert tp.smooth_max([1.0, 3.0, 3.0], 1e-3) == pytest.approx(3 + 1e-3 * math.log(2), rel=1e-12)
    # masked entries
    np.testing.assert_allclose(tp.tempered_softmax([0.0, -np.inf, 0.0], 2.0), [0.5, 0, 0.5])
    assert tp.smooth_max([-np.inf, -np.inf], 1.0) == -np.inf


def test_entropy_zero_log_zero_and_perplexity():
    assert tp.entropy([0.5, 0.5, 0.0]) == pytest.approx(math.log(2), rel=1e-15)
    assert tp.entropy([0.0, 1.0, 0.0]) == 0.0
    assert tp.entropy(np.full(7, 1 / 7)) == pytest.approx(math.log(7))
    assert tp.perplexity(np.full(7, 1 / 7)) == pytest.approx(7.0)
    assert tp.perplexity([0.25, 0.25, 0.5, 0.0]) == pytest.approx(2 ** 1.5)
    assert tp.entropy(np.array([0.5, 0.5], dtype=np.float32)) == pytest.approx(math.log(2), rel=1e-7)
    with np.errstate(all="raise"):  # no hidden 0 * -inf
        tp.entropy([1.0, 0.0])


@pytest.mark.parametrize("p, words", [
    ([0.5, -0.1, 0.6], "negative"), ([0.5, np.nan, 0.5], "NaN"), ([0.2, 0.2], "sum to 1"),
    ([], "empty"), (["a", "b"], "real numbers"),
])
def test_entropy_rejects_non_probabilities(p, words):
    with pytest.raises((ValueError, TypeError), match=words):
        tp.entropy(p)


@pytest.mark.parametrize("T", [0, -1.0, np.inf, np.nan])
def test_bad_temperature(T):
    with pytest.raises(ValueError, match="T must be finite and > 0"):
        tp.tempered_softmax(Z123, T)
    with pytest.raises(ValueError, match="T must be finite and > 0"):
        tp.smooth_max(Z123, T)


def test_bad_types():
    with pytest.raises(TypeError, match="T must be a real number"):
        tp.tempered_softmax(Z123, "1")
    with pytest.raises(TypeError, match="real numbers"):
        tp.tempered_softmax([1 + 1j, 2], 1.0)
    with pytest.raises(ValueError, match="NaN or \\+inf"):
        tp.tempered_softmax([np.inf, 1.0], 1.0)


# --------------------------------------------------------------------------
# Monotonicity facts, property-tested
# --------------------------------------------------------------------------

logit_vectors = arrays(np.float64, st.integers(2, 8),
                       elements=st.floats(-30, 30, allow_nan=False, allow_infinity=False))
temperature_pairs = st.tuples(st.floats(0.02, 50.0), st.floats(0.02, 50.0)).map(sorted)


@given(logit_vectors, st.floats(1e-3, 1e3))
def test_order_is_preserved_for_every_T(z, T):
    p = tp.tempered_softmax(z, T)
    assert np.isclose(p.sum(), 1.0)
    i, j = np.triu_indices(z.size, 1)
    # z_i < z_j implies p_i <= p_j (strict unless both underflow), ties tie
    assert np.all(p[i][z[i] < z[j]] <= p[j][z[i] < z[j]])
    assert np.all(p[i][z[i] > z[j]] >= p[j][z[i] > z[j]])
    assert np.all(p[i][z[i] == z[j]] == p[j][z[i] == z[j]])


@given(logit_vectors, temperature_pairs)
def test_max_falls_min_rises_entropy_rises(z, Ts):
    T1, T2 = Ts
    p1, p2 = tp.tempered_softmax(z, T1), tp.tempered_softmax(z, T2)
    tol = 1e-12
    assert p2.max() <= p1.max() + tol
    assert p2.min() >= p1.min() - tol
    assert tp.entropy(p2) >= tp.entropy(p1) - 1e-12


@given(logit_vectors, st.floats(1e-3, 1e3))
def test_smooth_max_bounds(z, T):
    s = tp.smooth_max(z, T)
    lo, hi = tp.smooth_max_bounds(z, T)
    assert lo == z.max()
    assert hi == pytest.approx(z.max() + T * math.log(z.size))
    assert lo <= s <= hi + 1e-12 * max(1.0, abs(hi))


@given(logit_vectors, temperature_pairs)
def test_smooth_max_is_non_decreasing_in_T(z, Ts):
    T1, T2 = Ts
    assert tp.smooth_max(z, T2) >= tp.smooth_max(z, T1) - 1e-12 * max(1.0, abs(z).max())


def test_middle_entry_goes_either_way():
    z = np.array([0.0, 9.0, 10.0])
    Ts = np.logspace(-1, 2, 400)
    paths = tp.tempered_softmax_grid(z, Ts)
    middle = paths[:, 1]
    k = int(np.argmax(middle))
    assert 0 < k < len(Ts) - 1                      # rises, then falls
    assert np.all(np.diff(middle[:k + 1]) > 0) and np.all(np.diff(middle[k:]) < 0)
    assert np.all(np.diff(paths[:, 2]) < 0) and np.all(np.diff(paths[:, 0]) > 0)
    T_peak = tp.peak_temperature(z, 1)
    assert Ts[k - 1] <= T_peak <= Ts[k + 1]
    # at the peak dp/dT = p (E[z] - z_1) / T^2 = 0, i.e. E_p[z] = z_1
    assert tp.tempered_softmax(z, T_peak) @ z == pytest.approx(9.0, abs=1e-9)
    h = 1e-5 * T_peak
    d = (tp.tempered_softmax(z, T_peak + h)[1] - tp.tempered_softmax(z, T_peak - h)[1]) / (2 * h)
    assert abs(d) < 1e-7
    assert tp.peak_temperature(z, 2) is None and tp.peak_temperature(z, 0) is None


# --------------------------------------------------------------------------
# The derivations: checked on their own, and against numbers
# --------------------------------------------------------------------------

def _fd(f, T, h=1e-5):
    return (f(T * (1 + h)) - f(T * (1 - h))) / (2 * T * h)


@pytest.mark.parametrize("z, T", [([1.0, 2.0, 3.0], 0.7), ([0.0, 9.0, 10.0, -3.0], 3.0)])
def test_derivatives_match_finite_differences(z, T):
    z = np.asarray(z)
    p = tp.tempered_softmax(z, T)
    var = p @ z ** 2 - (p @ z) ** 2
    dH = _fd(lambda t: tp.entropy(tp.tempered_softmax(z, t)), T)
    assert dH == pytest.approx(var / T ** 3, rel=1e-6)
    dS = _fd(lambda t: tp.smooth_max(z, t), T)
    assert dS == pytest.approx(tp.entropy(p), rel=1e-6)
    dp = _fd(lambda t: tp.tempered_softmax(z, t), T)
    np.testing.assert_allclose(dp, p * (p @ z - z) / T ** 2, rtol=1e-5, atol=1e-12)


def test_sympy_derivation_of_dH_dT():
    import sympy as sp

    steps = dv.entropy_temperature_derivative()
    assert all(isinstance(text, str) and isinstance(eq, sp.Eq) for text, eq in steps)
    T = sp.Symbol("T", positive=True)
    V = sp.Symbol(r"\operatorname{Var}_p(z)")
    last = steps[-1][1]
    assert sp.simplify(last.rhs - V / T ** 3) == 0
    # An independent check with n = 3 concrete logits: dH/dT - Var/T^3 == 0.
    z = sp.symbols("z1:4", real=True)
    e = [sp.exp(zi / T) for zi in z]
    Z = sum(e)
    p = [ei / Z for ei in e]
    H = sp.log(Z) - sum(pi * zi for pi, zi in zip(p, z)) / T
    var = sum(pi * zi ** 2 for pi, zi in zip(p, z)) - sum(pi * zi for pi, zi in zip(p, z)) ** 2
    diff = sp.diff(H, T) - var / T ** 3
    vals = {z[0]: 0.3, z[1]: -1.2, z[2]: 2.5, T: 0.8}
    assert abs(float(diff.subs(vals))) < 1e-12
    assert abs(float((sp.diff(H, T) - var / T ** 2).subs(vals))) > 1e-3  # the check can fail


def test_other_derivations_hold():
    import sympy as sp

    for fn in (dv.probability_temperature_derivative, dv.smooth_max_temperature_derivative,
               dv.moe_gate_homogeneity):
        steps = fn()
        assert steps and all(isinstance(eq, sp.Eq) for _, eq in steps)
    assert dv.smooth_max_temperature_derivative()[-1][1].rhs == sp.Symbol("H")
    assert dv.moe_gate_homogeneity()[-1][1].rhs == 0
    # the verifier rejects a false step
    T, n, i, j, z = dv._symbols()
    Z, mean, second, var = dv._moments(T, n, j, z)
    with pytest.raises(AssertionError):
        dv._verify("wrong power", sp.diff(sp.log(Z) - mean / T, T), var / T ** 2)


# --------------------------------------------------------------------------
# temperature_for_entropy
# --------------------------------------------------------------------------

@pytest.mark.parametrize("z, target", [(Z123, 0.83239558), (Z123, 0.01), (Z123, 1.0985),
                                       ([0.0, 0.0, 5.0], 0.7), ([0.0, 0.02], 0.01),
                                       ([3.0, -np.inf, 1.0, 2.0], 0.5)])
def test_temperature_for_entropy(z, target):
    T = tp.temperature_for_entropy(z, target)
    assert tp.entropy(tp.tempered_softmax(z, T)) == pytest.approx(target, abs=1e-10)
    if target == 0.83239558:
        assert T == pytest.approx(1.0, rel=1e-7)


@pytest.mark.parametrize("z, target", [(Z123, 0.0), (Z123, math.log(3)), (Z123, 2.0),
                                       ([0.0, 0.0, 5.0], -0.1), ([1.0, 1.0], 0.5),
                                       ([3.0, 3.0, 1.0], math.log(2))])
def test_temperature_for_entropy_out_of_range(z, target):
    with pytest.raises(ValueError, match="strictly between"):
        tp.temperature_for_entropy(z, target)


# --------------------------------------------------------------------------
# Decoding: Zipf, top-k, top-p, sampling
# --------------------------------------------------------------------------

def test_zipf_logits_give_zipf():
    z = tp.zipf_logits(50, s=1.2)
    for T in (0.6, 1.0, 2.0):
        want = scipy.stats.zipfian(1.2 / T, 50).pmf(np.arange(1, 51))
        np.testing.assert_allclose(tp.tempered_softmax(z, T), want, rtol=1e-10)
    with pytest.raises(ValueError):
        tp.zipf_logits(0)


def test_top_k():
    z = np.array([1.0, 5.0, 3.0, 3.0, -2.0])
    np.testing.assert_array_equal(tp.top_k_filter(z, 1), [-np.inf, 5, -np.inf, -np.inf, -np.inf])
    np.testing.assert_array_equal(tp.top_k_filter(z, 2), [-np.inf, 5, 3, 3, -np.inf])  # ties kept
    np.testing.assert_array_equal(tp.top_k_filter(z, 9), z)
    batch = np.array([[1.0, 2.0, 3.0], [3.0, 1.0, 2.0], [0.0, 4.0, 1.0]])
    np.testing.assert_array_equal(tp.top_k_filter(batch, 2, axis=0),
                                  [[1, 2, 3], [3, -np.inf, 2], [-np.inf, 4, -np.inf]])
    for bad in (0, 1.5, True):
        with pytest.raises((ValueError, TypeError), match="k must be an integer"):
            tp.top_k_filter(z, bad)


def test_top_p():
    p = np.array([0.5, 0.3, 0.15, 0.05])
    z = np.log(p)
    keep = lambda q: np.isfinite(tp.top_p_filter(z, q))  # noqa: E731
    np.testing.assert_array_equal(keep(0.5), [1, 0, 0, 0])
    np.testing.assert_array_equal(keep(0.51), [1, 1, 0, 0])
    np.testing.assert_array_equal(keep(0.9), [1, 1, 1, 0])
    np.testing.assert_array_equal(keep(1.0), [1, 1, 1, 1])
    np.testing.assert_array_equal(keep(1e-9), [1, 0, 0, 0])  # the top token always stays
    np.testing.assert_array_equal(np.isfinite(tp.top_p_filter(np.log([0.4, 0.4, 0.2]), 0.3)),
                                  [1, 1, 0])                  # ties with the last kept stay
    for bad in (0, 1.5, -0.1):
        with pytest.raises(ValueError, match=r"p must be in \(0, 1\]"):
            tp.top_p_filter(z, bad)


@given(logit_vectors, st.floats(0.01, 1.0), st.floats(0.1, 10.0))
def test_top_p_keeps_the_smallest_nucleus(z, top_p, T):
    probs = tp.tempered_softmax(z, T)
    kept = np.isfinite(tp.top_p_filter(z / T, top_p))
    assert kept[np.argmax(probs)]
    # kept tokens are the most likely ones, and together they reach p
    assert probs[kept].min() >= probs[~kept].max(initial=0)
    assert probs[kept].sum() >= top_p - 1e-9 or kept.all()


def test_sampling_probabilities_and_samples():
    z = tp.zipf_logits(20)
    q = tp.sampling_probabilities(z, 0.8, top_k=5)
    assert np.count_nonzero(q) == 5 and q.sum() == pytest.approx(1)
    np.testing.assert_allclose(q[:5], scipy.special.softmax(z[:5] / 0.8))
    q = tp.sampling_probabilities(z, 1.0, top_p=0.5)
    assert q[0] > 0 and np.all(np.diff(q) <= 0)
    draws = tp.sample_tokens(z, 1.3, size=20_000, top_k=8, rng=3)
    counts = np.bincount(draws, minlength=20)
    assert counts[8:].sum() == 0
    expected = tp.sampling_probabilities(z, 1.3, top_k=8)[:8] * draws.size
    assert scipy.stats.chisquare(counts[:8], expected).pvalue > 1e-4
    np.testing.assert_array_equal(draws, tp.sample_tokens(z, 1.3, size=20_000, top_k=8,
                                                          rng=np.random.default_rng(3)))
    assert isinstance(tp.sample_tokens(z, rng=0), int)


def test_sample_diversity_grows_with_T():
    z = tp.zipf_logits(50, 1.1)
    d = tp.sample_diversity(z, [0.3, 0.7, 1.0, 1.5, 3.0], 500, rng=0)
    assert np.all(np.diff(d["distinct"]) >= 0) and np.all(np.diff(d["entropy"]) > 0)
    np.testing.assert_allclose(d["entropy"], tp.entropy_curve(z, d["temperatures"]))
    assert np.all(d["sample_entropy"] <= np.log(500) + 1e-12)
    again = tp.sample_diversity(z, [0.3, 0.7, 1.0, 1.5, 3.0], 500, rng=0)
    np.testing.assert_array_equal(again["sample_entropy"], d["sample_entropy"])


# --------------------------------------------------------------------------
# Temperature in the wild
# --------------------------------------------------------------------------

def test_moe_gate_dense_to_sparse_and_scale_invariance():
    x = np.linspace(-2, 2, 9)
    w, b = np.array([-2.0, 0.0, 2.0]), np.array([0.0, 0.5, 0.0])
    dense, sparse = tp.moe_gate(x, w, b, 10.0), tp.moe_gate(x, w, b, 0.05)
    np.testing.assert_allclose(dense.sum(axis=1), 1)
    assert tp.perplexity(dense).min() > 2.5 and tp.perplexity(sparse).max() < 1.6
    np.testing.assert_allclose(tp.moe_gate(x, 3 * w, 3 * b, 3.0), tp.moe_gate(x, w, b, 1.0),
                               rtol=1e-12)
    scores = np.tanh(x[:, None] * w + b)
    np.testing.assert_allclose(tp.moe_gate(x, w, b, 0.5, activation=np.tanh),
                               scipy.special.softmax(scores / 0.5, axis=1), rtol=1e-12)
    assert not np.allclose(tp.moe_gate(x, 3 * w, 3 * b, 3.0, activation=np.tanh),
                           tp.moe_gate(x, w, b, 1.0, activation=np.tanh))
    with pytest.raises(ValueError, match="one number per expert"):
        tp.moe_gate(x, w, b[:2], 1.0)


def test_sac_alpha_converges_to_the_temperature_for_the_target_entropy():
    q = np.array([1.0, 0.5, -0.3, 2.0])
    target = 0.6 * math.log(4)
    run = tp.sac_tune_alpha(q, target, alpha0=5.0, lr=0.5, steps=200)
    assert len(run["alpha"]) == 201
    assert run["entropy"][-1] == pytest.approx(target, abs=1e-8)
    assert run["alpha"][-1] == pytest.approx(tp.temperature_for_entropy(q, target), rel=1e-7)
    assert run["alpha"][1] < run["alpha"][0]  # too random at alpha = 5: alpha goes down


def test_distillation():
    zt = np.array([9.0, 1.0, 4.0, -1.0, 5.0])
    zs = np.array([2.0, 0.0, -1.0, 1.0, 0.5])
    for T in (1.0, 4.0):
        q, p = scipy.special.softmax(zt / T), scipy.special.softmax(zs / T)
        np.testing.assert_allclose(tp.soft_targets(zt, T), q, rtol=1e-12)
        assert tp.distillation_loss(zs, zt, T) == pytest.approx(-T * T * np.sum(q * np.log(p)))
        g = tp.distillation_gradient(zs, zt, T)
        h = 1e-6
        fd = [(tp.distillation_loss(zs + h * e, zt, T) - tp.distillation_loss(zs - h * e, zt, T))
              / (2 * h) for e in np.eye(5)]
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    # high T: matching the (zero-mean) logits, gradient -> (z_s - z_t) / n
    zt0, zs0 = zt - zt.mean(), zs - zs.mean()
    np.testing.assert_allclose(tp.distillation_gradient(zs0, zt0, 1e4), (zs0 - zt0) / 5,
                               rtol=1e-3)
    assert tp.soft_targets(zt, 4.0)[1] > 100 * tp.soft_targets(zt, 1.0)[1]  # dark knowledge


# --------------------------------------------------------------------------
# The checks of the "Your turn" cells
# --------------------------------------------------------------------------

def entropy_solution(p):
    p = np.asarray(p, dtype=float)
    safe = np.where(p > 0, p, 1.0)
    return -np.sum(np.where(p > 0, p * np.log(safe), 0.0))


def temperature_solution(z, target):
    def H(T):
        return entropy_solution(softviz.softmax(np.asarray(z) / T))

    lo, hi = 1.0, 1.0
    while H(lo) > target:
        lo /= 2
    while H(hi) < target:
        hi *= 2
    while hi / lo - 1 > 1e-12:
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if H(mid) < target else (lo, mid)
    return math.sqrt(lo * hi)


def _fixed_bracket(z, target):
    lo, hi = 0.01, 10.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if entropy_solution(softviz.softmax(z / mid)) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _entropy_bits(z, target):  # bisects on the entropy in bits
    lo, hi = 1e-4, 1e4
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if entropy_solution(softviz.softmax(z / mid)) / math.log(2) < target:
            lo = mid
        else:
            hi = mid
    return mid


@pytest.mark.parametrize("check, fn", [
    (ex.check_entropy, entropy_solution),
    (ex.check_entropy, lambda p: float(scipy.stats.entropy(p))),
    (ex.check_entropy, lambda p: float(tp.entropy(p))),
    (ex.check_temperature_for_entropy, temperature_solution),
    (ex.check_temperature_for_entropy, tp.temperature_for_entropy),
])
def test_checks_accept_solutions(check, fn, capsys):
    result = check(fn)
    assert result.passed is True, result.message
    assert "passes all" in capsys.readouterr().out


ENTROPY_MISTAKES = [
    (lambda p: -np.sum(p * np.log(p)), "a zero entry [0.5, 0.5, 0]", "0 * -inf = NaN"),
    (lambda p: -np.sum(p * np.log2(np.where(p > 0, p, 1))), "softmax([1, 2, 3])", "bits"),
    (lambda p: np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0)), "softmax([1, 2, 3])",
     "sign is wrong"),
    (lambda p: -np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0), "softmax([1, 2, 3])",
     "add them up"),
    (lambda p: -np.sum(p * np.log(p + 1e-3)), "softmax([1, 2, 3])", "epsilon added"),
    (lambda p: -np.sum(p[p > 0] * np.log10(p[p > 0])), "softmax([1, 2, 3])", "base 10"),
]


@pytest.mark.parametrize("fn, case, words", ENTROPY_MISTAKES)
def test_check_entropy_rejects_mistakes(fn, case, words, capsys):
    result = ex.check_entropy(fn)
    out = " ".join(capsys.readouterr().out.split())
    assert result.passed is False and result.case == case, result.message
    assert words in out and f'fails case "{case}"' in out


TEMPERATURE_MISTAKES = [
    (_fixed_bracket, "z = [0, 0.02], target 0.01 (needs a small T)", "bracket is too narrow"),
    (_entropy_bits, "z = [1, 2, 3], target 0.5", "bits"),
    (lambda z, t: 1 / tp.temperature_for_entropy(z, t), "z = [1, 2, 3], target 0.5", "1/T"),
    (lambda z, t: -1.0, "z = [1, 2, 3], target 0.5", "finite number > 0"),
    (lambda z, t: np.array([1.0, 2.0]), "z = [1, 2, 3], target 0.5", "one number T"),
]


@pytest.mark.parametrize("fn, case, words", TEMPERATURE_MISTAKES)
def test_check_temperature_rejects_mistakes(fn, case, words, capsys):
    result = ex.check_temperature_for_entropy(fn)
    out = " ".join(capsys.readouterr().out.split())
    assert result.passed is False and result.case == case, result.message
    assert words in out


@pytest.mark.parametrize("check", [ex.check_entropy, ex.check_temperature_for_entropy])
def test_checks_never_raise(check, capsys):
    def stub(*args):
        return None

    def boom(*args):
        raise ZeroDivisionError("float division by zero")

    assert check(stub).passed is None and "not done yet" in capsys.readouterr().out
    assert check(None).passed is None
    result = check(boom)
    assert result.passed is False and "ZeroDivisionError" in result.message
    assert check(lambda *a: "abc").passed is False
    assert check(42).passed is False and "pass your function" in check(42).message


# --------------------------------------------------------------------------
# The panel, headless
# --------------------------------------------------------------------------

@pytest.fixture
def panel():
    from softviz.panels import TemperaturePanel
    from softviz.panels.base import offscreen

    with offscreen():
        p = TemperaturePanel()
    yield p
    p.close()


def test_panel_defaults_equal_the_library(panel):
    s = panel.state()
    assert s["logits"] == (1.0, 2.0, 3.0) and s["temperature"] == 1.0
    np.testing.assert_array_equal(s["probabilities"], tp.tempered_softmax(Z123, 1.0))
    assert s["entropy"] == tp.entropy(tp.tempered_softmax(Z123, 1.0))
    assert s["entropy"] == pytest.approx(0.83239558, rel=1e-8)
    assert s["perplexity"] == pytest.approx(math.exp(s["entropy"]))
    assert s["smooth_max"] == tp.smooth_max(Z123, 1.0)
    assert s["smooth_max_bounds"] == tp.smooth_max_bounds(Z123, 1.0)
    draws = tp.sample_tokens(Z123, 1.0, size=s["samples"], rng=s["seed"])
    np.testing.assert_array_equal(s["sample_frequencies"], np.bincount(draws, minlength=3) / draws.size)
    np.testing.assert_array_equal([b.get_height() for b in panel._bars], s["probabilities"])
    assert panel.last_error is None


def test_panel_T_down_sharpens(panel):
    before = panel.state()
    panel.set(temperature=0.3)
    after = panel.state()
    assert after["entropy"] < before["entropy"]
    assert after["probabilities"].max() > before["probabilities"].max()
    assert after["smooth_max"] < before["smooth_max"]
    np.testing.assert_array_equal(after["probabilities"], tp.tempered_softmax(Z123, 0.3))
    assert panel._h_dot.get_xydata().tolist() == [[0.3, after["entropy"]]]
    panel.controls["temperature"].value = 30.0          # as a user dragging the slider
    high = panel.state()
    assert high["entropy"] > before["entropy"] and high["perplexity"] > 2.9


def test_panel_edits_and_keywords(panel):
    fig, bars = panel.figure, list(panel._bars)
    panel.controls["logits"].children[0].value = 5.0    # type in the z1 box
    s = panel.state()
    np.testing.assert_array_equal(s["probabilities"], tp.tempered_softmax([5.0, 2.0, 3.0], 1.0))
    np.testing.assert_allclose(panel._h_line.get_ydata(),
                               tp.entropy_curve([5.0, 2.0, 3.0], panel._h_line.get_xdata()))
    assert panel.figure is fig and list(panel._bars) == bars
    from softviz.panels import TemperaturePanel
    from softviz.panels.base import offscreen

    with offscreen():
        q = TemperaturePanel(logits=[0, 9, 10, 1], temperature=0.5, samples=200, seed=7)
    s = q.state()
    assert s["probabilities"].shape == (4,) and s["samples"] == 200 and s["seed"] == 7
    assert s["smooth_max"] == tp.smooth_max([0, 9, 10, 1], 0.5)
    q.set(seed=8, samples=500)
    draws = tp.sample_tokens([0, 9, 10, 1], 0.5, size=500, rng=8)
    np.testing.assert_array_equal(q.state()["sample_frequencies"],
                                  np.bincount(draws, minlength=4) / 500)
    state = q.state()
    state["probabilities"][:] = 0
    assert q.state()["probabilities"].sum() == pytest.approx(1)
    q.close()


@pytest.mark.parametrize("kwargs", [{"temperature": 0.0}, {"temperature": 1e3},
                                    {"logits": [1.0]}, {"logits": list(range(9))},
                                    {"logits": 3.0}, {"samples": 0}])
def test_panel_bad_values(kwargs):
    from softviz.panels import TemperaturePanel

    with pytest.raises(ValueError):
        TemperaturePanel(**kwargs)


def test_derivations_render_as_latex_in_a_notebook():
    steps = dv.entropy_temperature_derivative()
    latex = steps._repr_latex_()
    assert latex.startswith("$$\\begin{aligned}") and latex.endswith("\\end{aligned}$$")
    assert latex.count(r"\\") == len(steps) - 1 and r"\operatorname{Var}_p(z)" in latex
    assert "_" not in "".join(latex.split(r"\text{")[1:]).split("}")[0]  # plain words in \text


# --------------------------------------------------------------------------
# Robust inputs (issue 15)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("call, exc, words", [
    (lambda: tp.entropy([0.5, 0.5], axis=True), TypeError, "axis must be an integer"),
    (lambda: tp.entropy([0.5, 0.5], axis=3), ValueError, "axis 3 is out of bounds"),
    (lambda: tp.top_p_filter([], 0.9), ValueError, "z must not be empty"),
    (lambda: tp.peak_temperature([], 1), ValueError, "z must not be empty"),
    (lambda: tp.peak_temperature([0.0, 9.0, 10.0], 3), ValueError, "i must be an index into z"),
    (lambda: tp.zipf_logits(10, s=None), TypeError, "s must be a real number"),
    (lambda: tp.zipf_logits(2 ** 63), ValueError, "n must be an integer in"),
    (lambda: tp.sac_tune_alpha(Z123, 0.5, steps=-1), ValueError, "steps must be an integer in"),
    (lambda: tp.sac_tune_alpha(Z123, 0.5, steps=1e308), TypeError, "steps must be an integer"),
    (lambda: tp.sac_tune_alpha(Z123, 0.5, steps=10 ** 12), ValueError, "steps must be"),
    (lambda: tp.sac_tune_alpha(Z123, 0.5, lr=1e6), ValueError, "lr must be in"),
    (lambda: tp.sac_tune_alpha(Z123, 5.0), ValueError, "target_entropy .* q"),
    (lambda: tp.sample_tokens(Z123, size=b"\x00\x02"), TypeError, "size must be"),
    (lambda: tp.sample_tokens(Z123, size=10 ** 400), ValueError, "the limit"),
    (lambda: tp.sample_tokens(Z123, rng=1.5), TypeError, "rng must be"),
    (lambda: tp.sampling_probabilities(Z123, top_k=0), ValueError, "top_k"),
    (lambda: tp.sampling_probabilities(Z123, top_p=2.0), ValueError, "top_p"),
    (lambda: tp.moe_gate([1.0], [1.0], [0.0], 1.0, activation="tanh"), TypeError, "activation"),
    (lambda: tp.moe_gate([1e308], [10.0], [0.0], 1.0), ValueError, "x, weights and biases"),
    (lambda: tp.tempered_softmax([-np.inf, -np.inf], 1.0), ValueError, "-inf only"),
    (lambda: tp.soft_targets(None, 2.0), TypeError, "teacher_logits"),
    (lambda: tp.distillation_loss([1.0, 2.0], Z123, 2.0), ValueError, "student_logits and teacher_logits"),
])
def test_bad_input_is_refused_naming_the_parameter(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


def test_sac_tune_alpha_steps_and_large_lr():
    q = np.array([1.0, 2.0, 3.0])
    run = tp.sac_tune_alpha(q, 0.5, steps=0)
    assert run["alpha"].shape == (1,) and run["entropy"].shape == (1,)
    # the largest lr oscillates but alpha stays a finite positive number: no error blaming T
    run = tp.sac_tune_alpha(q, 0.5, lr=100.0, steps=20)
    assert np.isfinite(run["alpha"]).all() and (run["alpha"] > 0).all()
    assert np.isfinite(run["entropy"]).all()


def test_huge_logits_keep_peak_and_entropy_temperatures_scale_invariant():
    z = np.array([0.0, 9.0, 10.0])
    scale = 2.0 ** 1000  # exact: every T scales with it
    assert tp.peak_temperature(z * scale, 1) == pytest.approx(tp.peak_temperature(z, 1) * scale,
                                                              rel=1e-10)
    t = tp.temperature_for_entropy(z * scale, 0.5)
    assert t == pytest.approx(tp.temperature_for_entropy(z, 0.5) * scale, rel=1e-10)
    # logits spread over the whole float range: no overflow inside, no NaN out
    huge = np.array([1e308, -1e308, 0.0])
    assert np.isfinite(tp.tempered_softmax(huge, 1e300)).all()
    assert math.isfinite(tp.smooth_max(huge, 1.0))


def test_distillation_loss_at_the_smallest_temperature_is_finite():
    # T^2 underflows to 0 while log p overflows to -inf: computed as T * sum q (T log p), no 0 * inf
    loss = tp.distillation_loss([1.0, 2.0, 3.0], [3.0, 2.0, 1.0], 5e-324)
    assert math.isfinite(loss) and loss >= 0
    assert tp.distillation_loss([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], 5e-324) == 0.0
