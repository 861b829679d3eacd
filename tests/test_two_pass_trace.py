"""Lesson 06: the step-by-step traces against the C core, the notebook's benchmark
pieces, the TwoPassPanel (headless) and the online-merge check.

What "the trace agrees with the C core" means here, precisely:

* The max and the two-pass exponent E are exact operations (a comparison, a
  max of integers), so they must agree exactly, for every prefix.
* Sums are rounded.  The C kernels sum in SIMD lanes (masked vector steps even
  for a short prefix) and fold the lanes in double, in another order than the
  trace, and their exp uses fused multiply-adds: each term may differ from the
  trace's by an ulp or two of its own rounding, and each sum is within (k - 1)
  eps of the exact sum of its k positive terms, so the two must agree to
  (k + 4) eps relative.  Every instruction set the machine has is checked.
"""
from __future__ import annotations

import io
import math

import mpmath
import numpy as np
import pytest

import softviz
from softviz import bench, two_pass
from softviz.bench.live import full_sizes
from softviz.exercises import check_online_merge
from softviz.panels import TwoPassPanel, style
from softviz.panels.base import offscreen
from softviz.panels.two_pass import VECTORS

needs_native = pytest.mark.skipif(not softviz.native_available(), reason="the C core is not compiled")

ROWS = {
    "normal": lambda rng: 3.0 * rng.standard_normal(16),
    "rising": lambda rng: np.sort(3.0 * rng.standard_normal(16)),
    "huge": lambda rng: 1000.0 + 5.0 * rng.standard_normal(16),
    "masked": lambda rng: np.where(rng.random(16) < 0.3, -np.inf, rng.standard_normal(16)),
}


def _row(kind, dtype, seed=0):
    x = ROWS[kind](np.random.default_rng(seed)).astype(dtype)
    x[3] = max(x[3], np.float32(0.5)) if kind == "masked" else x[3]  # at least one finite entry
    return x


def _exact_softmax(x):
    with mpmath.workdps(50):
        e = [mpmath.exp(mpmath.mpf(float(v))) if np.isfinite(v) else mpmath.mpf(0) for v in x]
        total = mpmath.fsum(e)
        return np.array([float(v / total) for v in e])


# -- the trace itself ------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("algorithm", softviz.ALGORITHMS)
@pytest.mark.parametrize("kind", sorted(ROWS))
def test_trace_shape_bytes_and_result(algorithm, dtype, kind):
    x = _row(kind, dtype)
    t = two_pass.trace_softmax(x, algorithm)
    n, n_pass = len(x), (3 if algorithm.startswith("three_pass") else 2)
    assert len(t) == 1 + n_pass * n and len(t.passes) == n_pass
    assert t.dtype == dtype and t.y.dtype == dtype
    # the byte counters end at the accounting of memory_traffic (5N, 4N, 3N, 3N)
    last = t.steps[-1]
    traffic = two_pass.memory_traffic(algorithm, n, dtype)
    assert last.bytes_moved == traffic["bytes"]
    assert last.bytes_read == traffic["reads"] * np.dtype(dtype).itemsize
    assert last.bytes_written == traffic["writes"] * np.dtype(dtype).itemsize
    # every step reads one element and counts it; counters never go down
    for prev, st in zip(t.steps, t.steps[1:]):
        assert len(st.reads) == 1 and st.bytes_read - prev.bytes_read == np.dtype(dtype).itemsize
        assert st.bytes_written >= prev.bytes_written
    # y is written exactly in the last pass (and the sum pass of reload), element by element
    assert np.isnan(t.steps[0].y).all()
    assert not np.isnan(t.y).any()
    # the result: the exact softmax (mpmath), to the precision's accuracy
    want = _exact_softmax(x)
    big = want >= np.finfo(dtype).tiny
    rel = np.abs(t.y[big].astype(np.float64) - want[big]) / want[big]
    assert rel.max() < 64 * np.finfo(dtype).eps
    assert np.all(t.y[~big] <= np.finfo(dtype).tiny)


