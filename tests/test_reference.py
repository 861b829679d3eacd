"""Tests for softviz.reference: the numpy and mpmath references.

The numpy functions are held to scipy.special on special values, layouts and
hypothesis-generated data; the mpmath ones to an independent high-precision
computation and to the numpy ones.
"""

from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
import scipy.special as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from softviz import reference as ref

inf, nan = np.inf, np.nan

STABLE = {
    "softmax": (ref.stable_softmax, sp.softmax),
    "log_softmax": (ref.stable_log_softmax, sp.log_softmax),
    "logsumexp": (ref.stable_logsumexp, sp.logsumexp),
}
EXACT = {
    "softmax": ref.exact_softmax,
    "log_softmax": ref.exact_log_softmax,
    "logsumexp": ref.exact_logsumexp,
}

SPECIAL_ROWS = [
    [1.0, 2.0, 3.0],
    [nan, 1.0, 2.0],
    [inf, 1.0, 2.0],
    [inf, inf, 1.0],
    [-inf, 1.0, 2.0],
    [-inf, -inf],
    [-inf],
    [inf],
    [nan],
    [inf, -inf],
    [nan, -inf],
    [inf, nan],
    [-inf, -inf, inf],
    [-inf, 5.0, -inf],
    [1e308, 1e308],
    [-1e308, 1e308],
    [1e-320, 0.0],
    [0.0, -800.0],
    [1000.0, 1.0],
    [-1000.0, -1000.0],
]


