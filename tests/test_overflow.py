"""Tests for lesson 01 (notebooks/01_overflow.ipynb): arithmetic in a format
(softviz.overflow, on the per-dtype facts of softviz.numerics), the sympy derivations (softviz.derive.overflow) and
OverflowPanel.

Independent yardsticks: numpy's own float16/float32/float64 arithmetic, scipy,
closed forms, the bit-level bfloat16 rounding already tested in test_numerics.py,
and sympy re-checking every derivation step numerically.
"""
import math

import numpy as np
import pytest
import scipy.special
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import softviz
from softviz import derive
from softviz import numerics as nm
from softviz import overflow as ov
from softviz import reference as ref
from softviz.derive import overflow as dov
from softviz.panels import OverflowPanel, style
from softviz.panels.base import offscreen
from softviz.panels.overflow import BASE, two_pass_in

NUMPY_DTYPES = ("float16", "float32", "float64")


# --------------------------------------------------------------------------
# round_to and softmax_steps
# --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", NUMPY_DTYPES)
def test_round_to_matches_numpy_cast(dtype):
    x = np.array([1 / 3, 1e5, -7e4, 1e-6, 1e-40, 3e38, 1e300, -np.inf, 0.0])
    with np.errstate(over="ignore"):
        want = x.astype(dtype).astype(np.float64)
    np.testing.assert_array_equal(nm.round_to(x, dtype), want)


def test_round_to_bfloat16_and_errors():
    np.testing.assert_array_equal(nm.round_to([1 + 2**-8, 257.0, 1e39], "bfloat16"),
                                  [1.0, 256.0, np.inf])
    assert nm.round_to(2.0, "float32").dtype == np.float64
    with pytest.raises(ValueError, match="dtype must be one of"):
        nm.round_to(1.0, "int8")
    with pytest.raises(TypeError):
        nm.round_to(["a"], "float32")


@pytest.mark.parametrize("dtype", NUMPY_DTYPES)
def test_naive_steps_equal_numpy_in_the_dtype(dtype):
    # exp is correctly rounded to the format (at most half an ulp from the float64
    # exp); numpy's own float16/32/64 arithmetic may differ by its exp's few ulps.
    rng = np.random.default_rng(1)
    z = rng.normal(0, 3, size=(50, 4)).astype(dtype)
    steps = ov.softmax_steps(z, dtype, "naive")
    exact_exp = np.exp(z.astype(np.float64))
    if dtype != "float64":
        assert nm.max_ulp_error(steps.exp, exact_exp, dtype) <= 0.5 + 1e-6
    else:
        np.testing.assert_array_equal(steps.exp, exact_exp)
    want = ref.naive_softmax(z).astype(np.float64)
    assert nm.max_ulp_error(steps.p, want, dtype) <= 4
    np.testing.assert_array_equal(steps.logits, z.astype(np.float64))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_stable_steps_match_scipy(dtype):
    rng = np.random.default_rng(2)
    z = rng.normal(0, 50, size=(30, 5)).astype(dtype)
    p = ov.softmax_steps(z, dtype, "stable").p
    want = scipy.special.softmax(z.astype(np.float64), axis=-1)
    # exp(t) is as accurate as t = z - max(z), which is rounded: error ~ |t| eps
    t = np.abs(z - z.max(axis=-1, keepdims=True)).astype(np.float64)
    tol = 4 * np.finfo(dtype).eps * (1 + t) * want + float(np.finfo(dtype).tiny)
    assert (np.abs(p - want) <= tol).all()


def test_steps_show_where_naive_breaks():
    z = [100.0, 80.0, 0.0]
    naive = ov.softmax_steps(z, "float32", "naive")
    assert np.isinf(naive.exp[0]) and np.isinf(naive.sum)
    assert np.isnan(naive.p[0]) and (naive.p[1:] == 0).all()
    stable = ov.softmax_steps(z, "float32", "stable")
    np.testing.assert_array_equal(stable.shifted, [0.0, -20.0, -100.0])
    assert stable.sum == pytest.approx(1 + math.exp(-20), rel=1e-7)
    np.testing.assert_allclose(stable.p, scipy.special.softmax(z), rtol=1e-6, atol=1e-44)
    with pytest.raises(ValueError, match="method"):
        ov.softmax_steps(z, "float32", "fast")
    with pytest.raises(ValueError, match="at least one"):
        ov.softmax_steps([], "float32")


