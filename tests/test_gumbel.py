"""Tests of softviz.gumbel, GumbelPanel, the Gumbel derivations and check_gumbel_max.

Statistical tests draw at least 10^5 samples from fixed seeds and reject at
p < 1e-3; each comes with a deliberately biased sampler that the same test
must reject, so the tests are shown to have power. References are independent
of the code under test: scipy.stats distributions, closed forms, hand-computed
Plackett-Luce probabilities, numpy's own sampler, finite differences, numerical
integration.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.special
import scipy.stats
import sympy as sp

from softviz import gumbel as gm
from softviz.panels.base import offscreen

ALPHA = 1e-3
N = 100_000
Z3 = np.array([1.0, 2.0, 3.0])
P3 = np.array([0.09003057, 0.24472847, 0.66524096])  # softmax([1, 2, 3]), to 8 digits


def softmax(z):
    return scipy.special.softmax(np.asarray(z, dtype=float))


def chisquare_p(samples, probs):
    """An independent chi-square test: scipy directly, every class expected >= 5 here."""
    counts = np.bincount(np.ravel(samples), minlength=len(probs))
    return scipy.stats.chisquare(counts, len(np.ravel(samples)) * np.asarray(probs)).pvalue


# Biased samplers: the statistical tests must reject them.
def exponential_noise_max(z, size, rng):
    return np.argmax(z + rng.standard_exponential((size, len(z))), axis=-1)


def argmin_sampler(z, size, rng):
    return np.argmin(z + gm.sample_gumbel((size, len(z)), rng), axis=-1)


def slightly_biased_max(z, size, rng):
    # Gumbel noise with scale 1.05: a 5 % temperature error, hard to see by eye.
    return np.argmax(z + 1.05 * gm.sample_gumbel((size, len(z)), rng), axis=-1)


# --------------------------------------------------------------------------
# Gumbel noise
# --------------------------------------------------------------------------

def test_sample_gumbel_follows_the_gumbel_distribution():
    g = gm.sample_gumbel(N, rng=1)
    assert g.shape == (N,) and g.dtype == np.float64 and np.isfinite(g).all()
    assert scipy.stats.kstest(g, scipy.stats.gumbel_r.cdf).pvalue > ALPHA
    assert abs(g.mean() - np.euler_gamma) < 5 * math.pi / math.sqrt(6 * N)
    assert g.var() == pytest.approx(math.pi ** 2 / 6, rel=0.03)
    # power: -log(U) (exponential) and a Gumbel of scale 1.05 are rejected
    rng = np.random.default_rng(1)
    assert scipy.stats.kstest(rng.standard_exponential(N), scipy.stats.gumbel_r.cdf).pvalue < ALPHA
    assert scipy.stats.kstest(1.05 * g, scipy.stats.gumbel_r.cdf).pvalue < ALPHA


def test_sample_gumbel_shapes_and_reproducibility():
    assert gm.sample_gumbel((), 0).shape == ()
    assert gm.sample_gumbel((2, 3), 0).shape == (2, 3)
    np.testing.assert_array_equal(gm.sample_gumbel(5, 7), gm.sample_gumbel(5, 7))
    rng = np.random.default_rng(7)
    a, b = gm.sample_gumbel(5, rng), gm.sample_gumbel(5, rng)
    assert not np.array_equal(a, b)                       # a Generator moves on
    np.testing.assert_array_equal(a, gm.sample_gumbel(5, 7))
    # same numbers as -log(-log U) computed by hand from the same generator
    np.testing.assert_allclose(gm.sample_gumbel(4, 3),
                               -np.log(-np.log(np.random.default_rng(3).random(4))), rtol=1e-15)


# --------------------------------------------------------------------------
# Gumbel-max
# --------------------------------------------------------------------------

def test_gumbel_max_is_softmax_distributed():
    draws = gm.gumbel_max(Z3, size=N, rng=2)
    assert draws.shape == (N,) and draws.dtype.kind == "i"
    assert chisquare_p(draws, P3) > ALPHA
    assert gm.chisquare_gof(draws, softmax(Z3)).pvalue == pytest.approx(
        chisquare_p(draws, softmax(Z3)), rel=1e-9)


@pytest.mark.parametrize("biased", [exponential_noise_max, argmin_sampler, slightly_biased_max])
def test_the_gumbel_max_test_has_power(biased):
    draws = biased(Z3, N, np.random.default_rng(2))
    assert chisquare_p(draws, P3) < ALPHA
    assert gm.chisquare_gof(draws, P3 / P3.sum()).pvalue < ALPHA


def test_gumbel_max_never_draws_minus_inf_and_handles_large_logits():
    z = np.array([0.5, -np.inf, 0.0, 1.5, -np.inf])
    draws = gm.gumbel_max(z, size=N, rng=3)
    counts = np.bincount(draws, minlength=5)
    assert counts[1] == counts[4] == 0
    live = np.array([0, 2, 3])
    relabelled = np.searchsorted(live, draws)             # classes 0, 2, 3 -> 0, 1, 2
    assert chisquare_p(relabelled, softmax(z[live])) > ALPHA
    big = gm.gumbel_max([1000.0, 1002.0, 1001.0], size=N, rng=4)   # no exp: no overflow
    assert chisquare_p(big, softmax([0.0, 2.0, 1.0])) > ALPHA
    assert gm.gumbel_max([-np.inf, 3.0], size=10, rng=0).tolist() == [1] * 10


def test_gumbel_max_size_and_reproducibility():
    one = gm.gumbel_max(Z3, rng=5)
    assert one.shape == () and 0 <= int(one) < 3
    assert gm.gumbel_max(Z3, size=(4, 5), rng=5).shape == (4, 5)
    np.testing.assert_array_equal(gm.gumbel_max(Z3, 100, 5), gm.gumbel_max(Z3, 100, 5))
    assert gm.gumbel_max(Z3, 0, 5).shape == (0,)


def test_chisquare_gof_details():
    fit = gm.chisquare_gof(np.array([0, 0, 1, 2, 2, 2]), [0.5, 0.5, 0.0])
    assert fit.pvalue == 0.0 and fit.statistic == math.inf   # an impossible class was drawn
    # expected counts below 5 are pooled: 4 classes of 1 % each become one bin
    p = np.array([0.48, 0.48, 0.01, 0.01, 0.01, 0.01])
    draws = np.repeat(np.arange(6), [96, 96, 2, 2, 2, 2])
    fit = gm.chisquare_gof(draws, p)
    assert fit.dof == 2 and fit.pvalue == pytest.approx(1.0)
    np.testing.assert_array_equal(fit.counts, [96, 96, 2, 2, 2, 2])
    # pooled bin still below 5 (4 x 1 expected): merged into the smallest other bin
    fit = gm.chisquare_gof(np.repeat(np.arange(6), [40, 50, 10, 0, 0, 0]), p)
    assert fit.dof == 1 and fit.pvalue == pytest.approx(
        scipy.stats.chisquare([50, 50], [52, 48]).pvalue)
    with pytest.raises(ValueError, match="sum to 1"):
        gm.chisquare_gof([0, 1], [0.5, 0.6])
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        gm.chisquare_gof([0, 2], [0.5, 0.5])
    with pytest.raises(TypeError, match="integer"):
        gm.chisquare_gof([0.0, 1.0], [0.5, 0.5])


# --------------------------------------------------------------------------
# Gumbel-softmax
# --------------------------------------------------------------------------

def test_gumbel_softmax_is_softmax_of_perturbed_logits():
    z = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]])
    for tau in (0.1, 1.0, 7.0):
        y = gm.gumbel_softmax(z, tau=tau, rng=8)
        g = gm.sample_gumbel(z.shape, 8)                       # the same noise
        np.testing.assert_allclose(y, scipy.special.softmax((z + g) / tau, axis=-1), rtol=1e-12)
    yt = gm.gumbel_softmax(z.T, tau=0.5, axis=0, rng=8)
    np.testing.assert_allclose(yt.sum(axis=0), 1.0)
    np.testing.assert_allclose(
        yt, scipy.special.softmax((z.T + gm.sample_gumbel(z.T.shape, 8)) / 0.5, axis=0), rtol=1e-12)


def test_gumbel_softmax_tiny_tau_and_masks():
    y = gm.gumbel_softmax([1.0, -np.inf, 2.0], tau=1e-300, rng=0)   # no inf / inf
    assert np.isfinite(y).all() and sorted(y.tolist()) == [0.0, 0.0, 1.0] and y[1] == 0.0
    y = gm.gumbel_softmax(np.broadcast_to([0.0, -np.inf, 0.0], (1000, 3)), tau=3.0, rng=0)
    assert (y[:, 1] == 0).all()


def test_hard_gumbel_softmax_is_the_exact_one_hot_of_the_soft_argmax():
    z = np.broadcast_to(Z3, (N, 3))
    soft = gm.gumbel_softmax(z, tau=0.7, rng=9)
    hard = gm.gumbel_softmax(z, tau=0.7, hard=True, rng=9)
    assert set(np.unique(hard).tolist()) == {0.0, 1.0}
    np.testing.assert_array_equal(hard.sum(axis=1), 1.0)                # exactly, not ~
    np.testing.assert_array_equal(np.argmax(hard, axis=1), np.argmax(soft, axis=1))
    # whatever tau, the argmax is a Gumbel-max draw
    assert chisquare_p(np.argmax(hard, axis=1), P3) > ALPHA
    wide = gm.gumbel_softmax(np.broadcast_to(Z3, (N, 3)).T, tau=20.0, hard=True, axis=0, rng=10)
    assert chisquare_p(np.argmax(wide, axis=0), P3) > ALPHA


def test_tau_moves_samples_from_corners_to_centre():
    z = np.broadcast_to(Z3, (20_000, 3))
    top = [np.median(gm.gumbel_softmax(z, tau=tau, rng=11).max(axis=1)) for tau in (0.05, 1, 20)]
    assert top[0] > 0.999 and top[2] < 0.45 and top[0] > top[1] > top[2]


# --------------------------------------------------------------------------
# Binary Concrete and the Concrete density
# --------------------------------------------------------------------------

@pytest.mark.parametrize("tau", [0.4, 2.0])
def test_binary_concrete_cdf_matches_samples(tau):
    z = np.array([0.7, -0.3])
    y1 = gm.gumbel_softmax(np.broadcast_to(z, (N, 2)), tau=tau, rng=12)[:, 0]
    cdf = lambda t: gm.binary_concrete_cdf(t, z, tau)  # noqa: E731
    assert scipy.stats.kstest(y1, cdf).pvalue > ALPHA
    # power: a 10 % error in tau, or the logits swapped, are rejected
    assert scipy.stats.kstest(y1, lambda t: gm.binary_concrete_cdf(t, z, 1.1 * tau)).pvalue < ALPHA
    assert scipy.stats.kstest(y1, lambda t: gm.binary_concrete_cdf(t, z[::-1], tau)).pvalue < ALPHA


def test_binary_concrete_cdf_values():
    # y1 = 1/2 exactly when G1 - G2 <= z2 - z1: logistic CDF at -(z1 - z2)
    assert gm.binary_concrete_cdf(0.5, [0.7, -0.3], 2.0) == pytest.approx(1 / (1 + math.e))
    np.testing.assert_array_equal(gm.binary_concrete_cdf([-1.0, 0.0, 1.0, 2.0], [0, 0], 1.0),
                                  [0.0, 0.0, 1.0, 1.0])
    # tau = 1, equal logits: Y1 = sigmoid(L) is uniform
    t = np.linspace(0.01, 0.99, 7)
    np.testing.assert_allclose(gm.binary_concrete_cdf(t, [0.3, 0.3], 1.0), t, rtol=1e-12)


def test_concrete_density_integrates_to_one_and_is_the_cdf_derivative():
    z = np.array([0.5, -0.2, 1.0])
    # midpoint rule on a 1000 x 1000 grid over the triangle y1 + y2 < 1
    h = 1e-3
    c = (np.arange(1000) + 0.5) * h
    y1, y2 = (a.ravel() for a in np.meshgrid(c, c, indexing="ij"))
    inside = 1 - y1 - y2 > 1e-12
    pts = np.stack([y1[inside], y2[inside], 1 - y1[inside] - y2[inside]], axis=-1)
    for tau in (1.5, 2.0):
        assert gm.concrete_density(pts, z, tau).sum() * h * h == pytest.approx(1.0, abs=1e-4)
    tau = 0.8
    # n = 2: the density of Y1 is the derivative of the binary CDF
    z2, h = np.array([0.7, -0.3]), 1e-6
    for y1 in (0.1, 0.5, 0.93):
        fd = (gm.binary_concrete_cdf(y1 + h, z2, tau) - gm.binary_concrete_cdf(y1 - h, z2, tau)) / (2 * h)
        assert float(gm.concrete_density([y1, 1 - y1], z2, tau)) == pytest.approx(fd, rel=1e-6)
    # shifting every logit changes nothing; a point off the simplex is refused
    y = np.array([0.2, 0.3, 0.5])
    assert gm.concrete_log_density(y, z + 40, tau) == pytest.approx(gm.concrete_log_density(y, z, tau))
    with pytest.raises(ValueError, match="open simplex"):
        gm.concrete_density([0.2, 0.3, 0.6], z, tau)


# --------------------------------------------------------------------------
# The soft sample's Jacobian (straight-through backward pass)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("tau", [0.3, 1.0, 4.0])
def test_soft_sample_jacobian_matches_finite_differences(tau):
    z, h = np.array([0.3, -1.2, 0.8, 0.1]), 1e-6
    y = gm.gumbel_softmax(z, tau=tau, rng=13)
    jac = gm.soft_sample_jacobian(y, tau)
    fd = np.empty((4, 4))
    for j in range(4):
        e = np.zeros(4)
        e[j] = h
        # the same seed gives the same noise: only the logit moves
        fd[:, j] = (gm.gumbel_softmax(z + e, tau=tau, rng=13)
                    - gm.gumbel_softmax(z - e, tau=tau, rng=13)) / (2 * h)
    np.testing.assert_allclose(jac, fd, atol=1e-8)
    np.testing.assert_allclose(jac.sum(axis=0), 0.0, atol=1e-15)
    np.testing.assert_allclose(jac, jac.T)
    batch = gm.soft_sample_jacobian(np.stack([y, y[::-1]]), tau)
    assert batch.shape == (2, 4, 4)
    np.testing.assert_allclose(batch[0], jac)


# --------------------------------------------------------------------------
# Gumbel-top-k
# --------------------------------------------------------------------------

Z4 = np.array([1.0, 2.0, 3.0, 0.0])


def pair_probabilities(z):
    """P(first = i, second = j) = p_i p_j / (1 - p_i), by hand, for all i != j."""
    p = softmax(z)
    pairs = [(i, j) for i in range(len(z)) for j in range(len(z)) if i != j]
    return pairs, np.array([p[i] * p[j] / (1 - p[i]) for i, j in pairs])


def pair_codes(draws, n):
    codes = draws[:, 0] * n + draws[:, 1]
    pairs, _ = pair_probabilities(np.zeros(n))
    index = {i * n + j: k for k, (i, j) in enumerate(pairs)}
    return np.array([index[c] for c in codes.tolist()])


def test_gumbel_top_k_pairs_follow_plackett_luce():
    draws = gm.gumbel_top_k(Z4, 2, rng=14, size=N)
    assert draws.shape == (N, 2) and (draws[:, 0] != draws[:, 1]).all()
    pairs, exact = pair_probabilities(Z4)
    assert chisquare_p(pair_codes(draws, 4), exact) > ALPHA
    assert chisquare_p(draws[:, 0], softmax(Z4)) > ALPHA           # first draw: Gumbel-max
    for (i, j), q in zip(pairs, exact):
        assert gm.plackett_luce_probability([i, j], Z4) == pytest.approx(q, rel=1e-12)
    # power: the top 2 of logits + exponential noise is rejected
    rng = np.random.default_rng(14)
    biased = np.argsort(-(Z4 + rng.standard_exponential((N, 4))), axis=1)[:, :2]
    assert chisquare_p(pair_codes(biased, 4), exact) < ALPHA


def test_numpy_choice_without_replacement_agrees():
    # numpy's sequential sampler, one call per draw (about 3 s for 10^5 draws)
    result = gm.compare_top_k(Z4, 2, n_draws=N, rng=15)
    _, exact = pair_probabilities(Z4)
    np.testing.assert_allclose(result.exact, exact, rtol=1e-12)
    assert [tuple(o) for o in result.orders] == pair_probabilities(Z4)[0]
    assert result.gumbel_counts.sum() == result.numpy_counts.sum() == N
    assert result.gumbel_pvalue > ALPHA and result.numpy_pvalue > ALPHA
    assert scipy.stats.chisquare(result.numpy_counts, N * exact).pvalue == pytest.approx(
        result.numpy_pvalue)
    # and the two samplers agree with each other (test of homogeneity)
    table = np.array([result.gumbel_counts, result.numpy_counts])
    assert scipy.stats.chi2_contingency(table).pvalue > ALPHA


def test_gumbel_top_k_details():
    z = np.array([0.0, -np.inf, 1.0, 2.0])
    perm = gm.gumbel_top_k(z, 3, rng=16, size=1000)
    assert (np.sort(perm, axis=1) == [0, 2, 3]).all()                # -inf never drawn
    one = gm.gumbel_top_k(Z4, 2, rng=16)
    assert one.shape == (2,) and one.dtype.kind == "i"
    np.testing.assert_array_equal(one, gm.gumbel_top_k(Z4, 2, rng=16))
    assert gm.gumbel_top_k(Z4, 0, rng=0).shape == (0,)
    # the order is the order of the perturbed logits
    keys = Z4 + gm.sample_gumbel((4,), 17)
    np.testing.assert_array_equal(gm.gumbel_top_k(Z4, 4, rng=17), np.argsort(-keys))


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, words", [
    (lambda: gm.gumbel_softmax(Z3, tau=0.0), ValueError, "tau"),
    (lambda: gm.gumbel_softmax(Z3, tau=-1.0), ValueError, "tau"),
    (lambda: gm.gumbel_softmax(Z3, tau=float("nan")), ValueError, "tau"),
    (lambda: gm.gumbel_softmax(Z3, tau=float("inf")), ValueError, "tau"),
    (lambda: gm.gumbel_softmax(Z3, tau="1"), TypeError, "tau"),
    (lambda: gm.gumbel_softmax(Z3, hard="yes"), TypeError, "hard"),
    (lambda: gm.gumbel_softmax(Z3, axis=1), ValueError, "axis"),
    (lambda: gm.gumbel_softmax([-np.inf, -np.inf]), ValueError, "-inf"),
    (lambda: gm.gumbel_max([1.0, np.nan]), ValueError, "NaN"),
    (lambda: gm.gumbel_max([1.0, np.inf]), ValueError, r"\+inf"),
    (lambda: gm.gumbel_max([]), ValueError, "empty"),
    (lambda: gm.gumbel_max([[1.0, 2.0]]), ValueError, "1-D"),
    (lambda: gm.gumbel_max(["a", "b"]), TypeError, "real numbers"),
    (lambda: gm.gumbel_max([1.0 + 1j]), TypeError, "real numbers"),
    (lambda: gm.gumbel_max(Z3, size=-1), ValueError, "size"),
    (lambda: gm.gumbel_max(Z3, size=2.5), TypeError, "size"),
    (lambda: gm.gumbel_top_k(Z3, 4), ValueError, "k must be between 0 and 3"),
    (lambda: gm.gumbel_top_k([1.0, -np.inf, 2.0], 3), ValueError, "between 0 and 2"),
    (lambda: gm.gumbel_top_k(Z3, -1), ValueError, "k must"),
    (lambda: gm.gumbel_top_k(Z3, 1.5), TypeError, "k must be an integer"),
    (lambda: gm.gumbel_top_k(Z3, True), TypeError, "k must be an integer"),
    (lambda: gm.binary_concrete_cdf(0.5, Z3, 1.0), ValueError, "two finite logits"),
    (lambda: gm.soft_sample_jacobian([0.5, 1.5], 1.0), ValueError, "probability"),
    (lambda: gm.ternary_xy([0.5, 0.5]), ValueError, "3 entries"),
    (lambda: gm.plackett_luce_probability([0, 0], Z3), ValueError, "distinct"),
])
def test_bad_input_is_refused_with_a_clear_message(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_ternary_xy():
    corners = gm.ternary_xy(np.eye(3))
    np.testing.assert_allclose(corners, [[0, 0], [1, 0], [0.5, math.sqrt(3) / 2]], atol=1e-15)
    np.testing.assert_allclose(gm.ternary_xy([1 / 3] * 3), corners.mean(axis=0))
    # equilateral: all sides 1
    d = np.linalg.norm(corners[:, None] - corners[None], axis=-1)
    np.testing.assert_allclose(d[np.triu_indices(3, 1)], 1.0)


# --------------------------------------------------------------------------
# Derivations
# --------------------------------------------------------------------------

def test_gumbel_max_derivation_ends_in_softmax():
    from softviz.derive import gumbel_max_derivation

    for n in (2, 3):
        steps = gumbel_max_derivation(n)
        z = sp.symbols(f"z1:{n + 1}", real=True)
        final = steps[-1].equation.rhs
        assert sp.simplify(final - sp.exp(z[0]) / sum(sp.exp(zj) for zj in z)) == 0
    steps = gumbel_max_derivation(3)
    x = sp.Symbol("x", real=True)
    # the density is the derivative of the CDF, and integrates to 1
    cdf, dens = steps[0].equation.rhs, steps[1].equation.rhs
    assert sp.simplify(sp.diff(cdf, x) - dens) == 0
    # the stated integrals agree numerically with the softmax, step by step
    values = {sp.Symbol(f"z{i}", real=True): v for i, v in zip((1, 2, 3), (0.3, -0.4, 1.1))}
    want = softmax([0.3, -0.4, 1.1])[0]
    S = sp.Symbol("S", positive=True)
    for step in steps[2:5]:
        integral = step.equation.rhs.subs(values).subs(S, float(np.exp([0.3, -0.4, 1.1]).sum()))
        f = sp.lambdify(integral.variables[0], integral.function, "math")
        lo, hi = (float(b) for b in integral.limits[0][1:])
        lo, hi = max(lo, -30.0), min(hi, 60.0)  # the integrands are < 1e-13 outside
        got, _ = scipy.integrate.quad(f, lo, hi)
        assert got == pytest.approx(want, rel=1e-7), step.text
    with pytest.raises(ValueError, match="n"):
        gumbel_max_derivation(1)


@pytest.mark.parametrize("bad, exc", [(10 ** 12, ValueError), (2 ** 63, ValueError), (10 ** 400, ValueError),
                                      (51, ValueError), (3.0, TypeError), (True, TypeError),
                                      (None, TypeError), ("3", TypeError)])
def test_gumbel_max_derivation_bounds_n(bad, exc):
    """A huge n used to run for hours in sympy; it is refused at once, naming n and its limit."""
    from softviz.derive import gumbel as dgm

    with pytest.raises(exc, match="^n must be") as err:
        dgm.gumbel_max_derivation(bad)
    if exc is ValueError:
        assert f"[2, {dgm.MAX_CLASSES}]" in str(err.value)


def test_gumbel_cdf_symbolic_and_numeric():
    from softviz.derive.gumbel import CDF_NUMBER_LIMIT, gumbel_cdf

    x, z = sp.symbols("x z", real=True)
    assert gumbel_cdf(x, z) == sp.exp(-sp.exp(-(x - z)))
    assert float(gumbel_cdf(0.5)) == pytest.approx(math.exp(-math.exp(-0.5)), rel=1e-15)
    assert float(gumbel_cdf(2, 1)) == pytest.approx(math.exp(-math.exp(-1.0)), rel=1e-15)
    assert float(gumbel_cdf(np.float64(0.25), sp.Float(-0.5))) == pytest.approx(
        math.exp(-math.exp(-0.75)), rel=1e-14)
    # the edges of the accepted range evaluate (quickly) to 0 and 1
    assert float(gumbel_cdf(-float(CDF_NUMBER_LIMIT))) == 0.0
    assert float(gumbel_cdf(float(CDF_NUMBER_LIMIT))) == 1.0


@pytest.mark.parametrize("name", ["x", "location"])
@pytest.mark.parametrize("bad, exc", [
    (None, TypeError), ("x", TypeError), (b"\x00", TypeError), ([], TypeError), ([[1], [1, 2]], TypeError),
    ({}, TypeError), (object(), TypeError), (True, TypeError), (1j, TypeError),
    (math.nan, ValueError), (math.inf, ValueError), (1e308, ValueError), (-1e308, ValueError),
    (10 ** 12, ValueError), (2 ** 63, ValueError), (10 ** 400, ValueError), (sp.oo, ValueError),
])
def test_gumbel_cdf_checks_its_arguments(name, bad, exc):
    """Numbers far out used to exhaust memory in sympy (exp(-exp(1e12))); non-numbers gave
    Python's "unsupported operand" message."""
    from softviz.derive import gumbel_cdf

    kwargs = {"x": 0.5, "location": 0, name: bad}
    with pytest.raises(exc, match=f"^{name} must be"):
        gumbel_cdf(**kwargs)