def test_trace_reads_and_writes_follow_the_passes():
    t = two_pass.trace_softmax(np.arange(4.0), "three_pass_reload")
    assert [s.reads for s in t.steps[1:5]] == [(("x", i),) for i in range(4)]
    assert all(s.writes == () for s in t.steps[1:5])
    assert [s.writes for s in t.steps[5:9]] == [(("y", i),) for i in range(4)]  # stores the exps
    assert [s.reads for s in t.steps[9:]] == [(("y", i),) for i in range(4)]  # ... and reloads them
    t = two_pass.trace_softmax(np.arange(4.0), "two_pass")
    assert all(s.reads[0][0] == "x" for s in t.steps[1:])
    assert [s.writes for s in t.steps[5:]] == [(("y", i),) for i in range(4)]
    assert t.after(2, 0) is t.steps[4] and t.after(1, 0) is t.steps[0]


def test_trace_two_pass_values_by_hand():
    # exp(1000) overflows float64, but its split does not: 1000 log2(e) = 1442.695 -> n = 1443
    t = two_pass.trace_softmax(np.array([1000.0, 0.0]), "two_pass")
    first = t.steps[1]
    assert first.values["n_i"] == 1443.0
    assert first.values["p_i"] == pytest.approx(math.exp(1000.0 - 1443.0 * math.log(2.0)), rel=1e-12)
    assert first.accumulators == {"mantissa": first.values["p_i"], "exponent": 1443.0}
    # adding exp(0) = 1 * 2^0: rescaled by 2^-1443 it vanishes next to the mantissa
    assert t.steps[2].accumulators == first.accumulators
    np.testing.assert_array_equal(t.y, [1.0, 0.0])


def test_trace_online_running_values_by_hand():
    x = np.array([1.0, 3.0, 2.0])
    t = two_pass.trace_softmax(x, "online")
    maxima = [s.accumulators["max"] for s in t.steps[1:4]]
    sums = [s.accumulators["sum"] for s in t.steps[1:4]]
    assert maxima == [1.0, 3.0, 3.0]
    # d_2 = 1 * e^(1 - 3) + 1, d_3 = d_2 + e^(2 - 3)
    np.testing.assert_allclose(sums, [1.0, math.exp(-2) + 1, math.exp(-2) + 1 + math.exp(-1)], rtol=1e-15)
    assert t.steps[0].accumulators["max"] == np.finfo(np.float64).min  # not -inf: see the C code


@pytest.mark.parametrize("bad, err", [
    (np.zeros((2, 3)), ValueError), (np.zeros(0), ValueError), (np.zeros(65), ValueError),
    ([1.0, np.nan], ValueError), ([1.0, np.inf], ValueError), ([-np.inf, -np.inf], ValueError),
    ([1.0, 1e7], ValueError), (np.array([1j, 2j]), TypeError), (["a", "b"], TypeError),
])
def test_trace_rejects_bad_rows(bad, err):
    with pytest.raises(err):
        two_pass.trace_softmax(bad, "online")


def test_trace_rejects_unknown_algorithm_listing_them():
    with pytest.raises(ValueError, match="two_pass"):
        two_pass.trace_softmax([1.0, 2.0], "fast")
    t = two_pass.trace_softmax([1.0, 2.0], "online")
    with pytest.raises(ValueError):
        t.after(3, 0)
    with pytest.raises(ValueError):
        t.after(1, 3)


# -- the trace against the compiled passes --------------------------------------------------

def _assert_sum_agrees(mirror, c, k, dtype):
    assert abs(mirror - c) <= (k + 4) * np.finfo(dtype).eps * abs(c), f"prefix {k}: {mirror!r} vs {c!r}"