def test_float16_stable_is_computed_in_float16():
    # exp(-9) = 1.23e-4 is below half the float16 spacing at 1 (2**-11 = 4.9e-4):
    # 1 + 1.23e-4 rounds to 1 in float16, where float32 would keep it
    steps = ov.softmax_steps([9.0, 0.0], "float16", "stable")
    assert steps.sum == 1.0                       # absorbed in float16
    assert steps.p[0] == 1.0
    assert steps.p[1] == float(np.float16(np.exp(np.float16(-9.0))))


# --------------------------------------------------------------------------
# naive_outcome and the plane
# --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", nm.DTYPES)
def test_outcome_changes_exactly_at_the_overflow_threshold(dtype):
    t = nm.exp_thresholds(dtype)
    x = t.max_finite_arg
    up = float(nm.round_to(np.nextafter(x, np.inf), dtype))
    if up == x:  # the format is coarser than float64: step by one ulp of the format
        up = x + nm.exp_thresholds(dtype).eps * 2.0 ** math.floor(math.log2(x))
    names = ov.NAIVE_OUTCOMES
    assert names[int(ov.naive_outcome([x, -50.0], dtype))] == "finite"
    assert names[int(ov.naive_outcome([up, -50.0], dtype))] == "inf"


@pytest.mark.parametrize("dtype", nm.DTYPES)
def test_outcome_total_underflow_and_sum_overflow(dtype):
    t = nm.exp_thresholds(dtype)
    names = ov.NAIVE_OUTCOMES
    lo = t.min_nonzero_arg
    below = lo - 2 * abs(lo) * t.eps  # a value of the format below the threshold
    assert names[int(ov.naive_outcome([below, below - 5], dtype))] == "NaN"
    assert names[int(ov.naive_outcome([lo, below], dtype))] == "finite"
    # two equal logits whose exp is finite but more than half of the largest value
    x = t.max_finite_arg
    assert names[int(ov.naive_outcome([x, x], dtype))] == "all zero"
    p = ov.softmax_steps([x, x], dtype, "naive").p
    np.testing.assert_array_equal(p, [0.0, 0.0])


def test_outcome_special_inputs_and_shapes():
    names = ov.NAIVE_OUTCOMES
    assert names[int(ov.naive_outcome([np.nan, 1.0], "float64"))] == "NaN"
    assert names[int(ov.naive_outcome([np.inf, 1.0], "float64"))] == "inf"
    assert names[int(ov.naive_outcome([-np.inf, 1.0], "float64"))] == "finite"
    assert names[int(ov.naive_outcome([-np.inf, -np.inf], "float64"))] == "NaN"
    codes = ov.naive_outcome(np.zeros((3, 2, 4)), "float16")
    assert codes.shape == (3, 2) and (codes == 0).all()


def test_outcome_grid_matches_row_by_row():
    scales = np.geomspace(0.1, 1000, 40)
    grid = ov.naive_outcome_grid(BASE, scales, shift=-30.0)
    assert grid.shape == (4, 40)
    for k, d in enumerate(nm.DTYPES):
        for s_idx in (0, 13, 27, 39):
            z = scales[s_idx] * np.asarray(BASE) - 30.0
            assert grid[k, s_idx] == ov.naive_outcome(z, d)
    with pytest.raises(ValueError):
        ov.naive_outcome_grid([[1.0]], scales)


# --------------------------------------------------------------------------
# log_softmax_in, absorption and collapse
# --------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-80, 80, width=32), min_size=1, max_size=6),
       st.sampled_from(["float32", "float64"]))
def test_log_softmax_in_equals_numpy_reference(values, dtype):
    z = np.array(values, dtype=dtype)
    got = ov.log_softmax_in(z, dtype)
    want = ref.stable_log_softmax(z).astype(np.float64)
    # same algorithm: equal up to numpy's last-bit exp/log and summation order
    assert (np.abs(got - want) <= 4 * np.finfo(dtype).eps * (1 + np.abs(want))).all()


