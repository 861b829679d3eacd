"""Tests of the benchmark's plumbing (softviz/bench.py).

They check structure, arithmetic and exit codes, never speed: timings on shared
machines are noise, and the benchmark itself reports the speed targets.
"""

import contextlib
import io
import json
import math

import numpy as np
import pytest

import softviz
from softviz import bench

SIZES = [2**10, 2**12]
METHODS = list(softviz.ALGORITHMS) + ["numpy", "scipy"]


def _run_main(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = bench.main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def quick_json():
    code, out, err = _run_main(["--quick", "--sizes", "10,12", "--repeats", "3", "--json"])
    return code, out, err


@pytest.fixture(scope="module")
def result(quick_json):
    return json.loads(quick_json[1])


def _finite_positive(v):
    return isinstance(v, (int, float)) and math.isfinite(v) and v > 0


# -- helpers ---------------------------------------------------------------

@pytest.mark.parametrize("values, expected", [
    ([5], 5.0), ([3, 1, 2], 2.0), ([4, 1, 3, 2], 2.5), ([1.0, 1.0, 9.0], 1.0),
    ((x for x in [2, 8]), 5.0),
])
def test_median_known_lists(values, expected):
    assert bench.median(values) == expected


def test_median_empty_raises():
    with pytest.raises(ValueError):
        bench.median([])


def test_parse_sizes():
    assert bench.parse_sizes("10,16,24") == [2**10, 2**16, 2**24]
    assert bench.parse_sizes(" 12, 10 ,12") == [2**10, 2**12]
    for bad in ("", "ten", "10,31", "-1"):
        with pytest.raises(ValueError):
            bench.parse_sizes(bad)


def test_bad_sizes_is_a_usage_error():
    with pytest.raises(SystemExit) as exc:
        _run_main(["--sizes", "10,abc"])
    assert exc.value.code == 2


def test_default_and_quick_sizes():
    assert bench.DEFAULT_SIZES == tuple(2**p for p in range(10, 25, 2))
    assert bench.QUICK_SIZES == (2**10, 2**16, 2**20, 2**22, 2**24)


def test_progress_rewrites_line_on_tty_and_prints_lines_otherwise():
    class Stream(io.StringIO):
        def __init__(self, tty):
            super().__init__()
            self._tty = tty

        def isatty(self):
            return self._tty

    tty = Stream(True)
    p = bench._Progress(12, stream=tty)
    p.step("float32 two_pass N=2^20")
    p.step("x")
    p.close()
    text = tty.getvalue()
    assert text.startswith("\r[ 1/12] float32 two_pass N=2^20 ...")
    assert "\r[ 2/12] x ..." in text and "\n" not in text

    plain = Stream(False)
    p = bench._Progress(3, stream=plain)
    p.step("a")
    p.step("b")
    p.close()
    assert plain.getvalue() == "[1/3] a ...\n[2/3] b ...\n"


# -- the --json document ---------------------------------------------------

def test_json_is_the_only_stdout_and_exit_code_is_zero(quick_json, result):
    code, out, err = quick_json
    assert code == 0
    assert out.strip().startswith("{") and out.strip().endswith("}")
    assert "[" in err  # progress went to stderr
    for key in ("machine", "config", "bandwidth", "throughput", "scaling",
                "accuracy", "targets"):
        assert key in result


def test_json_machine_shows_code_path(result):
    m = result["machine"]
    assert m["simd_path"] == softviz.kernels.simd_path()
    assert m["native_available"] is softviz.native_available()
    assert isinstance(m["build_info"], dict)
    for key in ("platform", "cpu_model", "cpu_count", "numpy", "scipy"):
        assert m[key]


def test_json_throughput_complete_and_consistent(result):
    rows = result["throughput"]
    seen = {(r["dtype"], r["n"], r["method"]) for r in rows}
    want = {(d, n, m) for d in ("float32", "float64") for n in SIZES for m in METHODS}
    assert seen == want and len(rows) == len(want)
    read = {b["dtype"]: b["gbps"] for b in result["bandwidth"] if b["probe"] == "read"}
    for r in rows:
        assert r["error"] is None, r
        assert _finite_positive(r["seconds"]) and _finite_positive(r["gbps"])
        assert len(r["samples"]) == 3 and r["loops"] >= 1
        assert r["seconds"] == pytest.approx(bench.median(r["samples"]), rel=1e-12)
        itemsize = np.dtype(r["dtype"]).itemsize
        assert r["bytes"] == r["n"] * itemsize
        assert r["gbps"] == pytest.approx(r["n"] * itemsize / r["seconds"] / 1e9, rel=1e-9)
        group = {g["method"]: g for g in rows if g["dtype"] == r["dtype"] and g["n"] == r["n"]}
        assert r["vs_numpy"] == pytest.approx(group["numpy"]["seconds"] / r["seconds"], rel=1e-9)
        assert r["vs_recompute"] == pytest.approx(
            group["three_pass_recompute"]["seconds"] / r["seconds"], rel=1e-9)
        if read.get(r["dtype"]):
            assert r["vs_read"] == pytest.approx(r["gbps"] / read[r["dtype"]], rel=1e-9)
        if r["method"] in softviz.ALGORITHMS:
            moved = softviz.kernels.memory_traffic(r["method"], r["n"], r["dtype"])["bytes"]
            assert r["moved_gbps"] == pytest.approx(moved / r["seconds"] / 1e9, rel=1e-9)
    assert all(r["vs_numpy"] == 1.0 for r in rows if r["method"] == "numpy")


def test_json_bandwidth(result):
    probes = {(b["dtype"], b["probe"]) for b in result["bandwidth"]}
    assert probes == {(d, p) for d in ("float32", "float64") for p in ("read", "copy")}
    for b in result["bandwidth"]:
        assert b["n"] == 2**24
        factor = 1 if b["probe"] == "read" else 2
        assert b["bytes"] == factor * b["n"] * np.dtype(b["dtype"]).itemsize
        if softviz.native_available():
            assert b["error"] is None
            assert _finite_positive(b["gbps"])
            assert b["gbps"] == pytest.approx(b["bytes"] / b["seconds"] / 1e9, rel=1e-9)
        else:
            assert b["gbps"] is None and b["error"]


def test_json_scaling(result):
    rows = result["scaling"]
    assert {r["algorithm"] for r in rows} == set(softviz.ALGORITHMS)
    for alg in softviz.ALGORITHMS:
        mine = {r["workers"]: r for r in rows if r["algorithm"] == alg}
        assert 1 in mine and 2 in mine
        assert mine[1]["available"] and mine[1]["speedup"] == 1.0
        for w, r in mine.items():
            assert r["n"] == 2**24 and r["dtype"] == "float32"
            if r["available"]:
                assert _finite_positive(r["gbps"])
                assert r["speedup"] == pytest.approx(mine[1]["seconds"] / r["seconds"], rel=1e-9)
            else:
                assert r["error"] and r["speedup"] is None


def test_json_accuracy(result):
    rows = result["accuracy"]
    seen = {(r["dtype"], r["method"], r["scale"]) for r in rows}
    assert seen == {(d, m, s) for d in ("float32", "float64") for m in METHODS
                    for s in bench.SCALES}
    for r in rows:
        assert r["error"] is None, r
        assert r["n_compared"] >= 1  # the largest element always has exact value >= 1/length
        assert r["n_compared"] + r["n_excluded"] == r["rows"] * r["length"]
        bound = 1e-4 if r["dtype"] == "float32" else 1e-11
        assert 0 <= r["max_rel_error"] <= bound, r
        assert 0 <= r["max_ulp_error"] < 1e4, r


def test_json_targets(result):
    targets = result["targets"]
    assert targets
    names = " | ".join(t["name"] for t in targets)
    assert "two_pass >= 4x numpy" in names and "1.15x three_pass_recompute" in names
    assert "float64 N=2^24: two_pass >= 3x numpy" in names and "AVX2" in names
    for t in targets:
        assert isinstance(t["passed"], bool) and isinstance(t["applicable"], bool)
        assert t["status"] == ("N/A" if not t["applicable"] else ("PASS" if t["passed"] else "FAIL"))
    # --sizes 10,12 never reaches 2^24: the speed targets cannot be judged
    assert all(not t["applicable"] for t in targets if t["kind"] == "speed")
    # accuracy targets were measured, on the same numbers as the accuracy section
    acc = [t for t in targets if t["kind"] == "accuracy"]
    assert len(acc) == 2 * len(softviz.ALGORITHMS) and all(t["applicable"] for t in acc)
    for t in acc:
        dtype, alg = t["name"].split()[1:3]
        alg = alg.rstrip(":")
        worst = max(r["max_rel_error"] for r in result["accuracy"]
                    if r["dtype"] == dtype and r["method"] == alg)
        assert t["measured"] == worst


# -- text output -------------------------------------------------------------

def test_text_output_shows_code_path_and_tables():
    code, out, err = _run_main(["--quick", "--sizes", "10", "--repeats", "2",
                                "--dtype", "float32", "--no-accuracy", "--panels"])
    assert code == 0
    assert "SIMD path" in out and softviz.kernels.simd_path() in out
    assert "N     method" in out and "GB/s" in out and "x numpy" in out and "x recomp" in out
    for alg in softviz.ALGORITHMS:
        assert alg in out
    assert "Panels: median set() over 30 moves" in out
    assert "SoftmaxBarsPanel" in out and "<= 30 ms" in out and "<= 150 ms" in out
    assert "panel SoftmaxBarsPanel: median set() compute + artist update <= 30 ms" in out
    assert "Soft-NMS (softviz.nms.soft_nms, numpy)" in out and "soft_nms gaussian: time grows" in out
    assert "Targets" in out and "accuracy not run" in out
    assert "[float64]" not in out
    assert "2^10" in out and "] " in err  # progress lines on stderr, not stdout
    assert "] float32" not in out


# -- targets logic and --check, on made-up numbers ---------------------------

def _fake_result(native=True, machine="x86_64", simd="x86-64-v3 (AVX2+FMA) clone",
                 f32_numpy=5.0, f32_recompute=1.3, f64_numpy=3.5, err32=5e-7, err64=1e-15):
    algs = list(softviz.ALGORITHMS)
    tp = []
    for dtype, vs_np in (("float32", f32_numpy), ("float64", f64_numpy)):
        tp.append({"method": "two_pass", "dtype": dtype, "n": 2**24, "seconds": 0.01,
                   "vs_numpy": vs_np, "vs_recompute": f32_recompute if dtype == "float32" else 1.2,
                   "error": None})
    acc = [{"method": a, "dtype": d, "scale": 1.0,
            "max_rel_error": err32 if d == "float32" else err64, "error": None}
           for a in algs for d in ("float32", "float64")]
    return {"machine": {"native_available": native, "machine": machine, "simd_path": simd},
            "config": {"algorithms": algs}, "throughput": tp, "accuracy": acc,
            "bandwidth": [], "scaling": [], "panels": None}


def _status(targets):
    return {t["name"]: t["status"] for t in targets}


def test_targets_pass_and_fail_on_the_numbers():
    ok = bench.evaluate_targets(_fake_result())
    assert all(t["status"] == "PASS" for t in ok), _status(ok)

    bad = _status(bench.evaluate_targets(_fake_result(f32_numpy=3.9, f32_recompute=1.1,
                                                      f64_numpy=2.9, err64=2e-13)))
    assert bad["float32 N=2^24: two_pass >= 4x numpy stable softmax"] == "FAIL"
    assert bad["float32 N=2^24: two_pass >= 1.15x three_pass_recompute"] == "FAIL"
    assert bad["float64 N=2^24: two_pass >= 3x numpy stable softmax"] == "FAIL"
    assert all(v == "FAIL" for k, v in bad.items() if k.startswith("accuracy float64"))

    # 5e-6 meets the 1e-5 bound of the three-pass/online algorithms but not two_pass's 1e-6
    mid = _status(bench.evaluate_targets(_fake_result(err32=5e-6)))
    assert mid["accuracy float32 two_pass: max rel err <= 1e-06"] == "FAIL"
    assert mid["accuracy float32 online: max rel err <= 1e-05"] == "PASS"


def test_targets_without_native_core_fail_and_avx2_only_on_x86():
    t = bench.evaluate_targets(_fake_result(native=False))
    assert all(x["status"] == "FAIL" for x in t if x["applicable"])
    assert all("native" in x["note"] for x in t if x["applicable"])

    arm = _status(bench.evaluate_targets(_fake_result(machine="aarch64", simd="default")))
    assert arm["default build uses AVX2 (x86-64)"] == "N/A"
    x86 = _status(bench.evaluate_targets(_fake_result(simd="default (baseline SSE2)")))
    assert x86["default build uses AVX2 (x86-64)"] == "FAIL"


def test_check_flag_sets_exit_code(monkeypatch):
    fake = {"value": _fake_result(f32_numpy=1.0)}

    def fake_run(*args, **kwargs):
        r = fake["value"]
        r["targets"] = bench.evaluate_targets(r)
        return r

    monkeypatch.setattr(bench, "run", fake_run)
    monkeypatch.setattr(bench, "format_report", lambda r: "report")
    assert _run_main(["--json"])[0] == 0          # a benchmark reports ...
    assert _run_main(["--check", "--json"])[0] == 1  # ... unless asked to judge
    fake["value"] = _fake_result()
    assert _run_main(["--check"])[0] == 0


def test_json_never_contains_nan():
    doc = bench._json_safe({"a": [math.nan, 1.0, math.inf], "b": np.float32(2.5)})
    assert doc == {"a": [None, 1.0, None], "b": 2.5}
    json.dumps(doc, allow_nan=False)


# -- the library functions on tiny inputs --------------------------------------

def test_accuracy_tiny_inputs_within_loose_bounds():
    rows = bench.accuracy(dtypes=("float32", "float64"), scales=(1.0, 30.0), rows=2, length=16)
    assert len(rows) == 2 * 2 * len(METHODS)
    for r in rows:
        assert r["error"] is None, r
        assert r["n_compared"] + r["n_excluded"] == 32
        bound = 1e-4 if r["dtype"] == "float32" else 1e-11
        assert 0 <= r["max_rel_error"] <= bound, r
        assert 0 <= r["max_ulp_error"] < 1e4, r


def test_accuracy_excludes_results_below_smallest_normal():
    # scale 1000: most of a row underflows, only elements >= tiny are compared
    (r,) = bench.accuracy(algorithms=("two_pass",), dtypes=("float32",), scales=(1000.0,),
                          rows=1, length=64, baselines=())
    assert 1 <= r["n_compared"] < 64 and r["n_excluded"] == 64 - r["n_compared"]


def test_throughput_tiny_with_read_bandwidth():
    rows = bench.throughput(sizes=[256], dtypes=["float64"], methods=["two_pass", "numpy"],
                            repeats=2, read_gbps={"float64": 10.0})
    by = {r["method"]: r for r in rows}
    assert set(by) == {"two_pass", "numpy"}
    assert by["two_pass"]["vs_read"] == pytest.approx(by["two_pass"]["gbps"] / 10.0)
    assert by["numpy"]["vs_recompute"] is None  # recompute was not measured


# -- --panels ------------------------------------------------------------------

def test_panel_benchmark_times_every_registered_panel():
    from softviz import panels

    doc = bench.panel_benchmark(moves=4)
    assert doc["status"] == "ok" and doc["moves"] == 4
    assert doc["targets_seconds"] == {"update": 0.030, "redraw": 0.150}
    assert [r["panel"] for r in doc["results"]] == list(panels.registry())
    for r in doc["results"]:
        assert r["error"] is None, r
        assert isinstance(r["control"], str) and r["moves"] == 4
        assert _finite_positive(r["update_seconds"]) and _finite_positive(r["redraw_seconds"])
        # the redraw column includes the same set() plus a full Agg draw
        assert r["redraw_seconds"] > r["update_seconds"]


def test_panel_targets_judged_even_without_native_core():
    fake = _fake_result(native=False)
    fake["panels"] = {"results": [
        {"panel": "Fast", "update_seconds": 0.001, "redraw_seconds": 0.05, "error": None},
        {"panel": "Slow", "update_seconds": 0.040, "redraw_seconds": 0.20, "error": None},
        {"panel": "Broken", "update_seconds": None, "redraw_seconds": None, "error": "ValueError: x"},
    ]}
    got = {t["name"]: t for t in bench.evaluate_targets(fake) if t["kind"] == "panel"}
    status = {k: v["status"] for k, v in got.items()}
    assert status == {
        "panel Fast: median set() compute + artist update <= 30 ms": "PASS",
        "panel Fast: median set() incl. full Agg redraw <= 150 ms": "PASS",
        "panel Slow: median set() compute + artist update <= 30 ms": "FAIL",
        "panel Slow: median set() incl. full Agg redraw <= 150 ms": "FAIL",
        "panel Broken: median set() compute + artist update <= 30 ms": "FAIL",
        "panel Broken: median set() incl. full Agg redraw <= 150 ms": "FAIL",
    }
    assert got["panel Broken: median set() incl. full Agg redraw <= 150 ms"]["note"] == "ValueError: x"


def test_nms_benchmark_times_every_method_and_reports_growth():
    from softviz import nms

    got = bench.nms_benchmark(sizes=(40, 80), repeats=1)
    assert got["sizes"] == [40, 80]
    assert [(r["method"], r["n"]) for r in got["results"]] == [
        (m, n) for m in nms.METHODS for n in (40, 80)]
    for r in got["results"]:
        assert r["seconds"] > 0 and 0 < r["kept"] <= r["n"]
    times = {(r["method"], r["n"]): r["seconds"] for r in got["results"]}
    for m in nms.METHODS:
        assert got["exponent"][m] == pytest.approx(math.log2(times[m, 80] / times[m, 40]))


def test_nms_targets_judged_on_the_exponent_even_without_native_core():
    fake = _fake_result(native=False)
    fake["nms"] = {"exponent": {"hard": 1.1, "gaussian": 2.9}}
    got = {t["name"]: t["status"] for t in bench.evaluate_targets(fake) if t["kind"] == "nms"}
    assert got == {"soft_nms hard: time grows at most ~N^2 (exponent <= 2.3)": "PASS",
                   "soft_nms gaussian: time grows at most ~N^2 (exponent <= 2.3)": "FAIL"}
