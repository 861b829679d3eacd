"""softviz.softmax / log_softmax / logsumexp: the public contract (scipy.special semantics).

Held to scipy.special on special values, layouts, dtypes and hypothesis-generated
data; to the mpmath reference for accuracy; and to themselves across threads and
``workers``.
"""
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
import scipy.special as sp
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import softviz
from softviz import core, reference

inf, nan = np.inf, np.nan
ALGS = softviz.ALGORITHMS
OPS = {
    "softmax": (softviz.softmax, sp.softmax),
    "log_softmax": (softviz.log_softmax, sp.log_softmax),
    "logsumexp": (softviz.logsumexp, sp.logsumexp),
}


def assert_like_scipy(got, want, dtype, op, x):
    """Same shape, dtype and special-value pattern as scipy; values equal up to rounding.

    softmax: relative tolerance, plus an absolute one of the smallest normal (results
    subnormal in the output dtype may be flushed to 0).  log_softmax and logsumexp:
    an absolute tolerance of a few eps * max|x| as well -- the error of x - lse is
    eps times the size of the logits, whatever the size of the result.
    """
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
    fin = np.isfinite(want) & np.isfinite(got)
    info = np.finfo(dtype)
    rtol = 2e-5 if info.bits <= 32 else 2e-13
    atol = float(info.tiny)
    if op != "softmax":
        finite_x = np.abs(np.where(np.isfinite(x), x, 0).astype(np.float64))
        atol = 8 * float(info.eps) * max(1.0, float(finite_x.max()) if finite_x.size else 1.0)
    np.testing.assert_allclose(got[fin].astype(np.float64), want[fin].astype(np.float64), rtol=rtol, atol=atol)
    # -inf where scipy has -inf, unless the result is within tolerance (log of a flushed value)
    neg = np.isneginf(want) & ~np.isneginf(got)
    assert not neg.any() or op == "log_softmax"


# --------------------------------------------------------------- contract basics

def test_algorithms_tuple():
    assert softviz.ALGORITHMS == ("three_pass_reload", "three_pass_recompute", "two_pass", "online")


@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reference_values(algorithm, dtype):
    p = softviz.softmax(np.array([1, 2, 3], dtype), algorithm=algorithm)
    np.testing.assert_allclose(p, [0.09003057, 0.24472847, 0.66524096], rtol=1e-6)
    assert p.dtype == dtype
    lse = softviz.logsumexp(np.array([1, 2, 3], dtype), algorithm=algorithm)
    np.testing.assert_allclose(lse, 3.40760596444438, rtol=1e-6)
    ls = softviz.log_softmax(np.array([1, 2, 3], dtype), algorithm=algorithm)
    np.testing.assert_allclose(ls, np.log([0.09003057317038046, 0.24472847105479767, 0.6652409557748219]), rtol=1e-6)


def test_default_algorithm_is_auto(monkeypatch):
    seen = []
    real = core._native.rows
    monkeypatch.setattr(core._native, "rows", lambda op, alg, x, out, w: seen.append(alg) or real(op, alg, x, out, w))
    if not softviz.native_available():
        pytest.skip("the numpy fallback has no algorithms to choose")
    softviz.softmax([1.0, 2.0])
    softviz.logsumexp(np.zeros((3, 5)))
    assert seen == [softviz.auto_algorithm(2, np.float64), softviz.auto_algorithm(5, np.float64, rows=3)]


@pytest.mark.parametrize("op", OPS)
def test_unknown_algorithm_lists_algorithms(op):
    with pytest.raises(ValueError) as err:
        OPS[op][0]([1.0, 2.0], algorithm="fast")
    for name in ALGS:
        assert name in str(err.value)