@needs_native
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", sorted(ROWS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_pass_accumulators_equal_the_c_pass_on_every_prefix(kind, dtype, seed):
    x = _row(kind, dtype, seed)
    t = two_pass.trace_softmax(x, "two_pass")
    for k in range(len(x) + 1):
        c = two_pass.c_accumulators(x[:k], "two_pass")
        mine = t.after(1, k).accumulators
        assert mine["exponent"] == c["exponent"], f"prefix {k}"
        if k and np.isneginf(x[:k]).all():
            # -inf is clamped to SV_XLO (-2^21 / -2^49), far outside the range where the
            # split is exact: the mantissa is then rounding noise times 2^(about -3e6 or
            # -8e14), a sum that is 0 in any format -- only that is compared
            assert mine["exponent"] < -1e6 and 0 < mine["mantissa"] < 4 and 0 < c["mantissa"] < 4
            continue
        _assert_sum_agrees(mine["mantissa"], c["mantissa"], k, dtype)
        if k:  # and both stand for the same number: after normalising, the same binade
            assert math.frexp(mine["mantissa"])[1] == math.frexp(c["mantissa"])[1] or \
                abs(mine["mantissa"] / c["mantissa"] - 1) <= 2 * k * np.finfo(dtype).eps


@needs_native
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", sorted(ROWS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_online_accumulators_equal_the_c_pass_on_every_prefix(kind, dtype, seed):
    x = _row(kind, dtype, seed)
    t = two_pass.trace_softmax(x, "online")
    for k in range(len(x) + 1):
        c = two_pass.c_accumulators(x[:k], "online")
        mine = t.after(1, k).accumulators
        assert mine["max"] == c["max"], f"prefix {k}"
        _assert_sum_agrees(mine["sum"], c["sum"], k, dtype)


