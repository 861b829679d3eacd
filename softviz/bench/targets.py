"""The project's performance and accuracy targets, judged PASS/FAIL on a ``run()`` result.

Every target is a plain function of the measured numbers (tests feed made-up results).
The formulas, with t = median seconds per call of one row, interleaved with the others:

* ``x numpy``  = t(numpy stable softmax, fresh output) / t(two_pass)        >= threshold
* ``x recomp`` = t(three_pass_recompute, same output kind) / t(two_pass)     >= threshold
* ``floor``    : t(two_pass, out=) <= 1.15 * (t(read pass) + t(copy pass)), i.e. two-pass
  takes at most 15 % longer than moving its bytes (floor / t >= 1 / 1.15 = 0.870); the
  probes run on the same array, at the same N, in the same rounds;
* ``ns/element`` = t / N; the in-cache "kernel" figure subtracts the time of the same
  call on a 16-element row (the Python call itself) before dividing;
* accuracy: max of |got - exact| / exact over the short rows (20 x 256, vs mpmath) and
  the long rows (2^10 .. 2^24, vs the float64 reference of ``accuracy.long_row_reference``),
  logit scales 1..1000, elements whose exact value is >= the dtype's smallest normal.
  Two-pass's targets need a row of 2^24 in the run (N/A otherwise).

Statuses: PASS, FAIL, N/A (not measured in this run, or not for this machine) and INFO
(reported, not judged).  Without the C core every applicable target but the panel and
Soft-NMS ones FAILs: the numbers would be numpy's.

Used by: ``python -m softviz.bench`` (``--check`` exits 1 on any FAIL).
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .extras import NMS_MAX_EXPONENT, PANEL_TARGETS
from .machine import is_x86_64
from .timing import pow2_label, ratio

__all__ = ["LARGE_N", "IN_CACHE_N", "PAPER_NS_PER_ELEMENT", "FLOOR_SLACK", "PEER_TARGET_SHAPES", "evaluate_targets",
           "failed"]

LARGE_N = 2**24
IN_CACHE_N = 2**16
#: The paper's own kernels (XNNPACK AVX-512), float32 N = 2^16, measured on an AMD Zen 4
#: with the same harness when the targets were set.
PAPER_NS_PER_ELEMENT = 0.323
#: Two-pass may take at most this factor times its memory floor.
FLOOR_SLACK = 1.15
_ACCURACY = {("float32", "two_pass"): 1e-6, ("float64", "two_pass"): 1e-13}
_ACCURACY_OTHERS = {"float32": 1e-5, "float64": 1e-13}


class _Targets(list):
    def __init__(self, native: bool):
        super().__init__()
        self.native = native

    def add(self, kind: str, name: str, measured: Any, threshold: Any, ok: bool, *,
            applicable: bool = True, note: str = "", needs_native: bool = True,
            info: bool = False) -> None:
        if applicable and needs_native and not self.native and not info:
            ok, note = False, "native C core not available (numpy fallback)"
        passed = bool(applicable and ok and not info)
        status = "INFO" if info else ("N/A" if not applicable else ("PASS" if passed else "FAIL"))
        self.append({"kind": kind, "name": name, "measured": measured, "threshold": threshold,
                     "applicable": bool(applicable and not info), "passed": passed,
                     "status": status, "note": note})


def _row(items: Iterable[dict], **want: Any) -> dict | None:
    return next((r for r in items if all(r.get(k) == v for k, v in want.items())), None)


def _speed(t: _Targets, rows: list[dict], dtype: str, n: int, output: str, key: str,
           threshold: float, what: str, prefix: str = "") -> None:
    label = "out=" if output == "out" else "fresh output"
    name = f"{prefix}{dtype} N={pow2_label(n)} {label}: two_pass >= {threshold:g}x {what}"
    row = _row(rows, method="two_pass", dtype=dtype, n=n, output=output)
    if row is None:
        t.add("speed", name, None, threshold, False, applicable=False,
              note=f"{prefix}{dtype} N={pow2_label(n)} not measured in this run")
        return
    val = row.get(key)
    t.add("speed", name, val, threshold, val is not None and val >= threshold,
          note="" if val is not None else (row.get("error") or "no timing"))


def _floor(t: _Targets, rows: list[dict], probes: list[dict]) -> None:
    name = (f"float32 N=2^24 out=: two_pass time <= {FLOOR_SLACK:g} x memory floor "
            "(one read pass + one copy pass)")
    row = _row(rows, method="two_pass", dtype="float32", n=LARGE_N, output="out")
    probe = _row(probes, dtype="float32", n=LARGE_N)
    if row is None or probe is None:
        t.add("floor", name, None, FLOOR_SLACK, False, applicable=False,
              note="float32 N=2^24 not measured in this run")
        return
    val = ratio(row.get("seconds"), probe.get("floor_seconds"))
    t.add("floor", name, val, FLOOR_SLACK, val is not None and val <= FLOOR_SLACK,
          note=(f"floor {probe['floor_ns_per_element']:.3f} ns/element" if val is not None
                else (probe.get("error") or row.get("error") or "no timing")))


def _in_cache(t: _Targets, rows: list[dict]) -> None:
    row = _row(rows, method="two_pass", dtype="float32", n=IN_CACHE_N, output="out")
    kernel = row.get("kernel_ns_per_element") if row else None
    api = row.get("ns_per_element") if row else None
    t.add("speed", "float32 N=2^16 out=: two_pass kernel ns/element (API time minus call overhead)",
          kernel, PAPER_NS_PER_ELEMENT, False, info=True,
          note=f"the paper's kernels: {PAPER_NS_PER_ELEMENT} ns/element on an AMD Zen 4 "
               "(another machine: a reference point, not a comparison)")
    t.add("speed", "float32 N=2^16 out=: two_pass through the Python API <= 0.4 ns/element",
          api, 0.40, api is not None and api <= 0.40, applicable=row is not None,
          note="" if row is not None else "float32 N=2^16 not measured in this run")


def _avx2(t: _Targets, result: dict) -> None:
    name = "AVX2 path (forced), float32 N=2^24 out=: two_pass >= 1.15x three_pass_recompute"
    supported = (result.get("machine", {}).get("kernel") or {}).get("supported") or []
    row = _row(result.get("isas") or [], isa="avx2", method="two_pass", dtype="float32", n=LARGE_N)
    if row is None:
        why = ("this CPU or build has no AVX2 kernels" if t.native and "avx2" not in supported
               else "float32 N=2^24 not measured in this run")
        t.add("speed", name, None, 1.15, False, applicable=False, note=why)
        return
    val = row.get("vs_recompute")
    t.add("speed", name, val, 1.15, val is not None and val >= 1.15, note=row.get("error") or "")


def _worst(acc: list[dict], dtype: str, method: str) -> tuple[float | None, str]:
    mine = [r for r in acc if r["dtype"] == dtype and r["method"] == method]
    if not mine:
        return None, "not measured"
    bad = [r.get("error") or "failed" for r in mine if r.get("max_rel_error") is None]
    if bad:
        return math.inf, bad[0]
    return max(r["max_rel_error"] for r in mine), ""


def _accuracy(t: _Targets, result: dict) -> None:
    short, long_rows = result.get("accuracy"), result.get("long_row_accuracy")
    algorithms = result.get("config", {}).get("algorithms") or []
    longest = max((r["n"] for r in long_rows or []), default=0)
    for dtype in ("float32", "float64"):
        for alg in algorithms:
            limit = _ACCURACY.get((dtype, alg), _ACCURACY_OTHERS[dtype])
            name = f"accuracy {dtype} {alg}: max rel err <= {limit:g} (scales 1..1000, rows to 2^24)"
            if short is None and long_rows is None:
                t.add("accuracy", name, None, limit, False, applicable=False, note="accuracy not run")
                continue
            val, why = _worst((short or []) + (long_rows or []), dtype, alg)
            if why == "not measured":
                t.add("accuracy", name, None, limit, False, applicable=False,
                      note=f"{dtype} not measured in this run")
                continue
            shown = val if val is not None and math.isfinite(val) else None
            applicable, note = True, why
            if alg == "two_pass" and longest < LARGE_N:
                applicable = False
                note = f"longest row measured {pow2_label(longest)}; the target needs 2^24"
            t.add("accuracy", name, shown, limit, shown is not None and shown <= limit,
                  applicable=applicable, note=note)


def _extras(t: _Targets, result: dict) -> None:
    # Panels and Soft-NMS do not run on the C core: judged whatever it is.
    for row in (result.get("panels") or {}).get("results", []):
        for key, what in (("update", "compute + artist update"), ("redraw", "incl. full Agg redraw")):
            limit, val = PANEL_TARGETS[key], row.get(f"{key}_seconds")
            t.add("panel", f"panel {row['panel']}: median set() {what} <= {limit * 1e3:g} ms",
                  val, limit, val is not None and val <= limit, note=row.get("error") or "",
                  needs_native=False)
    for method, value in ((result.get("nms") or {}).get("exponent") or {}).items():
        t.add("nms", f"soft_nms {method}: time grows at most ~N^2 (exponent <= {NMS_MAX_EXPONENT:g})",
              value, NMS_MAX_EXPONENT, value <= NMS_MAX_EXPONENT, needs_native=False)


#: The peers targets (issue "every shape"): float32 shapes where the default must be at
#: least as fast as the faster of ONNX Runtime and torch, and the absolute figures on AVX-512.
PEER_TARGET_SHAPES = ((8192, 128), (512, 4096), (64, 50257), (1, 2**16), (1, 2**24))
SHORT_ROWS_NS = 0.45
IN_CACHE_DEFAULT_NS = 0.25
BATCH_SPEEDUP = 1.7
F64_LONG_ROW_VS_PEER = 2.0


def _peers(t: _Targets, result: dict) -> None:
    rows = result.get("peers")
    if rows is None:
        t.add("peers", "peers: softviz default vs onnxruntime and torch", None, 1.0, False, applicable=False,
              note="peers not run (--no-peers)")
        return
    avx512 = ((result.get("machine") or {}).get("kernel") or {}).get("isa") == "avx512"
    for dtype in ("float32", "float64"):
        for nrows, n in PEER_TARGET_SHAPES:
            row = _row(rows, dtype=dtype, rows=nrows, n=n)
            shape = f"{nrows}x{n}" if nrows > 1 else f"1 row of {pow2_label(n)}"
            want = F64_LONG_ROW_VS_PEER if (dtype == "float64" and n == 2**24) else 1.0
            name = f"peers {dtype} {shape}, fresh output: default >= {want:g}x the faster of onnxruntime and torch"
            if row is None:
                t.add("peers", name, None, want, False, applicable=False, note="shape not measured in this run")
                continue
            val = row.get("speedup_vs_best_peer")
            installed = [k for k in ("onnxruntime", "torch") if (row["ns_per_element"] or {}).get(k)]
            t.add("peers", name, val, want, val is not None and val >= want, applicable=bool(installed),
                  note=(f"{row['algorithm']}; peers timed: {', '.join(installed)}" if installed
                        else "neither onnxruntime nor torch is installed (pip install 'softviz[bench]')"))
    r128 = _row(rows, dtype="float32", rows=8192, n=128)
    v = (r128 or {}).get("ns_per_element", {}).get("softviz")
    t.add("speed", f"float32 8192x128 fresh output: default <= {SHORT_ROWS_NS:g} ns/element on AVX-512", v,
          SHORT_ROWS_NS, v is not None and v <= SHORT_ROWS_NS, applicable=avx512 and r128 is not None,
          note="" if avx512 else "kernels in use are not AVX-512")
    r16 = _row(rows, dtype="float32", rows=1, n=2**16)
    v = (r16 or {}).get("ns_per_element", {}).get("softviz")
    t.add("speed", f"float32 1 row of 2^16 in cache: default <= {IN_CACHE_DEFAULT_NS:g} ns/element on AVX-512",
          v, IN_CACHE_DEFAULT_NS, v is not None and v <= IN_CACHE_DEFAULT_NS,
          applicable=avx512 and r16 is not None, note=(r16 or {}).get("algorithm", ""))
    scaling = result.get("batch_scaling") or []
    for nrows, n in ((8192, 128), (64, 50257)):
        row = _row(scaling, rows=nrows, n=n, workers=2)
        name = f"float32 {nrows}x{n}: workers=2 >= {BATCH_SPEEDUP:g}x one thread"
        enough = row is not None and row.get("available", 1) >= 2
        val = row.get("speedup") if row else None
        t.add("speed", name, val, BATCH_SPEEDUP, val is not None and val >= BATCH_SPEEDUP, applicable=enough,
              note="" if enough else "fewer than 2 usable CPUs, or not measured")


def _build(t: _Targets, machine: dict) -> None:
    kernel = machine.get("kernel") or {}
    supported, isa = kernel.get("supported") or [], kernel.get("isa")
    x86 = is_x86_64(machine.get("machine"))
    forced = bool(kernel.get("requested"))
    best = supported[-1] if supported else None
    note = ("not an x86-64 machine" if not x86 else
            f"forced to {kernel.get('requested')} (--isa or SOFTVIZ_ISA)" if forced else "")
    t.add("build", "x86-64: the kernels in use are the best this CPU supports", isa, best,
          isa == best and best is not None, applicable=x86 and not forced, note=note)


def evaluate_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """PASS/FAIL/N/A/INFO of every target, from a ``run()`` result (see the module docstring).

    Each target: ``kind``, ``name``, ``measured``, ``threshold``, ``applicable``,
    ``passed`` (False unless applicable and met), ``status`` and ``note``.
    """
    machine = result.get("machine", {})
    t = _Targets(bool(machine.get("native_available")))
    rows = (result.get("throughput") or {}).get("rows") or []
    probes = (result.get("throughput") or {}).get("probes") or []
    _speed(t, rows, "float32", LARGE_N, "out", "vs_numpy", 2.8, "numpy stable softmax")
    _speed(t, rows, "float32", LARGE_N, "out", "vs_recompute", 1.25, "three_pass_recompute")
    _floor(t, rows, probes)
    _speed(t, rows, "float32", LARGE_N, "fresh", "vs_numpy", 1.8, "numpy stable softmax")
    _in_cache(t, rows)
    _speed(t, rows, "float64", LARGE_N, "out", "vs_numpy", 2.3, "numpy stable softmax")
    _speed(t, rows, "float64", LARGE_N, "out", "vs_recompute", 1.2, "three_pass_recompute")
    _avx2(t, result)
    _accuracy(t, result)
    _peers(t, result)
    _extras(t, result)
    _build(t, machine)
    return list(t)


def failed(targets: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The applicable targets that did not pass (what ``--check`` exits 1 on)."""
    return [x for x in targets if x["applicable"] and not x["passed"]]
