"""Self-checks for lesson 06: the online merge of two (max, sum) states, the two-pass
merge of two (mantissa, exponent) states, and each algorithm's memory floor.

A chunk of logits is summarised by its state (m, s): m = max of the chunk and
s = sum of exp(x - m) over it; an empty chunk (or one of -inf logits only) has
the state (-inf, 0).  Milakov & Gimelshein, "Online normalizer calculation for
softmax" (2018, arXiv:1805.02867) merge two states as

    m = max(m_a, m_b),   s = s_a exp(m_a - m) + s_b exp(m_b - m),

and because this merge is associative a row can be cut anywhere, its pieces
summarised in any order or on any thread, and the states merged -- the idea
behind softviz's ``workers=`` and FlashAttention's tiles.

The check cuts rows at random places (empty chunks and all -inf chunks
included), summarises every chunk itself, merges the states with the student's
function in a left fold and in a random tree, and compares with the state of
the whole row.

Used in: notebooks/06_two_pass.ipynb
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .checking import (
    FAIL,
    OK,
    TODO,
    Budget,
    CheckResult,
    TooSlow,
    fn_name,
    guarded,
    not_callable,
    too_slow_result,
)

__all__ = ["check_online_merge", "check_extexp_merge", "check_memory_floor"]

_CHECK = "check_online_merge"
_EMPTY = (-math.inf, 0.0)
# The merged sum is a handful of float64 operations away from the exact one.
_RTOL = 1e-12


def _state(chunk):
    """(max, sum of exp(x - max)) of one chunk in float64; (-inf, 0) if it has no finite max."""
    chunk = np.asarray(chunk, dtype=np.float64)
    if chunk.size == 0 or not np.isfinite(chunk.max()):
        return _EMPTY
    m = float(chunk.max())
    return m, math.fsum(np.exp(chunk - m).tolist())


class _NotDone(Exception):
    pass


def _call(fn, a, b):
    got = fn(a, b)  # fn is a Budget-timed wrapper of the student's function
    if got is None:
        raise _NotDone
    try:
        m, s = got
        return float(m), float(s)
    except (TypeError, ValueError):
        raise TypeError(f"expected a pair (m, s), got {got!r:.80}") from None


def _fold_left(fn, states):
    acc = states[0]
    for st in states[1:]:
        acc = _call(fn, acc, st)
    return acc


def _fold_tree(fn, states, rng):
    states = list(states)
    while len(states) > 1:
        i = int(rng.integers(len(states) - 1))
        states[i:i + 2] = [_call(fn, states[i], states[i + 1])]
    return states[0]


def _close(got, want):
    gm, gs = got
    wm, ws = want
    if wm == -math.inf:
        return gm == -math.inf and gs == 0.0
    return gm == wm and math.isfinite(gs) and abs(gs - ws) <= _RTOL * ws


def _split(x, cuts):
    edges = [0, *sorted(cuts), len(x)]
    return [x[a:b] for a, b in zip(edges[:-1], edges[1:])]


def _cases(rng):
    """(name, row, chunks) triples: hand-made first, then random cuts."""
    x4 = np.array([1.0, 2.0, 3.0, 4.0])
    yield "[1, 2] + [3, 4]", x4, _split(x4, [2])
    yield "[3, 4] + [1, 2] (the larger max comes first)", x4, [x4[2:], x4[:2]]
    yield "an empty chunk first: (-inf, 0) merged with [1, 2, 3]", x4[:3], [x4[:0], x4[:3]]
    yield "two empty chunks: (-inf, 0) merged with (-inf, 0)", x4[:0], [x4[:0], x4[:0]]
    masked = np.array([-np.inf, -np.inf, 0.5, -np.inf, 2.0])
    yield "a chunk of -inf logits only (a masked block)", masked, _split(masked, [2])
    big = np.array([1000.0, 999.0, 1001.5, 998.0])
    yield "logits around 1000 (exp(1000) overflows)", big, _split(big, [1, 3])
    far = np.array([-800.0, -790.0, 5.0, 3.0])
    yield "chunks whose maxima are 800 apart", far, _split(far, [2])
    for k in range(40):
        n = int(rng.integers(1, 40))
        x = 10.0 * rng.standard_normal(n)
        if k % 4 == 0:
            x[rng.random(n) < 0.3] = -np.inf
        cuts = rng.integers(0, n + 1, size=int(rng.integers(1, 6))).tolist()  # repeats: empty chunks
        yield f"random row #{k + 1} of {n} logits cut into {len(cuts) + 1} chunks", x, _split(x, cuts)


def _hint(a, b, got):
    """A nudge for the likely mistake, found by trying one merge of plain states."""
    (ma, sa), (mb, sb) = a, b
    gm, gs = got
    if math.isnan(gs) or math.isnan(gm):
        if ma == -math.inf or mb == -math.inf:
            return ("NaN from an empty state (-inf, 0): exp(m_a - m) with m_a = m = -inf is "
                    "exp(-inf - (-inf)) = exp(NaN). When one state is (-inf, 0), return the other one.")
        return "NaN in the result: look for inf - inf or 0 * inf in your steps."
    m = max(ma, mb)
    if gm != m:
        return "the merged max must be max(m_a, m_b)."
    if math.isinf(gs):
        return ("the sum overflowed: rescale with exp(m_a - m) and exp(m_b - m), which are <= 1, "
                "never with exp(m_a) or exp(m_b) alone.")
    if math.isclose(gs, sa + sb, rel_tol=1e-12) and ma != mb:
        return ("s_a and s_b are sums of exp(x - m_a) and exp(x - m_b): relative to different maxima. "
                "Rescale each to the new max before adding: s_a exp(m_a - m) + s_b exp(m_b - m).")
    with np.errstate(all="ignore"):
        flipped = sa * math.exp(min(m - ma, 700)) + sb * math.exp(min(m - mb, 700))
    if math.isclose(gs, flipped, rel_tol=1e-9):
        return "the rescaling factors are upside down: use exp(m_a - m) (<= 1), not exp(m - m_a)."
    return "the merged sum is s_a exp(m_a - m) + s_b exp(m_b - m) with m = max(m_a, m_b)."


_SLOW_HINT = ("a merge is a handful of float operations (max, two exp, a multiply-add); "
              "it should take microseconds. Look for a loop, a sleep or a large array inside it.")


def _verdict(fn):
    missing = not_callable(_CHECK, fn)
    if missing is not None:
        return missing
    name = fn_name(fn)
    rng = np.random.default_rng(20200109)
    cases = list(_cases(rng))
    budget = Budget()
    student = fn

    def timed(a, b):
        return budget.call(student, a, b)

    count = 0
    for case, x, chunks in cases:
        count += 1
        states = [_state(c) for c in chunks]
        want = _state(x)
        try:
            left = _fold_left(timed, states)
            tree = _fold_tree(timed, states, rng)
        except TooSlow as exc:
            return too_slow_result(name, exc, count - 1, len(cases), _SLOW_HINT)
        except _NotDone:
            return CheckResult(None, f"{TODO} not done yet: {name} returned None (the stub). "
                                     f"Write your code in place of `return None`, then run this cell again.")
        except NotImplementedError:
            return CheckResult(None, f"{TODO} not done yet: {name} raises NotImplementedError.")
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [""])[0][:160]
            hint = ("exp overflowed: rescale with exp(m_a - m) and exp(m_b - m), which are <= 1, "
                    "never with exp(m_a) or exp(m_b) alone." if isinstance(exc, OverflowError) else
                    "the check calls it as merge((m_a, s_a), (m_b, s_b)) with floats, and "
                    "m = -inf for an empty chunk.")
            return CheckResult(False, f'{FAIL} {name} fails case "{case}" ({count - 1} of '
                                      f"{len(cases)} cases passed before it): it raised "
                                      f"{type(exc).__name__}" + (f": {first}" if first else "")
                               + f".\n  Hint: {hint}", case)
        for order, got in (("left to right", left), ("in a random tree order", tree)):
            if not _close(got, want):
                # find the first single merge that goes wrong, to explain it
                a, b, one = states[0], None, None
                try:
                    for st in states[1:]:
                        one = _call(timed, a, st)
                        b = st
                        ref = _merge_reference(a, st)
                        if not _close(one, ref):
                            break
                        a = one
                    hint = _hint(a, b, one) if b is not None else "merge the states in order."
                except Exception:  # the explanation is a bonus: never let it hide the verdict
                    hint = "the merged sum is s_a exp(m_a - m) + s_b exp(m_b - m) with m = max(m_a, m_b)."
                return CheckResult(False, "\n".join([
                    f'{FAIL} {name} fails case "{case}" ({count - 1} of {len(cases)} cases passed '
                    f"before it), merging {len(states)} chunk states {order}:",
                    f"    chunk states = {_fmt_states(states)}",
                    f"    expected     = {_fmt_state(want)}",
                    f"    got          = {_fmt_state(got)}",
                    f"  Hint: {hint}"]), case)
    return CheckResult(True, f"{OK} {name} merges correctly in all {count} cases: any cut of the row, "
                             "empty and -inf chunks, logits around 1000, any merge order.")


def _merge_reference(a, b):
    (ma, sa), (mb, sb) = a, b
    if ma == -math.inf:
        return b
    if mb == -math.inf:
        return a
    m = max(ma, mb)
    return m, sa * math.exp(ma - m) + sb * math.exp(mb - m)


def _fmt_state(st):
    m, s = st
    return f"(m={m:.6g}, s={s:.6g})"


def _fmt_states(states):
    shown = [_fmt_state(s) for s in states]
    if len(shown) > 4:
        shown = shown[:2] + ["..."] + shown[-1:]
    return "[" + ", ".join(shown) + "]"


def check_online_merge(fn: Callable[..., Any] | None) -> CheckResult:
    """Check ``fn((m_a, s_a), (m_b, s_b)) -> (m, s)``, the online softmax merge.

    Rows are cut into chunks at random places (empty chunks, all -inf chunks,
    logits around 1000 included); every chunk's state is (max, sum of
    exp(x - max)), (-inf, 0) when it has no finite element.  The states are
    merged with ``fn`` left to right and in a random tree order; both must give
    the whole row's max exactly and its sum to 1e-12.  Stops at the first
    failing case and says how many passed before it; stops after about five
    seconds (or one call over two seconds) if ``fn`` is slow.  Prints a verdict
    and returns a :class:`CheckResult`; never raises.

    Used in: notebooks/06_two_pass.ipynb.
    """
    return guarded(_CHECK, lambda: _verdict(fn))


# -- the two-pass merge of (mantissa, exponent) states -----------------------------------

_CHECK_EXTEXP = "check_extexp_merge"


def _extexp_cases(rng):
    """Pairs of (mantissa, exponent) states, as the two-pass kernel's accumulators hold them."""
    cases = [((1.0, 0.0), (1.0, 0.0)), ((1.25, 1446.0), (0.75, 3.0)), ((0.9, -1500.0), (1.1, -1490.0)),
             ((0.0, -math.inf), (1.3, 12.0)), ((1.3, 12.0), (0.0, -math.inf)), ((1.0, 2000.0), (1.0, 2000.0))]
    for _ in range(40):
        e = rng.integers(-3000, 3000, size=2).astype(float)
        cases.append(((float(rng.uniform(0.7, 40)), e[0]), (float(rng.uniform(0.7, 40)), e[1])))
    return cases


