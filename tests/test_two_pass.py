"""softviz.two_pass (alias softviz.kernels): the extended-exponent split, memory traffic and the probes."""
import math

import mpmath
import numpy as np
import pytest

import softviz
from softviz import two_pass

needs_native = pytest.mark.skipif(not softviz.native_available(), reason="the C core is not compiled")


@pytest.mark.parametrize("x", [1000.0, -1000.0, 0.0, 1.0, -1.0, 88.73, 709.79, 710.0, -745.2, 0.34657, -0.34657, 12345.678])
def test_extexp_scalar(x):
    """exp(x) == p * 2**n, with p in [sqrt(1/2), sqrt(2)], even where exp(x) overflows."""
    p, n = two_pass.extexp(x)
    assert isinstance(p, np.floating) and p.dtype == np.float64
    assert n == round(x * math.log2(math.e))
    # the rounding of x * log2(e) may step just outside the interval, by ~|x| eps
    slack = 4e-16 * max(1.0, abs(x))
    assert 2 ** -0.5 * (1 - slack) <= p <= 2 ** 0.5 * (1 + slack)
    exact = mpmath.exp(mpmath.mpf(x))
    assert abs(mpmath.mpf(float(p)) * mpmath.power(2, int(n)) / exact - 1) < 4e-16


def test_extexp_float32_array():
    x = np.linspace(-5000, 5000, 20001, dtype=np.float32)
    p, n = two_pass.extexp(x)
    assert p.dtype == n.dtype == np.float32 and p.shape == x.shape
    slack = 1.2e-7 * np.maximum(1.0, np.abs(x.astype(np.float64)))
    assert np.all(p >= 2 ** -0.5 * (1 - slack)) and np.all(p <= 2 ** 0.5 * (1 + slack))
    # float32 rounds x * log2(e) before rint: next to a half-integer n may be the
    # neighbouring integer (the pair still represents exp(x), checked below)
    assert np.max(np.abs(n - np.rint(x.astype(np.float64) * np.log2(np.e)))) <= 1
    # log(p) + n ln 2 == x, in float64 to see float32's error
    back = np.log(p.astype(np.float64)) + n.astype(np.float64) * np.log(2.0)
    np.testing.assert_allclose(back, x.astype(np.float64), rtol=0, atol=3e-7)


def test_extexp_shapes_and_ints():
    p, n = two_pass.extexp([[1, 2], [3, 4]])
    assert p.shape == (2, 2) and p.dtype == np.float64
    np.testing.assert_allclose(p * 2.0 ** n, np.exp([[1, 2], [3, 4]]), rtol=1e-15)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan, 1e7, [1.0, 2e6]])
def test_extexp_rejects_out_of_range(bad):
    with pytest.raises(ValueError):
        two_pass.extexp(np.float32(bad) if np.ndim(bad) == 0 and abs(bad) == 1e7 else bad)


def test_extexp_rejects_complex():
    with pytest.raises(TypeError):
        two_pass.extexp(1j)


def test_memory_traffic_matches_the_paper():
    n = 1000
    assert two_pass.memory_traffic("three_pass_reload", n) == {"reads": 3 * n, "writes": 2 * n, "bytes": 5 * n * 4}
    assert two_pass.memory_traffic("three_pass_recompute", n) == {"reads": 3 * n, "writes": n, "bytes": 4 * n * 4}
    assert two_pass.memory_traffic("two_pass", n, np.float64) == {"reads": 2 * n, "writes": n, "bytes": 3 * n * 8}
    assert two_pass.memory_traffic("online", n)["bytes"] == 3 * n * 4
    with pytest.raises(ValueError, match="two_pass"):
        two_pass.memory_traffic("fourpass", n)
    with pytest.raises(ValueError):
        two_pass.memory_traffic("online", -1)


@needs_native
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_probes(dtype):
    x = np.arange(100_003, dtype=dtype)
    assert two_pass.read_probe(x) == pytest.approx(float(x.astype(np.float64).sum()), rel=1e-6)
    out = np.empty_like(x)
    two_pass.copy_probe(x, out)
    np.testing.assert_array_equal(out, x)