@pytest.mark.parametrize("dtype", nm.DTYPES)
def test_log_softmax_in_collapses_at_the_threshold(dtype):
    d = nm.collapse_threshold(dtype)
    first = float(nm.round_to(d, dtype))
    if first < d:  # round up to the format
        first = first + nm.exp_thresholds(dtype).eps * 2.0 ** math.floor(math.log2(first))
    below = first - nm.exp_thresholds(dtype).eps * 2.0 ** math.floor(math.log2(first))
    assert ov.log_softmax_in([first, 0.0], dtype)[0] == 0.0
    assert ov.log_softmax_in([below, 0.0], dtype)[0] < 0.0


def test_is_absorbed():
    assert ov.is_absorbed(2.0**-24, "float32") and not ov.is_absorbed(2.0**-23, "float32")
    assert ov.is_absorbed(2.0**-53, "float64") and not ov.is_absorbed(2.0**-52, "float64")
    assert ov.is_absorbed(2.0**-8, "bfloat16") and not ov.is_absorbed(2.0**-7, "bfloat16")
    one = np.float16(1)
    for x in (2.0**-11, 2.0**-10, 1e-3):
        assert bool(ov.is_absorbed(x, "float16")) == bool(one + np.float16(x) == one)
    assert ov.is_absorbed([1e-9, 1e-6], "float32").tolist() == [True, False]


def test_collapse_profile_float32():
    gaps = np.array([5.0, 16.0, 16.7, 30.0, 1e3])
    prof = ov.collapse_profile(gaps, "float32")
    collapsed = gaps >= nm.collapse_threshold("float32")
    np.testing.assert_array_equal(prof["loss"] == 0, collapsed)
    np.testing.assert_array_equal(prof["grad"] == 0, collapsed)
    np.testing.assert_array_equal(prof["p"] == 1, collapsed)
    # before collapse the float32 values track the truth (1 ulp of 1 is 1.2e-7)
    np.testing.assert_allclose(prof["grad"][:2], -scipy.special.expit(-gaps[:2]), atol=1.2e-7)
    np.testing.assert_allclose(prof["exact_grad"], -scipy.special.expit(-gaps), rtol=1e-12)
    np.testing.assert_allclose(prof["exact_loss"], np.logaddexp(0, -gaps), rtol=1e-12)
    # the wrong class keeps its tiny gradient, its probability e^-D / (1 + e^-D)
    np.testing.assert_allclose(prof["grad_other"][:4], scipy.special.expit(-gaps[:4]), rtol=1e-6)
    # StableMax: p = (D+1)/(D+2), gradient -1/((D+1)(D+2)), never zero here
    np.testing.assert_allclose(prof["stablemax_p"], (gaps + 1) / (gaps + 2), rtol=1e-7)
    np.testing.assert_allclose(prof["stablemax_exact_grad"], -1 / ((gaps + 1) * (gaps + 2)),
                               rtol=1e-15)
    np.testing.assert_allclose(prof["stablemax_grad"], prof["stablemax_exact_grad"], rtol=1e-3)
    assert (prof["stablemax_grad"] < 0).all() and (prof["stablemax_loss"] > 0).all()
    # and StableMax agrees with softviz.reference.stablemax on the same logits
    for g, p in zip(gaps, prof["stablemax_p"]):
        assert p == pytest.approx(float(ref.stablemax(np.array([g, 0.0], np.float32))[0]), rel=1e-7)


def test_collapse_profile_float64_and_errors():
    prof = ov.collapse_profile([36.7, 36.8], "float64")
    assert prof["loss"][0] > 0 and prof["loss"][1] == 0       # 53 ln 2 = 36.7368
    assert ov.collapse_profile(3.0, "float64")["grad"].shape == ()
    for bad in ([-1.0], [np.nan], [np.inf]):
        with pytest.raises(ValueError, match="gap"):
            ov.collapse_profile(bad, "float32")
    with pytest.raises(TypeError):
        ov.collapse_profile(["x"], "float32")


# --------------------------------------------------------------------------
# sympy derivations
# --------------------------------------------------------------------------