def test_binary_concrete_derivation_gives_the_logistic_and_the_cdf():
    from softviz.derive import binary_concrete_derivation

    steps = binary_concrete_derivation()
    u = sp.Symbol("u", real=True)
    assert sp.simplify(steps[2].equation.rhs - 1 / (1 + sp.exp(-u))) == 0
    cdf = steps[-1].equation.rhs
    symbols = {s.name: s for s in cdf.free_symbols}
    f = sp.lambdify([symbols["y"], symbols["tau"], symbols["z1"], symbols["z2"]], cdf, "math")
    for y1, tau in ((0.2, 0.5), (0.7, 2.0)):
        assert f(y1, tau, 0.7, -0.3) == pytest.approx(
            float(gm.binary_concrete_cdf(y1, [0.7, -0.3], tau)), rel=1e-12)
    # the logistic is the CDF of G1 - G2: check against scipy numerically
    integral = steps[0].equation.rhs.subs(u, 0.8)
    g = integral.variables[0]
    got, _ = scipy.integrate.quad(sp.lambdify(g, integral.function, "math"), -10, 40)
    assert got == pytest.approx(scipy.stats.logistic.cdf(0.8), rel=1e-8)


# --------------------------------------------------------------------------
# The exercise check
# --------------------------------------------------------------------------

