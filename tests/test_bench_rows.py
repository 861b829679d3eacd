"""Tests of softviz.bench.rows (lesson 06's short rows): structure and arithmetic, never speed."""
from __future__ import annotations

import pytest
from matplotlib.figure import Figure

import softviz
from softviz import bench
from softviz.bench import rows as R


def test_row_costs_splits_one_batch_into_rows():
    out = R.row_costs((16, 256), total=4096, repeats=1, algorithms=("three_pass_reload", "online"))
    assert [(r["n"], r["rows"], r["algorithm"]) for r in out] == [
        (16, 256, "three_pass_reload"), (16, 256, "online"), (256, 16, "three_pass_reload"), (256, 16, "online")]
    for r in out:
        assert r["ns_per_element"] > 0 and r["dtype"] == "float32"
        assert r["ns_per_row"] == pytest.approx(r["ns_per_element"] * r["n"])
    assert {r["dtype"] for r in R.row_costs((8, 9), total=64, repeats=1, dtype="float64")} == {"float64"}


@pytest.mark.parametrize("kwargs, word", [
    ({"total": 0}, "total"), ({"total": 1.5}, "total"), ({"repeats": 0}, "repeats"), ({"dtype": "int8"}, "dtype"),
    ({"lengths": ()}, "lengths"), ({"lengths": (0,)}, "lengths"), ({"lengths": (10**9,)}, "lengths"),
    ({"lengths": (True,)}, "lengths"), ({"algorithms": ("fastest",)}, "algorithms"), ({"algorithms": ()}, "algorithms"),
])
def test_row_costs_rejects_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        R.row_costs(**{"total": 64, "repeats": 1, "lengths": (8,), **kwargs})


def _synthetic(fixed, per_element, algorithm="two_pass", lengths=(8, 64, 512, 4096)):
    return [{"n": n, "rows": 4096 // n, "algorithm": algorithm, "dtype": "float32",
             "ns_per_row": fixed + per_element * n, "ns_per_element": fixed / n + per_element} for n in lengths]


def test_fit_row_cost_recovers_a_known_model():
    rows = _synthetic(40.0, 0.3) + _synthetic(5.0, 1.0, algorithm="online")
    fit = R.fit_row_cost(rows, "two_pass")
    assert fit["fixed_ns"] == pytest.approx(40.0) and fit["ns_per_element"] == pytest.approx(0.3)
    assert R.fit_row_cost(rows, "online")["fixed_ns"] == pytest.approx(5.0)
    with pytest.raises(ValueError, match="two row lengths"):
        R.fit_row_cost(rows, "three_pass_reload")
    with pytest.raises(ValueError, match="two row lengths"):
        R.fit_row_cost(_synthetic(1.0, 1.0, lengths=(64,)), "two_pass")


def test_plot_row_costs_draws_a_line_and_its_fit_per_algorithm():
    rows = _synthetic(40.0, 0.3) + _synthetic(5.0, 1.0, algorithm="online")
    fig = bench.plot_row_costs(rows, fig=Figure())
    ax = fig.axes[0]
    assert len(ax.lines) == 4 and ax.get_xscale() == "log"
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"two pass", "online"}
    fitted = ax.lines[1].get_ydata()
    assert fitted[0] == pytest.approx(40.0 / 8 + 0.3)          # the dashed fit at n = 8
    with pytest.raises(ValueError, match="rows"):
        bench.plot_row_costs([])


def _peer_row(rows, n, ns, dtype="float32"):
    best = min(v for k, v in ns.items() if k in ("onnxruntime", "torch")) if {"onnxruntime", "torch"} & set(ns) else None
    return {"dtype": dtype, "shape": "attention", "rows": rows, "n": n, "algorithm": "three_pass_reload",
            "ns_per_element": ns, "best_peer": best, "speedup_vs_best_peer": best / ns["softviz"] if best else None}


def test_peers_side_by_side_pairs_each_shape_with_the_reference():
    live = [_peer_row(8192, 128, {"softviz": 0.5, "numpy": 2.0}),
            _peer_row(1, 65536, {"softviz": 0.3, "numpy": 1.0}, dtype="float64")]
    ref = [_peer_row(8192, 128, {"softviz": 0.4, "numpy": 1.5, "onnxruntime": 0.6, "torch": 0.8})]
    text = R.peers_side_by_side(live, ref)
    head, line = text.splitlines()[0], text.splitlines()[-1]
    assert "ref onnxruntime" in head and "x best" in head
    cells = line.split()
    assert cells[:4] == ["attention", "8192", "x", "128"] and "0.500" in cells and "0.600" in cells
    assert cells[-1] == "1.50"                       # the reference: 0.6 / 0.4
    assert "-" in cells                              # no peer installed here
    assert "65536" not in text                       # float64 rows stay out of a float32 table
    assert "0.500" in R.peers_side_by_side(live, None)
    with pytest.raises(ValueError, match="float64"):
        R.peers_side_by_side(live[:1], ref, dtype="float64")


@pytest.mark.skipif(not softviz.native_available(), reason="the C core is not compiled")
def test_peers_rows_feed_the_table():
    live = bench.peers((("attention", 64, 128),), dtypes=("float32",), repeats=1)
    assert live[0]["algorithm"] == softviz.auto_algorithm(128, "float32", rows=64)
    text = R.peers_side_by_side(live, bench.reference_result().get("peers"))
    assert "64 x 128" in text