def _numeric_check(expr_a, expr_b, n_value=3, seed=0):
    """Substitute n = 3 and random logits/shift; the two expressions must agree."""
    rng = np.random.default_rng(seed)
    subs = {dov.n: n_value, dov.i: 2, dov.c: sp.Float(rng.normal() * 5), dov.m: sp.Float(0)}
    vals = {dov.z[k]: sp.Float(v) for k, v in zip(range(1, n_value + 1), rng.normal(0, 4, n_value))}
    a = sp.sympify(expr_a).doit().subs(subs).doit().subs(vals)
    b = sp.sympify(expr_b).doit().subs(subs).doit().subs(vals)
    return float(sp.N(a - b, 30))


@pytest.mark.parametrize("fn", [dov.shift_invariance, dov.logsumexp_derivation,
                                dov.log_softmax_derivation])
def test_every_chain_step_is_an_equality(fn):
    d = fn()
    exprs = d.expressions
    assert len(exprs) >= 3
    for a, b in zip(exprs, exprs[1:]):
        for seed in range(3):
            assert abs(_numeric_check(a, b, seed=seed)) < 1e-12


def test_shift_invariance_end_is_softmax_and_start_has_the_shift():
    d = dov.shift_invariance()
    assert d.expressions[0].has(dov.c) and not d.expressions[-1].has(dov.c)
    # against numbers: softmax(z)_2 for z = (0.3, 1.7, -2)
    z = np.array([0.3, 1.7, -2.0])
    expr = d.expressions[-1].subs({dov.n: 3, dov.i: 2}).doit()
    expr = expr.subs({dov.z[k + 1]: v for k, v in enumerate(z)})
    assert float(expr) == pytest.approx(softviz.softmax(z)[1], rel=1e-12)


def test_derivations_render():
    for fn in (dov.shift_invariance, dov.logsumexp_derivation, dov.log_softmax_derivation,
               dov.max_shift_bounds, dov.collapse_gradients):
        d = fn()
        latex = d._repr_latex_()
        assert latex.startswith("$$") and latex.endswith("$$") and d.title in latex
        assert "$" not in latex[2:-2]  # every $...$ of a reason was turned into math
        assert d.title in str(d)
    assert derive.shift_invariance is dov.shift_invariance  # registered lazily


def test_max_shift_bounds_are_the_true_ranges():
    facts = dict((type(stmt).__name__ + str(k), stmt)
                 for k, (stmt, _) in enumerate(dov.max_shift_bounds().facts))
    sets = [stmt.args[1] for stmt in facts.values() if isinstance(stmt, sp.Contains)]
    assert sets[0] == sp.Interval.Lopen(0, 1)
    assert sets[1] == sp.Interval(1, dov.n)
    assert sets[2] == sp.Interval(0, sp.log(dov.n))
    # numerically: shifted exps in (0, 1], their sum in [1, n]
    rng = np.random.default_rng(3)
    for _ in range(20):
        z = rng.normal(0, 30, size=7)
        e = np.exp(z - z.max())
        assert ((e > 0) & (e <= 1)).all() and 1 <= e.sum() <= 7


def test_collapse_gradients_match_closed_forms_and_finite_differences():
    (soft, _), (stable, _) = dov.collapse_gradients().facts
    assert sp.simplify(soft.rhs + 1 / (sp.exp(dov.D) + 1)) == 0
    assert sp.simplify(stable.rhs + 1 / ((dov.D + 1) * (dov.D + 2))) == 0
    for eq in (soft, stable):
        f = sp.lambdify(dov.D, eq.lhs.args[0], "mpmath")
        g = sp.lambdify(dov.D, eq.rhs, "mpmath")
        for d0 in (0.5, 3.0, 12.0):
            import mpmath
            with mpmath.workdps(40):
                assert float(mpmath.diff(f, d0)) == pytest.approx(float(g(d0)), rel=1e-12)


@pytest.mark.parametrize("dtype", nm.DTYPES)
def test_collapse_point_agrees_with_numerics(dtype):
    assert dov.collapse_point() == dov.p * sp.log(2)
    prec = nm.exp_thresholds(dtype).precision
    assert float(dov.collapse_point(prec)) == pytest.approx(nm.collapse_threshold(dtype), rel=1e-15)