def solution(logits, size, rng):
    u = rng.random((size, len(logits)))
    return np.argmax(logits - np.log(-np.log(u)), axis=-1)


def minus_log_u(logits, size, rng):
    return np.argmax(logits - np.log(rng.random((size, len(logits)))), axis=-1)


def sign_slip(logits, size, rng):
    return np.argmax(logits + np.log(-np.log(rng.random((size, len(logits))))), axis=-1)


def argmin_solution(logits, size, rng):
    return np.argmin(logits - np.log(-np.log(rng.random((size, len(logits))))), axis=-1)


def gaussian_noise(logits, size, rng):
    return np.argmax(logits + rng.standard_normal((size, len(logits))), axis=-1)


def global_rng(logits, size, rng):
    return np.argmax(logits - np.log(-np.log(np.random.random((size, len(logits))))), axis=-1)


def naive_softmax_choice(logits, size, rng):
    p = np.exp(logits)
    return rng.choice(len(logits), size, p=p / p.sum())


def clipped_mask(logits, size, rng):
    return solution(np.maximum(logits, -5.0), size, rng)


def test_check_accepts_the_solution(capsys):
    from softviz.exercises import check_gumbel_max

    result = check_gumbel_max(solution)
    assert result.passed is True and "passes" in capsys.readouterr().out