def _extexp_reference(a, b):
    (ma, ea), (mb, eb) = a, b
    e = max(ea, eb)
    if e == -math.inf:
        return 0.0, -math.inf
    return ma * 2.0 ** (ea - e) + mb * 2.0 ** (eb - e), e


def _extexp_hint(a, b, got):
    want = _extexp_reference(a, b)
    try:
        m, e = got
        m, e = float(m), float(e)
    except Exception:
        return "return a pair (mantissa, exponent)."
    if e == min(a[1], b[1]) and a[1] != b[1]:
        return "the new exponent is the larger of the two: the smaller term is scaled down, never up."
    if e != want[1]:
        return "the new exponent E = max(E_a, E_b)."
    if not math.isfinite(m):
        return ("the mantissa overflowed: rescale each mantissa by 2**(its exponent - E), which is <= 1, "
                "instead of forming 2**E_a itself.")
    (ma, ea), (mb, eb) = a, b
    if abs(m - (ma + mb)) <= 1e-12 * abs(ma + mb) and ea != eb:
        return "the mantissas carry different powers of two: rescale each by 2**(E_i - E) before adding."
    if abs(m - (ma * math.exp(ea - want[1]) + mb * math.exp(eb - want[1]))) <= 1e-9 * abs(want[0]):
        return "the exponents count powers of 2, not of e: rescale by 2**(E_i - E), not exp(E_i - E)."
    return "M = M_a * 2**(E_a - E) + M_b * 2**(E_b - E) with E = max(E_a, E_b)."