def assert_same(got, want, rtol=1e-15, atol=0.0):
    """Same shape, same NaN and infinity pattern, finite values close."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))
    fin = np.isfinite(want)
    np.testing.assert_allclose(got[fin], want[fin], rtol=rtol, atol=atol)


def scipy_value(name, x, axis):
    with np.errstate(all="ignore"):
        return STABLE[name][1](x, axis=axis)


# --------------------------------------------------------------------------
# Known values, dtypes, errors
# --------------------------------------------------------------------------

def test_reference_values_123():
    want = [0.09003057, 0.24472847, 0.66524096]
    for f in (ref.stable_softmax, ref.naive_softmax, ref.exact_softmax):
        np.testing.assert_allclose(f([1, 2, 3]), want, atol=5e-9)
    np.testing.assert_allclose(ref.stable_logsumexp([1, 2, 3]), 3.40760596444438, rtol=1e-15)
    np.testing.assert_allclose(ref.exact_logsumexp([1, 2, 3]), 3.40760596444438, rtol=1e-15)
    np.testing.assert_allclose(
        ref.stable_log_softmax([1, 2, 3]), np.log(want), rtol=1e-7
    )


@pytest.mark.parametrize("name", list(STABLE))
@pytest.mark.parametrize("row", SPECIAL_ROWS, ids=str)
def test_stable_matches_scipy_on_special_values(name, row):
    x = np.array(row)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # our references stay quiet
        got = STABLE[name][0](x)
    assert_same(got, scipy_value(name, x, -1))


@pytest.mark.parametrize("name", list(STABLE))
def test_stable_special_value_semantics_spelled_out(name):
    f = STABLE[name][0]
    if name == "softmax":
        assert_same(f([nan, 1.0]), [nan, nan])
        assert_same(f([inf, 1.0]), [nan, nan])
        assert_same(f([-inf, -inf]), [nan, nan])
        assert_same(f([-inf, 0.0]), [0.0, 1.0])
    elif name == "log_softmax":
        assert_same(f([nan, inf]), [nan, nan])
        assert_same(f([inf, 1.0, inf]), [nan, -inf, nan])
        assert_same(f([-inf, -inf]), [nan, nan])
        assert_same(f([-inf, 0.0]), [-inf, 0.0])
    else:
        assert_same(f([nan, inf]), nan)
        assert_same(f([inf, 1.0]), inf)
        assert_same(f([-inf, -inf]), -inf)
        assert_same(f(np.zeros((2, 0))), [-inf, -inf])


def special_matrix():
    rows = [r + [0.5] * (3 - len(r)) for r in SPECIAL_ROWS if len(r) <= 3]
    return np.array(rows)  # (n, 3): every special row, padded with finite values


@pytest.mark.parametrize("name", list(STABLE))
@pytest.mark.parametrize("axis", [0, 1, -1, -2])
def test_stable_any_axis_and_layout(name, axis):
    base = special_matrix()
    layouts = {
        "C": base,
        "F": np.asfortranarray(base),
        "transposed": base.T.copy().T,
        "strided": np.repeat(base, 2, axis=1)[:, ::2],
        "reversed": base[::-1, ::-1],
    }
    for label, x in layouts.items():
        assert not (label == "strided" and x.flags.c_contiguous)
        assert_same(STABLE[name][0](x, axis=axis), scipy_value(name, x, axis))


@pytest.mark.parametrize("name", list(STABLE))
def test_stable_three_d(name):
    x = np.random.default_rng(1).normal(scale=30, size=(3, 4, 5))
    x[0, 1, 2] = inf
    x[2, 3, :] = -inf
    x[1, 0, 4] = nan
    for axis in range(-3, 3):
        assert_same(STABLE[name][0](x, axis=axis), scipy_value(name, x, axis), rtol=1e-14)


def test_zero_d_is_a_row_of_one():
    assert ref.stable_softmax(3.0) == 1.0
    assert ref.stable_softmax(3.0).shape == ()
    assert ref.stable_log_softmax(3.0) == 0.0
    assert ref.stable_logsumexp(3.0) == 3.0
    assert ref.stable_logsumexp(3.0, keepdims=True).shape == (1,)  # as scipy
    assert ref.naive_softmax(3.0) == 1.0
    assert ref.exact_softmax(3.0) == 1.0 and ref.exact_softmax(3.0).shape == ()
    assert ref.exact_log_softmax(3.0) == 0.0
    assert ref.exact_logsumexp(3.0) == 3.0
    assert ref.stablemax(-7.0) == 1.0
    assert np.isnan(ref.stable_softmax(nan))
    for f, g in STABLE.values():
        assert_same(f(np.array(-2.5)), g(np.array(-2.5)))
        assert isinstance(f(2.0), np.ndarray)


@pytest.mark.parametrize("f", [f for f, _ in STABLE.values()] + [ref.naive_softmax, ref.stablemax])
def test_input_is_not_modified(f):
    x = np.array([[1.0, np.inf, 3.0], [-np.inf, 0.0, np.nan]])
    before = x.copy()
    f(x)
    np.testing.assert_array_equal(x, before)


def test_exact_logsumexp_positional_digits():
    assert ref.exact_logsumexp([1.0, 2.0], -1, 30) == ref.exact_logsumexp([1.0, 2.0], digits=60)
    assert ref.exact_logsumexp([1.0, 2.0], -1, 30).shape == ()


def test_results_are_arrays():
    for f in (ref.stable_logsumexp, ref.exact_logsumexp):
        assert isinstance(f([1.0, 2.0]), np.ndarray)


@pytest.mark.parametrize(
    "f",
    [ref.naive_softmax, ref.stable_softmax, ref.stable_log_softmax, ref.stablemax,
     ref.exact_softmax, ref.exact_log_softmax],
)
def test_empty_axis_gives_empty_result(f):
    for shape, axis in [((0,), -1), ((2, 0), 1), ((0, 3), 0), ((2, 0, 3), 1)]:
        out = f(np.zeros(shape), axis=axis)
        assert out.shape == shape
    # an empty NON-reduced axis is fine too
    assert f(np.zeros((0, 3)), axis=1).shape == (0, 3)


@pytest.mark.parametrize("f", [ref.stable_logsumexp, ref.exact_logsumexp])
def test_logsumexp_of_empty_axis_is_minus_inf(f):
    np.testing.assert_array_equal(f(np.zeros((2, 0)), axis=1), [-inf, -inf])
    np.testing.assert_array_equal(f(np.zeros((2, 0)), axis=1, keepdims=True), [[-inf], [-inf]])
    assert f(np.zeros((0, 3)), axis=1).shape == (0,)
    np.testing.assert_array_equal(sp.logsumexp(np.zeros((2, 0)), axis=1), [-inf, -inf])


@pytest.mark.parametrize("f", [ref.stable_logsumexp, ref.exact_logsumexp])
def test_logsumexp_keepdims(f):
    x = np.arange(24.0).reshape(2, 3, 4)
    for axis in range(3):
        got = f(x, axis=axis, keepdims=True)
        want = sp.logsumexp(x, axis=axis, keepdims=True)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-15)


def test_dtypes():
    x16 = np.array([1, 2, 3], dtype=np.float16)
    for f in (ref.stable_softmax, ref.stable_log_softmax, ref.stablemax, ref.naive_softmax):
        assert f(x16).dtype == np.float16
        assert f(x16.astype(np.float32)).dtype == np.float32
        assert f(np.array([1, 2, 3])).dtype == np.float64
        assert f(np.array([1, 2, 3], dtype=np.uint8)).dtype == np.float64
        assert f(np.array([True, False])).dtype == np.float64
    assert ref.stable_logsumexp(x16).dtype == np.float16
    assert ref.stable_logsumexp(np.array([True, False])).dtype == np.float64
    for f in EXACT.values():
        assert f(np.float32([1, 2, 3])).dtype == np.float64
        assert f(x16).dtype == np.float64


def test_float16_is_computed_in_float32():
    x = np.array([0.0, 12.0, 11.5], dtype=np.float16)  # exp(12) overflows float16
    want32 = sp.softmax(x.astype(np.float32))
    np.testing.assert_array_equal(ref.stable_softmax(x), want32.astype(np.float16))
    np.testing.assert_array_equal(
        ref.stable_log_softmax(x), sp.log_softmax(x.astype(np.float32)).astype(np.float16)
    )
    x = np.zeros(4096, dtype=np.float16)
    assert ref.stable_softmax(x)[0] == np.float16(1 / 4096)


def test_ints_and_bools_become_float64():
    assert_same(ref.stable_softmax([True, False]), sp.softmax([1.0, 0.0]))
    assert_same(ref.stable_logsumexp(np.int8([100, 100])), sp.logsumexp([100.0, 100.0]))
    big = np.array([2**62, 2**62 - 1], dtype=np.int64)
    assert_same(ref.stable_softmax(big), sp.softmax(big.astype(np.float64)))


ALL_FUNCS = [
    ref.naive_softmax, ref.stable_softmax, ref.stable_log_softmax, ref.stable_logsumexp,
    ref.exact_softmax, ref.exact_log_softmax, ref.exact_logsumexp, ref.stablemax,
]


@pytest.mark.parametrize("f", ALL_FUNCS)
@pytest.mark.parametrize(
    "bad", [np.array([1 + 2j, 3]), np.array([1, None], dtype=object), ["a", "b"],
            np.array(["1.0"]), np.array([1, 2], dtype="datetime64[s]")],
    ids=["complex", "object", "str", "str-array", "datetime"],
)
def test_non_real_input_raises_type_error(f, bad):
    with pytest.raises(TypeError, match="real numbers"):
        f(bad)


@pytest.mark.parametrize("f", ALL_FUNCS)
def test_invalid_axis(f):
    with pytest.raises(ValueError, match="out of bounds"):
        f(np.ones((2, 3)), axis=2)
    with pytest.raises(ValueError):
        f(np.ones((2, 3)), axis=-3)
    with pytest.raises(ValueError):
        f(3.0, axis=1)
    for axis in (1.0, "0", None, (0, 1), True):
        with pytest.raises(TypeError, match="axis must be an integer"):
            f(np.ones((2, 3)), axis=axis)
    f(np.ones((2, 3)), axis=np.int64(0))  # numpy integers are integers


# --------------------------------------------------------------------------
# Property tests against scipy
# --------------------------------------------------------------------------

def float_arrays(dtype, allow_special):
    return hnp.arrays(
        dtype,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6),
        elements=st.floats(
            allow_nan=allow_special, allow_infinity=allow_special,
            width=np.dtype(dtype).itemsize * 8,
        ),
    )


@settings(max_examples=300, deadline=None)
@given(x=float_arrays(np.float64, True), data=st.data())
def test_stable_matches_scipy_hypothesis_float64(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    for name, (f, _) in STABLE.items():
        assert_same(f(x, axis=axis), scipy_value(name, x, axis), rtol=1e-14)


@settings(max_examples=200, deadline=None)
@given(x=float_arrays(np.float32, True), data=st.data())
def test_stable_matches_scipy_hypothesis_float32(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    for name, (f, _) in STABLE.items():
        got = f(x, axis=axis)
        assert got.dtype == np.float32
        assert_same(got, scipy_value(name, x, axis), rtol=1e-6)


@settings(max_examples=200, deadline=None)
@given(x=float_arrays(np.float64, False))
def test_stable_softmax_sums_to_one(x):
    p = ref.stable_softmax(x)
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)
    lse = ref.stable_logsumexp(x)
    assert np.all(lse >= x.max(axis=-1))


# --------------------------------------------------------------------------
# naive_softmax
# --------------------------------------------------------------------------

def test_naive_softmax_overflows_quietly():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ref.naive_softmax([1000.0, 1.0])
        out16 = ref.naive_softmax(np.float16([12.0, 0.0]))
        under = ref.naive_softmax([-1000.0, -1000.0])
    assert_same(out, [nan, 0.0])  # inf / inf and 1 / inf
    assert_same(out16, [nan, 0.0])  # exp(12) > 65504
    assert_same(under, [nan, nan])  # 0 / 0
    np.testing.assert_array_equal(
        ref.stable_softmax(np.float16([12.0, 0.0])), sp.softmax([12.0, 0.0]).astype(np.float16)
    )


def test_naive_softmax_works_in_the_dtype():
    # float32 survives exp(88.7) but not exp(88.8); float64 survives both
    x = np.array([88.7, 0.0])
    assert np.isfinite(ref.naive_softmax(x.astype(np.float32))).all()
    assert np.isnan(ref.naive_softmax(np.array([88.8, 0.0], np.float32))[0])
    np.testing.assert_allclose(ref.naive_softmax([88.8, 0.0]), [1.0, math.exp(-88.8)], rtol=1e-12)


@pytest.mark.parametrize("axis", [0, 1])
def test_naive_softmax_agrees_on_small_inputs(axis):
    x = np.random.default_rng(2).normal(size=(4, 5))
    np.testing.assert_allclose(ref.naive_softmax(x, axis), sp.softmax(x, axis), rtol=1e-14)


# --------------------------------------------------------------------------
# exact_*
# --------------------------------------------------------------------------

def random_rows(seed):
    rng = np.random.default_rng(seed)
    return [
        rng.normal(size=(3, 50)),
        rng.normal(scale=3, size=(2, 200)),
        rng.normal(scale=1e-3, size=(1, 1000)),
        np.linspace(-5, 5, 64).reshape(8, 8),
        rng.normal(scale=30, size=(2, 200)),
        rng.uniform(-700, 700, size=(2, 40)),
    ]


@pytest.mark.parametrize("seed", [0, 1])
def test_exact_softmax_agrees_with_stable(seed):
    eps = np.finfo(np.float64).eps
    for x in random_rows(seed):
        # exp(x - m) inherits the rounding of x - m amplified by |x - m| (its
        # condition number), so wide rows get a proportionally wider tolerance.
        spread = np.ptp(x, axis=-1).max()
        rtol = 1e-14 if spread < 40 else 4 * eps * spread
        np.testing.assert_allclose(ref.exact_softmax(x), ref.stable_softmax(x), rtol=rtol, atol=1e-300)
        np.testing.assert_allclose(ref.exact_softmax(x.T, axis=0), sp.softmax(x.T, axis=0), rtol=rtol, atol=1e-300)


@pytest.mark.parametrize("seed", [0, 1])
def test_exact_log_and_lse_agree_with_scipy(seed):
    for x in random_rows(seed):
        np.testing.assert_allclose(ref.exact_log_softmax(x), sp.log_softmax(x, axis=-1), rtol=1e-14, atol=1e-15)
        # m + log(sum) can cancel to a small result: scipy's absolute error is ~eps * |m|
        np.testing.assert_allclose(ref.exact_logsumexp(x), sp.logsumexp(x, axis=-1), rtol=1e-15, atol=1e-15)
        np.testing.assert_allclose(ref.exact_logsumexp(x, axis=0), sp.logsumexp(x, axis=0), rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("name", list(EXACT))
@pytest.mark.parametrize("row", SPECIAL_ROWS, ids=str)
def test_exact_special_values_like_stable(name, row):
    x = np.array(row)
    assert_same(EXACT[name](x), scipy_value(name, x, -1), rtol=1e-15, atol=1e-300)


@pytest.mark.parametrize("name", list(EXACT))
def test_exact_any_axis_and_layout(name):
    base = special_matrix()
    for x in (base, np.asfortranarray(base), base[::-1, ::-1]):
        for axis in (0, 1, -1):
            assert_same(EXACT[name](x, axis=axis), scipy_value(name, x, axis), rtol=1e-15, atol=1e-300)


def mp_softmax(row, digits=120):
    with mpmath.mp.workdps(digits):
        e = [mpmath.exp(mpmath.mpf(v)) for v in row]
        s = mpmath.fsum(e)
        return [ei / s for ei in e], mpmath.log(s)


def test_exact_is_correctly_rounded():
    # float(mpf) rounds to nearest: an independent 120-digit computation must
    # give bit-identical float64 results in the normal range.
    row = [0.1, 0.2, -3.7, 10.0, 2.5, 2.5, 1e-8]
    row += np.random.default_rng(3).normal(scale=4, size=200).tolist()
    p, log_s = mp_softmax(row)
    np.testing.assert_array_equal(ref.exact_softmax(row), [float(v) for v in p])
    with mpmath.mp.workdps(120):
        np.testing.assert_array_equal(ref.exact_log_softmax(row), [float(mpmath.mpf(v) - log_s) for v in row])
        assert ref.exact_logsumexp(row) == float(log_s)
    assert ref.exact_softmax([0.0, 0.0, 0.0])[0] == 1 / 3


def test_exact_rounds_subnormal_results_once():
    # softmax([0, -740])[1] = exp(-740) / (1 + exp(-740)) is subnormal.
    out = ref.exact_softmax([0.0, -740.0])
    assert out[1] == math.exp(-740.0)
    assert 0 < out[1] < np.finfo(np.float64).tiny
    # half the smallest subnormal rounds to 0 (ties to even), just above rounds up
    half = -1075 * math.log(2)
    assert ref.exact_softmax([0.0, -745.2])[1] == 0.0
    assert ref.exact_softmax([0.0, half + 1e-9])[1] == 5e-324


def test_exact_float32_input_is_converted_exactly():
    x = np.float32([0.1, 0.7, -2.3])
    np.testing.assert_allclose(ref.exact_softmax(x), sp.softmax(x.astype(np.float64)), rtol=1e-15)


def test_exact_digits_argument():
    x = [1.0, 2.0, 3.0]
    np.testing.assert_array_equal(ref.exact_softmax(x, digits=30), ref.exact_softmax(x, digits=200))
    with pytest.raises(ValueError, match="digits"):
        ref.exact_softmax(x, digits=5)


def test_exact_handles_huge_gaps_cheaply():
    x = np.array([1e300, 0.0, -1e300, 1.0])
    assert_same(ref.exact_softmax(x), [1.0, 0.0, 0.0, 0.0])
    assert_same(ref.exact_log_softmax(x), [0.0, -1e300, -2e300, -1e300])
    assert ref.exact_logsumexp(x) == 1e300


# --------------------------------------------------------------------------
# stablemax
# --------------------------------------------------------------------------

def test_stablemax_known_values():
    np.testing.assert_allclose(ref.stablemax([1, 2, 3]), [2 / 9, 3 / 9, 4 / 9], rtol=1e-15)
    np.testing.assert_allclose(ref.stablemax([-1, 0, 1]), [0.5 / 3.5, 1 / 3.5, 2 / 3.5], rtol=1e-15)
    np.testing.assert_allclose(ref.stablemax([-3.0, -1.0]), [0.25 / 0.75, 0.5 / 0.75], rtol=1e-15)
    # linear, not exponential: a gap of 1000 leaves the small class visible
    p = ref.stablemax([1000.0, 0.0])
    np.testing.assert_allclose(p, [1001 / 1002, 1 / 1002], rtol=1e-15)
    assert ref.stable_softmax([1000.0, 0.0])[1] == 0.0
    np.testing.assert_allclose(ref.stablemax([[1, 2, 3], [3, 2, 1]], axis=0)[:, 0], [2 / 6, 4 / 6])


def test_stablemax_specials_and_dtypes():
    assert_same(ref.stablemax([1e308, 1e308]), [0.5, 0.5])  # no overflow in the sum
    assert_same(ref.stablemax([-inf, 0.0]), [0.0, 1.0])
    assert_same(ref.stablemax([nan, 0.0]), [nan, nan])
    assert_same(ref.stablemax([inf, 0.0]), [nan, nan])
    assert_same(ref.stablemax([-inf, -inf]), [nan, nan])
    assert ref.stablemax(np.int32([1, 2])).dtype == np.float64
    assert ref.stablemax(np.float32([1, 2])).dtype == np.float32
    assert ref.stablemax(np.float16([1, 2])).dtype == np.float16


@settings(max_examples=200, deadline=None)
@given(x=float_arrays(np.float64, False))
def test_stablemax_sums_to_one_and_preserves_order(x):
    p = ref.stablemax(x, axis=-1)
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)
    # s is increasing, so the order of a row is kept (ties allowed after rounding)
    order = np.argsort(x, axis=-1, kind="stable")
    assert np.all(np.diff(np.take_along_axis(p, order, axis=-1), axis=-1) >= 0)


# --------------------------------------------------------------------------
# Robust inputs (issue 15)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, words", [
    (lambda: ref.stable_softmax([[1.0], [1.0, 2.0]]), TypeError, "x must be an array of real numbers"),
    (lambda: ref.exact_softmax([1.0], digits=None), TypeError, "digits must be an integer"),
    (lambda: ref.exact_softmax([1.0], digits=10 ** 9), ValueError, "digits must be an integer in"),
    (lambda: ref.exact_softmax(np.zeros(10 ** 7)), ValueError, "too slow for mpmath"),
    (lambda: ref.stable_logsumexp([1.0], keepdims="yes"), TypeError, "keepdims must be True or False"),
    (lambda: ref.naive_softmax(np.ones(3), axis=np.array([0, 1])), TypeError, "axis must be an integer"),
])
def test_bad_input_is_refused_naming_the_parameter(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_out_of_bounds_axis_is_a_plain_value_error():
    # not numpy's AxisError, which is also an IndexError: only TypeError/ValueError escape
    with pytest.raises(ValueError) as info:
        ref.stable_softmax(np.ones(3), axis=1)
    assert not isinstance(info.value, IndexError)