@pytest.mark.parametrize("bad", [
    np.array([1 + 2j, 3]), np.array(["a", "b"]), np.array([object(), 1], dtype=object),
    np.array([b"x"]), np.array(["2020-01-01"], dtype="datetime64[D]"),
])
@pytest.mark.parametrize("op", OPS)
def test_bad_dtypes_raise_type_error(bad, op):
    with pytest.raises(TypeError):
        OPS[op][0](bad)


@pytest.mark.parametrize("op", OPS)
def test_ragged_input_raises_type_error_naming_x(op):
    # numpy's own wording ("setting an array element with a sequence...") must not reach the user
    with pytest.raises(TypeError, match=r"^x must be an array of real numbers \(a ragged list") as err:
        OPS[op][0]([[1, 2], [3]])
    assert "sequence" not in str(err.value) and "inhomogeneous" not in str(err.value)


@pytest.mark.parametrize("bad", [np.array([1 + 2j, 3]), np.array(["a", "b"]), [object()]])
def test_non_real_input_messages_name_x(bad):
    with pytest.raises(TypeError, match=r"^x must hold real"):
        softviz.softmax(bad)


@pytest.mark.parametrize("t", [0, -1.0, inf, -inf, nan])
def test_bad_temperature_value(t):
    with pytest.raises(ValueError, match="temperature"):
        softviz.softmax([1.0, 2.0], temperature=t)


@pytest.mark.parametrize("t", ["1", None, True, 1j])
def test_bad_temperature_type(t):
    with pytest.raises(TypeError, match="temperature"):
        softviz.softmax([1.0, 2.0], temperature=t)


@pytest.mark.parametrize("w, exc", [(0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError), ("2", TypeError)])
def test_bad_workers(w, exc):
    with pytest.raises(exc, match="workers"):
        softviz.softmax([1.0, 2.0], workers=w)


@pytest.mark.parametrize("axis, exc", [(2, ValueError), (-3, ValueError), (1.0, TypeError), ((0, 0), ValueError), ("0", TypeError)])
def test_bad_axis(axis, exc):
    with pytest.raises(exc):
        softviz.softmax(np.ones((2, 3)), axis=axis)


# ----------------------------------------------------------------- dtypes

@pytest.mark.parametrize("op", OPS)
def test_dtype_rules(op):
    f = OPS[op][0]
    assert f(np.array([1, 2], np.float32)).dtype == np.float32
    assert f(np.array([1, 2], np.float64)).dtype == np.float64
    assert f(np.array([1, 2], np.int64)).dtype == np.float64
    assert f(np.array([1, 2], np.uint8)).dtype == np.float64
    assert f(np.array([True, False])).dtype == np.float64
    assert f([1, 2]).dtype == np.float64
    h = np.array([1, 2, 3], np.float16)
    got = f(h)
    assert got.dtype == np.float16
    # computed in float32, returned as float16
    np.testing.assert_array_equal(got, OPS[op][1](h.astype(np.float32)).astype(np.float16))


@pytest.mark.parametrize("op", OPS)
def test_bool_input_computes_on_zero_one(op):
    f, g = OPS[op]
    assert_like_scipy(f(np.array([True, False, True])), g(np.array([1.0, 0.0, 1.0])), np.float64, op, np.array([1.0]))


# ---------------------------------------------------------- special values

SPECIAL_ROWS = [
    [1.0, 2.0, 3.0], [nan, 1.0, 2.0], [inf, 1.0, 2.0], [inf, inf, 1.0], [-inf, 1.0, 2.0], [-inf, -inf, -inf],
    [inf, -inf, 0.0], [inf, nan, 1.0], [-inf, nan, 1.0], [-inf, -inf, 5.0], [0.0], [-inf], [inf], [nan],
    [3e38, -3e38, 0.0], [1e308, -1e308, 0.0], [1e-45, -1e-45, 0.0], [6000.0, 5999.0, 0.0], [-1e30, -1e30],
    [1e6, 1e6 - 1, 1e6 - 2], [-7000.0, -7001.0], [0.0, -200.0, -800.0],
]