def _extexp_verdict(fn):
    bad = not_callable(_CHECK_EXTEXP, fn)
    if bad is not None:
        return bad
    cases = _extexp_cases(np.random.default_rng(2))
    budget = Budget()
    for done, (a, b) in enumerate(cases):
        try:
            got = budget.call(fn, a, b)
        except TooSlow as exc:
            return too_slow_result(fn_name(fn), exc, done, len(cases), "a merge is a few float operations.")
        except Exception as exc:
            hint = ("\n  Hint: a power of two overflowed: take E as the larger exponent, so that every "
                    "factor 2**(E_i - E) is at most 1." if isinstance(exc, OverflowError) else "")
            return CheckResult(False, f"{FAIL} {fn_name(fn)}({a}, {b}) raised {type(exc).__name__}: {exc} "
                                      f"({done} of {len(cases)} cases passed before it).{hint}", case=str((a, b)))
        if got is None and done == 0:
            return CheckResult(None, f"{TODO} not done yet: {fn_name(fn)} returned None. "
                                     f"Return the merged pair (mantissa, exponent).")
        want = _extexp_reference(a, b)
        ok = False
        try:
            m, e = (float(v) for v in got)
            ok = e == want[1] and abs(m - want[0]) <= 1e-12 * abs(want[0])
        except Exception:
            pass
        if not ok:
            return CheckResult(False, f"{FAIL} merge({a}, {b}) gave {got!r}, expected "
                                      f"({want[0]:.6g}, {want[1]:.6g}) ({done} of {len(cases)} cases passed "
                                      f"before it).\n  Hint: {_extexp_hint(a, b, got)}", case=str((a, b)))
    return CheckResult(True, f"{OK} all {len(cases)} merges right, exponents up to 3000 (where 2**E itself "
                             f"overflows float64) included: this is the rescale of the two-pass accumulator.")


