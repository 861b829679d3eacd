"""The C core's many-states API through softviz._native (lesson 08's tiles)."""
import numpy as np
import pytest

import softviz
from softviz import _native

pytestmark = pytest.mark.skipif(not _native.AVAILABLE, reason="C core not compiled")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("algorithm", softviz.ALGORITHMS)
def test_tiles_merge_to_the_whole_row(dtype, algorithm):
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(6, 257)) * 8).astype(dtype)
    x[4, 100] = np.nan
    cuts = [0, 64, 65, 200, 257]
    states = _native.new_states(6, algorithm, "log_softmax")
    scratch = np.empty_like(x)
    for stage in range(states.stages):
        merged = None
        for a, b in zip(cuts[:-1], cuts[1:]):
            part = _native.new_states(6, algorithm, "log_softmax")
            part.view[:] = states.view           # stage 1 of three-pass sums against the merged max
            if stage == 1:
                part.view["sum"] = 0.0
            tile = np.ascontiguousarray(x[:, a:b])
            out = np.empty_like(tile)
            _native.accumulate_rows(part, stage, tile, out)
            scratch[:, a:b] = out
            if merged is None:
                merged = part
            else:
                _native.merge_rows(merged, part, stage)
        states = merged
    special = _native.finalize_rows(states, x)
    assert special.tolist() == [False, False, False, False, True, False]
    want = softviz.logsumexp(x.astype(np.float64), algorithm=algorithm)
    ok = ~special
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(states.view["lse"][ok], want[ok], rtol=tol)
    if algorithm != "three_pass_reload":
        y = np.empty_like(x)
        _native.finish_rows(states, x, y)
        np.testing.assert_allclose(y[ok], softviz.log_softmax(x, algorithm=algorithm)[ok], rtol=tol, atol=tol)


def test_view_shares_the_c_states():
    states = _native.new_states(3, "online")
    states.view["max"] = [1.0, 2.0, 3.0]
    assert [states.cdata[i].max for i in range(3)] == [1.0, 2.0, 3.0]


def test_bad_tiles_are_refused():
    states = _native.new_states(2, "online")
    with pytest.raises(ValueError, match="x must be"):
        _native.accumulate_rows(states, 0, np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match="x must be"):
        _native.accumulate_rows(states, 0, np.zeros((2, 8), np.float32)[:, ::2])
    with pytest.raises(ValueError, match="from_ has"):
        _native.merge_rows(states, _native.new_states(3, "online"), 0)
    with pytest.raises(RuntimeError, match="unknown option"):
        _native.accumulate_rows(states, 1, np.zeros((2, 4), np.float32))
