"""Tests for softviz.numerics: thresholds, bfloat16 rounding, error measures.

Every threshold is checked against what numpy itself computes in that dtype
(bfloat16 through an independent rounding written here), not against the
formulas of the module.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softviz import numerics as nm
from softviz import overflow as ov
from softviz import reference as ref

NUMPY_DTYPES = ("float16", "float32", "float64")
BF16_MAX = 3.3895313892515355e38


def bits_to_f32(*patterns):
    return np.array(patterns, dtype=np.uint32).view(np.float32)


def f32_bits(x):
    return np.asarray(x, dtype=np.float32).view(np.uint32)


def bf16_reference(v: float) -> float:
    """Round a Python float to bfloat16 with exact arithmetic (independent of the module)."""
    if math.isnan(v) or math.isinf(v) or v == 0:
        return v
    m, e = math.frexp(abs(v))  # |v| = m * 2**e, 0.5 <= m < 1
    q = max(e - 1, -126) - 7  # bfloat16 spacing at v is 2**q
    k = round(math.ldexp(abs(v), -q))  # exact scaling; round() ties to even
    # past 2**1000 we are far beyond bfloat16 (and k * 2**q could overflow float64)
    out = math.ldexp(k, q) if q < 1000 else math.inf
    if out > BF16_MAX:
        out = math.inf
    return math.copysign(out, v)


def bf16_step(x: float, up: bool) -> float:
    """The next bfloat16 value above (``up``) or below a non-zero bfloat16 value x."""
    bits = int(f32_bits(x))
    bits += 0x10000 if (up == (x >= 0)) else -0x10000
    return float(bits_to_f32(bits)[0])


def exp_in(dtype, x):
    """exp(x) as numpy computes it in ``dtype`` (bfloat16: float64 exp, rounded once)."""
    with np.errstate(all="ignore"):
        if dtype == "bfloat16":
            return float(nm.round_bfloat16(np.exp(np.float64(x))))
        return np.exp(np.dtype(dtype).type(x))


def step(dtype, x, up):
    if dtype == "bfloat16":
        return bf16_step(x, up)
    t = np.dtype(dtype).type
    return np.nextafter(t(x), t(np.inf if up else -np.inf))


def representable(dtype, x):
    if dtype == "bfloat16":
        return float(nm.round_bfloat16(x)) == x
    return float(np.dtype(dtype).type(x)) == x


# --------------------------------------------------------------------------
# Format facts and thresholds
# --------------------------------------------------------------------------

def test_dtypes_tuple():
    assert nm.DTYPES == ("float16", "bfloat16", "float32", "float64")


@pytest.mark.parametrize("dtype", NUMPY_DTYPES)
def test_format_facts_match_finfo(dtype):
    t, fi = nm.exp_thresholds(dtype), np.finfo(dtype)
    assert t.eps == float(fi.eps)
    assert t.tiny == float(fi.tiny)
    assert t.max == float(fi.max)
    assert t.smallest_subnormal == float(fi.smallest_subnormal)
    assert t.precision == fi.nmant + 1


def test_bfloat16_format_facts():
    t, f32 = nm.exp_thresholds("bfloat16"), np.finfo(np.float32)
    assert t.precision == 8
    assert t.eps == 2.0**-7
    assert t.tiny == float(f32.tiny)  # same exponent range as float32
    assert t.max == BF16_MAX == float(bits_to_f32(0x7F7F0000)[0])
    assert t.smallest_subnormal == 2.0**-133 == float(bits_to_f32(0x00000001 << 16)[0])


@pytest.mark.parametrize(
    "dtype, value, tol",
    [("float16", 11.0898665, 1e-7), ("float32", 88.7228391, 1e-7), ("float64", 709.782712893384, 1e-13)],
)
def test_reference_overflow_points(dtype, value, tol):
    assert abs(nm.exp_thresholds(dtype).ln_max - value) < tol


def test_dtype_spellings():
    assert nm.exp_thresholds(np.float32) == nm.exp_thresholds("float32")
    assert nm.exp_thresholds(np.dtype("float16")) == nm.exp_thresholds("float16")
    for bad in ("float128", "int32", np.complex64, "bf16", None):
        with pytest.raises(ValueError, match="dtype must be one of"):
            nm.exp_thresholds(bad)


@pytest.mark.parametrize("dtype", nm.DTYPES)
def test_max_finite_arg_measured(dtype):
    t = nm.exp_thresholds(dtype)
    x = t.max_finite_arg
    assert representable(dtype, x)
    assert np.isfinite(exp_in(dtype, x))
    assert np.isinf(exp_in(dtype, step(dtype, x, up=True)))
    # it sits just below the textbook ln(max) and the rounding boundary
    # (<=, not <: the boundaries are rounded to float64, like float64 values)
    assert x <= t.ln_max <= t.overflow_boundary <= float(step(dtype, x, up=True))


@pytest.mark.parametrize("dtype", nm.DTYPES)
def test_min_normal_arg_measured(dtype):
    t = nm.exp_thresholds(dtype)
    x = t.min_normal_arg
    assert representable(dtype, x)
    assert exp_in(dtype, x) >= t.tiny
    below = exp_in(dtype, step(dtype, x, up=False))
    assert 0 < below < t.tiny
    assert float(step(dtype, x, up=False)) <= t.normal_boundary <= x


@pytest.mark.parametrize("dtype", nm.DTYPES)
def test_min_nonzero_arg_measured(dtype):
    t = nm.exp_thresholds(dtype)
    x = t.min_nonzero_arg
    assert representable(dtype, x)
    assert exp_in(dtype, x) == t.smallest_subnormal
    assert exp_in(dtype, step(dtype, x, up=False)) == 0
    assert float(step(dtype, x, up=False)) <= t.underflow_boundary <= x
    assert t.underflow_boundary == pytest.approx(t.ln_smallest_subnormal - math.log(2), abs=1e-12)


def test_known_threshold_values():
    assert nm.exp_thresholds("float16").max_finite_arg == 11.0859375
    assert nm.exp_thresholds("float32").max_finite_arg == float(np.float32(88.72283))
    assert nm.exp_thresholds("float64").max_finite_arg == 709.782712893384
    assert nm.exp_thresholds("bfloat16").max_finite_arg == 88.5
    assert nm.exp_thresholds("float64").min_nonzero_arg == -745.1332191019411


def test_threshold_table():
    rows = nm.threshold_table()
    assert [r["dtype"] for r in rows] == list(nm.DTYPES)
    for r in rows:
        assert {"max_finite_arg", "min_normal_arg", "min_nonzero_arg", "eps", "tiny", "max"} <= set(r)
        assert r["min_nonzero_arg"] < r["min_normal_arg"] < 0 < r["max_finite_arg"]
    # wider exponent field -> wider range; more precision -> smaller eps
    by = {r["dtype"]: r for r in rows}
    assert by["float16"]["max_finite_arg"] < by["bfloat16"]["max_finite_arg"] < by["float32"]["max_finite_arg"]
    assert by["bfloat16"]["eps"] > by["float16"]["eps"] > by["float32"]["eps"] > by["float64"]["eps"]


# --------------------------------------------------------------------------
# bfloat16 rounding
# --------------------------------------------------------------------------

@pytest.mark.parametrize(
    "pattern, expected",
    [
        (0x3F800000, 0x3F800000),  # 1.0 exact
        (0x3F808000, 0x3F800000),  # 1 + 2**-8: tie, kept lsb 0 -> stays (even)
        (0x3F818000, 0x3F820000),  # 1 + 3 * 2**-8: tie, kept lsb 1 -> up to even
        (0x3F808001, 0x3F810000),  # just above the tie -> up
        (0x3F807FFF, 0x3F800000),  # just below the tie -> down
        (0xBF808001, 0xBF810000),  # negative values mirror
        (0xBF818000, 0xBF820000),
        (0x3FFF8000, 0x40000000),  # carry into the exponent: 1.99609375 -> 2.0
        (0x7F7F7FFF, 0x7F7F0000),  # just below the tie at bf16 max -> max
        (0x7F7F8000, 0x7F800000),  # tie at bf16 max, lsb 1 -> up -> inf
        (0x7F7FFFFF, 0x7F800000),  # float32 max overflows to inf
        (0x7F800000, 0x7F800000),  # inf
        (0xFF800000, 0xFF800000),  # -inf
        (0x80000000, 0x80000000),  # -0.0
        (0x00008000, 0x00000000),  # subnormal tie, lsb 0 -> 0
        (0x00018000, 0x00020000),  # subnormal tie, lsb 1 -> up
        (0x00007FFF, 0x00000000),
        (0x007FFFFF, 0x00800000),  # largest subnormal rounds up to tiny
    ],
)
def test_round_bfloat16_bit_patterns(pattern, expected):
    got = nm.round_bfloat16(bits_to_f32(pattern))
    assert got.dtype == np.float32
    assert int(f32_bits(got)[0]) == expected


def test_round_bfloat16_nan_stays_nan():
    # 0x7F800001 is a NaN whose payload lives only in the cleared bits:
    # naive truncation would turn it into inf.
    got = nm.round_bfloat16(bits_to_f32(0x7FC00000, 0x7F800001, 0xFF800001, 0x7FFFFFFF))
    assert np.isnan(got).all()
    assert (f32_bits(got) & 0xFFFF == 0).all()
    assert nm.round_bfloat16(np.nan).shape == ()
    assert np.isnan(nm.round_bfloat16(np.float64(np.nan)))


def test_round_bfloat16_float64_input_is_rounded_once():
    x = 1 + 2.0**-8 + 2.0**-40  # just above a bfloat16 tie; as float32 it IS the tie
    assert np.float32(x) == np.float32(1 + 2.0**-8)
    assert nm.round_bfloat16(np.float32(x)) == 1.0
    assert nm.round_bfloat16(x) == 1.0078125
    assert nm.round_bfloat16(-x) == -1.0078125
    assert np.isinf(nm.round_bfloat16(1e39))  # beyond float32 too
    assert nm.round_bfloat16(1e-50) == 0.0
    assert nm.round_bfloat16([1, 3, 257]).tolist() == [1.0, 3.0, 256.0]  # ints: 257 ties to 256


def test_round_bfloat16_shapes_and_errors():
    x = np.arange(12, dtype=np.float64).reshape(3, 4)[:, ::2]
    out = nm.round_bfloat16(x)
    assert out.shape == (3, 2) and out.dtype == np.float32
    np.testing.assert_array_equal(out, x)
    with pytest.raises(TypeError):
        nm.round_bfloat16(np.array([1j]))


@settings(max_examples=500, deadline=None)
@given(st.floats(width=32, allow_nan=False))
def test_round_bfloat16_matches_exact_rounding_float32(v):
    assert float(nm.round_bfloat16(np.float32(v))) == bf16_reference(float(np.float32(v)))


@settings(max_examples=500, deadline=None)
@given(st.floats(allow_nan=False))
def test_round_bfloat16_matches_exact_rounding_float64(v):
    got = float(nm.round_bfloat16(np.float64(v)))
    want = bf16_reference(v)
    assert got == want or (got == 0 == want)


# --------------------------------------------------------------------------
# Error measures
# --------------------------------------------------------------------------

def test_rel_error_values():
    np.testing.assert_array_equal(nm.rel_error([1.1, 2.0, -4.0], [1.0, 2.0, -2.0]), [0.10000000000000009, 0.0, 1.0])
    np.testing.assert_array_equal(nm.rel_error([0.0, 1e-300, 0.0], [0.0, 0.0, 1.0]), [0.0, np.inf, 1.0])
    assert nm.rel_error(np.float32(1.5), 1.0) == 0.5
    assert nm.rel_error(1.0, 1.0).shape == ()
    assert nm.rel_error([[1.0], [2.0]], [1.0, 2.0]).shape == (2, 2)


def test_rel_error_special_values():
    inf, nan = np.inf, np.nan
    got = [nan, nan, 1.0, inf, inf, -inf, inf, 1.0]
    want = [nan, 1.0, nan, inf, -inf, -inf, 1.0, inf]
    np.testing.assert_array_equal(nm.rel_error(got, want), [0, inf, inf, 0, inf, 0, inf, inf])
    assert nm.max_rel_error([nan, 1.0], [1.0, 1.0]) == inf


def test_max_rel_error():
    assert nm.max_rel_error([1.0, 2.2, 3.0], [1.0, 2.0, 3.0]) == pytest.approx(0.1)
    assert nm.max_rel_error([], []) == 0.0
    assert isinstance(nm.max_rel_error([1.0], [1.0]), float)
    with pytest.raises(TypeError):
        nm.rel_error(["a"], [1.0])


@pytest.mark.parametrize("dtype", NUMPY_DTYPES)
@pytest.mark.parametrize("value", [1.3, 0.7, 3.0e-3, 100.5, -2.5])
def test_one_ulp_off_is_one(dtype, value):
    t = np.dtype(dtype).type
    r = t(value)
    for direction in (np.inf, -np.inf):
        got = np.nextafter(r, t(direction))
        assert nm.ulp_error(got, np.float64(r), dtype) == 1.0
    assert nm.ulp_error(r, np.float64(r), dtype) == 0.0


def test_ulp_error_details():
    # below a power of two the spacing halves: one step down is half an ulp of the binade above
    assert nm.ulp_error(np.nextafter(np.float32(2), np.float32(0)), 2.0, "float32") == 0.5
    assert nm.ulp_error(np.nextafter(np.float32(2), np.float32(4)), 2.0, "float32") == 1.0
    # float32 1/3 is correctly rounded: at most half an ulp from the true value
    assert 0 < nm.ulp_error(np.float32(1 / 3), 1 / 3, np.float32) <= 0.5
    # the ulp of 0 and of subnormals is the smallest subnormal
    assert nm.ulp_error(5e-324, 0.0, "float64") == 1.0
    sub = np.float32(3e-44)
    assert nm.ulp_error(np.nextafter(sub, np.float32(1)), np.float64(sub), "float32") == 1.0
    assert nm.ulp_error(2.0**-133, 0.0, "bfloat16") == 1.0
    # bfloat16: spacing at 1.x is 2**-7
    assert nm.ulp_error(1.0078125, 1.0, "bfloat16") == 1.0
    assert nm.ulp_error(1.0 + 2**-9, 1.0, "bfloat16") == 0.25
    np.testing.assert_array_equal(
        nm.ulp_error([np.nan, np.inf, 1.0], [np.nan, np.inf, np.inf], "float32"), [0, 0, np.inf]
    )
    assert nm.max_ulp_error([1.0, 1.0 + 2**-22], [1.0, 1.0], "float32") == 2.0
    assert nm.max_ulp_error([], [], "float64") == 0.0
    with pytest.raises(ValueError):
        nm.ulp_error(1.0, 1.0, "int8")


# --------------------------------------------------------------------------
# Softmax collapse
# --------------------------------------------------------------------------

def log_softmax_in(dtype, d):
    """log_softmax([d, 0])[0], every operation in ``dtype`` (bfloat16 emulated)."""
    if dtype == "bfloat16":
        r = nm.round_bfloat16
        x = r([d, 0.0]).astype(np.float64)
        t = r(x - x.max()).astype(np.float64)
        s = r(r(np.exp(t)).astype(np.float64).sum())
        return float(r(t[0] - r(np.log(np.float64(s)))))
    x = np.array([d, 0], dtype=dtype)
    t = x - x.max()
    return (t - np.log(np.exp(t).sum()))[0]


def round_up_to(dtype, v):
    if dtype == "bfloat16":
        x = float(nm.round_bfloat16(v))
        return x if x >= v else bf16_step(x, up=True)
    t = np.dtype(dtype).type
    x = t(v)
    return x if float(x) >= v else np.nextafter(x, t(np.inf))


def test_collapse_threshold_values():
    assert nm.collapse_threshold("float32") == pytest.approx(24 * math.log(2), abs=1e-12)
    assert nm.collapse_threshold("float32") == pytest.approx(16.6355, abs=1e-4)
    assert nm.collapse_threshold("float64") == pytest.approx(36.7368, abs=1e-4)
    assert nm.collapse_threshold(np.float16) == pytest.approx(11 * math.log(2), abs=1e-12)
    assert nm.collapse_threshold("bfloat16") == pytest.approx(8 * math.log(2), abs=1e-12)
    for d in nm.DTYPES:  # rounded up, never below p ln 2
        assert nm.collapse_threshold(d) >= nm.exp_thresholds(d).precision * math.log(2)


def test_float32_absorption():
    one = np.float32(1)
    assert one + np.float32(2.0**-24) == one  # the tie goes to the even neighbour, 1
    assert one + np.float32(2.0**-23) != one
    assert one + np.nextafter(np.float32(2.0**-24), np.float32(1)) != one


@pytest.mark.parametrize("dtype", nm.DTYPES)
def test_collapse_at_threshold_not_below(dtype):
    d = round_up_to(dtype, nm.collapse_threshold(dtype))
    below = step(dtype, d, up=False)
    assert log_softmax_in(dtype, d) == 0.0
    assert log_softmax_in(dtype, below) != 0.0
    assert log_softmax_in(dtype, step(dtype, below, up=False)) != 0.0
    assert log_softmax_in(dtype, float(d) * 2) == 0.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_collapse_in_stable_log_softmax(dtype):
    d = round_up_to(dtype, nm.collapse_threshold(dtype))
    below = step(dtype, d, up=False)
    assert ref.stable_log_softmax(np.array([d, 0], dtype=dtype))[0] == 0.0
    assert ref.stable_log_softmax(np.array([below, 0], dtype=dtype))[0] < 0.0
    # the exact answer is still -exp(-D) approximately: collapse is a rounding artefact
    assert ref.exact_log_softmax(np.array([d, 0], dtype=dtype))[0] == pytest.approx(-math.exp(-float(d)), rel=1e-12)
    # StableMax keeps a non-zero probability for the other class at the same gap
    assert ref.stablemax(np.array([d, 0], dtype=dtype))[1] > 0.02


# --------------------------------------------------------------------------
# Robust inputs (issue 15)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, words", [
    (lambda: nm.round_to([[1.0], [1.0, 2.0]], "float32"), TypeError, "x must be an array"),
    (lambda: nm.round_bfloat16(10 ** 400), ValueError, "x holds a number too large"),
    (lambda: nm.rel_error([1.0, 2.0], [1.0, 2.0, 3.0]), ValueError, "got and ref"),
    (lambda: nm.max_ulp_error("a", [1.0], "float32"), TypeError, "got must"),
    (lambda: ov.softmax_steps([1.0], "float32", method=np.array(["naive"])), ValueError,
     "method must be one of"),
    (lambda: ov.softmax_steps(np.zeros(10 ** 6), "float32"), ValueError, "z has rows of"),
    (lambda: ov.naive_outcome_grid([1.0], [1.0], shift=None), TypeError, "shift"),
    (lambda: ov.naive_outcome_grid([1.0], [1.0], dtypes=None), TypeError, "dtypes"),
    (lambda: ov.naive_outcome_grid([1.0], [1.0], dtypes=[]), ValueError, "dtypes"),
    (lambda: ov.naive_outcome_grid([1.0], [1.0], dtypes=["float8"]), ValueError, "dtypes must be one of"),
    (lambda: ov.naive_outcome_grid(None, [1.0]), TypeError, "base"),
    (lambda: ov.naive_outcome_grid([1e308], [1e308]), ValueError, "overflows"),
    (lambda: ov.collapse_profile([[1], [1, 2]], "float32"), TypeError, "gap"),
    (lambda: nm.exp_thresholds([]), ValueError, "dtype must be one of"),
])
def test_bad_input_is_refused_naming_the_parameter(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_dtype_name_accepts_names_and_dtypes_and_names_the_label():
    assert [nm.dtype_name(d) for d in ("float16", "bfloat16", np.float32, np.dtype("float64"))] == \
        ["float16", "bfloat16", "float32", "float64"]
    with pytest.raises(ValueError, match="dtypes must be one of"):
        nm.dtype_name("int8", "dtypes")

