"""Exact where scipy is exact: property tests for the cases scipy gets exactly right.

Each property below failed before the C core was fixed (two-pass multiplied by a
rounded reciprocal, took log of the extended-exponent form, summed long rows in one
chain, and divided by a tiny temperature without shifting).
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import softviz

ALGS = st.sampled_from(softviz.ALGORITHMS)
DTYPES = st.sampled_from([np.float32, np.float64])


def _finite(dtype, lo=-80.0, hi=80.0):
    width = 32 if dtype == np.float32 else 64
    lo, hi = float(np.asarray(lo, dtype)), float(np.asarray(hi, dtype))
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=width)


@given(alg=ALGS, dtype=DTYPES, data=st.data(), n=st.integers(1, 70))
def test_equal_entries_give_exactly_one_and_zero(alg, dtype, data, n):
    v = data.draw(_finite(dtype))
    x = np.full(n, v, dtype)
    p = softviz.softmax(x, algorithm=alg)
    if n == 1:
        assert p[0] == 1 and softviz.log_softmax(x, algorithm=alg)[0] == 0
    if n in (1, 2, 4, 8, 16, 32, 64):  # 1/n exact: the row sums to exactly 1
        assert np.all(p == dtype(1.0 / n)) and p.sum(dtype=np.float64) == 1.0


@given(alg=ALGS, dtype=DTYPES, data=st.data())
def test_absorbed_entries_give_an_exact_one_hot(alg, dtype, data):
    # the others are absorbed once sum(exp(x - max)) rounds to 1 in the output precision
    gap = 18.5 if dtype == np.float32 else 38.5
    top = data.draw(_finite(dtype))
    rest = data.draw(st.lists(st.floats(gap, 200.0), min_size=1, max_size=5))
    x = np.array([top, *[top - r for r in rest]], dtype)
    # absorbed in any binade of the two-pass mantissa (whose ulp is eps/2 just below 1); between
    # eps/4 and eps/2 three-pass (like scipy) still rounds the sum to 1, while two-pass returns the
    # correctly rounded quotient, 1 - eps/2
    if np.exp(x[1:].astype(np.float64) - float(x[0])).sum() >= np.finfo(dtype).eps / 4:
        return
    assert softviz.softmax(x, algorithm=alg)[0] == 1
    assert softviz.log_softmax(x, algorithm=alg)[0] == 0


@given(alg=ALGS, a=st.floats(0.0, 700.0))
def test_logsumexp_keeps_relative_accuracy_near_zero(alg, a):
    got = softviz.logsumexp(np.array([-a, 0.0]), algorithm=alg)
    want = math.log1p(math.exp(-a))
    assert abs(got - want) <= 4 * np.spacing(want)


def test_logsumexp_reproducers():
    for alg in softviz.ALGORITHMS:
        assert softviz.logsumexp([-104.0, 0.0], algorithm=alg) == pytest.approx(6.8135568215452e-46, rel=1e-14)
        assert softviz.logsumexp([0.0, -40.0], algorithm=alg) == pytest.approx(math.log1p(math.exp(-40)), rel=1e-14)
        assert softviz.softmax([0.9], algorithm=alg)[0] == 1.0
        assert softviz.softmax(np.full(4, 0.9), algorithm=alg).sum() == 1.0
        assert softviz.log_softmax([2.0], algorithm=alg)[0] == 0.0
        assert softviz.log_softmax(np.float32([7.0]), algorithm=alg)[0] == 0.0
        assert softviz.log_softmax([1000.0, 1.0], algorithm=alg)[0] == 0.0


@given(alg=ALGS, dtype=DTYPES, t=st.floats(1e-320, 1e-3), data=st.data())
def test_any_finite_positive_temperature_gives_the_limit(alg, dtype, t, data):
    x = np.array(data.draw(st.lists(_finite(dtype, -1e30, 1e30), min_size=1, max_size=6)), dtype)
    p = softviz.softmax(x, algorithm=alg, temperature=t)
    assert np.all(np.isfinite(p)) and abs(p.sum(dtype=np.float64) - 1) <= 8 * np.finfo(dtype).eps
    top = x == x.max()
    # far below the max an entry gets 0; the max entries share the rest
    assert np.all(p[top] == p[top][0])
    gaps = float(x.max()) - x[~top].astype(np.float64)
    if gaps.size and np.min(gaps) > 800 * t:
        assert np.all(p[~top] == 0) and np.allclose(p[top], 1.0 / top.sum())


def test_temperature_reproducers():
    np.testing.assert_array_equal(softviz.softmax([1.0, 2.0], temperature=1e-320), [0.0, 1.0])
    np.testing.assert_array_equal(softviz.softmax(np.float32([1e36, 0]), temperature=1e-3), [1.0, 0.0])


@pytest.mark.parametrize("alg", softviz.ALGORITHMS)
@pytest.mark.parametrize("n", [2**20, 2**22])
def test_error_does_not_grow_with_the_row_length(alg, n):
    """Rows of two repeated values (the worst case for one long chain of additions)."""
    a, b = 0.3, -1.7
    x = np.empty(n)
    x[::2], x[1::2] = a, b
    with mpmath.workdps(40):
        s = (n // 2) * (mpmath.exp(a) + mpmath.exp(b))
        want = [float(mpmath.exp(a) / s), float(mpmath.exp(b) / s)]
        lse = float(mpmath.log(s))
    y = softviz.softmax(x, algorithm=alg)
    ulps = max(abs(y[0] - want[0]) / np.spacing(want[0]), abs(y[1] - want[1]) / np.spacing(want[1]))
    assert ulps <= 4, f"{ulps} ulp"
    assert abs(softviz.logsumexp(x, algorithm=alg) - lse) <= 4 * np.spacing(lse)
