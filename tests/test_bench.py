"""Tests of the benchmark package (softviz/bench/), module by module.

They check structure, arithmetic, the targets' logic and the CLI on tiny rows and
made-up timings, never speed: timings on shared machines are noise, and the benchmark
itself reports the speed targets.  Nothing here touches a row of 2^24 elements.
"""
from __future__ import annotations

import contextlib
import io
import json
import math

import numpy as np
import pytest
import scipy.special

import softviz
import softviz.caches
from softviz import bench
from softviz.bench import (
    cli,
    extras,
    isas,
    machine,
    probes,
    report,
    schema,
    speed,
    suite,
    targets,
    timing,
)

needs_native = pytest.mark.skipif(not softviz.native_available(), reason="the C core is not compiled")
FAST = 0.001  # seconds per timing sample in these tests


def _finite_positive(v):
    return isinstance(v, (int, float)) and math.isfinite(v) and v > 0


@pytest.fixture
def small_nms(monkeypatch):
    monkeypatch.setattr(suite, "NMS_SIZES", (40, 80))


@pytest.fixture(scope="module")
def tiny_run():
    """A real run on rows of 2^8 and 2^10, both dtypes, with accuracy on short rows."""
    mp = pytest.MonkeyPatch()
    mp.setattr(suite, "NMS_SIZES", (40, 80))
    mp.setattr(suite, "LONG_ROW_LENGTHS", (2**8,))
    try:
        return suite.run([2**8, 2**10], repeats=2, quick=True, progress=False, min_time=FAST)
    finally:
        mp.undo()


# -- timing -------------------------------------------------------------------------------

@pytest.mark.parametrize("values, expected", [
    ([5], 5.0), ([3, 1, 2], 2.0), ([4, 1, 3, 2], 2.5), ([1.0, 1.0, 9.0], 1.0), ((x for x in [2, 8]), 5.0)])
def test_median_known_lists(values, expected):
    assert bench.median(values) == expected


def test_median_empty_raises():
    with pytest.raises(ValueError):
        bench.median([])


def test_small_helpers():
    assert timing.pow2_label(65536) == "2^16" and timing.pow2_label(1000) == "1000"
    assert timing.ratio(3.0, 2.0) == 1.5 and timing.ratio(None, 2.0) is None and timing.ratio(1.0, 0) is None
    assert timing.gbps(2e9, 2.0) == 1.0 and timing.gbps(1.0, None) is None


class FakeClock:
    """A clock that only moves when a contender 'runs' for its made-up duration."""

    def __init__(self):
        self.now = 0.0
        self.calls = []

    def __call__(self):
        return self.now

    def contender(self, name, seconds):
        def fn():
            self.calls.append(name)
            self.now += seconds
        return fn


def test_time_interleaved_medians_loops_and_round_robin():
    clock = FakeClock()
    # powers of two: the fake clock's sums are exact
    got = timing.time_interleaved({"a": clock.contender("a", 2**-8), "b": clock.contender("b", 2**-4)},
                                  repeats=3, min_time=2**-6, clock=clock)
    assert got["a"].seconds == 2**-8 and got["b"].seconds == 2**-4
    assert got["a"].loops == 4 and got["b"].loops == 1  # a sample lasts >= min_time
    assert len(got["a"].samples) == 3 and got["a"].error is None
    # warm-up: each called twice (untimed + calibration), then rounds a,b / b,a / a,b
    assert clock.calls[:4] == ["a", "a", "b", "b"]
    rounds = clock.calls[4:]
    assert rounds == ["a"] * 4 + ["b"] + ["b"] + ["a"] * 4 + ["a"] * 4 + ["b"]


def test_time_interleaved_reports_a_failing_contender_and_goes_on():
    clock = FakeClock()
    state = {"n": 0}

    def flaky():
        state["n"] += 1
        clock.now += 0.03
        if state["n"] > 3:
            raise RuntimeError("boom")

    got = timing.time_interleaved({"ok": clock.contender("ok", 0.03), "flaky": flaky,
                                   "broken": lambda: 1 / 0}, repeats=4, clock=clock)
    assert got["ok"].error is None and len(got["ok"].samples) == 4
    assert got["flaky"].seconds is None and got["flaky"].error == "RuntimeError: boom"
    assert len(got["flaky"].samples) == 1  # one round passed before it broke
    assert got["broken"].error.startswith("ZeroDivisionError") and got["broken"].samples == []


class Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self._tty = tty

    def isatty(self):
        return self._tty