@pytest.mark.parametrize("fn, case, words", [
    (minus_log_u, "[1, 2, 3]", "exponential"),
    (sign_slip, "[1, 2, 3]", "sign"),
    (argmin_solution, "[1, 2, 3]", "argmin"),
    (gaussian_noise, "[1, 2, 3]", "Gaussian"),
    (global_rng, "[1, 2, 3]", "reproducible"),
    (naive_softmax_choice, "large logits", "no exp"),
    (clipped_mask, "masked", "-inf"),
    (lambda z, size, rng: np.zeros(size, dtype=int), "[1, 2, 3]", "same class"),
    (lambda z, size, rng: np.argmax(z), "[1, 2, 3]", "shape"),
    (lambda z, size, rng: z + gm.sample_gumbel((size, len(z)), rng), "[1, 2, 3]", "argmax"),
    (lambda z, size, rng: 1 / 0, "[1, 2, 3]", "ZeroDivisionError"),
])
def test_check_flags_biased_samplers_with_a_hint(capsys, fn, case, words):
    from softviz.exercises import check_gumbel_max

    result = check_gumbel_max(fn)
    out = capsys.readouterr().out
    assert result.passed is False
    assert case in result.case and words in out, out


def test_check_stub_and_non_callables_are_not_done_and_never_raise(capsys):
    from softviz.exercises import check_gumbel_max

    assert check_gumbel_max(lambda z, size, rng: None).passed is None
    assert check_gumbel_max(None).passed is None
    assert check_gumbel_max(3).passed is False
    assert "not done yet" in capsys.readouterr().out