@pytest.mark.parametrize("row", SPECIAL_ROWS, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("op", OPS)
def test_special_values_like_scipy(row, dtype, algorithm, op):
    f, g = OPS[op]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 1e308 overflows to inf in float32: intended
        x = np.array(row, dtype)
        want = g(x)
    assert_like_scipy(f(x, algorithm=algorithm), want, dtype, op, x)


@pytest.mark.parametrize("algorithm", ALGS)
def test_zero_d(algorithm):
    for axis in (-1, 0, None):
        assert softviz.softmax(np.float64(3.0), axis=axis, algorithm=algorithm) == 1.0
        assert softviz.log_softmax(np.float64(3.0), axis=axis, algorithm=algorithm) == 0.0
        assert softviz.logsumexp(np.float64(3.0), axis=axis, algorithm=algorithm) == 3.0
    assert np.isnan(softviz.softmax(np.float64(inf), algorithm=algorithm))
    assert softviz.logsumexp(np.float64(-inf), algorithm=algorithm) == -inf
    assert softviz.softmax(3.0).shape == ()
    assert isinstance(softviz.logsumexp([1.0, 2.0]), np.ndarray)


@pytest.mark.parametrize("algorithm", ALGS)
def test_empty(algorithm):
    for shape, axis in [((0,), -1), ((3, 0), -1), ((0, 4), -1), ((0, 4), 0), ((2, 0, 3), 1)]:
        x = np.zeros(shape)
        assert softviz.softmax(x, axis=axis, algorithm=algorithm).shape == shape
        assert softviz.log_softmax(x, axis=axis, algorithm=algorithm).shape == shape
        lse = softviz.logsumexp(x, axis=axis, algorithm=algorithm)
        np.testing.assert_array_equal(lse, sp.logsumexp(x, axis=axis))
    assert softviz.logsumexp(np.zeros(0)) == -inf


# --------------------------------------------------------- axes and layouts

@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, (0, 2), (2, 0), (0, 1, 2), None])
@pytest.mark.parametrize("layout", ["C", "F", "strided", "transposed"])
@pytest.mark.parametrize("op", OPS)
def test_axes_and_layouts(axis, layout, op):
    base = np.random.default_rng(1).standard_normal((4, 6, 10)) * 5
    x = {"C": base, "F": np.asfortranarray(base), "strided": base[:, ::2, ::3],
         "transposed": base.transpose(2, 0, 1)}[layout]
    f, g = OPS[op]
    assert_like_scipy(f(x, axis=axis), g(x, axis=axis), np.float64, op, x)
    if op == "logsumexp":
        assert_like_scipy(f(x, axis=axis, keepdims=True), g(x, axis=axis, keepdims=True), np.float64, op, x)


def test_input_not_modified():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    x_copy = x.copy()
    for alg in ALGS:
        for f, _ in OPS.values():
            f(x, algorithm=alg)
            f(x, axis=0, algorithm=alg, workers=2)
        softviz.softmax(x, algorithm=alg, temperature=2.0)
        softviz.log_softmax(x, axis=0, algorithm=alg, temperature=0.5)
    np.testing.assert_array_equal(x, x_copy)


@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("t", [0.05, 0.5, 1.0, 3.0, 1e4])
def test_temperature(algorithm, t):
    z = np.array([[1.0, 2.0, 3.0], [0.0, 9.0, 10.0]])
    np.testing.assert_allclose(softviz.softmax(z, temperature=t, algorithm=algorithm), sp.softmax(z / t, axis=-1),
                               rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(softviz.log_softmax(z, temperature=t, algorithm=algorithm),
                               sp.log_softmax(z / t, axis=-1), rtol=1e-13, atol=1e-12)


# ------------------------------------------------------------ properties

def _finite(width):
    return st.floats(width=width, allow_nan=False, allow_infinity=False, allow_subnormal=True)


def _rows(dtype, width, elements=None):
    return hnp.arrays(dtype, hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=40),
                      elements=_finite(width) if elements is None else elements)