def check_extexp_merge(fn: Callable[..., Any] | None) -> CheckResult:
    """Check ``fn((M_a, E_a), (M_b, E_b)) -> (M, E)``: the two-pass accumulator merge.

    A sum of exponentials is held as M * 2**E (Dukhan & Ablavatski, "The Two-Pass
    Softmax Algorithm", 2020, arXiv:2001.04438); two of them add as
    E = max(E_a, E_b), M = M_a 2**(E_a - E) + M_b 2**(E_b - E).  The cases include
    exponents far beyond float64's range and the empty state (0, -inf).  Stops at the
    first failing case with a hint; prints a verdict and returns a
    :class:`CheckResult`; never raises.

    Used in: notebooks/06_two_pass.ipynb.
    """
    return guarded(_CHECK_EXTEXP, lambda: _extexp_verdict(fn))


# -- the memory floor of each algorithm --------------------------------------------------

_CHECK_FLOOR = "check_memory_floor"
# reads of x and copy-like passes (read one array, write another) per algorithm
_PASSES = {"three_pass_reload": (1, 2), "three_pass_recompute": (2, 1), "two_pass": (1, 1), "online": (1, 1)}


def _floor_reference(algorithm, read_ns, copy_ns):
    reads, copies = _PASSES[algorithm]
    return reads * read_ns + copies * copy_ns


def _floor_verdict(fn):
    bad = not_callable(_CHECK_FLOOR, fn)
    if bad is not None:
        return bad
    cases = [(alg, r, c) for r, c in ((0.16, 0.32), (0.5, 0.6), (1.0, 3.0)) for alg in _PASSES]
    budget = Budget()
    for done, (alg, r, c) in enumerate(cases):
        try:
            got = budget.call(fn, alg, r, c)
        except TooSlow as exc:
            return too_slow_result(fn_name(fn), exc, done, len(cases), "this is one line of arithmetic.")
        except Exception as exc:
            return CheckResult(False, f"{FAIL} {fn_name(fn)}({alg!r}, {r}, {c}) raised {type(exc).__name__}: "
                                      f"{exc} ({done} of {len(cases)} cases passed before it).", case=alg)
        if got is None and done == 0:
            return CheckResult(None, f"{TODO} not done yet: {fn_name(fn)} returned None. Return the floor in "
                                     f"ns per element.")
        want = _floor_reference(alg, r, c)
        try:
            ok = abs(float(got) - want) <= 1e-9 * want
        except Exception:
            ok = False
        if not ok:
            reads, copies = _PASSES[alg]
            return CheckResult(False, f"{FAIL} {alg} with read {r} and copy {c} ns/element: got {got!r}, "
                                      f"expected {want:.4g} ({done} of {len(cases)} cases passed before it).\n"
                                      f"  Hint: {alg} has {reads} pass(es) that only read x and {copies} that "
                                      f"read one array and write another (a copy's traffic).", case=alg)
    r, c = 0.16, 0.32
    ratio = _floor_reference("three_pass_recompute", r, c) / _floor_reference("two_pass", r, c)
    return CheckResult(True, f"{OK} all {len(cases)} floors right. With a read at {r} and a copy at {c} ns per "
                             f"element, the floors say two-pass can be at most {ratio:.2f}x faster than "
                             f"three-pass recompute out of cache.")


def check_memory_floor(fn: Callable[..., Any] | None) -> CheckResult:
    """Check ``fn(algorithm, read_ns, copy_ns) -> ns per element``: each algorithm's memory floor.

    Out of cache a pass costs what its memory traffic costs: a pass that only
    reads x costs a read (``read_ns``), a pass that reads one array and writes
    another costs a copy (``copy_ns``).  Three-pass recompute is 2 reads + 1 copy,
    reload 1 read + 2 copies, two-pass and online 1 read + 1 copy.  Prints a verdict
    and returns a :class:`CheckResult`; never raises.

    Used in: notebooks/06_two_pass.ipynb.
    """
    return guarded(_CHECK_FLOOR, lambda: _floor_verdict(fn))