def test_probes_reject_bad_arrays():
    with pytest.raises(TypeError):
        two_pass.read_probe(np.arange(10))  # int64
    with pytest.raises(TypeError):
        two_pass.read_probe(np.ones((4, 4))[:, ::2])
    with pytest.raises(ValueError):
        two_pass.copy_probe(np.ones(4), np.ones(5))


@needs_native
def test_simd_path_and_build_info():
    info = two_pass.build_info()
    assert info["native"] is True and info["compiler"]
    path = two_pass.simd_path()
    assert path == info["simd_path"]
    if info["machine"] in ("x86_64", "AMD64") and not softviz.kernel_info()["requested"]:
        # the default build dispatches at load time: on any x86-64 CPU with AVX2 the
        # portable kernels must not be the ones that run
        import subprocess
        flags = subprocess.run(["grep", "-m1", "-o", "-w", "avx2", "/proc/cpuinfo"], capture_output=True, text=True)
        if flags.stdout.strip() == "avx2":
            assert "AVX2" in path or "AVX-512" in path


def test_probes_and_out_refuse_read_only_buffers(tmp_path):
    """Nothing in the C core may write into memory the caller passed read-only."""
    import softviz
    from softviz import _native

    if not softviz.native_available():
        pytest.skip("the C core is not compiled")
    path = tmp_path / "ro.bin"
    np.zeros(4, np.float32).tofile(path)
    ro = np.memmap(path, np.float32, "r")
    with pytest.raises(ValueError, match="read-only"):
        two_pass.copy_probe(np.ones(4, np.float32), ro)
    with pytest.raises(TypeError):
        two_pass.copy_probe(np.ones(2, np.float32), b"\x00" * 8)
    # below the public checks, the cffi layer refuses read-only buffers as well
    with pytest.raises(ValueError, match="read-only"):
        _native.copy_probe(np.ones(2, np.float32), np.frombuffer(b"\x00" * 8, np.float32))
    assert np.all(np.fromfile(path, np.float32) == 0)
    frozen = np.zeros(3)
    frozen.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        softviz.softmax([1.0, 2.0, 3.0], out=frozen)
    with pytest.raises(ValueError, match="shape"):
        softviz.softmax([1.0, 2.0, 3.0], out=np.zeros(4))
    with pytest.raises(TypeError, match="dtype"):
        softviz.softmax([1.0, 2.0, 3.0], out=np.zeros(3, np.float32))
    with pytest.raises(TypeError, match="numpy array"):
        softviz.softmax([1.0, 2.0, 3.0], out=[0.0, 0.0, 0.0])


# -- argument checks: a TypeError/ValueError that names the parameter, never numpy's words ----

RAGGED = [[1.0], [1.0, 2.0]]
NUMPY_WORDS = ("inhomogeneous", "setting an array element", "unhashable", "Cannot interpret",
               "not understood", "Field elements")


def _raises_naming(exc, name, fn, *args, **kwargs):
    with pytest.raises(exc) as err:
        fn(*args, **kwargs)
    msg = str(err.value)
    assert name in msg, msg
    assert not any(words in msg for words in NUMPY_WORDS), msg
    return msg


@pytest.mark.parametrize("fn", [two_pass.extexp, two_pass.trace_softmax])
def test_ragged_x_is_named(fn):
    msg = _raises_naming(TypeError, "x", fn, RAGGED)
    assert msg.startswith("x must")


