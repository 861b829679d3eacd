"""softviz.attention (lesson 08): tiled attention through the C core against the one-shot
versions, the step-through trace, the memory accounting, the scale sweep, the precision
study, the panels, the derivations and the benchmark module."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import softviz
from softviz import _native
from softviz import attention as A

needs_c = pytest.mark.skipif(not _native.AVAILABLE, reason="C core not compiled")


def _case(rng, n, m, d, dv, dtype, spread, mask_p):
    q, k, v = A.random_qkv(n, m, d, dv=dv, rng=rng, dtype=dtype)
    q = (q * np.asarray(spread, dtype=dtype)).astype(dtype)
    mask = None
    if mask_p:
        mask = rng.random((n, m)) >= mask_p
        mask[np.arange(n), rng.integers(0, m, n)] = True   # every query keeps a key
    return q, k, v, mask


# --------------------------------------------------------------------------- tiled == one shot

@needs_c
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 40), m=st.integers(1, 70), d=st.integers(1, 24), dv=st.integers(1, 6),
       bq=st.integers(1, 48), bk=st.integers(1, 80), dtype=st.sampled_from(["float32", "float64"]),
       spread=st.sampled_from([0.1, 1.0, 6.0, 40.0]), mask_p=st.sampled_from([0.0, 0.4, 0.9]),
       causal=st.booleans(), seed=st.integers(0, 2**31))
def test_tiled_equals_one_shot(n, m, d, dv, bq, bk, dtype, spread, mask_p, causal, seed):
    rng = np.random.default_rng(seed)
    q, k, v, mask = _case(rng, n, m, d, dv, dtype, spread, mask_p)
    if causal and mask is not None:
        mask[np.arange(n), 0] = True         # key 0 is visible to every causal row
    ref, lse = A.attention(q, k, v, mask=mask, causal=causal, return_lse=True)
    got = A.tiled_attention(q, k, v, mask=mask, causal=causal, block_q=bq, block_k=bk, return_stats=True)
    S = A.attention_scores(q, k, mask=mask, causal=causal)
    assert got.out.dtype == np.dtype(dtype) and got.out.shape == (n, dv)
    assert np.isfinite(got.out).all()
    bound = A.error_bound(q, k, v, mask=mask, causal=causal)
    err = np.abs(got.out.astype(np.float64) - ref).max(axis=1)
    assert np.all(err <= bound["out"]), (err, bound["out"])
    assert np.all(np.abs(got.lse - lse) <= bound["lse"])
    eps = float(np.finfo(dtype).eps)
    # the row maxima agree to the rounding of the scores themselves (the BLAS may add a tile's
    # dot products in another order than the whole matrix's; exact scores: the next test)
    size = (np.abs(q).astype(np.float64) @ np.abs(k).T.astype(np.float64)).max() / math.sqrt(d)
    np.testing.assert_allclose(got.max, np.max(S, axis=1), rtol=0, atol=2 * d * eps * size)
    assert not got.special.any()


@needs_c
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exact_scores_give_identical_maxima_and_close_outputs(dtype):
    # small integers and a power-of-two scale: every score is exact whatever order the BLAS
    # adds in, so the tiled and the one-shot softmax see the very same numbers
    rng = np.random.default_rng(11)
    q = rng.integers(-4, 5, size=(70, 64)).astype(dtype)
    k = rng.integers(-4, 5, size=(130, 64)).astype(dtype)
    v = rng.standard_normal((130, 8)).astype(dtype)
    S = A.attention_scores(q, k)
    np.testing.assert_array_equal(S, (q.astype(np.float64) @ k.T.astype(np.float64)) / 8)
    got = A.tiled_attention(q, k, v, block_q=16, block_k=32, return_stats=True)
    np.testing.assert_array_equal(got.max, S.max(axis=1))
    ref = A.attention(q, k, v)
    assert np.all(np.abs(got.out - ref).max(axis=1) <= A.error_bound(q, k, v)["out"])
    assert got.rescales > 0           # the max moved in some rows: the rescale was exercised


@needs_c
def test_naive_numpy_agrees():
    q, k, v = A.random_qkv(100, 150, 32, dv=5, rng=2)
    for causal in (False, True):
        np.testing.assert_allclose(A.naive_attention(q, k, v, causal=causal),
                                   A.tiled_attention(q, k, v, causal=causal, block_q=17, block_k=23),
                                   rtol=0, atol=2e-6)


@needs_c
def test_causal_matches_an_explicit_triangular_mask():
    q, k, v = A.random_qkv(50, 80, 8, rng=4)
    tri = np.tri(50, 80, dtype=bool)
    np.testing.assert_array_equal(A.tiled_attention(q, k, v, causal=True, block_q=8, block_k=8),
                                  A.tiled_attention(q, k, v, mask=tri, block_q=8, block_k=8))
    # row 0 attends to key 0 only: its output is v[0]
    np.testing.assert_allclose(A.tiled_attention(q, k, v, causal=True)[0], v[0], rtol=1e-6)


@needs_c
def test_blocks_hidden_while_the_state_is_empty_give_no_nan():
    # a padding mask: the first 40 keys are hidden from every query, so the C states meet
    # whole tiles of -inf before any finite score
    q, k, v = A.random_qkv(6, 64, 8, rng=5)
    mask = np.ones((6, 64), dtype=bool)
    mask[:, :40] = False
    mask[2, 40:60] = False
    got = A.tiled_attention(q, k, v, mask=mask, block_q=6, block_k=8)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, A.attention(q, k, v, mask=mask), atol=1e-6)


@needs_c
@pytest.mark.parametrize("where", ["q", "k", "v"])
def test_special_values_follow_the_one_shot_softmax(where):
    q, k, v = A.random_qkv(12, 20, 4, rng=6)
    arrays = {"q": q, "k": k, "v": v}
    arrays[where] = arrays[where].copy()
    arrays[where][3, 1] = np.nan
    arrays[where][5, 2] = np.inf
    ref = A.attention(arrays["q"], arrays["k"], arrays["v"])
    got = A.tiled_attention(arrays["q"], arrays["k"], arrays["v"], block_q=4, block_k=6, return_stats=True)
    np.testing.assert_array_equal(np.isnan(got.out), np.isnan(ref))
    ok = np.isfinite(ref)
    np.testing.assert_allclose(got.out[ok], ref[ok], atol=1e-6)
    if where in ("q", "k"):
        assert got.special.any()      # the C core sent those rows to its special path


@needs_c
def test_scores_past_float32_overflow_take_the_special_path():
    q = np.full((2, 4), 1e20, dtype=np.float32)
    k = np.full((3, 4), 1e20, dtype=np.float32)       # q . k = 4e40: inf in float32
    v = np.ones((3, 2), dtype=np.float32)
    got = A.tiled_attention(q, k, v, return_stats=True)
    assert got.special.all()
    np.testing.assert_array_equal(np.isnan(got.out), np.isnan(A.attention(q, k, v)))


@needs_c
def test_float16_and_integer_inputs():
    q, k, v = A.random_qkv(9, 11, 4, rng=7)
    half = A.tiled_attention(q.astype(np.float16), k.astype(np.float16), v.astype(np.float16))
    assert half.dtype == np.float16
    ints = A.tiled_attention(np.ones((2, 3), int), np.ones((4, 3), int), np.arange(8).reshape(4, 2))
    assert ints.dtype == np.float64
    np.testing.assert_allclose(ints, [[3.0, 4.0], [3.0, 4.0]])


@needs_c
def test_lse_is_what_flashattention_stores():
    q, k, v = A.random_qkv(30, 50, 16, rng=8)
    got = A.tiled_attention(q, k, v, block_k=7, return_stats=True)
    S = A.attention_scores(q, k).astype(np.float64)
    np.testing.assert_allclose(got.lse, np.log(np.exp(S).sum(axis=1)), rtol=1e-6)
    # the backward pass rebuilds P from the scores and the lse alone
    P = np.exp(S - got.lse[:, None])
    np.testing.assert_allclose(P @ v, got.out, atol=1e-6)


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs, error, words", [
    ({"q": np.ones(3)}, ValueError, "q must be a 2-D"),
    ({"k": np.ones((4, 5))}, ValueError, "same number of columns"),
    ({"v": np.ones((3, 2))}, ValueError, "v must have one row per key"),
    ({"q": np.ones((2, 0)), "k": np.ones((4, 0))}, ValueError, "at least one column"),
    ({"k": np.ones((0, 3)), "v": np.ones((0, 2))}, ValueError, "k must have at least one row"),
    ({"mask": np.ones((2, 4))}, TypeError, "mask must be a boolean"),
    ({"mask": np.ones((2, 3), bool)}, ValueError, "mask must have shape"),
    ({"mask": np.zeros((2, 4), bool)}, ValueError, "mask .* hides every key"),
    ({"scale": 0.0}, ValueError, "scale"),
    ({"scale": "x"}, TypeError, "scale"),
    ({"causal": 1}, TypeError, "causal"),
    ({"block_q": 0}, ValueError, "block_q"),
    ({"block_k": 10**6}, ValueError, "block_k"),
    ({"block_k": 2.5}, TypeError, "block_k"),
    ({"q": np.array([["a"]])}, TypeError, "q must"),
    ({"v": [[1, 2], [1]]}, TypeError, "v must"),
])
def test_bad_input_is_refused_with_the_parameter_named(kwargs, error, words):
    args = {"q": np.ones((2, 3)), "k": np.ones((4, 3)), "v": np.ones((4, 2)), **kwargs}
    with pytest.raises(error, match=words):
        A.tiled_attention(**args)


def test_one_shot_refuses_a_score_matrix_too_large():
    with pytest.raises(ValueError, match="the limit is"):
        A.attention_scores(np.ones((1 << 15, 1)), np.ones((1 << 14, 1)))


# --------------------------------------------------------------------------- the trace

@needs_c
def test_trace_is_the_tiled_code():
    q, k, v = A.random_qkv(4, 37, 8, dv=3, rng=9)
    tr = A.tiled_trace(q, k, v, block_k=5)
    assert len(tr) == 1 + math.ceil(37 / 5)
    np.testing.assert_array_equal(tr.out, A.tiled_attention(q, k, v, block_q=4, block_k=5))
    np.testing.assert_allclose(tr.out, tr.reference, atol=1e-6)
    np.testing.assert_allclose(tr.steps[-1].partial, tr.reference, atol=1e-6)
    for a, b in zip(tr.steps[1:], tr.steps[2:]):
        assert np.all(b.max >= a.max)
        np.testing.assert_array_equal(b.max_moved, b.max > a.max)
        np.testing.assert_allclose(b.rescale, np.exp(a.max - b.max))
        assert b.bytes_tiled > a.bytes_tiled and b.bytes_naive > a.bytes_naive
    traffic = A.attention_traffic(4, 37, 8, dv=3, block_q=4, block_k=5)
    assert tr.steps[-1].bytes_tiled == traffic["tiled"]
    assert tr.steps[-1].bytes_naive == traffic["naive"]
    assert np.isnan(tr.steps[0].partial).all() and np.all(tr.steps[0].max == -np.inf)


@needs_c
def test_trace_with_masked_blocks_first():
    q, k, v = A.random_qkv(3, 24, 4, rng=10)
    mask = np.ones((3, 24), bool)
    mask[0, :16] = False
    tr = A.tiled_trace(q, k, v, block_k=8, mask=mask)
    assert tr.steps[1].max[0] == -np.inf and np.isnan(tr.steps[1].partial[0]).all()
    assert np.isfinite(tr.out).all()
    np.testing.assert_allclose(tr.out, tr.reference, atol=1e-6)


def test_trace_refuses_long_sequences():
    with pytest.raises(ValueError, match="at most"):
        A.tiled_trace(np.ones((2, 2)), np.ones((A.TRACE_MAX_KEYS + 1, 2)), np.ones((A.TRACE_MAX_KEYS + 1, 1)))


# --------------------------------------------------------------------------- memory

def test_traffic_formulas():
    t = A.attention_traffic(1024, d=64, block_q=128, block_k=256)
    n, d = 1024, 64
    assert t["naive"] == 4 * (n * d + n * d + 5 * n * n + n * d + n * d)
    assert t["tiled"] == 4 * (n * d + 8 * n * 2 * d + n * d + n)
    assert t["naive_scores"] == 4 * n * n and t["tile_scores"] == 4 * 128 * 256
    # both move O(N^2) bytes (5 N^2 against 2 d N^2 / block_q): a larger query block saves
    # traffic, while the storage for scores goes from N^2 to one tile
    assert A.attention_traffic(1024, d=64, block_q=256)["ratio"] > t["ratio"] >= 1
    big = A.attention_traffic(16384, d=64)
    assert big["naive_scores"] // big["tile_scores"] == 16384 ** 2 // (128 * 256)


def test_working_set_and_largest_tile():
    assert A.tile_working_set(64, 64, 64) == 4 * (64 * 64 * 4 + 2 * 64 * 64)
    for cache in (4 << 10, 48 << 10, 1 << 20, 2 << 20):
        b = A.largest_tile(cache, 64)
        assert b & (b - 1) == 0
        assert A.tile_working_set(b, b, 64) <= cache or b == 1
        assert A.tile_working_set(2 * b, 2 * b, 64) > cache
    assert A.largest_tile(2 << 20, 64) == 256
    assert A.largest_tile(10, 64) == 1


def test_cache_size():
    size = A.cache_size(2)
    assert size is None or size >= 1 << 14
    with pytest.raises(ValueError, match="level"):
        A.cache_size(4)


# --------------------------------------------------------------------------- the scale, precision

def test_scale_sweep_shows_the_variance_and_the_saturation():
    sw = A.scale_sweep((4, 16, 64, 256, 1024), n_keys=64, n_queries=64, rng=0)
    np.testing.assert_allclose(sw["score_std"], np.sqrt(sw["dims"]), rtol=0.2)
    assert np.ptp(sw["entropy_scaled"]) < 0.2                    # about the same entropy at every d
    assert sw["entropy_unscaled"][-1] < 0.25 * sw["entropy_unscaled"][0]
    assert np.all(np.diff(sw["top_unscaled"]) > 0)             # the top weight grows towards 1
    assert sw["jacobian_unscaled"][-1] < 0.5 * sw["jacobian_scaled"][-1]   # the gradient vanishes
    assert np.all(sw["entropy_scaled"] <= math.log(64) + 1e-12)
    np.testing.assert_allclose(sw["weights_scaled"].sum(axis=1), 1.0)


def test_running_sum_in_low_precision_stalls():
    ones = np.ones(5000)
    assert A.running_sum_in(ones, "float16")[-1] == 2048.0
    assert A.running_sum_in(ones, "bfloat16")[-1] == 256.0
    assert A.running_sum_in(ones, "float32")[-1] == 5000.0


def test_precision_study():
    st_ = A.precision_study(n_keys=4096, d=64, rng=1)
    f16, bf16, f32 = (st_["formats"][f] for f in ("float16", "bfloat16", "float32"))
    assert f16["exp_overflow"] > 0 and f32["exp_overflow"] == 0
    assert not bf16["winner_kept"] and bf16["tied_at_top"] >= 2
    assert f32["winner_kept"]
    assert bf16["sum_low"] < 0.5 * st_["sum_exact"]
    assert abs(f32["sum_low"] - st_["sum_exact"]) < 1e-4 * st_["sum_exact"]
    # statistics kept in float32 rescue the low-precision scores
    for f in (f16, bf16):
        assert f["max_error_mixed"] < 0.1 * f["max_error"]


# --------------------------------------------------------------------------- panels, derive, figures

@needs_c
def test_attention_panel_steps_and_converges():
    from softviz.panels import AttentionPanel
    from softviz.panels.base import offscreen

    with offscreen():
        p = AttentionPanel()
        s0 = p.state()
        assert s0["n_steps"] == 1 + 64 // 8 and s0["keys"] == (0, 0)
        p.set(step=s0["n_steps"] - 1)
        s = p.state()
        assert s["error"] < 1e-5
        assert s["bytes_naive"] > s["bytes_tiled"]
        assert s["scores_stored"] == 4 * 8 and s["scores_naive"] == 4 * 64
        p.set(block_k=16)
        assert p.state()["n_steps"] == 5 and p.state()["step"] == 4
        p.set(causal=True)
        assert p.state()["n_steps"] == 3          # keys past 31 are never read
        p.set(step=1)
        assert p.state()["keys"] == (0, 16)
        p.close()


def test_scale_panel():
    from softviz.panels import AttentionScalePanel
    from softviz.panels.base import offscreen

    with offscreen():
        p = AttentionScalePanel(d=1024, scale="none")
        unscaled = p.state()
        p.set(scale="1/sqrt(d)")
        scaled = p.state()
        assert unscaled["top"] > 0.5 > scaled["top"]
        assert scaled["entropy"] > 3 * unscaled["entropy"]
        p.close()


def test_derivations():
    import sympy as sp

    from softviz.derive import online_rescale, score_variance

    steps = score_variance()
    d = sp.Symbol("d", integer=True, positive=True)
    assert steps[-1][1].rhs == 1 / sp.sqrt(d)
    assert steps[2][1].rhs == d
    assert "aligned" in steps._repr_latex_()
    assert len(online_rescale()) == 5


def test_figures():
    import matplotlib

    matplotlib.use("Agg")
    from softviz.figures import plot_attention_benchmark, plot_precision

    fig = plot_precision(A.precision_study(n_keys=512, d=16))
    assert len(fig.axes) == 2
    rows = [{"n": n, "method": m, "seconds": 0.1 * n, "peak_bytes": n * 10} for n in (512, 1024)
            for m in ("tiled", "naive")]
    assert len(plot_attention_benchmark(rows).axes) == 2
    with pytest.raises(ValueError, match="rows"):
        plot_attention_benchmark([])
    with pytest.raises(ValueError, match="study"):
        plot_precision({})


# --------------------------------------------------------------------------- the benchmark module

@needs_c
def test_benchmark_rows_and_cli(capsys, monkeypatch):
    from softviz.bench import attention as bench

    rows = bench.run([64, 128], repeats=1, block_q=32, block_k=32)
    assert [(r["n"], r["method"]) for r in rows] == [(n, m) for n in (64, 128) for m in ("tiled", "naive", "matmul")]
    for r in rows:
        assert r["seconds"] > 0 and r["max_abs_diff"] < 1e-5
        assert (r["peak_bytes"] > 0) == (r["method"] != "matmul")
    naive = {r["n"]: r["peak_bytes"] for r in rows if r["method"] == "naive"}
    assert naive[128] > 3 * naive[64]             # three N x N matrices: quadratic
    table = bench.format_table(rows)
    assert table.splitlines()[0].split()[0] == "N" and len(table.splitlines()) == 3
    assert bench.targets(rows, n=128)["memory_ratio"] > 1
    assert bench.targets(rows)["memory_ok"] is None          # N = 16384 was not measured
    assert bench.main(["--sizes", "64", "--repeats", "1"]) == 0
    assert "CPU" in capsys.readouterr().out
    seen = []
    monkeypatch.setattr(bench, "main", lambda argv: seen.append(argv) or 0)
    from softviz.bench import cli
    assert cli.main(["--attention", "--quick", "--repeats", "2"]) == 0   # python -m softviz.bench --attention
    assert seen == [["--quick", "--repeats", "2"]]
    with pytest.raises(ValueError, match="sizes"):
        bench.run([8])


def test_public_face():
    assert softviz.attention is A
    assert set(A.__all__) <= set(dir(A))


@needs_c
@pytest.mark.parametrize("isa", ["portable", "avx2", "avx512"])
def test_tiled_on_every_instruction_set(isa):
    supported = _native.kernel_info()["supported"]
    if isa not in supported:
        pytest.skip(f"this CPU/build has no {isa} kernels (it has {supported})")
    before = _native.kernel_info()["requested"] or None
    _native.select_isa(isa)
    try:
        for dtype in ("float32", "float64"):
            q, k, v = A.random_qkv(70, 333, 32, dv=7, rng=12, dtype=dtype)
            mask = np.ones((70, 333), bool)
            mask[:, :50] = False                     # whole -inf tiles first
            for kw in ({}, {"causal": True}, {"mask": mask}):
                got = A.tiled_attention(q, k, v, block_q=16, block_k=40, **kw)
                err = np.abs(got - A.attention(q, k, v, **kw)).max(axis=1)
                assert np.all(err <= A.error_bound(q, k, v, **kw)["out"]), (isa, dtype, kw)
    finally:
        _native.select_isa(before)