@pytest.mark.parametrize("bad, exc", [
    (0, ValueError), (-1, ValueError), (24.0, TypeError), (True, TypeError), (1.5, TypeError),
    (b"\x00\x02", TypeError), ([24], TypeError), (np.array([24, 53]), TypeError), ("24", TypeError),
])
def test_collapse_point_checks_precision(bad, exc):
    # sympy used to answer with a SympifyError that did not say which argument was wrong
    with pytest.raises(exc, match="^precision must be"):
        dov.collapse_point(bad)


def test_collapse_point_takes_any_positive_integer_precision():
    assert dov.collapse_point(np.int64(11)) == 11 * sp.log(2)
    assert dov.collapse_point(sp.Integer(53)) == 53 * sp.log(2)
    assert dov.collapse_point(10 ** 12) == 10 ** 12 * sp.log(2)


# --------------------------------------------------------------------------
# OverflowPanel
# --------------------------------------------------------------------------

@pytest.fixture
def panel():
    with offscreen():
        p = OverflowPanel()
    yield p
    p.close()


def test_panel_defaults_and_state(panel):
    s = panel.state()
    assert (s["scale"], s["shift"], s["dtype"]) == (10.0, 0.0, "float32")
    np.testing.assert_array_equal(s["logits"], nm.round_to(10.0 * np.asarray(BASE), "float32"))
    want = scipy.special.softmax(10.0 * np.asarray(BASE))
    for m in ("naive", "stable", "two_pass"):
        np.testing.assert_allclose(s[m], want, rtol=1e-6, atol=1e-30)
        assert s["sums"][m] == pytest.approx(1.0, abs=1e-6)
    assert s["nonfinite_methods"] == () and s["naive_outcome"] == "finite"
    assert s["threshold"] == nm.exp_thresholds("float32").max_finite_arg
    assert s["plane"].shape == (4, s["plane_scales"].size) and s["dtypes"] == nm.DTYPES
    assert panel.last_error is None


def test_scale_past_88_72_in_float32_breaks_only_naive(panel):
    # the "done when": naive goes non-finite, stable and two-pass stay finite and sum to 1
    panel.set(scale=88.7)
    assert panel.state()["nonfinite_methods"] == ()
    panel.controls["scale"].value = 88.8               # as a user dragging the slider
    s = panel.state()
    assert s["nonfinite"] == {"naive": True, "stable": False, "two_pass": False}
    assert s["nonfinite_methods"] == ("naive",) and s["naive_outcome"] == "inf"
    assert np.isinf(s["exp"][0]) and np.isnan(s["naive"][0])
    for m in ("stable", "two_pass"):
        assert np.isfinite(s[m]).all()
        assert s[m].sum() == pytest.approx(1.0, abs=1e-6)
    want = scipy.special.softmax(s["logits"])  # the float32 logits, in float64
    # the C core may flush float32 subnormal results to 0 (the public API allows it): atol = tiny
    np.testing.assert_allclose(s["two_pass"], want, rtol=1e-5, atol=float(np.finfo(np.float32).tiny))
    # the table shows it: the inf and NaN cells are coloured
    assert panel._texts[1][0].get_text() == "inf" and panel._texts[2][0].get_text() == "NaN"
    assert panel._cells[2][0].get_facecolor() != panel._cells[3][0].get_facecolor()
    assert panel._cells[0][0].get_hatch() == "///"        # z_1 is past the threshold