@needs_native
def test_c_accumulators_checks_x_algorithm_and_shift():
    _raises_naming(TypeError, "x", two_pass.c_accumulators, RAGGED, "online")
    _raises_naming(TypeError, "x", two_pass.c_accumulators, "abc", "online")
    assert "shape (2, 2)" in _raises_naming(ValueError, "x", two_pass.c_accumulators,
                                            np.zeros((2, 2)), "online")
    _raises_naming(TypeError, "x", two_pass.c_accumulators, None, "online")
    for bad in ([], ["two_pass"], {}, np.array([1.0])):
        # unhashable values used to escape as "unhashable type: 'list'"
        msg = _raises_naming(ValueError, "algorithm", two_pass.c_accumulators, [1.0, 2.0], bad)
        assert "two_pass" in msg
    _raises_naming(TypeError, "shift", two_pass.c_accumulators, [1.0, 2.0], "three_pass_reload",
                   shift="0")
    _raises_naming(ValueError, "shift", two_pass.c_accumulators, [1.0, 2.0], "three_pass_reload",
                   shift=math.nan)
    _raises_naming(ValueError, "shift", two_pass.c_accumulators, [1.0, 2.0], "online", shift=0.0)
    # a good shift still works
    c = two_pass.c_accumulators([0.0, 0.0], "three_pass_recompute", shift=0.0)
    assert c["sum"] == pytest.approx(2.0)


@pytest.mark.parametrize("bad", [[], ["online"], {}, np.array([1.0, 2.0]), None, 3])
def test_algorithm_is_named_for_any_value(bad):
    _raises_naming(ValueError, "algorithm", two_pass.memory_traffic, bad, 16)
    _raises_naming(ValueError, "algorithm", two_pass.trace_softmax, [1.0, 2.0], bad)


def test_memory_traffic_checks_n_and_dtype():
    _raises_naming(TypeError, "n", two_pass.memory_traffic, "online", 16.0)
    _raises_naming(TypeError, "n", two_pass.memory_traffic, "online", True)
    _raises_naming(ValueError, "n", two_pass.memory_traffic, "online", -1)
    for bad in ("x", b"\x00\x02", 1.5, [1], ["a", "b"], object(), "U3", np.complex64):
        _raises_naming(TypeError, "dtype", two_pass.memory_traffic, "online", 16, bad)
    # any real dtype gives its item size; huge n is plain integer arithmetic
    assert two_pass.memory_traffic("online", 16, "float16")["bytes"] == 3 * 16 * 2
    assert two_pass.memory_traffic("online", 10 ** 30, np.float64)["bytes"] == 3 * 10 ** 30 * 8


@pytest.mark.parametrize("bad", [None, [1.0, 2.0], 3.0, np.arange(4), np.ones((4, 4))[:, ::2],
                                 np.array([1j, 2j])])
def test_probes_name_the_bad_array(bad):
    _raises_naming(TypeError, "x", two_pass.read_probe, bad)
    _raises_naming(TypeError, "x", two_pass.copy_probe, bad, np.zeros(4))
    msg = _raises_naming(TypeError, "out", two_pass.copy_probe, np.zeros(4), bad)
    assert "needs out" in msg


def test_copy_probe_refuses_bytes_and_mismatched_out():
    _raises_naming(TypeError, "out", two_pass.copy_probe, np.ones(2, np.float32), b"\x00" * 8)
    _raises_naming(ValueError, "out", two_pass.copy_probe, np.ones(4), np.ones(5))
    _raises_naming(ValueError, "out", two_pass.copy_probe, np.ones(4), np.ones(4, np.float32))


def test_extexp_messages_name_x():
    _raises_naming(ValueError, "x", two_pass.extexp, [1.0, math.nan])
    _raises_naming(ValueError, "x", two_pass.extexp, 10 ** 400)
    _raises_naming(TypeError, "x", two_pass.extexp, "abc")
    _raises_naming(ValueError, "x", two_pass.extexp, 2e6)


def test_kernels_is_a_stable_alias_of_two_pass():
    # softviz.kernels is the documented older name of lesson 06's module: same names, same objects
    from softviz import kernels

    assert kernels.__all__ == two_pass.__all__
    for name in two_pass.__all__:
        assert getattr(kernels, name) is getattr(two_pass, name), name
    assert kernels.extexp is two_pass.extexp and kernels.memory_traffic is two_pass.memory_traffic


def test_step_through_panel_is_the_old_name_of_two_pass_panel():
    from softviz import panels
    from softviz.panels import two_pass as panel_module

    assert panels.StepThroughPanel is panels.TwoPassPanel is panel_module.TwoPassPanel
    assert "TwoPassPanel" in panels.registry() and "StepThroughPanel" not in panels.registry()