@needs_native
@pytest.mark.parametrize("algorithm", ["three_pass_reload", "three_pass_recompute"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", sorted(ROWS))
def test_three_pass_accumulators_equal_the_c_passes_on_every_prefix(algorithm, kind, dtype):
    x = _row(kind, dtype)
    t = two_pass.trace_softmax(x, algorithm)
    row_max = t.after(1, len(x)).accumulators["max"]
    for k in range(1, len(x) + 1):
        assert t.after(1, k).accumulators["max"] == two_pass.c_accumulators(x[:k], algorithm)["max"]
        # the sum pass shifts by the whole row's max, so the C pass gets that shift too
        c = two_pass.c_accumulators(x[:k], algorithm, shift=row_max)
        # the C sum pass is one `omp simd` reduction: its lane order is the compiler's,
        # even for short prefixes, so only the rounding bound applies
        mine = t.after(2, k).accumulators["sum"]
        assert abs(mine - c["sum"]) <= 2 * k * np.finfo(dtype).eps * c["sum"]


@needs_native
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("algorithm", softviz.ALGORITHMS)
def test_trace_result_matches_the_c_core(algorithm, dtype):
    x = _row("normal", dtype)
    y = softviz.softmax(x, algorithm=algorithm)
    t = two_pass.trace_softmax(x, algorithm)
    # the last pass is elementwise and identical; only the sum feeding it may differ (above)
    np.testing.assert_allclose(t.y, y, rtol=4 * 16 * np.finfo(dtype).eps, atol=0)


@needs_native
def test_c_accumulators_independent_values():
    x = np.array([1.0, 2.0, 3.0])
    lse = math.log(math.exp(1) + math.exp(2) + math.exp(3))
    c = two_pass.c_accumulators(x, "online")
    assert c["max"] == 3.0 and c["max"] + math.log(c["sum"]) == pytest.approx(lse, rel=1e-15)
    c = two_pass.c_accumulators(x, "two_pass")
    assert c["exponent"] * math.log(2) + math.log(c["mantissa"]) == pytest.approx(lse, rel=1e-15)
    c = two_pass.c_accumulators(x, "three_pass_recompute", shift=0.0)
    assert c["sum"] == pytest.approx(math.exp(lse), rel=1e-15)
    with pytest.raises(ValueError):
        two_pass.c_accumulators(x, "nope")
    with pytest.raises(ValueError):
        two_pass.c_accumulators(np.zeros((2, 2)), "online")


# -- the notebook's benchmark pieces (structure, never speed) ------------------------------
# (cache_sizes and the rest of softviz.bench are tested in tests/test_bench.py)

def test_sweep_structure_and_progress():
    calls = []
    r = bench.sweep(sizes=[2**8, 2**10], methods=["two_pass", "numpy"], repeats=1, workers=False,
                    progress=lambda done, total, label: calls.append((done, total, label)))
    assert r["sizes"] == [2**8, 2**10] and r["dtype"] == "float32" and r["workers"] is None
    assert [c[:2] for c in calls] == [(1, 2), (2, 2)] and "N=2^10" in calls[1][2]
    assert {(row["method"], row["n"], row["output"]) for row in r["rows"]} == {
        ("two_pass", n, "out") for n in (2**8, 2**10)} | {("numpy", n, "fresh") for n in (2**8, 2**10)}
    for row in r["rows"]:
        assert row["error"] is None and row["seconds"] > 0
        assert row["gbps"] == pytest.approx(row["n"] * 4 / row["seconds"] / 1e9)
        if row["method"] == "two_pass":  # 3N floats moved
            assert row["moved_gbps"] == pytest.approx(3 * row["gbps"])
        else:
            assert row["moved_gbps"] is None
    assert [p["n"] for p in r["probes"]] == [2**8, 2**10]
    if softviz.native_available():
        assert all(p["floor_seconds"] == pytest.approx(p["read_seconds"] + p["copy_seconds"]) for p in r["probes"])
    with pytest.raises(ValueError):
        bench.sweep(dtype="int32", sizes=[8])


def test_sweep_workers_rows_and_full_sizes(monkeypatch):
    seen = {}

    def fake_scaling(n, workers, **kw):  # the real one runs a 2^24 row: structure only here
        seen.update(n=n, workers=workers, **kw)
        return [{"algorithm": a, "workers": w, "n": n} for a in kw["algorithms"] for w in workers]

    monkeypatch.setattr("softviz.bench.live.workers_scaling", fake_scaling)
    r = bench.sweep(sizes=[2**10], methods=["online"], repeats=1, workers=True, dtype="float64")
    assert {row["algorithm"] for row in r["workers"]} == {"two_pass", "online"}
    assert seen["n"] >= 2**24 and {1, 2} <= set(seen["workers"]) and seen["dtype"] == "float64"
    # the full mode goes until x and y together are twice the largest cache (capped)
    sizes = full_sizes({"L1": 2**15, "L2": 2**21, "L3": 2**28}, 4)
    assert sizes[0] == 2**10 and 2 * sizes[-1] * 4 >= 2 * 2**28 and 2 * sizes[-2] * 4 < 2 * 2**28
    assert full_sizes({"L1": None, "L2": None, "L3": None}, 4) == bench.SWEEP_FULL_SIZES
    assert full_sizes({"L3": 2**40}, 8)[-1] == 2**27


def _fake(times, caches, floor=None, n=2**24, dtype="float32", workers=None, small=None):
    """A sweep result with chosen seconds per method at one (or two) row lengths.

    ``floor``: (read seconds, copy seconds) at the main row; default 0.2 + 0.3.
    """
    read, copy = floor or (0.2, 0.3)
    rows, probes, sizes = [], [], sorted({n} | ({small[0]} if small else set()))
    for size in sizes:
        for method, sec in (times if size == n else small[1]).items():
            nbytes = size * np.dtype(dtype).itemsize
            rows.append({"method": method, "n": size, "seconds": sec, "gbps": nbytes / sec / 1e9,
                         "output": "out" if method in softviz.ALGORITHMS else "fresh"})
        scale = 1.0 if size == n else size / n
        probes.append({"n": size, "read_seconds": read * scale, "copy_seconds": copy * scale,
                       "floor_seconds": (read + copy) * scale})
    return {"sizes": sizes, "dtype": dtype, "caches": caches, "rows": rows, "probes": probes,
            "workers": workers, "machine": {"usable_cpus": 2, "load_average": 0.1},
            "methods": list(times), "quick": True}


CACHES = {"L1": 48 * 2**10, "L2": 2**21, "L3": 32 * 2**20}
T3 = {"three_pass_reload": 1.3, "three_pass_recompute": 1.2, "online": 1.0}


def test_verdict_claim_holds_fails_or_cannot_be_tested():
    text = bench.verdict(_fake({**T3, "two_pass": 1.0}, CACHES))
    assert "holds on this machine" in text and "1.20x as fast as three-pass recompute" in text
    assert "out of cache (N = 2^24" in text and "L3" in text
    assert "does not hold on this machine" in bench.verdict(_fake({**T3, "two_pass": 1.5}, CACHES))
    assert "not clearly confirmed" in bench.verdict(_fake({**T3, "two_pass": 1.19}, CACHES))
    # x and y of 2^24 floats (128 MiB) fit in a 260 MiB L3: the run cannot test the claim
    text = bench.verdict(_fake({**T3, "two_pass": 1.0}, {**CACHES, "L3": 260 * 2**20}))
    assert "cannot test the paper's claim" in text and "quick=False" in text
    full = _fake({**T3, "two_pass": 1.0}, {**CACHES, "L3": 260 * 2**20})
    full["quick"] = False  # e.g. a stored run of python -m softviz.bench
    assert "only a longer row would test it" in bench.verdict(full)
    text = bench.verdict(_fake({**T3, "two_pass": 1.0}, {"L1": None, "L2": None, "L3": None}))
    assert "does not report this machine's cache sizes" in text


def test_verdict_measures_against_the_memory_floor_not_read_bandwidth():
    n = 2**24
    # floor = 0.2 + 0.3 = 0.5 s; two-pass at 0.55 s is within 15 %: memory sets the pace
    near = bench.verdict(_fake({**T3, "two_pass": 0.55}, CACHES))
    assert "within 10 % of its floor, so memory traffic sets its pace" in near
    assert f"{0.5 / n * 1e9:.3f} ns" in near and f"{0.55 / n * 1e9:.3f} ns per element" in near
    # at 0.6 s (1.2x the floor) it is not "at the floor", whatever share of read bandwidth that is
    far = bench.verdict(_fake({**T3, "two_pass": 0.6}, CACHES))
    assert "takes 1.2x its floor" in far and "does not explain" in far and "sets its pace" not in far
    assert "bandwidth-bound" not in far and "compute-bound" not in far
    # the floors' prediction for one read pass fewer: (2 * 0.2 + 0.3) / (0.2 + 0.3) = 1.40x
    assert "at most 1.40x as fast; measured: 2.00x" in far
    assert "as fast as moving its bytes" in bench.verdict(_fake({**T3, "two_pass": 0.45}, CACHES))


def test_verdict_judges_an_in_l2_row_and_the_workers():
    both = _fake({**T3, "two_pass": 1.0}, CACHES, small=(2**16, {**T3, "two_pass": 1e-3}))
    text = bench.verdict(both)
    assert "At N = 2^16 two-pass" in text and "At N = 2^24 two-pass" in text
    scaling = [{"algorithm": "two_pass", "workers": 1, "n": 2**24, "speedup": 1.0},
               {"algorithm": "two_pass", "workers": 2, "n": 2**24, "speedup": 1.75}]
    text = bench.verdict(_fake({**T3, "two_pass": 1.0}, CACHES, workers=scaling))
    assert "workers=2" in text and "1.75x" in text


def test_plots_have_titles_labels_floor_and_cache_marks():
    import matplotlib
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    n = 2**20
    result = _fake({**T3, "two_pass": 1.0, "numpy": 2.0}, {"L1": 2**15, "L2": 2**21, "L3": None}, n=n,
                   small=(2**14, {**T3, "two_pass": 1e-3, "numpy": 2e-3}))
    fig = bench.plot_sweep(result, fig=Figure(figsize=(11, 4.2), layout="constrained"))
    axes = fig.axes
    assert len(axes) == 2
    for ax in axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        labels = [t.get_text() for t in ax.texts]
        assert any("L2" in s for s in labels) and not any("L3" in s for s in labels)
    ceiling = [ln for ln in axes[0].lines if ln.get_label().startswith("memory floor")]
    assert len(ceiling) == 1  # floor in GB/s of input: n * 4 bytes / 0.5 s at 2^20
    assert ceiling[0].get_ydata()[-1] == pytest.approx(n * 4 / 0.5 / 1e9)
    two = [ln for ln in axes[1].lines if ln.get_label() == "two pass"]
    assert list(two[0].get_ydata()) == pytest.approx([1e-3 / (0.5 * 2**14 / n), 1.0 / 0.5])
    acc = [{"method": m, "dtype": d, "scale": s, "max_ulp_error": e}
           for m in ("two_pass", "online") for d in ("float32", "float64")
           for s, e in ((1.0, 1.0), (10.0, 0.0))]
    fig = bench.plot_accuracy(acc, fig=Figure(figsize=(11, 3.8), layout="constrained"))
    assert [ax.get_title() for ax in fig.axes] == ["float32: error vs mpmath", "float64: error vs mpmath"]


def test_live_sweep_without_a_kernel_reports_on_stderr(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    r = bench.live_sweep(sizes=[2**8], methods=["online"], repeats=1, workers=False)
    assert r["rows"][0]["method"] == "online" and "N=2^8" in err.getvalue()
    with pytest.raises(TypeError):
        bench.live_sweep(progress=print)


# -- the panel, headless ---------------------------------------------------------------------

def test_panel_defaults_and_state_match_the_trace():
    with offscreen():
        p = TwoPassPanel()
    assert p.last_error is None
    s = p.state()
    assert (s["algorithm"], s["dtype"], s["step"]) == ("two_pass", "float32", 0)
    assert s["n_steps"] == 25 and p.controls["step"].max == 24
    p.set(step=7)
    t = two_pass.trace_softmax(np.array(VECTORS["mixed logits"], dtype=np.float32), "two_pass")
    s = p.state()
    assert s["accumulators"] == t.steps[7].accumulators and s["reads"] == [("x", 6)]
    assert s["bytes_moved"] == 7 * 4 and s["bytes_total"] == 144
    np.testing.assert_array_equal(s["x"], t.x)
    # the figure shows it: the cell read is highlighted, its value printed
    assert p._cells["x", 6].get_facecolor() != p._cells["x", 5].get_facecolor()
    assert p._texts["x", 6].get_text() == "1.7"
    assert "28/144" in p._bytes_title.get_text()


def test_panel_algorithm_change_resizes_the_step_range_and_clamps():
    with offscreen():
        p = TwoPassPanel(step=24)
    fig = p.figure
    p.set(algorithm="three_pass_reload")
    assert p.controls["step"].max == 36 and p.state()["step"] == 24
    p.set(step=36)
    s = p.state()
    assert s["bytes_moved"] == s["bytes_total"] == 5 * 12 * 4
    assert not np.isnan(s["y"]).any()
    np.testing.assert_allclose(s["y"].sum(), 1.0, rtol=1e-6)
    p.set(algorithm="online")  # 25 steps: the step is clamped to the last one
    assert p.state()["step"] == 24 and p.controls["step"].max == 24 and p.last_error is None
    assert p.figure is fig
    with pytest.raises(ValueError):
        p.set(step=30)
    with pytest.raises(ValueError):
        p.set(vector="nope")


def test_panel_buttons_move_by_step_and_by_pass():
    with offscreen():
        p = TwoPassPanel(algorithm="three_pass_recompute")
    p._buttons["next"].click()
    p._buttons["next"].click()
    assert p.state()["step"] == 2
    p._buttons["prev"].click()
    assert p.state()["step"] == 1
    p._buttons["pass"].click()  # to the first element of pass 2
    assert p.state()["step"] == 13 and p.state()["pass_number"] == 2
    p._buttons["pass"].click()
    assert p.state()["pass_number"] == 3
    p._buttons["pass"].click()  # no fourth pass: the end
    assert p.state()["step"] == 36
    p._buttons["next"].click()  # stays at the end
    assert p.state()["step"] == 36
    p.set(step=0)
    p._buttons["prev"].click()
    assert p.state()["step"] == 0


@pytest.mark.parametrize("vector, lecture", [(v, False) for v in VECTORS]
                         + [("huge (exp(1000) overflows)", True)])
def test_panel_every_vector_draws_cleanly(vector, lecture):
    # tests/test_panels.py checks the default row in both modes; here every row
    softviz.lecture_mode(lecture)
    try:
        with offscreen():
            p = TwoPassPanel(vector=vector, dtype="float64", algorithm="online")
        for step in (6, 24):
            p.set(step=step)
            assert p.last_error is None
            assert style.text_problems(p.figure) == []
        assert p.to_png().startswith(b"\x89PNG")
    finally:
        softviz.lecture_mode(False)


# -- the "Your turn" check --------------------------------------------------------------------

def _merge(a, b):
    (ma, sa), (mb, sb) = a, b
    if ma == -math.inf:
        return b
    if mb == -math.inf:
        return a
    m = max(ma, mb)
    return m, sa * math.exp(ma - m) + sb * math.exp(mb - m)


def test_check_passes_a_correct_merge(capsys):
    assert check_online_merge(_merge).passed is True
    assert "merges correctly" in capsys.readouterr().out


def test_check_stub_and_non_callables_are_not_done_or_wrong(capsys):
    assert check_online_merge(lambda a, b: None).passed is None
    assert check_online_merge(None).passed is None
    assert check_online_merge(3.0).passed is False
    out = capsys.readouterr().out
    assert "not done yet" in out and "pass your function itself" in out


@pytest.mark.parametrize("wrong, hint", [
    (lambda a, b: (max(a[0], b[0]), a[1] + b[1]), "Rescale each to the new max"),
    (lambda a, b: (max(a[0], b[0]), a[1] * math.exp(a[0] - max(a[0], b[0]))
                   + b[1] * math.exp(b[0] - max(a[0], b[0]))), "return the other one"),
    (lambda a, b: _merge(a, b) if -math.inf in (a[0], b[0]) else
     (max(a[0], b[0]), a[1] * math.exp(max(a[0], b[0]) - a[0]) + b[1] * math.exp(max(a[0], b[0]) - b[0])),
     "upside down"),
    (lambda a, b: _merge(a, b) if -math.inf in (a[0], b[0]) else
     (max(a[0], b[0]), (a[1] * math.exp(a[0]) + b[1] * math.exp(b[0])) / math.exp(max(a[0], b[0]))),
     "overflow"),
    (lambda a, b: (min(a[0], b[0]), a[1] + b[1]), "max(m_a, m_b)"),
    (lambda a, b: 1.0, "pair"),
])
def test_check_catches_typical_mistakes_with_a_hint(wrong, hint, capsys):
    result = check_online_merge(wrong)
    assert result.passed is False and result.case
    assert hint in capsys.readouterr().out


def test_check_catches_an_order_dependent_merge(capsys):
    # right for two states, wrong when its input already is a merge of several
    # (it forgets the first sum): only the folds over 3+ chunks expose it
    def forgetful(a, b):
        r = _merge(a, b)
        return (r[0], r[1]) if a[1] <= 1.0 + 1e-9 or b[1] <= 1.0 + 1e-9 else (r[0], b[1])

    assert check_online_merge(forgetful).passed is False


def test_c_accumulators_refuses_a_shift_that_overflows_the_exponentials():
    x = np.array([0.0, 200.0], dtype=np.float32)
    with pytest.raises(ValueError, match="shift"):
        two_pass.c_accumulators(x, "three_pass_recompute", shift=100.0)
    c = two_pass.c_accumulators(x, "three_pass_recompute", shift=150.0)   # exp(50): finite
    assert c["sum"] == pytest.approx(math.exp(50.0) + math.exp(-150.0), rel=1e-6)