def test_panel_threshold_marker_and_plane(panel):
    s = panel.state()
    row = nm.DTYPES.index("float32")
    assert s["threshold_scale"] == pytest.approx(88.72283, rel=1e-6)   # max(BASE) = 1, c = 0
    assert panel._ticks[row].get_xdata()[0] == pytest.approx(s["threshold_scale"])
    # the plane agrees with naive_outcome on both sides of the float32 threshold
    scales = s["plane_scales"]
    below, above = scales < 88.0, scales > 89.5
    assert (s["plane"][row, below] == 0).all() and (s["plane"][row, above] == 1).all()
    panel.set(shift=-200.0)
    s2 = panel.state()
    assert s2["threshold_scale"] == pytest.approx(288.72283, rel=1e-6)
    assert (s2["plane"] == ov.naive_outcome_grid(BASE, scales, -200.0)).all()
    assert "NaN" == ov.NAIVE_OUTCOMES[s2["plane"][row, 0]]          # all exps underflow
    panel.set(scale=500.0, dtype="float64")
    x, y = panel._marker.get_data()
    assert (x[0], y[0]) == (500.0, nm.DTYPES.index("float64"))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_panel_16_bit_formats(panel, dtype):
    t = nm.exp_thresholds(dtype).max_finite_arg
    panel.set(dtype=dtype, scale=t * 1.05)
    s = panel.state()
    assert s["nonfinite_methods"] == ("naive",)
    assert s["naive_outcome"] in ("inf", "all zero")
    # stable is computed in the 16-bit format itself; two-pass in float32, rounded
    np.testing.assert_array_equal(s["stable"], ov.softmax_steps(s["logits"], dtype, "stable").p)
    np.testing.assert_array_equal(s["two_pass"], two_pass_in(s["logits"], dtype))
    np.testing.assert_allclose(s["two_pass"], scipy.special.softmax(s["logits"]),
                               atol=nm.exp_thresholds(dtype).eps)
    assert "float32" in panel._tax.get_yticklabels()[-1].get_text()


def test_panel_total_underflow_breaks_naive_only(panel):
    panel.set(scale=1.0, shift=-200.0)
    s = panel.state()
    assert s["naive_outcome"] == "NaN" and s["nonfinite_methods"] == ("naive",)
    assert (s["exp"] == 0).all()
    np.testing.assert_allclose(s["stable"], scipy.special.softmax(s["logits"]), rtol=1e-6)
    np.testing.assert_allclose(s["stable"], scipy.special.softmax(np.asarray(BASE)), rtol=1e-4)


def test_panel_updates_in_place_and_state_is_a_copy(panel):
    fig, mesh, cells = panel.figure, panel._mesh, panel._cells[2][0]
    panel.set(scale=300.0, shift=5.0, dtype="float64")
    assert panel.figure is fig and panel._mesh is mesh and panel._cells[2][0] is cells
    assert len(panel._pax.collections) == 1
    s = panel.state()
    s["naive"][:] = 7.0
    s["plane"][:] = 9
    s["sums"]["naive"] = 0
    assert not (panel.state()["naive"] == 7.0).any() and (panel.state()["plane"] != 9).all()
    assert panel.state()["sums"]["naive"] != 0


@pytest.mark.parametrize("kwargs", [{"scale": 0.0}, {"scale": 5e3}, {"shift": 1e4},
                                    {"dtype": "float128"}, {"scale": float("nan")}])
def test_panel_bad_values(kwargs):
    with pytest.raises(ValueError):
        OverflowPanel(**kwargs)
    with pytest.raises(TypeError, match="'temperature'"):
        OverflowPanel(temperature=1.0)


def test_panel_lecture_mode_extreme_settings_have_clean_text():
    try:
        softviz.lecture_mode(True)
        with offscreen():
            p = OverflowPanel(scale=1000.0, shift=-800.0, dtype="float64")
        assert style.text_problems(p.figure) == []
        p.set(scale=30.0, shift=-150.0, dtype="bfloat16")
        assert style.text_problems(p.figure) == []
    finally:
        softviz.lecture_mode(False)


# --------------------------------------------------------------------------
# plot_collapse: readable without colour
# --------------------------------------------------------------------------

def test_plot_collapse_curves_differ_by_more_than_colour():
    import matplotlib

    matplotlib.use("Agg")
    from softviz.figures.overflow import plot_collapse

    fig = plot_collapse(gap_max=45.0)
    try:
        curves = [line for line in fig.axes[0].get_lines() if line.get_label()[:1] != "_"]
        assert len(curves) == 4
        looks = {(line.get_linestyle(), line.get_marker()) for line in curves}
        assert len(looks) == len(curves), "two curves are told apart by colour alone"
        with pytest.raises(ValueError, match="gap_max"):
            plot_collapse(gap_max=float("nan"))
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
