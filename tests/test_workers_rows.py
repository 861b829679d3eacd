"""workers= on batches: whole rows per thread through the C job mailbox, bit-identical."""
import threading

import numpy as np
import pytest

import softviz
from softviz import _native, _outputs

pytestmark = pytest.mark.skipif(not _native.AVAILABLE, reason="C core not compiled")


@pytest.mark.parametrize("op", ["softmax", "log_softmax", "logsumexp"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("workers", [2, 3, 5])
def test_batches_equal_one_thread(op, dtype, workers, monkeypatch):
    monkeypatch.setattr(_native, "_cpus", lambda: workers)   # even on a one-CPU machine
    rng = np.random.default_rng(workers)
    x = (rng.standard_normal((37, 129)) * 30).astype(dtype)
    x[5, 3], x[30, :] = np.nan, -np.inf
    f = getattr(softviz, op)
    for algorithm in softviz.ALGORITHMS + ("auto",):
        np.testing.assert_array_equal(f(x, algorithm=algorithm, workers=workers), f(x, algorithm=algorithm))


def test_concurrent_callers_share_the_helpers_safely(monkeypatch):
    monkeypatch.setattr(_native, "_cpus", lambda: 2)
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((64, 200)).astype(np.float32) for _ in range(4)]
    want = [softviz.softmax(x) for x in xs]
    errors = []

    def caller(i):
        for _ in range(50):
            if not np.array_equal(softviz.softmax(xs[i], workers=2), want[i]):
                errors.append(i)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_a_failing_job_raises(monkeypatch):
    monkeypatch.setattr(_native, "_cpus", lambda: 2)
    x = np.zeros((8, 16), np.float32)
    with pytest.raises(RuntimeError, match="unknown algorithm"):
        _native._split_rows("softmax", 9, "f32", _native._in(x), _native._out(np.empty_like(x)), 8, 16, 2)


def test_fresh_large_outputs_are_writable_numpy_arrays():
    x = np.zeros((2, _outputs.FRESH_MMAP_BYTES // 8), np.float32)
    y = softviz.softmax(x)
    assert isinstance(y, np.ndarray) and y.flags.writeable and y.flags.c_contiguous and y.shape == x.shape
    np.testing.assert_allclose(y[:, :3], 1.0 / x.shape[1], rtol=1e-6)
    small = _outputs.empty((3, 4), np.float64)
    assert small.dtype == np.float64 and small.shape == (3, 4)