# --------------------------------------------------------------------------
# The panel, headless
# --------------------------------------------------------------------------

def test_panel_state_matches_independent_statistics():
    from softviz.panels import GumbelPanel

    with offscreen():
        p = GumbelPanel()
    s = p.state()
    assert p.last_error is None
    assert {"counts", "expected", "p_value", "mean_sample", "tau", "hard"} <= set(s)
    n = s["n_samples"]
    assert s["counts"].sum() == n
    np.testing.assert_allclose(s["expected"], n * P3, rtol=1e-7)
    assert s["p_value"] == pytest.approx(scipy.stats.chisquare(s["counts"], n * P3).pvalue)
    assert s["p_value"] > ALPHA
    np.testing.assert_allclose(s["mean_sample"].sum(), 1.0)
    heights = [bar.get_height() for bar in p._bars]
    np.testing.assert_allclose(heights, s["counts"] / n)

    # tau moves the relaxed samples, never the counts (argmax is scale-free)
    p.set(tau=0.05)
    s2 = p.state()
    np.testing.assert_array_equal(s2["counts"], s["counts"])
    assert np.abs(s2["mean_sample"] - s2["counts"] / n).max() < 0.01
    p.set(tau=20.0)
    assert np.abs(p.state()["mean_sample"] - 1 / 3).max() < 0.05
    # hard: the mean of one-hot vectors is exactly counts / N
    p.set(hard=True)
    np.testing.assert_array_equal(p.state()["mean_sample"], s["counts"] / n)
    # new seed, new counts; same seed, same counts
    p.set(seed=1)
    assert not np.array_equal(p.state()["counts"], s["counts"])
    p.set(seed=0)
    np.testing.assert_array_equal(p.state()["counts"], s["counts"])
    # state is a copy
    p.state()["counts"][:] = 0
    assert p.state()["counts"].sum() == n
    assert p.to_png().startswith(b"\x89PNG")