@given(x=st.one_of(_rows(np.float32, 32), _rows(np.float64, 64)), algorithm=st.sampled_from(ALGS))
def test_finite_inputs_give_finite_probabilities(x, algorithm):
    p = softviz.softmax(x, algorithm=algorithm)
    assert np.all(np.isfinite(p)), x
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p.sum(axis=-1, dtype=np.float64), 1.0, rtol=1e-5 if x.dtype == np.float32 else 1e-12)
    assert np.all(softviz.log_softmax(x, algorithm=algorithm) <= 0)
    assert not np.any(np.isnan(softviz.logsumexp(x, algorithm=algorithm)))


_SPECIAL = st.one_of(st.sampled_from([inf, -inf, nan, 0.0, 1.0, -1.0, 3e38, -3e38]), _finite(32))


@given(x=st.one_of(_rows(np.float32, 32), _rows(np.float64, 64), _rows(np.float32, 32, _SPECIAL)),
       algorithm=st.sampled_from(ALGS), op=st.sampled_from(sorted(OPS)))
def test_matches_scipy(x, algorithm, op):
    """Finite rows of both precisions, and float32 rows mixed with NaN, +-inf and +-3e38."""
    f, g = OPS[op]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = g(x, axis=-1)
    assert_like_scipy(f(x, algorithm=algorithm), want, x.dtype, op, x)


@given(x=hnp.arrays(np.float64, st.integers(1, 30), elements=st.floats(-50, 50)),
       c=st.floats(-500, 500), algorithm=st.sampled_from(ALGS))
def test_shift_invariance(x, c, algorithm):
    np.testing.assert_allclose(softviz.softmax(x + c, algorithm=algorithm), softviz.softmax(x, algorithm=algorithm),
                               rtol=1e-11, atol=1e-300)


# -------------------------------------------------------------- accuracy

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_accuracy_against_mpmath(dtype):
    """DESIGN targets: float32 two_pass <= 1e-6, other algorithms <= 1e-5; float64 <= 1e-13.

    Rows of logits scaled 1..1000; elements whose exact value is below the smallest
    normal are left out (they may be flushed to 0).
    """
    rng = np.random.default_rng(2026)
    tiny = np.finfo(dtype).tiny
    worst = dict.fromkeys(ALGS, 0.0)
    for scale in (1, 10, 100, 1000):
        for _ in range(3):
            x = (rng.standard_normal(200) * scale).astype(dtype)
            exact = reference.exact_softmax(x.astype(np.float64))
            keep = exact >= tiny
            for alg in ALGS:
                got = softviz.softmax(x, algorithm=alg).astype(np.float64)
                err = np.max(np.abs(got[keep] - exact[keep]) / exact[keep])
                worst[alg] = max(worst[alg], err)
    for alg, err in worst.items():
        limit = (1e-6 if alg == "two_pass" else 1e-5) if dtype == np.float32 else 1e-13
        assert err <= limit, f"{alg} {np.dtype(dtype).name}: max rel err {err:.3g} > {limit:g}"


@pytest.mark.parametrize("algorithm", ALGS)
def test_logsumexp_accuracy(algorithm):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 300)) * 30
    exact = reference.exact_logsumexp(x)
    np.testing.assert_allclose(softviz.logsumexp(x, algorithm=algorithm), exact, rtol=4e-16 * 8, atol=1e-13)
    np.testing.assert_allclose(softviz.logsumexp(x.astype(np.float32), algorithm=algorithm), exact, rtol=1e-6)


# ------------------------------------------------------ threads and workers

