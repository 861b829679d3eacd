"""algorithm="auto": the rule, each of its branches, and that every branch keeps the
exactness and special-value contract of the algorithm it runs."""
import numpy as np
import pytest
import scipy.special

import softviz
from softviz import auto, core

pytestmark = pytest.mark.skipif(not softviz.native_available(), reason="auto chooses among C kernels")

OPS = {"softmax": (softviz.softmax, scipy.special.softmax),
       "log_softmax": (softviz.log_softmax, scipy.special.log_softmax),
       "logsumexp": (softviz.logsumexp, scipy.special.logsumexp)}


def test_rule_branches():
    row = auto.ROW_IN_CACHE_BYTES
    assert 0 < row <= 8 << 20 and row == min(auto.LLC_BYTES // 4, 8 << 20)
    # a row and its output in cache: reload, for one row or a batch far larger than any cache
    assert softviz.auto_algorithm(row // 8, np.float32) == "three_pass_reload"
    assert softviz.auto_algorithm(row // 8, np.float32, rows=10**6) == "three_pass_reload"
    assert softviz.auto_algorithm(128, np.float32, rows=8192) == "three_pass_reload"
    # longer rows: two-pass
    assert softviz.auto_algorithm(row // 8 + 1, np.float32) == "two_pass"
    assert softviz.auto_algorithm(2**24, np.float32) == "two_pass"
    # float64 rows are twice the bytes; float16 and ints run in float32 / float64
    assert softviz.auto_algorithm(row // 8, np.float64) == "two_pass"
    assert softviz.auto_algorithm(row // 16, np.float64) == "three_pass_reload"
    assert softviz.auto_algorithm(row // 8, np.float16) == "three_pass_reload"
    assert softviz.auto_algorithm(row // 8, np.int32) == "two_pass"
    assert softviz.auto_algorithm(8, np.float32, in_place=True) == "two_pass"


def test_rule_follows_the_caches(monkeypatch):
    """The thresholds come from softviz.caches: a quarter of L3 (or of L2 without one), capped."""
    import importlib

    import softviz.caches
    try:
        for caches, want in (({"L1": 32 << 10, "L2": 1 << 20, "L3": 32 << 20}, 8 << 20),
                             ({"L1": 32 << 10, "L2": 1 << 20, "L3": 480 << 20}, 8 << 20),
                             ({"L1": 48 << 10, "L2": 2 << 20}, 512 << 10),
                             ({}, 256 << 10)):
            monkeypatch.setattr(softviz.caches, "cache_sizes", lambda caches=caches: dict(caches))
            importlib.reload(auto)
            assert auto.ROW_IN_CACHE_BYTES == want, caches
    finally:
        monkeypatch.undo()
        importlib.reload(auto)


def test_rule_is_reported():
    info = softviz.kernel_info()["auto"]
    assert info["row_in_cache_bytes"] == auto.ROW_IN_CACHE_BYTES and info["llc_bytes"] == auto.LLC_BYTES
    assert "three_pass_reload" in info["rule"] and "two_pass" in info["rule"]
    assert info["llc_bytes"] >= 4096


@pytest.mark.parametrize("bad, exc", [(("n", -1), ValueError), (("n", 2.0), TypeError), (("rows", True), TypeError),
                                      (("dtype", "complex64"), TypeError), (("dtype", "nope"), TypeError)])
def test_bad_arguments_name_the_parameter(bad, exc):
    kwargs = {"n": 8, "dtype": np.float32, "rows": 1}
    kwargs[bad[0]] = bad[1]
    n = kwargs.pop("n")
    with pytest.raises(exc, match=bad[0]):
        softviz.auto_algorithm(n, **kwargs)


def _rows_with_specials(rng, rows, n, dtype):
    x = (rng.standard_normal((rows, n)) * 20).astype(dtype)
    if n:
        x[1 % rows, rng.integers(n)] = np.nan
        x[2 % rows, rng.integers(n)] = np.inf
        x[3 % rows, :] = -np.inf
        x[4 % rows, rng.integers(n)] = 1e4       # one entry dominates: log1p path
    return x


@pytest.fixture(params=["row_in_cache", "long_rows"])
def branch(request, monkeypatch):
    """Each branch of the rule forced on small arrays by moving the threshold."""
    monkeypatch.setattr(auto, "ROW_IN_CACHE_BYTES", 1 << 40 if request.param == "row_in_cache" else 0)
    return request.param


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 7, 16, 33, 130, 1000])
def test_each_branch_is_its_algorithm_bit_for_bit(branch, op, dtype, n, monkeypatch):
    seen = []
    real = core._native.rows
    monkeypatch.setattr(core._native, "rows", lambda o, alg, x, out, w: seen.append(alg) or real(o, alg, x, out, w))
    rng = np.random.default_rng(n)
    x = _rows_with_specials(rng, 6, n, dtype)
    ours, ref = OPS[op]
    got = ours(x)
    want_alg = "two_pass" if branch == "long_rows" else "three_pass_reload"
    if n:
        assert seen and set(seen) == {want_alg}
    np.testing.assert_array_equal(got, ours(x, algorithm=want_alg))
    with np.errstate(all="ignore"):
        expected = ref(x.astype(np.float64), axis=-1) if n else ours(x, algorithm="online")
    tol = 2e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(got, expected.astype(dtype), rtol=tol, atol=tol if op != "logsumexp" else 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_row_fast_path_follows_the_rule(dtype, monkeypatch):
    x = np.linspace(-5, 5, 300).astype(dtype)
    for cache, want in ((1 << 40, "three_pass_reload"), (0, "two_pass")):
        monkeypatch.setattr(auto, "ROW_IN_CACHE_BYTES", cache)
        np.testing.assert_array_equal(softviz.softmax(x), softviz.softmax(x, algorithm=want))
        np.testing.assert_array_equal(softviz.log_softmax(x), softviz.log_softmax(x, algorithm=want))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_runs_two_pass(dtype, monkeypatch):
    monkeypatch.setattr(auto, "ROW_IN_CACHE_BYTES", 1 << 40)
    rng = np.random.default_rng(1)
    for shape in ((50,), (4, 50)):
        x = rng.standard_normal(shape).astype(dtype)
        want = softviz.softmax(x, algorithm="two_pass")
        y = x.copy()
        assert softviz.softmax(y, out=y) is y
        np.testing.assert_array_equal(y, want)


def test_workers_auto_equals_one_thread(monkeypatch):
    from softviz import _native
    monkeypatch.setattr(_native, "AUTO_WORKERS_MIN_ELEMENTS", 1)
    monkeypatch.setattr(_native, "_cpus", lambda: 2)
    x = np.random.default_rng(2).standard_normal((64, 300)).astype(np.float32)
    np.testing.assert_array_equal(softviz.softmax(x, workers="auto"), softviz.softmax(x))
    assert _native.auto_workers(10) == 2
    monkeypatch.setattr(_native, "AUTO_WORKERS_MIN_ELEMENTS", 1 << 18)
    assert _native.auto_workers(1000) == 1
    with pytest.raises(TypeError, match="workers"):
        softviz.softmax(x, workers="many")
