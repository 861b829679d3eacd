"""Tests for lesson 05: softviz.kde, softviz.derive.kde, the check and KDEPanel.

References are independent: scipy.stats (gaussian_kde, multivariate_normal, ncx2),
scipy.special.logsumexp on the direct double loop, mpmath for the root of the
s_min equation, and hand-derived special cases.
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

import softviz
from softviz import kde
from softviz.derive import kde as dk
from softviz.exercises import check_log_density
from softviz.panels.base import offscreen

# --------------------------------------------------------------------------
# log_density, kernel_weights, participation_ratio
# --------------------------------------------------------------------------

def _direct_log_density(x, data, h):
    """Term by term: log of (1/(n h^d)) sum K((x - y)/h), K = (2 pi)^(-d/2) exp(-|z|^2/2)."""
    n, d = data.shape
    terms = [-0.5 * np.sum(((x - y) / h) ** 2) - 0.5 * d * math.log(2 * math.pi) for y in data]
    return scipy.special.logsumexp(terms) - math.log(n) - d * math.log(h)


@pytest.mark.parametrize("d, n, h", [(1, 7, 0.3), (3, 50, 1.0), (40, 200, 0.5), (200, 100, 0.2)])
def test_log_density_equals_direct_logsumexp(d, n, h):
    rng = np.random.default_rng(d)
    data, x = rng.standard_normal((n, d)), rng.standard_normal((5, d))
    got = kde.log_density(x, data, h)
    want = [_direct_log_density(xi, data, h) for xi in x]
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-9)
    assert np.isfinite(got).all()  # d = 200, h = 0.2: every kernel value underflows
    assert kde.log_density(x[0], data, h) == pytest.approx(want[0], rel=1e-11)
    assert isinstance(kde.log_density(x[0], data, h), float)


def test_log_density_matches_scipy_gaussian_kde_in_1d_and_2d():
    # gaussian_kde's kernel covariance is bw_method^2 times the data covariance:
    # whiten the data (sample covariance exactly I), then bw_method = h gives h^2 I.
    rng = np.random.default_rng(1)
    h = 0.4
    for d in (1, 2):
        z = rng.standard_normal((80, d))
        z -= z.mean(0)
        data = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z.T).reshape(d, d))).T
        np.testing.assert_allclose(np.cov(data.T).reshape(d, d), np.eye(d), atol=1e-12)
        ref = scipy.stats.gaussian_kde(data.T, bw_method=h)
        np.testing.assert_allclose(ref.covariance, h * h * np.eye(d), atol=1e-12)
        pts = 1.5 * rng.standard_normal((30, d))
        np.testing.assert_allclose(kde.log_density(pts, data, h), ref.logpdf(pts.T), rtol=1e-10)


def test_log_density_matches_mean_of_multivariate_normal_pdfs():
    rng = np.random.default_rng(2)
    data = rng.standard_normal((25, 3))
    x = rng.standard_normal(3)
    h = 0.7
    want = np.mean([scipy.stats.multivariate_normal(y, h * h * np.eye(3)).pdf(x) for y in data])
    assert math.exp(kde.log_density(x, data, h)) == pytest.approx(want, rel=1e-12)


def test_log_density_one_dimensional_data_and_chunking(monkeypatch):
    data = np.array([0.0, 1.0, -2.0])
    got = kde.log_density([0.5, 1.5], data, 0.7)
    want = [math.log(np.mean(scipy.stats.norm(data, 0.7).pdf(v))) for v in (0.5, 1.5)]
    np.testing.assert_allclose(got, want, rtol=1e-13)
    assert kde.log_density(0.5, data, 0.7) == pytest.approx(want[0], rel=1e-13)
    rng = np.random.default_rng(3)
    big, pts = rng.standard_normal((50, 4)), rng.standard_normal((37, 4))
    whole = kde.log_density(pts, big, 1.1)
    monkeypatch.setattr(kde, "_CHUNK", 120)  # blocks of 2 points
    np.testing.assert_allclose(kde.log_density(pts, big, 1.1), whole, rtol=1e-14)


def test_kernel_weights_are_a_softmax_of_distances():
    rng = np.random.default_rng(4)
    data, x = rng.standard_normal((30, 5)), rng.standard_normal(5)
    w = kde.kernel_weights(x, data, 0.8)
    logits = -((x - data) ** 2).sum(1) / (2 * 0.8 ** 2)
    np.testing.assert_allclose(w, scipy.special.softmax(logits), rtol=1e-12)
    assert w.sum() == pytest.approx(1.0)
    # high dimension, tiny h: the softmax is an argmax, not 0/0
    big = rng.standard_normal((50, 300))
    w = kde.kernel_weights(big[7] + 0.01, big, 0.05)
    assert np.isfinite(w).all() and w.argmax() == 7 and w[7] == pytest.approx(1.0)
    both = kde.kernel_weights(rng.standard_normal((3, 5)), data, 1.0)
    assert both.shape == (3, 30)


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=40))
@settings(max_examples=60)
def test_participation_ratio_is_between_1_and_n(ws):
    w = np.array(ws)
    if w.sum() == 0:
        return
    pr = kde.participation_ratio(w)
    assert 1 - 1e-12 <= pr <= len(w) * (1 + 1e-12)


def test_participation_ratio_cases():
    assert kde.participation_ratio([0, 0, 1.0, 0]) == pytest.approx(1.0)
    assert kde.participation_ratio(np.full(8, 1 / 8)) == pytest.approx(8.0)
    assert kde.participation_ratio([0.5, 0.5, 0, 0]) == pytest.approx(2.0)
    assert kde.participation_ratio([3.0, 1.0]) == pytest.approx(16 / 10)  # (sum)^2 / sum of squares
    assert kde.participation_ratio([1e-300, 1e-300]) == pytest.approx(2.0)  # no underflow
    np.testing.assert_allclose(kde.participation_ratio([[1, 0], [1, 1]]), [1.0, 2.0])


@pytest.mark.parametrize("call, exc, words", [
    (lambda: kde.log_density([0.0, 0.0], np.zeros((5, 3)), 1.0), ValueError, "shape"),
    (lambda: kde.log_density([0.0], np.zeros((0, 1)), 1.0), ValueError, "empty"),
    (lambda: kde.log_density([0.0], np.zeros((3, 1)), 0.0), ValueError, "h must be"),
    (lambda: kde.log_density([0.0], np.zeros((3, 1)), float("nan")), ValueError, "h must be"),
    (lambda: kde.log_density([0.0], np.zeros((3, 1)), "1"), TypeError, "h must be"),
    (lambda: kde.log_density([np.nan], np.zeros((3, 1)), 1.0), ValueError, "finite"),
    (lambda: kde.log_density([0j], np.zeros((3, 1)), 1.0), TypeError, "real"),
    (lambda: kde.log_density([0.0], np.zeros((3, 1, 1)), 1.0), ValueError, "data must"),
    (lambda: kde.kernel_weights([0.0], np.zeros((3, 1)), -1.0), ValueError, "h must be"),
    (lambda: kde.participation_ratio([0.5, -0.1]), ValueError, "non-negative"),
    (lambda: kde.participation_ratio([0.0, 0.0]), ValueError, "all zero"),
    (lambda: kde.participation_ratio([]), ValueError, "non-empty"),
    (lambda: kde.s_min(0.0), ValueError, "alpha"),
    (lambda: kde.h_g(-1.0), ValueError, "alpha"),
    (lambda: kde.kl_per_dim(0.0, 0.2), ValueError, "h must be"),
    (lambda: kde.simulate(0.5, 60), ValueError, "MAX_N"),
    (lambda: kde.simulate(0.2, 2.5), TypeError, "d must"),
    (lambda: kde.simulate(0.2, 10, n_test=1), ValueError, "n_test"),
    (lambda: kde.sample_gaussian(0, 3), ValueError, "n must"),
    (lambda: kde.nearest_neighbour_u(10, 0), ValueError, "d must be an integer"),
    (lambda: kde.measured_regime(float("nan"), 0.5), ValueError, "finite"),
])
def test_bad_input_raises_a_clear_error(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


# --------------------------------------------------------------------------
# Theory
# --------------------------------------------------------------------------

def test_theory_values_at_alpha_0_2():
    assert kde.h_opt(0.2) == pytest.approx(0.891689, abs=1e-6)
    assert kde.h_g(0.2) == pytest.approx(1.045652, abs=1e-6)
    assert kde.h_clt(0.2) == pytest.approx(1.478775, abs=1e-6)


def test_s_min_against_mpmath_and_limits():
    import mpmath

    for a in (0.01, 0.2, 1.0, 30.0):
        with mpmath.workdps(40):
            ref = mpmath.findroot(lambda s, a=a: s * s - s - mpmath.log(s) - 2 * a,
                                  (mpmath.mpf("1e-60"), mpmath.mpf(1)), solver="bisect", verify=False)
        assert kde.s_min(a) == pytest.approx(float(ref), rel=1e-12)
    # large alpha: s ~ e^{-2 alpha}; small alpha: 2 alpha ~ (1 - s)^2 * 3/2 ... s -> 1
    assert math.log(kde.s_min(40.0)) == pytest.approx(-80.0, abs=1e-6)
    assert kde.s_min(1e-8) == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_allclose(kde.s_min([0.2, 1.0]), [kde.s_min(0.2), kde.s_min(1.0)])


@pytest.mark.parametrize("a", [0.05, 0.2, 0.7])
def test_theory_relations(a):
    s = kde.s_min(a)
    assert kde.u_min(a) == pytest.approx(s + s * s)
    assert kde.h_clt(a) == pytest.approx(math.sqrt(2) * kde.h_g(a))
    assert kde.h_opt(a) < kde.h_g(a) < kde.h_clt(a)
    assert kde.stable_index(kde.h_g(a), a) == pytest.approx(1.0)
    assert kde.stable_index(kde.h_clt(a), a) == pytest.approx(2.0)
    assert kde.regime(0.9 * kde.h_g(a), a) == "condensed"
    assert kde.regime(1.1 * kde.h_g(a), a) == "stable"
    assert kde.regime(1.1 * kde.h_clt(a), a) == "clt"
    # KL: continuous at h_G, minimum at h_opt, equal to the annealed value above h_G
    hg = kde.h_g(a)
    assert kde.kl_per_dim(hg * (1 - 1e-9), a) == pytest.approx(kde.kl_per_dim(hg, a), abs=1e-8)
    hs = np.linspace(0.3 * kde.h_opt(a), 3 * hg, 4001)
    kl = kde.kl_per_dim(hs, a)
    assert hs[np.argmin(kl)] == pytest.approx(kde.h_opt(a), rel=2e-3)
    h = 2 * hg
    assert kde.kl_per_dim(h, a) == pytest.approx(0.5 * math.log(1 + h * h) + 0.5 / (1 + h * h) - 0.5)


def test_rate_function_matches_noncentral_chi2_tail():
    # Cramer: -(1/d) ln P(ncx2(d, d) <= d u) -> I(u), with an O(log d / d) correction.
    for s in (0.6, 0.8):
        u = s + s * s
        rates = [-scipy.stats.ncx2.logcdf(d * u, d, d) / d for d in (250, 1000)]
        want = (s * s - s - math.log(s)) / 2
        assert abs(rates[1] - want) < abs(rates[0] - want) < 0.03
        assert rates[1] == pytest.approx(want, abs=8e-3)


def test_nearest_neighbour_u_exact_cases():
    # n = 1: E|x - y|^2 / d = 2 exactly
    assert kde.nearest_neighbour_u(1, 7) == pytest.approx(2.0, abs=1e-7)
    # d = 1, x and y independent N(0,1): x - y ~ N(0, 2), so |x-y|^2 = 2 chi2_1 and
    # min of two ... compare with Monte Carlo instead of a closed form
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((200_000, 1, 3)), rng.standard_normal((200_000, 10, 3))
    mc = (((x - y) ** 2).sum(-1).min(1) / 3).mean()
    assert kde.nearest_neighbour_u(10, 3) == pytest.approx(mc, rel=0.01)
    # finite d: above the d -> inf edge, and approaching it as d grows at fixed alpha
    gaps = [kde.nearest_neighbour_u(round(math.exp(0.2 * d)), d) - kde.u_min(0.2) for d in (20, 40, 60)]
    assert all(g > 0 for g in gaps) and gaps[0] > gaps[1] > gaps[2]


def test_kl_bounds_sandwich_theory_and_simulation():
    sim = kde.simulate(0.2, 30, n_test=300, rng=6)
    hs = np.array([0.5, 0.8, 1.0, 1.5, 2.5])
    lower, upper = kde.kl_bounds(hs, sim.n, sim.d)
    assert (lower <= upper).all()
    kl = np.array([sim.kl_per_dim(h) for h in hs])
    # sampling noise of a mean over 300 test points, per dimension: small slack
    assert (kl >= lower - 0.01).all() and (kl <= upper + 0.01).all()
    # theory (d -> inf) at h >= h_G is exactly the lower bound
    assert kde.kl_per_dim(2.5, 0.2) == pytest.approx(lower[-1], abs=1e-3)


# --------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------

def test_simulation_is_reproducible_and_consistent():
    a = kde.simulate(0.2, 20, n_test=10, rng=7)
    b = kde.simulate(0.2, 20, n_test=10, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.data, b.data)
    assert a.n == round(math.exp(4.0)) and a.alpha == pytest.approx(math.log(a.n) / 20)
    np.testing.assert_allclose(a.log_density(0.9), kde.log_density(a.test, a.data, 0.9), rtol=1e-12)
    np.testing.assert_allclose(a.weights(0.9, 3), kde.kernel_weights(a.test[3], a.data, 0.9),
                               rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(
        a.log_mean_density(0.9),
        scipy.stats.multivariate_normal(np.zeros(20), (1 + 0.81) * np.eye(20)).logpdf(a.test))
    np.testing.assert_array_equal(kde.sample_gaussian(3, 2, rng=1), kde.sample_gaussian(3, 2, rng=1))
    assert kde.cached_simulation(0.2, 20, 10, 7) is kde.cached_simulation(0.2, 20, 10, 7)


def test_second_moment_ratio_formula_by_monte_carlo():
    # E[K^2]/E[K]^2 at one x, from many independent y: the exact formula must match.
    sim = kde.simulate(0.1, 6, n_test=2, rng=8)
    h = 1.3
    rng = np.random.default_rng(9)
    y = rng.standard_normal((400_000, 6))
    k = np.exp(-((sim.test[0] - y) ** 2).sum(1) / (2 * h * h))
    mc = np.mean(k ** 2) / np.mean(k) ** 2
    assert math.exp(sim.log_second_moment_ratio(h)[0]) == pytest.approx(mc, rel=0.02)


@pytest.mark.parametrize("mu, want", [(0.3, "condensed"), (math.sqrt(2), "stable"), (6.0, "clt")])
def test_simulated_regime_agrees_with_theory_away_from_boundaries(mu, want):
    sim = kde.cached_simulation(0.2, 40, 150, 11)
    h = kde.h_g(sim.alpha) * math.sqrt(mu)
    stats = sim.statistics(h)
    assert stats["regime_theory"] == want
    assert stats["regime"] == want


def test_phase_points_away_from_boundaries_agree():
    pts = kde.phase_points([0.1, 0.25], [0.3, 1.45, 6.0], 30, n_test=100, rng=12)
    assert pts["regime"].shape == (6,)
    np.testing.assert_array_equal(pts["regime"], pts["regime_theory"])


def test_condensed_inverse_participation_follows_the_rem():
    # REM: E[sum w^2] -> 1 - mu for mu < 1; at finite size it is larger, and it falls with mu.
    sim = kde.cached_simulation(0.2, 40, 150, 11)
    hg = kde.h_g(sim.alpha)
    y2 = [sim.statistics(hg * math.sqrt(mu))["inverse_pr_mean"] for mu in (0.2, 0.5, 0.8)]
    assert y2[0] > y2[1] > y2[2]
    assert y2[0] == pytest.approx(0.8, abs=0.1)


def test_statistics_are_cached_and_copied():
    sim = kde.simulate(0.2, 20, n_test=20, rng=13)
    s1 = sim.statistics(1.0)
    s1["h"] = -1
    assert sim.statistics(1.0)["h"] == 1.0
    sw = sim.sweep([0.5, 1.0])
    assert sw["h"].tolist() == [0.5, 1.0] and sw["regime"].dtype.kind == "U"


# --------------------------------------------------------------------------
# Derivations
# --------------------------------------------------------------------------

def test_derivation_rate_function_numbers():
    import sympy as sp

    steps = dk.kde_rate_function()
    rate = steps[2][1].rhs
    s = next(iter(rate.free_symbols))
    # independent check: numerically maximise t u - Lambda(t) at u = s + s^2
    for sv in (0.3, 0.7, 1.5):
        u = sv + sv * sv
        ts = np.linspace(-20, 0.4999, 200_001)
        lam = -0.5 * np.log(1 - 2 * ts) + ts / (1 - 2 * ts)
        assert float(rate.subs(s, sv)) == pytest.approx(np.max(ts * u - lam), abs=1e-6)
    assert all(isinstance(e, sp.Basic) for _, e in steps)


def test_derivation_results_agree_with_kde_module():
    import sympy as sp

    eq = dk.kde_s_min_equation()[1][1]
    s_min_sym = next(iter(eq.lhs.free_symbols - eq.rhs.free_symbols))
    alpha = next(iter(eq.rhs.free_symbols))
    val = kde.s_min(0.2)
    assert float((eq.lhs - eq.rhs).subs({s_min_sym: val, alpha: 0.2})) == pytest.approx(0, abs=1e-12)
    hg = dk.kde_h_g()[1][1].rhs
    assert float(hg.subs(s_min_sym, val)) == pytest.approx(kde.h_g(0.2), rel=1e-12)
    hc = dk.kde_h_clt()[1][1].rhs
    assert float(hc.subs(s_min_sym, val)) == pytest.approx(kde.h_clt(0.2), rel=1e-12)
    pieces = dk.kde_kl_pieces()
    h = sp.Symbol("h", positive=True)
    annealed = pieces[0][1].rhs
    assert float(annealed.subs(h, 2.0)) == pytest.approx(kde.kl_per_dim(2.0, 0.2), rel=1e-12)
    condensed = pieces[1][1].rhs
    subs = {h: 0.7, sp.Symbol("alpha", positive=True): 0.2, sp.Symbol("u_min"): kde.u_min(0.2)}
    assert float(condensed.subs(subs)) == pytest.approx(kde.kl_per_dim(0.7, 0.2), rel=1e-12)


def test_derivation_verifier_rejects_a_wrong_step():
    import sympy as sp

    s = sp.Symbol("s", positive=True)
    dk._verify("right", sp.log(s ** 2), 2 * sp.log(s))
    with pytest.raises(AssertionError, match="wrong"):
        dk._verify("wrong", sp.log(s ** 2), sp.log(s))


# --------------------------------------------------------------------------
# The exercise check
# --------------------------------------------------------------------------

def _good(x, data, h):
    n, d = data.shape
    a = -((x - data) ** 2).sum(1) / (2 * h * h)
    return softviz.logsumexp(a) - math.log(n) - 0.5 * d * math.log(2 * math.pi * h * h)


def _naive(x, data, h):
    n, d = data.shape
    k = np.exp(-((x - data) ** 2).sum(1) / (2 * h * h)) / (2 * np.pi * h * h) ** (d / 2)
    return np.log(np.mean(k))


def _no_h_power(x, data, h):
    n, d = data.shape
    a = -((x - data) ** 2).sum(1) / (2 * h * h)
    return softviz.logsumexp(a) - math.log(n) - 0.5 * d * math.log(2 * math.pi)


def _no_mean(x, data, h):
    return _good(x, data, h) + math.log(data.shape[0])


def test_check_accepts_solution(capsys):
    assert check_log_density(_good).passed is True
    assert "passes all 6 cases" in capsys.readouterr().out


@pytest.mark.parametrize("fn, case, words", [
    (_naive, "d = 200", "logsumexp"),
    (_no_h_power, "d = 1", "d log h"),
    (_no_mean, "d = 1", "log n"),
    (lambda x, data, h: np.full(3, 1.0), "d = 1", "one number"),
    (lambda x, data, h: 1 / 0, "d = 1", "ZeroDivisionError"),
])
def test_check_rejects_typical_mistakes(capsys, fn, case, words):
    result = check_log_density(fn)
    out = capsys.readouterr().out
    assert result.passed is False and result.case.startswith(case)
    assert words in out


def test_check_stub_and_non_callable_never_raise(capsys):
    assert check_log_density(lambda x, data, h: None).passed is None
    assert check_log_density(None).passed is None
    assert check_log_density(1.0).passed is False
    assert "not done yet" in capsys.readouterr().out


# --------------------------------------------------------------------------
# The panel, headless
# --------------------------------------------------------------------------

def test_panel_state_matches_the_simulation():
    from softviz.panels import KDEPanel

    with offscreen():
        p = KDEPanel(h=0.5, alpha=0.2, d=30)
    s = p.state()
    sim = kde.cached_simulation(0.2, 30, 150, 0)
    want = sim.statistics(0.5)
    assert s["regime"] == want["regime"] == "condensed" and s["n"] == sim.n
    assert s["log_rho_mean"] == pytest.approx(np.mean(sim.log_density(0.5)))
    assert s["log_rho_std"] == pytest.approx(np.std(sim.log_density(0.5)))
    w = np.sort(sim.weights(0.5, 0))[::-1]
    np.testing.assert_allclose(s["weights"], w[:12])
    assert s["participation_ratio"] == pytest.approx(1 / np.sum(w ** 2))
    np.testing.assert_allclose([b.get_height() for b in p._bars], s["weights"])
    bars = list(p._bars)
    p.set(h=3.0)
    s2 = p.state()
    assert s2["regime"] == "clt" and s2["participation_ratio"] > 100
    assert list(p._bars) == bars and p.last_error is None
    s2["weights"][:] = -1
    assert (p.state()["weights"] >= 0).all()


def test_panel_lowers_d_when_n_would_be_too_large():
    from softviz.panels import KDEPanel

    with offscreen():
        p = KDEPanel()
    p.set(alpha=0.4, d=60)
    assert p.params["d"] == int(math.log(20_000) / 0.4) == p.state()["d"]
    assert p.state()["n"] <= 20_000 and p.last_error is None
    assert "max for n" in p._suptitle.get_text()


def test_panel_bad_values():
    from softviz.panels import KDEPanel

    with pytest.raises(ValueError):
        KDEPanel(h=0.0)
    with pytest.raises(ValueError):
        KDEPanel(d=2.5)
    with pytest.raises(TypeError):
        KDEPanel(bandwidth=1.0)


# --------------------------------------------------------------------------
# Robust inputs (issue 15): extreme bandwidths, sizes and types
# --------------------------------------------------------------------------

@pytest.mark.parametrize("h", [1e-200, 1e-160, 1e150, 1e200])
def test_extreme_bandwidths_give_the_right_finite_log_density(h):
    # data [0, 1], x = 0: the kernel of the point at distance 1 is exp(-1 / (2 h^2)) relative
    # to the one at distance 0, so log rho = -log 2 - log(2 pi)/2 - log h + log1p(exp(-1/(2h^2))).
    want = -math.log(2) - 0.5 * math.log(2 * math.pi) - math.log(h) + math.log1p(
        math.exp(-0.5 / h / h) if h > 1e-100 else 0.0)
    got = kde.log_density(0.0, [0.0, 1.0], h)
    assert math.isfinite(got) and got == pytest.approx(want, rel=1e-14)
    if h == 1e200:
        assert got == pytest.approx(-461.4, abs=0.05)  # the value


def test_extreme_bandwidths_give_the_limit_kernel_weights():
    np.testing.assert_array_equal(kde.kernel_weights(0.0, [0.0, 1.0], 1e-200), [1.0, 0.0])
    np.testing.assert_allclose(kde.kernel_weights(0.0, [0.0, 1.0], 1e200), [0.5, 0.5], rtol=1e-15)


def test_kl_per_dim_at_extreme_bandwidths_is_never_nan():
    assert kde.kl_per_dim(1e-200, 0.5) == math.inf  # the true value, ~1e399, overflows
    big = kde.kl_per_dim(1e200, 0.5)
    assert big == pytest.approx(math.log(1e200) - 0.5, rel=1e-12)  # (1/2) ln h^2 + 0 - 1/2
    lo, hi = kde.kl_bounds(1e200, 10, 2)
    assert math.isfinite(lo) and math.isfinite(hi) and lo <= hi


@pytest.mark.parametrize("call, exc, words", [
    (lambda: kde.kl_bounds(0.5, 10, 0), ValueError, "d must be an integer"),
    (lambda: kde.kl_bounds(0.5, 0, 3), ValueError, "n must be an integer"),
    (lambda: kde.nearest_neighbour_u(math.inf, 2), TypeError, "n must be an integer"),
    (lambda: kde.nearest_neighbour_u([10], 2), TypeError, "n must be an integer"),
    (lambda: kde.kernel_weights(0.0, [0.0, 1.0], None), TypeError, "h must be a real number"),
    (lambda: kde.log_density([[0.0], [1, 2]], [0.0, 1.0], 1.0), TypeError, "x must be"),
    (lambda: kde.s_min(1e308), ValueError, "alpha must be at most"),
    (lambda: kde.stable_index([1.0, 2.0], [0.1, 0.2, 0.3]), ValueError, "h and alpha"),
    (lambda: kde.simulate(0.2, 10 ** 6), ValueError, "d must be an integer in"),
    (lambda: kde.simulate(300.0, 10), ValueError, "MAX_N"),
    (lambda: kde.sample_gaussian(10 ** 6, 10 ** 6), ValueError, "limit"),
    (lambda: kde.cached_simulation(0.2, [5]), TypeError, "d must be an integer"),
    (lambda: kde.phase_points([0.2], [1.0], 5, rng="seed"), TypeError, "rng must be"),
])
def test_bad_input_is_refused_naming_the_parameter(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


@pytest.mark.parametrize("alpha", [1e-300, 1e-20, 1e-9, 0.005, 0.01, 0.2, 3.0, 300.0])
def test_s_min_and_h_g_agree_with_mpmath_down_to_tiny_alpha(alpha):
    with mpmath.mp.workdps(700):  # 1 - s_min ~ 1e-150 at alpha = 1e-300 needs the digits
        f = lambda t: mpmath.exp(2 * t) - mpmath.exp(t) - t - 2 * mpmath.mpf(alpha)  # noqa: E731
        guess = -mpmath.sqrt(4 * mpmath.mpf(alpha) / 3) if alpha < 0.1 else -2 * alpha - 0.5
        t = mpmath.findroot(f, guess)
        s, hg = mpmath.exp(t), mpmath.sqrt(mpmath.exp(t) / -mpmath.expm1(t))
    assert kde.s_min(alpha) == pytest.approx(float(s), rel=1e-13)
    assert kde.h_g(alpha) == pytest.approx(float(hg), rel=1e-12)


def test_huge_coordinates_give_no_nan_distances():
    data = np.array([[1e200, 0.0], [0.0, 0.0]])
    got = kde.log_density([0.0, 0.0], data, 1.0)
    # the far point contributes exp(-1e400) = 0: only the point at the origin counts
    assert got == pytest.approx(-math.log(2) - math.log(2 * math.pi), rel=1e-14)
