"""The JSON document of ``python -m softviz.bench --json`` (schema "softviz.bench/2").

Stable layout (new keys may be added; these keep their meaning).  Times are seconds per
call of one row (median of interleaved repeats), ``*_ns_per_element`` = seconds / N * 1e9,
GB are 1e9 bytes, ratios are speed ratios (> 1: faster than the reference), and a value
that could not be measured is ``null`` with the reason in ``error``::

    schema        "softviz.bench/2"
    note          free text given with --note ("" otherwise)
    created       ISO 8601 date and time, UTC
    elapsed_seconds
    machine       platform, machine, cpu_model, cpu_count, usable_cpus,
                  caches {L1, L2, L3: bytes or null}, load_average (1 min, at the start),
                  load_average_end, python, numpy, scipy, softviz, native_available,
                  kernel (softviz.kernel_info(): isa, compiled, supported, requested,
                  compiler, load_error), simd_path (the same in words)
    config        sizes, dtypes, quick, repeats, repeats_large_n, min_sample_seconds, seed,
                  algorithms, baselines, numpy_baseline, scipy_baseline, logits, timing,
                  call_overhead_n, scaling_n, scaling_workers, isa_n, isa_algorithms,
                  accuracy {rows, length, scales, digits, long_row_lengths, compared} or null
    throughput
      rows        [{dtype, n, method, output ("out": preallocated out=; "fresh": new array),
                    seconds, ns_per_element, kernel_ns_per_element (out= rows: seconds minus
                    the call overhead, per element; null where the overhead is more
                    than half the time), samples, loops, gbps (input bytes / s),
                    moved_gbps (memory_traffic bytes / s, algorithms only),
                    vs_numpy = t(numpy) / t, vs_recompute = t(three_pass_recompute, same
                    output) / t, vs_floor = floor_seconds / t, error}]
      probes      [{dtype, n, read_seconds, read_gbps, read_samples, copy_seconds,
                    copy_gbps (read + write bytes), copy_samples,
                    floor_seconds = read_seconds + copy_seconds (the two-pass memory
                    floor), floor_ns_per_element, error}]
      call_overhead [{dtype, method, n (16), seconds, error}]
    isas          rows as in throughput.rows (output "out", float32, N = config.isa_n) plus
                  isa and floor_seconds; every ISA the CPU supports, interleaved
    scaling       [{algorithm, dtype, n, workers, available, seconds, samples, gbps,
                    speedup = t(workers=1) / t, error}]
    accuracy      null or [{method, dtype, scale, rows, length, n_compared, n_excluded,
                    max_rel_error, max_ulp_error, error}]        (vs mpmath)
    long_row_accuracy  null or [{method, dtype, n, scale, n_compared, n_excluded,
                    max_rel_error, max_ulp_error, error}]        (vs the float64 reference)
    panels        null or {status, moves, targets_seconds, results: [{panel, control,
                    moves, update_seconds, redraw_seconds, error}]}
    nms           {sizes, results: [{method, n, seconds, kept}], exponent: {method: float}}
    targets       [{kind, name, measured, threshold, applicable, passed,
                    status ("PASS" | "FAIL" | "N/A" | "INFO"), note}]

Used by: ``python -m softviz.bench --json``, ``softviz.bench.reference_result`` and
lesson 06 (notebooks/06_two_pass.ipynb), which shows the shipped reference run.
"""
from __future__ import annotations

import json
import math
from importlib import resources
from typing import Any

import numpy as np

__all__ = ["SCHEMA", "REFERENCE_FILE", "json_safe", "validate", "reference_result"]

SCHEMA = "softviz.bench/2"
#: The reference run shipped with the package (``python -m softviz.bench --json``).
REFERENCE_FILE = "data/bench_reference.json"

_TOP: dict[str, type | tuple[type, ...]] = {"schema": str, "note": str, "created": str, "elapsed_seconds": (int, float),
        "machine": dict, "config": dict, "throughput": dict, "isas": list, "scaling": list,
        "nms": dict, "targets": list}
_MACHINE = ("cpu_model", "caches", "load_average", "kernel", "simd_path", "native_available")
_ROW = ("dtype", "n", "method", "output", "seconds", "ns_per_element", "kernel_ns_per_element",
        "gbps", "vs_numpy", "vs_recompute", "vs_floor", "error")
_PROBE = ("dtype", "n", "read_seconds", "read_gbps", "copy_seconds", "copy_gbps",
          "floor_seconds", "floor_ns_per_element", "error")
_TARGET = ("kind", "name", "measured", "threshold", "applicable", "passed", "status", "note")


def json_safe(obj: Any) -> Any:
    """``obj`` with numpy scalars made plain and NaN/inf made None (JSON has neither)."""
    if isinstance(obj, np.generic):
        return json_safe(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def _missing(items: list, keys: tuple[str, ...], where: str) -> list[str]:
    problems = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(f"{where}[{i}] is not an object")
            continue
        lost = [k for k in keys if k not in item]
        if lost:
            problems.append(f"{where}[{i}] lacks {', '.join(lost)}")
    return problems


def validate(doc: Any) -> list[str]:
    """The ways ``doc`` departs from the schema above (an empty list: it conforms)."""
    if not isinstance(doc, dict):
        return ["the document is not a JSON object"]
    problems = [f"{k} missing or not {t}" for k, t in _TOP.items() if not isinstance(doc.get(k), t)]
    if problems:
        return problems
    if doc["schema"] != SCHEMA:
        problems.append(f"schema is {doc['schema']!r}, expected {SCHEMA!r}")
    problems += [f"machine lacks {k}" for k in _MACHINE if k not in doc["machine"]]
    tp = doc["throughput"]
    problems += _missing(tp.get("rows", []), _ROW, "throughput.rows")
    problems += _missing(tp.get("probes", []), _PROBE, "throughput.probes")
    problems += _missing(doc["targets"], _TARGET, "targets")
    problems += [f"target {t.get('name')!r} has status {t.get('status')!r}" for t in doc["targets"]
                 if isinstance(t, dict) and t.get("status") not in ("PASS", "FAIL", "N/A", "INFO")]
    return problems


def reference_result() -> dict[str, Any]:
    """The reference run shipped with softviz (one documented machine; see its ``machine``,
    ``created`` and ``note``), so a lesson can show the paper's effect on any laptop.

    Raises FileNotFoundError if the data file is missing, ValueError if it does not match
    the schema.  Used in: notebooks/06_two_pass.ipynb.
    """
    text = resources.files("softviz").joinpath(REFERENCE_FILE).read_text(encoding="utf-8")
    doc = json.loads(text)
    problems = validate(doc)
    if problems:
        raise ValueError(f"{REFERENCE_FILE} does not match {SCHEMA}: " + "; ".join(problems[:5]))
    return doc
