"""The softviz benchmark: ``python -m softviz.bench``, and lesson 06's live measurement.

It measures, in one run on the machine it runs on, for float32 and float64 and single
rows of N = 2^10 .. 2^24 (one thread):

* every ``softviz.softmax`` algorithm with ``out=`` (the kernel's time) and with a fresh
  output, numpy's stable softmax and ``scipy.special.softmax`` on the same arrays;
* the read and copy bandwidth at that N and the two-pass memory floor (one read pass +
  one copy pass), measured on the same array in the same rounds;
* ns per element everywhere and the ratios to numpy, to three-pass recompute and to the
  floor; contenders interleaved round-robin within each repeat, medians of repeats;
* the same long row on every instruction set the CPU supports, ``workers=`` scaling,
  accuracy (short rows vs mpmath, rows up to 2^24 vs a float64 reference), Soft-NMS, and
  with ``--panels`` the panels; then the project's performance and
  accuracy targets as PASS/FAIL.

The header names the CPU and the kernel path (``softviz.kernel_info()``); ``--json``
prints the document described in ``softviz.bench.schema``.  It is a benchmark, not a
test: it exits 0 unless ``--check`` is given and a target fails.  The reference run of
one documented machine ships as data: ``reference_result()``.

Modules: ``timing`` (interleaved timing, medians, progress), ``machine`` (CPU, caches,
kernel path), ``probes`` (bandwidth and the memory floor), ``speed`` (the contenders,
``throughput``), ``isas`` (every instruction set), ``numerical_error`` (``accuracy``,
long rows), ``extras`` (workers, panels, Soft-NMS), ``targets``, ``report``, ``schema``
(JSON layout, reference data), ``suite`` (the whole run), ``live`` (lesson 06's live
sweep and its verdict), ``peers`` (softviz against numpy, scipy, onnxruntime, torch),
``rows`` (the fixed cost per row, lesson 06's short rows), ``attention`` (lesson 08),
``plots``, ``cli``.

Used in: notebooks/06_two_pass.ipynb (``live_sweep``, ``verdict``, ``plot_sweep``,
``accuracy``, ``plot_accuracy``, ``SPREADS``, ``reference_result``, ``as_sweep``, and for
short rows ``row_costs``, ``fit_row_cost``, ``plot_row_costs``, ``peers``, ``peers_side_by_side``).
"""
from .cli import main
from .extras import NMS_SIZES, PANEL_MOVES, PANEL_TARGETS, nms_benchmark, panel_benchmark, workers_scaling
from .isas import isa_comparison
from .live import SPREADS, SWEEP_FULL_SIZES, SWEEP_QUICK_SIZES, as_sweep, live_sweep, sweep, verdict
from .machine import cache_sizes, machine_info
from .numerical_error import LONG_ROW_LENGTHS, SCALES, accuracy, long_row_accuracy, long_row_reference
from .peers import PEER_SHAPES, QUICK_PEER_SHAPES, peers
from .plots import plot_accuracy, plot_row_costs, plot_sweep
from .probes import bandwidth, floor_seconds
from .report import format_report
from .rows import ROW_LENGTHS, fit_row_cost, peers_side_by_side, row_costs
from .schema import SCHEMA, json_safe, reference_result, validate
from .speed import NUMPY_BASELINE, throughput
from .suite import DEFAULT_SIZES, QUICK_SIZES, parse_sizes, run
from .targets import evaluate_targets
from .timing import Progress, median, time_interleaved

__all__ = [
    "DEFAULT_SIZES", "QUICK_SIZES", "SCALES", "LONG_ROW_LENGTHS", "NUMPY_BASELINE", "SCHEMA",
    "median", "time_interleaved", "Progress", "parse_sizes",
    "machine_info", "cache_sizes",
    "bandwidth", "floor_seconds", "throughput", "isa_comparison", "workers_scaling",
    "accuracy", "long_row_accuracy", "long_row_reference",
    "PANEL_MOVES", "PANEL_TARGETS", "panel_benchmark", "NMS_SIZES", "nms_benchmark",
    "evaluate_targets", "run", "format_report", "json_safe", "validate", "reference_result", "main",
    "SWEEP_QUICK_SIZES", "SWEEP_FULL_SIZES", "SPREADS", "sweep", "live_sweep", "as_sweep", "verdict",
    "plot_sweep", "plot_accuracy",
    "PEER_SHAPES", "QUICK_PEER_SHAPES", "peers", "ROW_LENGTHS", "row_costs", "fit_row_cost", "plot_row_costs",
    "peers_side_by_side",
]