def test_panel_keywords_and_bad_values():
    from softviz.panels import GumbelPanel

    with offscreen():
        p = GumbelPanel(logits=(0.0, 0.0, 3.0), tau=0.5, n_samples=100_000, seed=3)
    s = p.state()
    assert s["counts"].sum() == 100_000
    assert s["p_value"] == pytest.approx(
        scipy.stats.chisquare(s["counts"], 100_000 * softmax([0, 0, 3])).pvalue)
    for bad in ({"tau": 0.0}, {"tau": 100.0}, {"n_samples": 5}, {"logits": (1.0, 2.0)},
                {"hard": "yes"}, {"seed": -1}):
        with pytest.raises(ValueError):
            GumbelPanel(**bad)


# --------------------------------------------------------------------------
# Robust inputs (issue 15)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, words", [
    (lambda: gm.binary_concrete_cdf(None, [1.0, 0.0], 1.0), TypeError, "y1"),
    (lambda: gm.binary_concrete_cdf([0.5, np.nan], [1.0, 0.0], 1.0), ValueError, "y1 must not contain NaN"),
    (lambda: gm.sample_gumbel(b"\x00\x02"), TypeError, "shape must be an integer or a tuple"),
    (lambda: gm.sample_gumbel("3"), TypeError, "shape"),
    (lambda: gm.sample_gumbel((10 ** 6, 10 ** 6)), ValueError, "the limit"),
    (lambda: gm.sample_gumbel(3, rng=1.5), TypeError, "rng must be"),
    (lambda: gm.sample_gumbel(3, rng=-1), ValueError, "rng as a seed"),
    (lambda: gm.gumbel_max(Z3, size=10 ** 12), ValueError, "the limit"),
    (lambda: gm.gumbel_max(Z3, size=2 ** 63), ValueError, "the limit"),
    (lambda: gm.gumbel_softmax(Z3, hard=1), TypeError, "hard must be True or False"),
    (lambda: gm.gumbel_softmax(Z3, axis=True), TypeError, "axis"),
    (lambda: gm.plackett_luce_probability([[0], [1, 2]], Z3), TypeError, "order"),
    (lambda: gm.plackett_luce_probability([0.5], Z3), TypeError, "order must hold integer"),
    (lambda: gm.chisquare_gof([0, 1], None), TypeError, "probs"),
    (lambda: gm.compare_top_k(np.zeros(50), 10), ValueError, "too many to tabulate"),
    (lambda: gm.compare_top_k(Z3, 2, n_draws=10 ** 12), ValueError, "n_draws"),
    (lambda: gm.concrete_log_density([0.5, 0.5], Z3, 1.0), ValueError, "one per class of logits"),
])
def test_bad_input_is_refused_naming_the_parameter(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_compare_top_k_treats_underflowed_classes_as_masked():
    # softmax([1e308, -1e308, 1e308 - 1]) gives the middle class probability exactly 0
    cmp = gm.compare_top_k([1e308, -1e308, 1e308], 2, n_draws=200, rng=0)
    assert sorted(cmp.orders) == [(0, 2), (2, 0)]
    assert cmp.gumbel_counts.sum() == cmp.numpy_counts.sum() == 200
