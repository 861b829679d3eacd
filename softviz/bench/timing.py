"""Interleaved timing and the progress protocol, shared by every section of the benchmark.

Every number the benchmark prints comes from ``time_interleaved``: the contenders of one
comparison (say, the four algorithms, numpy, scipy and the memory probes on one row)
are timed round-robin within each repeat, so a burst of load from another program, a
CPU frequency change or a cache flush hits all of them alike instead of whichever one
happened to run at that moment.  The reported figure is the median over the repeats.

Used by: ``python -m softviz.bench`` and lesson 06's live sweep
(notebooks/06_two_pass.ipynb, through ``softviz.bench.live_sweep``).
"""
from __future__ import annotations

import dataclasses
import math
import statistics
import sys
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TextIO, TypeVar

__all__ = [
    "MIN_SAMPLE_SECONDS",
    "median",
    "Timing",
    "time_interleaved",
    "Progress",
    "pow2_label",
    "ratio",
    "gbps",
]

#: One sample loops a contender until it lasts at least this long, so that calls of a
#: few microseconds are not measured at the resolution of the clock.
MIN_SAMPLE_SECONDS = 0.020


def median(values: Iterable[float]) -> float:
    """Median of a non-empty sequence of numbers, as a float.

    >>> median([3, 1, 2]), median([4, 1, 3, 2])
    (2.0, 2.5)
    """
    values = list(values)
    if not values:
        raise ValueError("median() of an empty sequence")
    return float(statistics.median(values))


def pow2_label(n: int) -> str:
    """``"2^16"`` for 65536; other numbers as they are."""
    n = int(n)
    p = n.bit_length() - 1
    return f"2^{p}" if n > 0 and 2**p == n else str(n)


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either is missing or b is 0."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def gbps(nbytes: float, seconds: float | None) -> float | None:
    """Gigabytes (1e9 bytes) per second, or None without a positive time."""
    if not seconds or seconds <= 0:
        return None
    return nbytes / seconds / 1e9


@dataclasses.dataclass(frozen=True)
class Timing:
    """The timing of one contender: ``seconds`` per call (median of ``samples``), or ``error``."""

    seconds: float | None
    samples: list[float]
    loops: int
    error: str | None = None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


#: a contender's name: a string, or a tuple / number when a sweep keys them so
_Key = TypeVar("_Key", bound=Hashable)


def time_interleaved(contenders: Mapping[_Key, Callable[[], object]], repeats: int = 5, *,
                     min_time: float = MIN_SAMPLE_SECONDS,
                     clock: Callable[[], float] = time.perf_counter) -> dict[_Key, Timing]:
    """Time every contender ``repeats`` times, round-robin, and return ``{name: Timing}``.

    1. Warm-up: each contender is called once untimed (first-touch page faults, lazy
       library loads), then once timed to choose its loop count: the number of calls
       that makes one sample last >= ``min_time``.
    2. ``repeats`` rounds; each round times one sample of every contender, starting one
       contender further along each round, so no contender always runs right after the
       same neighbour.
    3. ``seconds`` is the median of a contender's per-call samples.

    A contender that raises is dropped from the later rounds and reported with its
    error (a benchmark reports a broken contender; it does not die on it).
    ``clock`` is injectable so tests can feed made-up times.
    """
    repeats = max(1, int(repeats))
    names = list(contenders)
    loops: dict[_Key, int] = {}
    errors: dict[_Key, str] = {}
    for name in names:
        fn = contenders[name]
        try:
            fn()
            t0 = clock()
            fn()
            first = clock() - t0
        except Exception as exc:  # reported in the Timing, see the docstring
            errors[name] = _describe(exc)
            continue
        loops[name] = 1 if first >= min_time else max(1, math.ceil(min_time / max(first, 1e-9)))
    samples: dict[_Key, list[float]] = {name: [] for name in names}
    for rnd in range(repeats):
        live = [n for n in names if n not in errors]
        if not live:
            break
        shift = rnd % len(live)
        for name in live[shift:] + live[:shift]:
            fn, k = contenders[name], loops[name]
            try:
                t0 = clock()
                for _ in range(k):
                    fn()
                samples[name].append((clock() - t0) / k)
            except Exception as exc:
                errors[name] = _describe(exc)
    out: dict[_Key, Timing] = {}
    for name in names:
        if name in errors:
            out[name] = Timing(None, samples[name], loops.get(name, 0), errors[name])
        else:
            out[name] = Timing(median(samples[name]), samples[name], loops[name])
    return out


class Progress:
    """Counts measurement steps and reports each one.

    With ``callback``, each step calls ``callback(done, total, label)`` (lesson 06 draws
    an ipywidgets bar with it); otherwise a status line goes to ``stream`` (stderr by
    default), rewritten in place on a terminal and one line per step elsewhere.
    ``enabled=False`` only counts.
    """

    def __init__(self, total: int, *, callback: Callable[[int, int, str], object] | None = None,
                 stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total = max(1, int(total))
        self.done = 0
        self.callback = callback
        self.stream = sys.stderr if stream is None else stream
        self.enabled = bool(enabled)
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._width = 0

    def step(self, label: str) -> None:
        """One more step is starting; ``label`` says which."""
        self.done += 1
        if not self.enabled:
            return
        if self.callback is not None:
            self.callback(self.done, self.total, label)
            return
        w = len(str(self.total))
        line = f"[{self.done:>{w}}/{self.total}] {label} ..."
        if self.tty:
            # Pad so that a shorter line fully covers the previous one.
            self.stream.write("\r" + line + " " * max(0, self._width - len(line)))
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Clear the status line on a terminal."""
        if self.enabled and self.callback is None and self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