def test_thread_safety():
    """Two threads calling the core at once get exactly the one-thread results."""
    rng = np.random.default_rng(3)
    inputs = [rng.standard_normal((8, 5000)).astype(dt) * 20 for dt in (np.float32, np.float64)]
    expected = {(i, alg): softviz.softmax(x, algorithm=alg) for i, x in enumerate(inputs) for alg in ALGS}
    errors = []

    def work(i):
        try:
            for _ in range(15):
                for alg in ALGS:
                    if not np.array_equal(softviz.softmax(inputs[i], algorithm=alg), expected[(i, alg)]):
                        errors.append((i, alg))
        except Exception as exc:  # surfaced below; a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1, 0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_workers_match_one_thread(algorithm, op, dtype):
    rng = np.random.default_rng(4)
    f = OPS[op][0]
    long_row = (rng.standard_normal(300_001) * 30).astype(dtype)
    one, two = f(long_row, algorithm=algorithm), f(long_row, algorithm=algorithm, workers=2)
    rtol = 1e-5 if dtype == np.float32 else 1e-13
    atol = 1e-37 if op == "softmax" else 8 * float(np.finfo(dtype).eps) * 150
    np.testing.assert_allclose(two, one, rtol=rtol, atol=atol)
    many = (rng.standard_normal((6, 1000)) * 30).astype(dtype)
    np.testing.assert_array_equal(f(many, algorithm=algorithm, workers=2), f(many, algorithm=algorithm))


@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("op", OPS)
def test_workers_special_rows(algorithm, op):
    f, g = OPS[op]
    for special in (nan, inf, -inf):
        x = np.zeros(200_000)
        x[123_456] = special
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = g(x)
        assert_like_scipy(f(x, algorithm=algorithm, workers=2), want, np.float64, op, x)
    x = np.full(200_000, -inf)
    assert_like_scipy(f(x, algorithm=algorithm, workers=2), g(x) if op == "logsumexp" else np.full(x.shape, nan),
                      np.float64, op, x)


# -------------------------------------------------------------- fallback

def test_numpy_fallback_matches(monkeypatch):
    monkeypatch.setattr(core._native, "AVAILABLE", False)
    x = np.random.default_rng(5).standard_normal((3, 7)) * 10
    for op, (f, g) in OPS.items():
        assert_like_scipy(f(x, axis=0), g(x, axis=0), np.float64, op, x)
        assert_like_scipy(f(x.astype(np.float32)), g(x.astype(np.float32), axis=-1), np.float32, op, x)
    assert softviz.native_available() is False


def test_import_without_core_warns_and_works():
    """A missing compiled module: import works, warns once, and numpy does the work."""
    code = """
import sys, warnings
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "softviz._softviz_cffi":
            raise ImportError("blocked for the test")
sys.meta_path.insert(0, Block())
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import softviz
    import softviz.core
msgs = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning) and "C core" in str(w.message)]
assert len(msgs) == 1, msgs
assert softviz.native_available() is False
print(softviz.softmax([1.0, 2.0, 3.0]).round(8).tolist())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[0.09003057, 0.24472847, 0.66524096]"


@pytest.mark.parametrize("algorithm", softviz.ALGORITHMS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_out_overlapping_x_gives_the_result_of_a_copy(algorithm, dtype, op):
    """out may be x itself or overlap it partly (one element along, either way): the
    result is what a separate output gets, for every algorithm (the kernels refuse a
    partial overlap and three-pass reload in place; the general path then goes through
    a temporary)."""
    fn = getattr(softviz, op)
    rng = np.random.default_rng(7)
    for n in (5, 300, 5000):
        buf = (rng.standard_normal(n + 1) * 4).astype(dtype)
        for x_slice, out_slice in ((slice(0, n), slice(1, n + 1)), (slice(1, n + 1), slice(0, n)),
                                   (slice(0, n), slice(0, n))):
            b = buf.copy()
            want = fn(b[x_slice].copy(), algorithm=algorithm)
            got = fn(b[x_slice], algorithm=algorithm, out=b[out_slice])
            assert got is not None and np.shares_memory(got, b)
            np.testing.assert_array_equal(b[out_slice], want)
