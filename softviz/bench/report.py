"""The text report of a ``run()`` result: what ``python -m softviz.bench`` prints.

Used by: ``python -m softviz.bench`` (without ``--json``).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .machine import bytes_str
from .targets import FLOOR_SLACK
from .timing import pow2_label

__all__ = ["table", "format_report"]


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """Align ``rows`` (lists of str; an empty list is a blank line) under ``headers``;
    the first ``left`` columns left-aligned, the others right-aligned."""
    widths = [len(h) for h in headers]
    for r in rows:
        for i, cell in enumerate(r):
            widths[i] = max(widths[i], len(cell))

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i < left else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([fmt(headers), fmt(["-" * w for w in widths])] + [fmt(r) if r else "" for r in rows])


def _f(value: Any, spec: str = ".2f", suffix: str = "") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return format(value, spec) + suffix


def _time_str(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _header(result: dict[str, Any]) -> list[str]:
    m, cfg, k = result["machine"], result["config"], result["machine"]["kernel"]
    title = "softviz benchmark (python -m softviz.bench)"
    out = [title, "=" * len(title)]
    if not m["native_available"]:
        bang = "!" * 78
        out += [bang, "!!  WARNING: the softviz C core is NOT available on this machine.",
                "!!  Every softviz number below is the NUMPY FALLBACK, not the C kernels;",
                "!!  the performance targets are marked FAIL. Build it: pip install -e .", bang]
    load = (f"{_f(m.get('load_average'))} at the start (other programs), "
            f"{_f(m.get('load_average_end'))} at the end (this run's own thread adds about 1)")
    info = [
        ("date", f"{result.get('created', '-')}" + (f"  ({result['note']})" if result.get("note") else "")),
        ("machine", f"{m['platform']} ({m['machine']})"),
        ("cpu", f"{m['cpu_model']}; {m['cpu_count']} logical cores, {m['usable_cpus']} usable"),
        ("caches", ", ".join(f"{lv} {bytes_str(v)}" for lv, v in m["caches"].items() if v) or "-"),
        ("load average", f"{load}; 1-minute averages"),
        ("versions", f"python {m['python']}, numpy {m['numpy']}, scipy {m['scipy']}, softviz {m['softviz']}"),
        ("kernel path", f"{k['isa']}: {m['simd_path']}"),
        ("kernels built", f"{', '.join(k['compiled']) or '-'}; CPU runs {', '.join(k['supported']) or '-'}; "
                          f"compiler {k['compiler'] or '-'}"),
        ("numpy column", cfg["numpy_baseline"]),
        ("scipy column", cfg["scipy_baseline"]),
        ("timing", f"{cfg['timing']}; {cfg['repeats']} repeats (N >= 2^22: {cfg['repeats_large_n']}), "
                   f"each sample >= {cfg['min_sample_seconds'] * 1e3:.0f} ms of calls; "
                   f"{'quick' if cfg['quick'] else 'full'} run, {_f(result.get('elapsed_seconds'), '.0f')} s"),
    ]
    w = max(len(key) for key, _ in info)
    return out + [f"{key:<{w}}  {v}" for key, v in info]


def _probe_table(result: dict[str, Any], dtype: str) -> list[str]:
    rows = [[pow2_label(p["n"]), _f(p["read_seconds"] and p["read_seconds"] / p["n"] * 1e9, ".3f"),
             _f(p["read_gbps"], ".1f"), _f(p["copy_seconds"] and p["copy_seconds"] / p["n"] * 1e9, ".3f"),
             _f(p["copy_gbps"], ".1f"), _f(p["floor_ns_per_element"], ".3f"), p["error"] or ""]
            for p in result["throughput"]["probes"] if p["dtype"] == dtype]
    return ["", f"[{dtype}] memory probes on the same row, in the same rounds: ns per element and GB/s "
                "(copy counts read + write bytes); floor = read + copy",
            table(["N", "read ns/el", "read GB/s", "copy ns/el", "copy GB/s", "floor ns/el", ""], rows)]


def _softmax_row(r: dict[str, Any], fresh: dict[str, Any] | None) -> list[str]:
    main = r if r["output"] == "out" else fresh or r
    return [pow2_label(r["n"]), r["method"],
            _f(r["ns_per_element"], ".3f") if r["output"] == "out" else "-",
            _f((fresh or {}).get("ns_per_element"), ".3f"), _f(r.get("kernel_ns_per_element"), ".3f"),
            _f(main["vs_numpy"], ".2f", "x"), _f((fresh or {}).get("vs_numpy"), ".2f", "x"),
            _f(main["vs_recompute"], ".2f", "x"), _f(main["vs_floor"], ".2f"),
            main["error"] or (fresh or {}).get("error") or ""]


def _softmax_table(result: dict[str, Any], dtype: str) -> list[str]:
    rows_in = [r for r in result["throughput"]["rows"] if r["dtype"] == dtype]
    fresh = {(r["n"], r["method"]): r for r in rows_in if r["output"] == "fresh"}
    rows: list[list[str]] = []
    last = None
    for r in rows_in:
        if r["output"] == "fresh" and r["method"] in result["config"]["algorithms"]:
            continue  # shown on its out= row
        if last is not None and r["n"] != last:
            rows.append([])
        last = r["n"]
        rows.append(_softmax_row(r, fresh.get((r["n"], r["method"]))))
    return ["", f"[{dtype}] softmax of one row, one thread: ns per element (median)",
            table(["N", "method", "out=", "fresh", "kernel", "x numpy", "fresh x np", "x recomp",
                   "floor/t", ""], rows, left=2)]


_LEGEND = [
    "",
    "Softmax tables: out= writes into a preallocated array (the kernel's time); fresh allocates",
    "the result (what softviz.softmax(x) costs); kernel = out= time minus the call overhead of a",
    "16-element row (shown where that overhead is at most half the time). Ratios are speed ratios",
    "(> 1 = faster): x numpy = t(numpy) / t, fresh x np the same with fresh outputs, x recomp =",
    "t(three_pass_recompute, same output) / t, floor/t = two-pass memory floor / t (1.00 = as fast",
    "as one read pass + one copy pass). numpy and scipy always allocate: their ratios use that time.",
]


def _isa_table(result: dict[str, Any]) -> list[str]:
    rows_in = result.get("isas") or []
    if not rows_in:
        return []
    rows = [[r["isa"], r["method"], _f(r["ns_per_element"], ".3f"), _f(r["vs_recompute"], ".2f", "x"),
             _f(r["floor_seconds"] and r["floor_seconds"] / r["n"] * 1e9, ".3f"),
             _f(r["vs_floor"], ".2f"), r["error"] or ""] for r in rows_in]
    r0 = rows_in[0]
    return ["", f"Kernels per instruction set ({r0['dtype']}, N = {pow2_label(r0['n'])}, out=, "
                "all paths interleaved; the probes run on each path too)",
            table(["isa", "method", "ns/el", "x recomp", "floor ns/el", "floor/t", ""], rows, left=2)]


def _scaling_table(result: dict[str, Any]) -> list[str]:
    scal = result.get("scaling") or []
    if not scal:
        return []
    rows = [[r["algorithm"], str(r["workers"]), _time_str(r["seconds"]), _f(r["gbps"]),
             _f(r["speedup"], ".2f", "x"), r["error"] or ""] for r in scal]
    return ["", f"workers= on one row ({scal[0]['dtype']}, N = {pow2_label(scal[0]['n'])}, out=; "
                "speedup = t(workers=1) / t(workers=w))",
            table(["algorithm", "workers", "time/call", "GB/s", "speedup", ""], rows)]


def _accuracy_tables(rows_in: list[dict[str, Any]], dtypes: Sequence[str], key: str) -> list[str]:
    scales = sorted({r["scale"] for r in rows_in})
    out = []
    for dtype in dtypes:
        mine = [r for r in rows_in if r["dtype"] == dtype]
        rows = []
        for group in dict.fromkeys((r[key], r["method"]) for r in mine):
            rs = {r["scale"]: r for r in mine if (r[key], r["method"]) == group}
            rels = [rs[s]["max_rel_error"] if s in rs else None for s in scales]
            ulps = [r["max_ulp_error"] for r in rs.values()]
            errs = [r["error"] for r in rs.values() if r["error"]]
            label = [pow2_label(group[0])] if key == "n" else []
            rows.append(label + [group[1]] + [_f(v, ".2e") for v in rels]
                        + [_f(None if None in rels else max(v for v in rels if v is not None), ".2e"),
                           _f(None if None in ulps else max(ulps), ".1f"), errs[0] if errs else ""])
        heads = (["N"] if key == "n" else []) + ["method"] + [f"s={s:g}" for s in scales]
        out += ["", f"[{dtype}] max relative error per logit scale s",
                table(heads + ["max rel", "max ulp", ""], rows, left=len(heads) - len(scales))]
    return out


def _accuracy_section(result: dict[str, Any]) -> list[str]:
    acc, long_rows, cfg = result.get("accuracy"), result.get("long_row_accuracy"), result["config"]
    if acc is None and long_rows is None:
        return []
    out = ["", "Accuracy: x = s * N(0, 1) rounded to the dtype; elements whose exact value is at least the",
           "dtype's smallest normal (smaller ones may be flushed to 0); max over elements and rows"]
    if acc:
        a = cfg["accuracy"]
        out += ["", f"Short rows: {a['rows']} rows x {a['length']} vs mpmath ({a['digits']} digits)"]
        out += _accuracy_tables(acc, cfg["dtypes"], "method")
    if long_rows:
        out += ["", "Long rows: one row per N vs a float64 reference (exact shift via TwoSum, float64 exps,",
                "math.fsum normaliser: a few float64 ulps, < 1e-15 relative)"]
        out += _accuracy_tables(long_rows, cfg["dtypes"], "n")
    return out


def _panels_section(result: dict[str, Any]) -> list[str]:
    p = result.get("panels")
    if p is None:
        return []
    if not p["results"]:
        return ["", f"panel benchmark: {p['status']}"]
    lim = {k: f"<= {v * 1e3:g} ms" for k, v in p["targets_seconds"].items()}
    rows = []
    for r in p["results"]:
        cells = [r["panel"], r["control"] or "-", str(r["moves"])]
        for key in ("update", "redraw"):
            val = r[f"{key}_seconds"]
            cells += [_time_str(val), "PASS" if val is not None and val <= p["targets_seconds"][key] else "FAIL"]
        rows.append(cells + [r["error"] or ""])
    return ["", f"Panels: median set() over {p['moves']} moves of each panel's main control "
                "(offscreen Agg canvas)", "set(): compute + artist update; + draw: also figure.canvas.draw()",
            "", table(["panel", "control", "moves", "set()", lim["update"], "set() + draw", lim["redraw"], ""],
                      rows, left=2)]


def _nms_section(result: dict[str, Any]) -> list[str]:
    nm = result.get("nms")
    if not nm:
        return []
    rows = [[r["method"], str(r["n"]), _time_str(r["seconds"]), str(r["kept"])] for r in nm["results"]]
    growth = ", ".join(f"{m} {e:.2f}" for m, e in nm["exponent"].items())
    return ["", "Soft-NMS (softviz.soft_nms.soft_nms, numpy): median time on random boxes; growth exponent "
                f"log(t(2N)/t(N))/log 2 per method: {growth}",
            table(["method", "boxes", "time", "kept"], rows)]


def _peers_section(result: dict[str, Any]) -> list[str]:
    rows_in = result.get("peers")
    if not rows_in:
        return []
    names = ["softviz", "numpy", "scipy", "onnxruntime", "torch"]
    installed = (result["config"].get("peers") or {}).get("installed") or {}
    missing = [k for k, v in installed.items() if v is None]
    out = ["", "Peers: ns per element, fresh outputs, one thread each, interleaved; softviz's default "
               "(algorithm='auto'; the choice in []); each result checked against a float64 reference first",
           "installed: " + ", ".join(f"{k} {v}" for k, v in installed.items() if v)
           + ("" if not missing else f"; not installed: {', '.join(missing)}")]
    for dtype in result["config"]["dtypes"]:
        rows = []
        for r in (r for r in rows_in if r["dtype"] == dtype):
            ns = r["ns_per_element"]
            cells = [f"{r['shape']} {r['rows']}x{pow2_label(r['n'])}", r["algorithm"]]
            cells += [_f(ns.get(k), ".3f") for k in names]
            cells += [_f(r.get("speedup_vs_best_peer"), ".2f", "x"),
                      ", ".join(f"{k} disagrees" for k in r.get("disagree") or [])]
            rows.append(cells)
        out += ["", f"[{dtype}]", table(["shape", "default"] + names + ["vs best peer", ""], rows, left=2)]
    sc = result.get("batch_scaling") or []
    if sc:
        rows = [[f"{r['shape']} {r['rows']}x{pow2_label(r['n'])}", str(r["workers"]), _f(r["ns_per_element"], ".3f"),
                 _f(r["speedup"], ".2f", "x")] for r in sc]
        out += ["", f"workers= on batches (float32, fresh outputs, {sc[0]['available']} usable CPUs)",
                table(["shape", "workers", "ns/el", "speed-up"], rows, left=1)]
    return out


def _measured(t: dict[str, Any]) -> str:
    v = t["measured"]
    if v is None:
        return "-"
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return str(v)
    if t["kind"] == "panel":
        return _time_str(v)
    # three decimals: a ratio shown as 1.15x must not FAIL a 1.15x threshold unexplained
    if t["kind"] == "floor":
        return f"{v:.3f}x floor"
    if t["kind"] == "accuracy":
        return f"{v:.2e}"
    if t["kind"] == "peers":
        return f"{v:.2f}x"
    if t["kind"] == "speed":
        return f"{v:.3f} ns/el" if "ns/element" in t["name"] else f"{v:.3f}x"
    return f"{v:.2f}"


def _targets_section(result: dict[str, Any]) -> list[str]:
    rows = [[t["status"], t["name"], _measured(t), t["note"]] for t in result["targets"]]
    n_app = sum(1 for t in result["targets"] if t["applicable"])
    n_fail = sum(1 for t in result["targets"] if t["applicable"] and not t["passed"])
    return ["", "Targets ('x' = speed ratio t(reference) / t(two_pass); floor: t(two_pass) / "
                f"(t(read) + t(copy)) <= {FLOOR_SLACK:g})", "",
            table(["", "target", "measured", "note"], rows, left=4),
            "", f"{n_app - n_fail}/{n_app} applicable targets pass"]


def format_report(result: dict[str, Any]) -> str:
    """The text report of a ``run()`` result (what the CLI prints without ``--json``)."""
    out = _header(result)
    for dtype in result["config"]["dtypes"]:
        out += _probe_table(result, dtype)
        out += _softmax_table(result, dtype)
    out += _LEGEND
    for section in (_isa_table, _scaling_table, _peers_section, _accuracy_section, _panels_section, _nms_section,
                    _targets_section):
        out += section(result)
    return "\n".join(out)