def test_progress_on_tty_plain_stream_callback_and_disabled():
    tty = Stream(True)
    p = bench.Progress(12, stream=tty)
    p.step("float32 two_pass N=2^20")
    p.step("x")
    p.close()
    text = tty.getvalue()
    assert text.startswith("\r[ 1/12] float32 two_pass N=2^20 ...")
    assert "\r[ 2/12] x ..." in text and "\n" not in text

    plain = Stream(False)
    p = bench.Progress(3, stream=plain)
    p.step("a")
    p.step("b")
    p.close()
    assert plain.getvalue() == "[1/3] a ...\n[2/3] b ...\n"

    calls, quiet = [], Stream(False)
    p = bench.Progress(2, callback=lambda *a: calls.append(a), stream=quiet)
    p.step("one")
    p.close()
    assert calls == [(1, 2, "one")] and quiet.getvalue() == ""
    p = bench.Progress(2, enabled=False, stream=quiet)
    p.step("silent")
    assert p.done == 1 and quiet.getvalue() == ""


# -- machine ------------------------------------------------------------------------------

def test_cache_sizes_from_sysfs(tmp_path):
    for i, (level, kind, size) in enumerate([(1, "Data", "48K"), (1, "Instruction", "32K"),
                                             (2, "Unified", "2048K"), (3, "Unified", "260M")]):
        d = tmp_path / f"index{i}"
        d.mkdir()
        for key, value in (("level", level), ("type", kind), ("size", size)):
            (d / key).write_text(f"{value}\n")
    assert bench.cache_sizes(str(tmp_path)) == {"L1": 48 * 2**10, "L2": 2 * 2**20, "L3": 260 * 2**20}


def test_cache_sizes_unknown_gives_none(tmp_path, monkeypatch):
    monkeypatch.setattr(softviz.caches, "_sysconf_cache", lambda level: None)
    monkeypatch.setattr(softviz.caches, "_sysctl_cache", lambda level: None)
    assert bench.cache_sizes(str(tmp_path / "missing")) == {"L1": None, "L2": None, "L3": None}
    monkeypatch.setattr(softviz.caches, "_sysconf_cache", lambda level: {"L2": 1 << 20}.get(level))
    assert bench.cache_sizes(str(tmp_path / "missing")) == {"L1": None, "L2": 1 << 20, "L3": None}
    monkeypatch.undo()
    real = bench.cache_sizes()
    assert set(real) == {"L1", "L2", "L3"}
    assert all(v is None or (isinstance(v, int) and v > 0) for v in real.values())


