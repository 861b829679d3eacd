"""The command line: ``python -m softviz.bench [--quick] [--sizes P,...] [--isa NAME] [--json] ...``.

``python -m softviz.bench --attention [--quick] [--repeats R] [--json]`` runs lesson 08's
tiled-vs-naive attention benchmark instead (``softviz.bench.attention``).

Used by: ``python -m softviz.bench`` and ``python3 dev.py bench``.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from . import suite
from .report import format_report
from .schema import json_safe
from .targets import failed

__all__ = ["main"]

# ``run`` is looked up on ``suite`` at call time, so tests can replace it.
run = suite.run


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m softviz.bench",
        description="Benchmark softviz.softmax: time per element with out= and with a fresh output, "
                    "numpy and scipy, read/copy bandwidth and the memory floor at every N, every "
                    "instruction set, workers=, accuracy, and the project's targets.")
    p.add_argument("--quick", action="store_true",
                   help="sizes 2^10, 2^16, 2^20, 2^22, 2^24, fewer repeats, fewer accuracy rows")
    p.add_argument("--sizes", metavar="P,P,...",
                   help="row lengths as powers of two, e.g. 10,16,24 (default 10,12,...,24)")
    p.add_argument("--dtype", choices=("float32", "float64", "both"), default="both")
    p.add_argument("--repeats", type=int, metavar="N", help="samples per measurement (median)")
    p.add_argument("--isa", metavar="NAME", choices=("portable", "avx2", "avx512"),
                   help="force the kernels of this instruction set for the whole run")
    p.add_argument("--no-accuracy", action="store_true", help="skip the accuracy sections")
    p.add_argument("--no-peers", action="store_true",
                   help="skip the peers table (numpy, scipy, onnxruntime and torch when installed) and "
                        "workers= on batches")
    p.add_argument("--panels", action="store_true",
                   help="also time each panel's set(): median over 30 moves of its main control, "
                        "without and with a full Agg redraw (targets 30 ms / 150 ms)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document (schema: softviz.bench.schema) on stdout, nothing else")
    p.add_argument("--note", default="", help="free text stored in the result (e.g. where and why)")
    p.add_argument("--check", action="store_true", help="exit 1 if any applicable target fails")
    p.add_argument("--attention", action="store_true",
                   help="run lesson 08's attention benchmark instead (tiled through the C core vs naive "
                        "numpy, N = 512..16384, time and peak memory; --quick, --repeats, --json apply): "
                        "python -m softviz.bench.attention has all its options")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit code (0, or 1 with ``--check`` and a failed target)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be >= 1")
    try:
        sizes = (suite.parse_sizes(args.sizes) if args.sizes
                 else suite.QUICK_SIZES if args.quick else suite.DEFAULT_SIZES)
    except ValueError as exc:
        parser.error(str(exc))
    if args.attention:
        from . import attention
        forwarded = (["--quick"] if args.quick else []) + (["--json"] if args.json else [])
        if args.repeats is not None:
            forwarded += ["--repeats", str(args.repeats)]
        return attention.main(forwarded)
    dtypes = suite.DTYPES if args.dtype == "both" else (args.dtype,)
    try:
        result = run(sizes, dtypes, repeats=args.repeats, quick=args.quick,
                     with_accuracy=not args.no_accuracy, with_panels=args.panels,
                     with_peers=not args.no_peers, isa=args.isa,
                     note=args.note)
    except ValueError as exc:  # e.g. --isa avx512 on a CPU without it
        parser.error(str(exc))
    if args.json:
        sys.stdout.write(json.dumps(json_safe(result), indent=1, allow_nan=False) + "\n")
    else:
        sys.stdout.write(format_report(result) + "\n")
    sys.stdout.flush()
    return 1 if (args.check and failed(result["targets"])) else 0
