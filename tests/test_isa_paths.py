"""The C core on every instruction set this machine has (portable, AVX2, AVX-512).

Dispatch picks the best kernels once at load; ``SOFTVIZ_ISA`` (or
``softviz._native.select_isa`` in-process) forces a lower path.  Each path gets the same
battery against ``scipy.special``: every algorithm and op, both precisions, row
lengths around every vector, unroll and block boundary, special values, dominated rows,
``workers=`` and ``out=``.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.special as sp

import softviz
from softviz import _native

pytestmark = pytest.mark.skipif(not softviz.native_available(), reason="the C core is not compiled")

SUPPORTED = _native.kernel_info()["supported"] if softviz.native_available() else []
LENGTHS = (1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 255, 256, 257, 1023, 1024, 1025, 4097, 70001)
RTOL = {np.float32: 2e-5, np.float64: 1e-13}


@pytest.fixture(params=["portable", "avx2", "avx512"])
def isa(request):
    if request.param not in SUPPORTED:
        pytest.skip(f"this CPU/build has no {request.param} kernels (it has {SUPPORTED})")
    before = _native.kernel_info()
    _native.select_isa(request.param)
    yield request.param
    _native.select_isa(before["requested"] or None)


def _rows(dtype, rng):
    for n in LENGTHS:
        x = (rng.standard_normal(n) * 8).astype(dtype)
        yield f"normal-{n}", x
        if n > 4:
            masked = x.copy()
            masked[rng.random(n) < 0.3] = -np.inf
            masked[n // 2] = 1.0
            yield f"masked-{n}", masked
            dominated = x.copy()
            dominated[n // 3] = 80.0
            yield f"dominated-{n}", dominated


def _close(got, want, dtype, what):
    np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=1e-30 if dtype == np.float64 else 1e-37,
                               err_msg=what)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("algorithm", softviz.ALGORITHMS)
def test_agrees_with_scipy_on_every_length(isa, algorithm, dtype):
    rng = np.random.default_rng(7)
    for name, x in _rows(dtype, rng):
        ref = x.astype(np.float64)
        what = f"{isa} {algorithm} {name}"
        _close(softviz.softmax(x, algorithm=algorithm), sp.softmax(ref), dtype, what)
        lse = softviz.logsumexp(x, algorithm=algorithm)
        assert abs(lse - sp.logsumexp(ref)) <= RTOL[dtype] * max(1.0, abs(lse)), what
        got = softviz.log_softmax(x, algorithm=algorithm)
        want = sp.log_softmax(ref)
        finite = np.isfinite(want)
        assert np.array_equal(np.isfinite(got), finite), what
        np.testing.assert_allclose(got[finite], want[finite], rtol=RTOL[dtype], atol=RTOL[dtype] * 30, err_msg=what)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("algorithm", softviz.ALGORITHMS)
def test_special_values_and_exact_rows(isa, algorithm, dtype):
    inf, nan = np.inf, np.nan
    for row in ([nan, 1, 2], [inf, 1, 2], [-inf, -inf, -inf], [inf, -inf, 0], [-inf, 1, 2], [3e38, -3e38, 0]):
        x = np.array(row, dtype)
        if np.isfinite(x).any() and not np.isnan(x).any() and not np.isposinf(x).any():
            _close(softviz.softmax(x, algorithm=algorithm), sp.softmax(x.astype(float)), dtype, str(row))
            continue
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(softviz.softmax(x, algorithm=algorithm), sp.softmax(x.astype(float)).astype(dtype))
            np.testing.assert_array_equal(softviz.log_softmax(x, algorithm=algorithm),
                                          sp.log_softmax(x.astype(float)).astype(dtype))
            assert np.array_equal(softviz.logsumexp(x, algorithm=algorithm),
                                  dtype(sp.logsumexp(x.astype(float))), equal_nan=True)
    for v in (0.9, -7.25, 2.0, 1000.0 if dtype == np.float64 else 80.0):
        assert softviz.softmax(np.array([v], dtype), algorithm=algorithm)[0] == 1
        assert softviz.log_softmax(np.array([v], dtype), algorithm=algorithm)[0] == 0
        assert softviz.softmax(np.full(4, v, dtype), algorithm=algorithm).sum() == 1


@pytest.mark.parametrize("algorithm", softviz.ALGORITHMS)
def test_workers_and_out_through_the_c_plan(isa, algorithm):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(200_003) * 5).astype(np.float32)
    one = softviz.softmax(x, algorithm=algorithm)
    np.testing.assert_allclose(softviz.softmax(x, algorithm=algorithm, workers=2), one, rtol=2e-6)
    np.testing.assert_allclose(softviz.log_softmax(x, algorithm=algorithm, workers=2),
                               softviz.log_softmax(x, algorithm=algorithm), rtol=2e-6, atol=1e-6)
    assert softviz.logsumexp(x, algorithm=algorithm, workers=2) == pytest.approx(
        softviz.logsumexp(x, algorithm=algorithm), rel=1e-6)
    out = np.empty_like(x)
    assert softviz.softmax(x, algorithm=algorithm, out=out) is out
    np.testing.assert_array_equal(out, one)
    y = x.copy()
    softviz.softmax(y, algorithm=algorithm, out=y)
    np.testing.assert_array_equal(y, one)


def test_softviz_isa_environment_variable_forces_a_path():
    for name in SUPPORTED:
        code = "import softviz, json; print(json.dumps(softviz.kernel_info()))"
        env = dict(os.environ, SOFTVIZ_ISA=name)
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
        assert run.returncode == 0, run.stderr
        assert f'"isa": "{name}"' in run.stdout and f'"requested": "{name}"' in run.stdout
    env = dict(os.environ, SOFTVIZ_ISA="sse9")
    run = subprocess.run([sys.executable, "-W", "always", "-c", "import softviz; print(softviz.kernel_info()['isa'])"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == SUPPORTED[-1]
    assert "SOFTVIZ_ISA='sse9' ignored" in run.stderr


def test_kernel_info_is_the_dispatch_record():
    info = softviz.kernel_info()
    assert info["isa"] in info["supported"] and set(info["supported"]) <= set(info["compiled"])
    assert info["compiled"][0] == "portable" and info["compiler"]
    with pytest.raises(ValueError, match="unknown instruction set"):
        _native.select_isa("sse9")


@pytest.mark.parametrize("algorithm", softviz.ALGORITHMS)
def test_workers_take_the_threaded_plan_even_on_one_cpu(monkeypatch, algorithm):
    """workers= follows the CPUs this process may use; here it is told there are four, so the
    chunked plan (accumulate per chunk on threads, merge in C, finish per chunk) runs on any
    machine, special rows and dominated rows included."""
    monkeypatch.setattr(_native, "_cpus", lambda: 4)
    monkeypatch.setattr(_native, "_MIN_CHUNK", 64)
    used = []
    real = _native._split_row
    monkeypatch.setattr(_native, "_split_row", lambda *args: used.append(args[-1]) or real(*args))
    rng = np.random.default_rng(11)
    rows = {"normal": rng.standard_normal(1000) * 5, "dominated": np.r_[80.0, rng.standard_normal(999)],
            "masked": np.where(rng.random(1000) < 0.3, -np.inf, rng.standard_normal(1000)),
            "nan": np.r_[np.nan, rng.standard_normal(999)], "pinf": np.r_[np.inf, rng.standard_normal(999)]}
    for name, x in rows.items():
        for dtype in (np.float32, np.float64):
            xs = x.astype(dtype)
            with np.errstate(invalid="ignore"):
                for fn in (softviz.softmax, softviz.log_softmax, softviz.logsumexp):
                    one = fn(xs, algorithm=algorithm)
                    many = fn(xs, algorithm=algorithm, workers=3)
                    np.testing.assert_allclose(many, one, rtol=4e-6 if dtype == np.float32 else 1e-13,
                                               atol=1e-6 if fn is softviz.log_softmax else 0,
                                               err_msg=f"{fn.__name__} {name} {dtype.__name__}")
    assert used and set(used) == {3}