def test_cpu_model_and_machine_info(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Test CPU 9000\n")
    assert machine.cpu_model(str(info)) == "Test CPU 9000"
    assert machine.cpu_model(str(tmp_path / "missing"))  # falls back to platform, never empty
    m = bench.machine_info()
    assert m["kernel"] == softviz.kernel_info() and m["simd_path"] == softviz.kernels.simd_path()
    assert m["native_available"] is softviz.native_available() and m["usable_cpus"] >= 1
    assert machine.bytes_str(2**26) == "64 MiB" and machine.bytes_str(10) == "10 B"
    assert machine.is_x86_64("AMD64") and not machine.is_x86_64("aarch64")


# -- probes -------------------------------------------------------------------------------

def test_passes_and_floor_formula():
    assert probes.passes("two_pass") == (1, 1) and probes.passes("online") == (1, 1)
    assert probes.passes("three_pass_recompute") == (2, 1)
    assert probes.passes("three_pass_reload") == (1, 2)
    assert bench.floor_seconds(1.0, 3.0) == 4.0
    assert bench.floor_seconds(1.0, 3.0, "three_pass_recompute") == 5.0
    assert bench.floor_seconds(1.0, 3.0, "three_pass_reload") == 7.0
    assert bench.floor_seconds(None, 3.0) is None


def test_probe_row_arithmetic():
    t = timing.Timing
    row = probes.probe_row("float64", 1000, t(1e-6, [1e-6], 1), t(3e-6, [3e-6], 1))
    assert row["read_gbps"] == pytest.approx(8000 / 1e-6 / 1e9)
    assert row["copy_gbps"] == pytest.approx(16000 / 3e-6 / 1e9)
    assert row["floor_seconds"] == pytest.approx(4e-6) and row["floor_ns_per_element"] == pytest.approx(4.0)
    assert row["error"] is None
    bad = probes.probe_row("float32", 10, t(None, [], 0, "RuntimeError: x"), None)
    assert bad["floor_seconds"] is None and "RuntimeError: x" in bad["error"]


@needs_native
def test_bandwidth_tiny():
    rows = bench.bandwidth(256, repeats=1, min_time=FAST)
    assert [r["dtype"] for r in rows] == ["float32", "float64"]
    for r in rows:
        assert r["error"] is None and _finite_positive(r["read_gbps"]) and _finite_positive(r["copy_gbps"])
        assert r["floor_seconds"] == pytest.approx(r["read_seconds"] + r["copy_seconds"])


# -- throughput ---------------------------------------------------------------------------

def test_numpy_baseline_is_a_softmax():
    x = speed.logits(100, np.float64, seed=3)
    np.testing.assert_allclose(speed.numpy_stable_softmax(x), scipy.special.softmax(x), rtol=1e-12)


def test_measure_group_rows_ratios_and_floor():
    x = speed.logits(512, np.float32)
    out = np.empty_like(x)
    rows, probe = speed.measure_group(x, out, ["two_pass", "three_pass_recompute", "numpy"],
                                           repeats=2, min_time=FAST)
    keys = [(r["method"], r["output"]) for r in rows]
    assert keys == [("two_pass", "out"), ("two_pass", "fresh"), ("three_pass_recompute", "out"),
                    ("three_pass_recompute", "fresh"), ("numpy", "fresh")]
    by = {k: r for k, r in zip(keys, rows)}
    for r in rows:
        assert r["error"] is None and _finite_positive(r["seconds"]) and len(r["samples"]) == 2
        assert r["ns_per_element"] == pytest.approx(r["seconds"] / 512 * 1e9)
        assert r["gbps"] == pytest.approx(512 * 4 / r["seconds"] / 1e9)
        assert r["vs_numpy"] == pytest.approx(by["numpy", "fresh"]["seconds"] / r["seconds"])
    fresh, out_row = by["two_pass", "fresh"], by["two_pass", "out"]
    assert fresh["vs_recompute"] == pytest.approx(by["three_pass_recompute", "fresh"]["seconds"] / fresh["seconds"])
    assert out_row["vs_recompute"] == pytest.approx(by["three_pass_recompute", "out"]["seconds"] / out_row["seconds"])
    assert out_row["moved_gbps"] == pytest.approx(3 * out_row["gbps"]) and by["numpy", "fresh"]["moved_gbps"] is None
    np.testing.assert_allclose(out, scipy.special.softmax(x), rtol=1e-5)  # out= was really written
    if softviz.native_available():
        assert probe["floor_seconds"] == pytest.approx(probe["read_seconds"] + probe["copy_seconds"])
        assert out_row["vs_floor"] == pytest.approx(probe["floor_seconds"] / out_row["seconds"])


def test_kernel_estimate_only_where_the_call_is_a_small_share():
    rows = [{"dtype": "float32", "method": "two_pass", "output": "out", "n": 1016, "seconds": 3e-6},
            {"dtype": "float32", "method": "two_pass", "output": "out", "n": 2**16, "seconds": 50e-6},
            {"dtype": "float32", "method": "two_pass", "output": "fresh", "n": 2**16, "seconds": 60e-6}]
    for r in rows:
        r["kernel_ns_per_element"] = None
    speed._add_kernel_estimate(rows, [{"dtype": "float32", "method": "two_pass", "seconds": 2e-6}])
    assert rows[0]["kernel_ns_per_element"] is None  # the call is 2/3 of the time
    assert rows[1]["kernel_ns_per_element"] == pytest.approx(48e-6 / (2**16 - 16) * 1e9)
    assert rows[2]["kernel_ns_per_element"] is None  # fresh rows are not kernel times


def test_throughput_tiny_structure():
    got = bench.throughput([64, 256], ["float64"], methods=["online", "numpy"], fresh=False,
                           repeats=1, min_time=FAST)
    assert [(r["n"], r["method"], r["output"]) for r in got["rows"]] == [
        (64, "online", "out"), (64, "numpy", "fresh"), (256, "online", "out"), (256, "numpy", "fresh")]
    assert [p["n"] for p in got["probes"]] == [64, 256]
    assert [(o["method"], o["n"]) for o in got["call_overhead"]] == [("online", 16)]


# -- isas ---------------------------------------------------------------------------------

@needs_native
def test_isa_comparison_covers_every_supported_path_and_restores_the_choice():
    before = softviz.kernel_info()
    rows = bench.isa_comparison(512, repeats=1, min_time=FAST)
    assert softviz.kernel_info() == before
    assert [(r["isa"], r["method"]) for r in rows] == [
        (i, a) for i in before["supported"] for a in isas.ISA_ALGORITHMS]
    for r in rows:
        assert r["error"] is None and r["output"] == "out" and r["n"] == 512
        mate = next(m for m in rows if m["isa"] == r["isa"] and m["method"] == "three_pass_recompute")
        assert r["vs_recompute"] == pytest.approx(mate["seconds"] / r["seconds"])
        assert r["vs_floor"] == pytest.approx(r["floor_seconds"] / r["seconds"])


@needs_native
def test_forced_isa_restores_a_forced_choice_too():
    with isas.forced_isa("portable"):
        assert softviz.kernel_info()["isa"] == "portable"
        with isas.forced_isa(softviz.kernel_info()["supported"][-1]):
            pass
        assert softviz.kernel_info()["isa"] == "portable"
    assert softviz.kernel_info()["requested"] == ""
    with pytest.raises(ValueError):
        with isas.forced_isa("sse9"):
            pass


# -- accuracy -----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype, scale", [(np.float32, 1.0), (np.float32, 1000.0), (np.float64, 300.0)])
def test_long_row_reference_agrees_with_mpmath(dtype, scale):
    x = (scale * np.random.default_rng(7).standard_normal(200)).astype(dtype)
    exact = softviz.reference.exact_softmax(x, digits=40)
    ref = bench.long_row_reference(x)
    keep = exact > 1e-300
    assert np.max(np.abs(ref[keep] - exact[keep]) / exact[keep]) < 1e-15


def test_long_row_reference_rejects_bad_rows():
    for bad in ([], [[1.0, 2.0]], [1.0, np.nan], [np.inf, 0.0]):
        with pytest.raises(ValueError):
            bench.long_row_reference(np.array(bad, dtype=float))


def test_accuracy_tiny_inputs_within_loose_bounds():
    rows = bench.accuracy(dtypes=("float32", "float64"), scales=(1.0, 30.0), rows=2, length=16)
    assert len(rows) == 2 * 2 * (len(softviz.ALGORITHMS) + 2)
    for r in rows:
        assert r["error"] is None, r
        assert r["n_compared"] + r["n_excluded"] == 32
        assert 0 <= r["max_rel_error"] <= (1e-4 if r["dtype"] == "float32" else 1e-11), r


def test_accuracy_excludes_results_below_smallest_normal():
    (r,) = bench.accuracy(algorithms=("two_pass",), dtypes=("float32",), scales=(1000.0,),
                          rows=1, length=64, baselines=())
    assert 1 <= r["n_compared"] < 64 and r["n_excluded"] == 64 - r["n_compared"]


def test_long_row_accuracy_tiny():
    rows = bench.long_row_accuracy([64, 128], ["float64"], scales=(1.0, 1000.0), algorithms=("two_pass",))
    assert [(r["n"], r["scale"]) for r in rows] == [(64, 1.0), (64, 1000.0), (128, 1.0), (128, 1000.0)]
    for r in rows:
        assert r["error"] is None and 0 <= r["max_rel_error"] < 1e-13
        assert r["n_compared"] + r["n_excluded"] == r["n"]


# -- extras -------------------------------------------------------------------------------

def test_workers_scaling_tiny():
    rows = bench.workers_scaling(1024, [1, 2], algorithms=("two_pass",), repeats=1, min_time=FAST)
    assert [(r["algorithm"], r["workers"]) for r in rows] == [("two_pass", 1), ("two_pass", 2)]
    assert rows[0]["speedup"] == 1.0
    assert rows[1]["speedup"] == pytest.approx(rows[0]["seconds"] / rows[1]["seconds"])


def test_panel_benchmark_times_every_registered_panel():
    from softviz import panels

    first = next(iter(panels.registry().values()))
    doc = bench.panel_benchmark(moves=2, classes=[first])
    assert doc["status"] == "ok" and doc["moves"] == 2
    assert doc["targets_seconds"] == {"update": 0.030, "redraw": 0.150}
    assert [r["panel"] for r in doc["results"]] == [first.__name__]
    for r in doc["results"]:
        assert r["error"] is None, r
        assert _finite_positive(r["update_seconds"]) and _finite_positive(r["redraw_seconds"])


def test_panel_benchmark_defaults_to_every_registered_panel(monkeypatch):
    from softviz import panels

    monkeypatch.setattr(extras, "_time_panel", lambda cls, moves: {"panel": cls.__name__, "moves": moves})
    doc = bench.panel_benchmark(moves=5)
    assert [r["panel"] for r in doc["results"]] == list(panels.registry())
    assert bench.panel_benchmark(classes=[])["status"] == "no panels registered"


def test_nms_benchmark_times_every_method_and_reports_growth():
    from softviz import nms

    got = bench.nms_benchmark(sizes=(40, 80), repeats=1)
    assert got["sizes"] == [40, 80]
    assert [(r["method"], r["n"]) for r in got["results"]] == [(m, n) for m in nms.METHODS for n in (40, 80)]
    times = {(r["method"], r["n"]): r["seconds"] for r in got["results"]}
    for m in nms.METHODS:
        assert got["exponent"][m] == pytest.approx(math.log2(times[m, 80] / times[m, 40]))
    assert all(0 < r["kept"] <= r["n"] for r in got["results"])


# -- targets, on made-up results ----------------------------------------------------------

N24, N16 = 2**24, 2**16


def _tp_row(dtype, n, output, vs_numpy=None, vs_recompute=None, seconds=0.01, method="two_pass", **kw):
    return {"method": method, "dtype": dtype, "n": n, "output": output, "seconds": seconds,
            "ns_per_element": seconds / n * 1e9, "vs_numpy": vs_numpy, "vs_recompute": vs_recompute,
            "error": None, **kw}


def _fake_result(native=True, arch="x86_64", isa="avx512", supported=("portable", "avx2", "avx512"),
                 requested="", f32_numpy=3.0, f32_recompute=1.3, f32_fresh_numpy=2.0, floor_ratio=1.10,
                 api_ns=0.35, f64_numpy=2.5, f64_recompute=1.25, avx2_recompute=1.2,
                 err32=5e-7, err64=1e-15, longest=N24, peer_speedup=1.1, f64_long_peer=2.5, ns128=0.40,
                 ns16=0.22, batch_speedup=1.8, peers_installed=True):
    algs = list(softviz.ALGORITHMS)
    t2 = 0.01
    rows = [_tp_row("float32", N24, "out", f32_numpy, f32_recompute, t2),
            _tp_row("float32", N24, "fresh", f32_fresh_numpy, 1.0),
            _tp_row("float32", N16, "out", 5.0, 1.0, api_ns * N16 * 1e-9, kernel_ns_per_element=0.3),
            _tp_row("float64", N24, "out", f64_numpy, f64_recompute)]
    probes_ = [{"dtype": "float32", "n": N24, "floor_seconds": t2 / floor_ratio,
                "floor_ns_per_element": t2 / floor_ratio / N24 * 1e9, "error": None}]
    isa_rows = [_tp_row("float32", N24, "out", None, avx2_recompute, isa="avx2")] if "avx2" in supported else []
    # the other algorithms stay well inside their own bounds (1e-5, 1e-13)
    errs = {("float32", "two_pass"): err32, ("float64", "two_pass"): err64}
    acc = [{"method": a, "dtype": d, "scale": 1.0, "max_rel_error": errs.get((d, a), 1e-15), "error": None}
           for a in algs for d in ("float32", "float64")]
    long_rows = [{**r, "n": longest} for r in acc]
    peer_rows = []
    for d in ("float32", "float64"):
        for nrows, n in targets.PEER_TARGET_SHAPES:
            sp = f64_long_peer if (d == "float64" and n == N24) else peer_speedup
            ours = ns128 if (nrows, n) == (8192, 128) else ns16 if n == N16 else 0.5
            ns = {"softviz": ours, "numpy": 2.0, **({"onnxruntime": ours * sp} if peers_installed else {})}
            peer_rows.append({"dtype": d, "rows": nrows, "n": n, "algorithm": "two_pass", "ns_per_element": ns,
                              "speedup_vs_best_peer": sp if peers_installed else None})
    scaling = [{"rows": r, "n": n, "workers": 2, "available": 2, "speedup": batch_speedup}
               for r, n in ((8192, 128), (64, 50257))]
    return {"machine": {"native_available": native, "machine": arch,
                        "kernel": {"isa": isa, "supported": list(supported), "requested": requested}},
            "config": {"algorithms": algs}, "throughput": {"rows": rows, "probes": probes_},
            "isas": isa_rows, "accuracy": acc, "long_row_accuracy": long_rows, "panels": None, "nms": None,
            "peers": peer_rows, "batch_scaling": scaling}


def _status(result):
    return {t["name"]: t["status"] for t in bench.evaluate_targets(result)}


F32_NUMPY = "float32 N=2^24 out=: two_pass >= 2.8x numpy stable softmax"
F32_RECOMP = "float32 N=2^24 out=: two_pass >= 1.25x three_pass_recompute"
FLOOR = "float32 N=2^24 out=: two_pass time <= 1.15 x memory floor (one read pass + one copy pass)"
FRESH = "float32 N=2^24 fresh output: two_pass >= 1.8x numpy stable softmax"
KERNEL = "float32 N=2^16 out=: two_pass kernel ns/element (API time minus call overhead)"
API = "float32 N=2^16 out=: two_pass through the Python API <= 0.4 ns/element"
F64_NUMPY = "float64 N=2^24 out=: two_pass >= 2.3x numpy stable softmax"
F64_RECOMP = "float64 N=2^24 out=: two_pass >= 1.2x three_pass_recompute"
AVX2 = "AVX2 path (forced), float32 N=2^24 out=: two_pass >= 1.15x three_pass_recompute"
ACC32 = "accuracy float32 two_pass: max rel err <= 1e-06 (scales 1..1000, rows to 2^24)"
ACC64 = "accuracy float64 two_pass: max rel err <= 1e-13 (scales 1..1000, rows to 2^24)"
BUILD = "x86-64: the kernels in use are the best this CPU supports"
PEER128 = "peers float32 8192x128, fresh output: default >= 1x the faster of onnxruntime and torch"
PEER64_LONG = "peers float64 1 row of 2^24, fresh output: default >= 2x the faster of onnxruntime and torch"
NS128 = "float32 8192x128 fresh output: default <= 0.45 ns/element on AVX-512"
NS16 = "float32 1 row of 2^16 in cache: default <= 0.25 ns/element on AVX-512"
BATCH = "float32 8192x128: workers=2 >= 1.7x one thread"


def test_targets_all_pass_on_good_numbers():
    got = bench.evaluate_targets(_fake_result())
    assert {t["status"] for t in got if t["name"] != KERNEL} == {"PASS"}, got
    info = next(t for t in got if t["name"] == KERNEL)
    assert info["status"] == "INFO" and not info["applicable"] and info["measured"] == 0.3
    assert "0.323" in info["note"] and "another machine" in info["note"]
    assert targets.failed(got) == []


@pytest.mark.parametrize("change, name", [
    ({"f32_numpy": 2.79}, F32_NUMPY), ({"f32_recompute": 1.24}, F32_RECOMP), ({"floor_ratio": 1.16}, FLOOR),
    ({"f32_fresh_numpy": 1.79}, FRESH), ({"api_ns": 0.41}, API), ({"f64_numpy": 2.29}, F64_NUMPY),
    ({"f64_recompute": 1.19}, F64_RECOMP), ({"avx2_recompute": 1.14}, AVX2), ({"err32": 1.01e-6}, ACC32),
    ({"err64": 1.01e-13}, ACC64), ({"isa": "avx2"}, BUILD), ({"f64_long_peer": 1.99}, PEER64_LONG),
    ({"ns128": 0.46}, NS128), ({"ns16": 0.26}, NS16),
])
def test_each_target_fails_just_past_its_threshold(change, name):
    status = _status(_fake_result(**change))
    assert status[name] == "FAIL"
    assert [k for k, v in status.items() if v == "FAIL"] == [name]


def test_peer_targets_fail_below_the_peer_and_are_na_without_peers():
    status = _status(_fake_result(peer_speedup=0.99))
    assert status[PEER128] == "FAIL"
    assert status[BATCH] == "PASS" and _status(_fake_result(batch_speedup=1.69))[BATCH] == "FAIL"
    status = _status(_fake_result(peers_installed=False))
    assert status[PEER128] == "N/A" and status[PEER64_LONG] == "N/A"
    assert _status(_fake_result(isa="avx2", supported=("portable", "avx2")))[NS128] == "N/A"


def test_floor_target_formula_is_time_over_floor():
    at = next(t for t in bench.evaluate_targets(_fake_result(floor_ratio=1.15)) if t["name"] == FLOOR)
    assert at["status"] == "PASS" and at["measured"] == pytest.approx(1.15) and at["threshold"] == 1.15


def test_targets_not_measured_are_na():
    fake = _fake_result(longest=2**12)
    fake["throughput"] = {"rows": [], "probes": []}
    fake["isas"] = []
    status = _status(fake)
    for name in (F32_NUMPY, F32_RECOMP, FLOOR, FRESH, API, F64_NUMPY, F64_RECOMP, AVX2, ACC32, ACC64):
        assert status[name] == "N/A", name
    assert status["accuracy float32 online: max rel err <= 1e-05 (scales 1..1000, rows to 2^24)"] == "PASS"
    notes = {t["name"]: t["note"] for t in bench.evaluate_targets(fake)}
    assert "needs 2^24" in notes[ACC32] and "not measured" in notes[F32_NUMPY]
    fake["accuracy"] = fake["long_row_accuracy"] = None
    assert _status(fake)[ACC64] == "N/A"


def test_avx2_and_build_targets_follow_the_machine():
    no_avx2 = bench.evaluate_targets(_fake_result(supported=("portable",), isa="portable"))
    avx2 = next(t for t in no_avx2 if t["name"] == AVX2)
    assert avx2["status"] == "N/A" and "no AVX2" in avx2["note"]
    assert _status(_fake_result(supported=("portable",), isa="portable"))[BUILD] == "PASS"
    assert _status(_fake_result(isa="portable", requested="portable"))[BUILD] == "N/A"
    assert _status(_fake_result(arch="aarch64", supported=("portable",), isa="portable"))[BUILD] == "N/A"


def test_targets_without_native_core_fail_but_panels_and_nms_are_judged():
    fake = _fake_result(native=False)
    fake["panels"] = {"results": [
        {"panel": "Fast", "update_seconds": 0.001, "redraw_seconds": 0.05, "error": None},
        {"panel": "Broken", "update_seconds": None, "redraw_seconds": None, "error": "ValueError: x"}]}
    fake["nms"] = {"exponent": {"hard": 1.1, "gaussian": 2.9}}
    got = bench.evaluate_targets(fake)
    core = [t for t in got if t["kind"] not in ("panel", "nms") and t["applicable"]]
    assert core and all(t["status"] == "FAIL" and "native" in t["note"] for t in core)
    status = {t["name"]: t["status"] for t in got}
    assert status["panel Fast: median set() compute + artist update <= 30 ms"] == "PASS"
    assert status["panel Broken: median set() incl. full Agg redraw <= 150 ms"] == "FAIL"
    assert status["soft_nms hard: time grows at most ~N^2 (exponent <= 2.3)"] == "PASS"
    assert status["soft_nms gaussian: time grows at most ~N^2 (exponent <= 2.3)"] == "FAIL"


# -- the run, its JSON and its report -------------------------------------------------------

def test_run_result_matches_the_schema(tiny_run):
    doc = json.loads(json.dumps(bench.json_safe(tiny_run), allow_nan=False))
    assert bench.validate(doc) == []
    assert doc["schema"] == bench.SCHEMA and doc["machine"]["kernel"] == softviz.kernel_info()
    want = {(d, n, m, o) for d in ("float32", "float64") for n in (2**8, 2**10)
            for m in softviz.ALGORITHMS for o in ("out", "fresh")}
    want |= {(d, n, b, "fresh") for d in ("float32", "float64") for n in (2**8, 2**10) for b in ("numpy", "scipy")}
    assert {(r["dtype"], r["n"], r["method"], r["output"]) for r in doc["throughput"]["rows"]} == want
    assert {(p["dtype"], p["n"]) for p in doc["throughput"]["probes"]} == {
        (d, n) for d in ("float32", "float64") for n in (2**8, 2**10)}
    assert {r["n"] for r in doc["long_row_accuracy"]} == {2**8, 2**10}
    assert {(r["workers"], r["n"]) for r in doc["scaling"]} >= {(1, 2**10), (2, 2**10)}
    assert doc["config"]["accuracy"]["long_row_lengths"] == [2**8, 2**10]


def test_validate_finds_departures():
    assert bench.validate([]) == ["the document is not a JSON object"]
    assert "targets missing or not <class 'list'>" in bench.validate({"schema": bench.SCHEMA})
    doc = json.loads(json.dumps(bench.json_safe(_minimal_doc())))
    assert bench.validate(doc) == []
    doc["targets"][0]["status"] = "MAYBE"
    del doc["throughput"]["probes"][0]["floor_seconds"]
    doc["schema"] = "softviz.bench/1"
    problems = " | ".join(bench.validate(doc))
    assert "MAYBE" in problems and "floor_seconds" in problems and "softviz.bench/1" in problems


def _minimal_doc():
    row = {k: None for k in schema._ROW}
    probe = {k: None for k in schema._PROBE}
    target = {k: None for k in schema._TARGET} | {"status": "PASS"}
    return {"schema": bench.SCHEMA, "note": "", "created": "2026-01-01T00:00:00+00:00", "elapsed_seconds": 1.0,
            "machine": {k: None for k in schema._MACHINE}, "config": {},
            "throughput": {"rows": [row], "probes": [probe]}, "isas": [], "scaling": [], "nms": {},
            "targets": [target]}


def test_json_safe_removes_nan_and_numpy_scalars():
    doc = bench.json_safe({"a": [math.nan, 1.0, math.inf], "b": np.float32(2.5), 3: (np.int64(4),)})
    assert doc == {"a": [None, 1.0, None], "b": 2.5, "3": [4]}
    json.dumps(doc, allow_nan=False)


def test_report_names_cpu_and_kernel_path_and_has_every_table(tiny_run):
    text = bench.format_report(tiny_run)
    m = tiny_run["machine"]
    assert m["cpu_model"] in text and f"kernel path    {m['kernel']['isa']}: {m['simd_path']}" in text
    assert "[float32] memory probes" in text and "[float64] softmax of one row" in text
    heads = [line.split() for line in text.splitlines() if line.startswith("N ") and "out=" in line]
    assert heads and heads[0] == ["N", "method", "out=", "fresh", "kernel", "x", "numpy", "fresh", "x", "np",
                                  "x", "recomp", "floor/t"]
    for alg in softviz.ALGORITHMS:
        assert alg in text
    assert "Long rows: one row per N" in text and "Short rows: 5 rows x 256" in text
    assert "Targets ('x' = speed ratio" in text and "applicable targets pass" in text
    if softviz.native_available():
        assert "Kernels per instruction set" in text


def test_report_table_alignment():
    text = report.table(["a", "num"], [["x", "1.5"], [], ["long", "10.25"]])
    assert text.splitlines() == ["a       num", "----  -----", "x       1.5", "", "long  10.25"]


def test_reference_result_ships_and_matches_the_schema():
    ref = bench.reference_result()
    assert bench.validate(ref) == []
    assert ref["machine"]["cpu_model"] and ref["machine"]["kernel"]["isa"] and ref["created"]
    assert 2**24 in ref["config"]["sizes"] and ref["config"]["dtypes"] == ["float32", "float64"]
    assert ref["note"]  # says where and when it was measured
    assert any(t["kind"] == "floor" for t in ref["targets"])


# -- suite and CLI --------------------------------------------------------------------------

def test_sizes():
    assert bench.parse_sizes("10,16,24") == [2**10, 2**16, 2**24]
    assert bench.parse_sizes(" 12, 10 ,12") == [2**10, 2**12]
    for bad in ("", "ten", "10,31", "-1"):
        with pytest.raises(ValueError):
            bench.parse_sizes(bad)
    assert bench.DEFAULT_SIZES == tuple(2**p for p in range(10, 25, 2))
    assert bench.QUICK_SIZES == (2**10, 2**16, 2**20, 2**22, 2**24)
    assert suite.long_row_lengths([2**10, 2**12]) == [2**10, 2**12]
    assert suite.long_row_lengths(bench.DEFAULT_SIZES) == [2**10, 2**16, 2**20, 2**24]


def _run_main(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = bench.main(argv)
    return code, out.getvalue(), err.getvalue()


def test_cli_quick_json(small_nms):
    code, out, err = _run_main(["--quick", "--no-accuracy", "--sizes", "10,12", "--json", "--repeats", "1"])
    assert code == 0
    doc = json.loads(out)  # stdout holds the JSON document and nothing else
    assert bench.validate(doc) == [] and doc["accuracy"] is None and doc["config"]["sizes"] == [2**10, 2**12]
    assert "] float32 N=2^10" in err  # progress went to stderr


@needs_native
def test_cli_text_with_forced_isa_and_restores_it(small_nms):
    before = softviz.kernel_info()
    code, out, _ = _run_main(["--sizes", "10", "--dtype", "float32", "--no-accuracy", "--repeats", "1",
                              "--isa", "portable", "--note", "ci"])
    assert code == 0 and softviz.kernel_info() == before
    assert "kernel path    portable:" in out and "forced (SOFTVIZ_ISA or softviz._native.select_isa)" in out and "(ci)" in out
    assert "[float64]" not in out and "N/A   float32 N=2^24 out=" in out


def test_cli_usage_errors():
    for argv in (["--sizes", "10,abc"], ["--repeats", "0"], ["--isa", "sse9"]):
        with pytest.raises(SystemExit) as exc:
            _run_main(argv)
        assert exc.value.code == 2


def test_check_flag_sets_exit_code(monkeypatch):
    fake = {"value": _fake_result(f32_numpy=1.0)}

    def fake_run(*args, **kwargs):
        r = fake["value"]
        r["targets"] = bench.evaluate_targets(r)
        return r

    monkeypatch.setattr(cli, "run", fake_run)
    assert _run_main(["--json"])[0] == 0  # a benchmark reports ...
    assert _run_main(["--check", "--json"])[0] == 1  # ... unless asked to judge
    fake["value"] = _fake_result()
    assert _run_main(["--check", "--json"])[0] == 0


def test_a_run_result_reads_as_a_sweep(tiny_run):
    import matplotlib
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    sw = bench.as_sweep(tiny_run, "float64")
    assert sw["dtype"] == "float64" and sw["sizes"] == [2**8, 2**10]
    assert {(r["method"], r["output"]) for r in sw["rows"]} == {
        (a, "out") for a in softviz.ALGORITHMS} | {("numpy", "fresh"), ("scipy", "fresh")}
    assert [p["n"] for p in sw["probes"]] == [2**8, 2**10] and sw["workers"] is None  # scaling ran in float32
    assert "N = 2^10" in bench.verdict(sw)
    bench.plot_sweep(sw, fig=Figure())
    with pytest.raises(ValueError):
        bench.as_sweep({**tiny_run, "config": {**tiny_run["config"], "dtypes": ["float32"]}}, "float64")


def test_verdict_finds_memory_bound_rows_when_sysfs_reports_a_huge_cache():
    """A virtual machine may report a cache far larger than what serves the rows: the copy
    pass slowing down per element shows where the rows became memory-bound."""
    from softviz.bench import live

    n_l2, n_big = 2**14, 2**22
    probes = [{"n": n_l2, "copy_seconds": 1e-10 * n_l2, "read_seconds": 0.5e-10 * n_l2, "floor_seconds": 1.5e-10 * n_l2},
              {"n": n_big, "copy_seconds": 3e-10 * n_big, "read_seconds": 1.5e-10 * n_big, "floor_seconds": 4.5e-10 * n_big}]
    rows = [{"method": m, "n": n, "seconds": t * n} for n in (n_l2, n_big)
            for m, t in (("two_pass", 5e-10), ("three_pass_recompute", 6.5e-10), ("three_pass_reload", 9e-10))]
    result = {"sizes": [n_l2, n_big], "dtype": "float32", "caches": {"L1": 48 << 10, "L2": 2 << 20, "L3": 480 << 20},
              "rows": rows, "probes": probes, "quick": True, "machine": {}}
    assert live._memory_bound_sizes(result) == [n_big]
    text = live.verdict(result)
    assert "memory-bound" in text and "holds on this machine" in text
    # without the slowdown the run says it cannot test the claim
    probes[1]["copy_seconds"] = 1.1e-10 * n_big
    assert live._memory_bound_sizes(result) == []
    assert "cannot test" in live.verdict(result)
