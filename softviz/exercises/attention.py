"""Self-checks for lesson 08: the tile update of tiled attention, its masked edge case, and
the tile size that fits a cache.

One query row's state after some key blocks is (m, l, o): m the largest score so far,
l = sum exp(s_j - m) and o = sum exp(s_j - m) v_j over the keys so far (unnormalised);
before any key it is (-inf, 0, 0).  A new block of scores s and values V updates it as
FlashAttention does (Dao et al. 2022, arXiv:2205.14135; the rule is Milakov & Gimelshein
2018, arXiv:1805.02867):

    m' = max(m, max s),  l' = exp(m - m') l + sum exp(s - m'),  o' = exp(m - m') o + exp(s - m') V,

and the output is o / l after the last block.  With masked keys (s = -inf) a row can meet a
block of -inf scores while its state is still empty: then m' = -inf and exp(m - m') is
exp(-inf - (-inf)) = NaN unless the update takes care.

Used in: notebooks/08_attention.ipynb
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..attention import cache_size, largest_tile, tile_working_set
from .checking import (
    FAIL,
    OK,
    TODO,
    ArgCase,
    Budget,
    CheckResult,
    TooSlow,
    fn_name,
    guarded,
    not_callable,
    run_arg_cases,
    too_slow_result,
)

__all__ = ["check_tile_update", "check_masked_tile_update", "check_tile_size"]

_RTOL = 1e-9


class _NotDone(Exception):
    pass


def _row_cases(rng: np.random.Generator, masked: bool) -> list[tuple[str, np.ndarray, np.ndarray, list[int]]]:
    """(name, scores, values, block edges) for one query row."""
    cases = []
    rising = np.array([0.0, 0.5, 1.0, 4.0, 2.0, 9.0, 3.0, 30.0])
    cases.append(("scores rising: every block raises the max", rising, rng.standard_normal((8, 3)), [0, 2, 4, 6, 8]))
    falling = rising[::-1].copy()
    cases.append(("the max comes first: no rescale after block 1", falling, rng.standard_normal((8, 3)), [0, 3, 8]))
    big = np.array([1000.0, 998.0, 1003.0, 1001.0, 990.0])
    cases.append(("scores around 1000 (exp(1000) overflows)", big, rng.standard_normal((5, 2)), [0, 1, 3, 5]))
    if not masked:
        for k in range(12):
            n = int(rng.integers(2, 40))
            s = 6.0 * rng.standard_normal(n)
            edges = sorted({0, n, *rng.integers(1, n, size=int(rng.integers(1, 5))).tolist()})
            cases.append((f"random row #{k + 1}: {n} keys in {len(edges) - 1} blocks", s,
                          rng.standard_normal((n, 4)), edges))
        return cases
    cases = []
    # causal, key blocks visited from the last to the first: for an early query the first
    # blocks it meets are entirely hidden from it
    n, i = 12, 3
    s = 2.0 * rng.standard_normal(n)
    s[i + 1:] = -np.inf
    rev = s[::-1].copy()
    vals = rng.standard_normal((n, 3))[::-1].copy()
    cases.append(("causal, blocks from last to first: query 3 meets 2 hidden blocks first", rev, vals,
                  [0, 4, 8, 12]))
    s2 = np.array([-np.inf, -np.inf, -np.inf, -np.inf, 1.5, -0.5])
    cases.append(("a padding mask: the first block is all -inf", s2, rng.standard_normal((6, 2)), [0, 4, 6]))
    s3 = np.array([-np.inf, -np.inf, -np.inf, 2.0])
    cases.append(("every block hidden but the last key", s3, rng.standard_normal((4, 2)), [0, 1, 2, 3, 4]))
    s4 = np.array([0.5, -np.inf, 2.0, -np.inf, -np.inf, -np.inf, 1.0])
    cases.append(("-inf inside blocks, and a hidden block after the max", s4, rng.standard_normal((7, 2)),
                  [0, 2, 3, 6, 7]))
    for k in range(8):
        n = int(rng.integers(4, 30))
        s = 4.0 * rng.standard_normal(n)
        s[rng.random(n) < 0.5] = -np.inf
        s[: int(rng.integers(1, n))] = -np.inf
        if not np.isfinite(s).any():
            s[-1] = 0.25
        edges = sorted({0, n, *rng.integers(1, n, size=int(rng.integers(1, 5))).tolist()})
        cases.append((f"random masked row #{k + 1}: {n} keys, {int(np.isinf(s).sum())} hidden", s,
                      rng.standard_normal((n, 3)), edges))
    return cases


def _reference(scores: np.ndarray, values: np.ndarray) -> tuple[float, float, np.ndarray]:
    m = float(np.max(scores))
    w = np.exp(scores - m)
    return m, float(w.sum()), w @ values


def _as_state(got: Any, dv: int) -> tuple[float, float, np.ndarray]:
    if got is None:
        raise _NotDone
    try:
        m, ell, o = got
        o_arr = np.asarray(o, dtype=np.float64).reshape(-1)
        if o_arr.size != dv:
            raise ValueError
        return float(m), float(ell), o_arr
    except (TypeError, ValueError):
        raise TypeError(f"expected a state (m, l, o) with o of length {dv}, got {got!r:.80}") from None


def _fold(fn: Callable[..., Any], scores: np.ndarray, values: np.ndarray, edges: list[int]
          ) -> list[tuple[float, float, np.ndarray]]:
    dv = values.shape[1]
    state: tuple[float, float, np.ndarray] = (-math.inf, 0.0, np.zeros(dv))
    states = [state]
    for a, b in zip(edges[:-1], edges[1:]):
        with np.errstate(all="ignore"):
            got = fn((state[0], state[1], state[2].copy()), scores[a:b].copy(), values[a:b].copy())
        state = _as_state(got, dv)
        states.append(state)
    return states


def _hint(scores: np.ndarray, states: list[tuple[float, float, np.ndarray]], edges: list[int], masked: bool) -> str:
    for k, (m, ell, o) in enumerate(states[1:], start=1):
        prev_m = states[k - 1][0]
        if math.isnan(m) or math.isnan(ell) or np.isnan(o).any():
            seen = scores[: edges[k]]
            if not np.isfinite(seen).any():
                return ("NaN after a block of -inf scores while the state was still empty: m' = -inf, and "
                        "exp(m - m') = exp(-inf - (-inf)) is NaN (so is exp(s - m')). When the new max is "
                        "-inf, nothing has been seen yet: return the empty state (-inf, 0, 0) unchanged.")
            return "NaN in the state: look for -inf - (-inf) or 0 * inf."
        want_m = float(np.max(scores[: edges[k]]))
        if m != want_m:
            return "the new max is m' = max(m, max of the block's scores)."
        if math.isinf(ell) or not np.isfinite(o).all():
            return "the sum overflowed: use exp(s - m') and exp(m - m'), both <= 1, never exp(s) alone."
        if k > 1 and m > prev_m:
            _, l_ref, _ = _reference(scores[: edges[k]], np.zeros((edges[k], 1)))
            if not math.isclose(ell, l_ref, rel_tol=1e-9):
                return ("when the block raises the max, the old l and o were computed against the old max: "
                        "multiply both by exp(m - m') before adding the block's terms.")
    if masked:
        return "compare your update with exercise 1's, then handle the empty state."
    return "o' = exp(m - m') o + sum_j exp(s_j - m') v_j, and the same rescale for l."


def _verdict(check: str, fn: Any, masked: bool) -> CheckResult:
    missing = not_callable(check, fn)
    if missing is not None:
        return missing
    name = fn_name(fn)
    cases = _row_cases(np.random.default_rng(2205 if masked else 1805), masked)
    budget = Budget()

    def timed(*args: Any) -> Any:
        return budget.call(fn, *args)

    for done, (case, scores, values, edges) in enumerate(cases):
        try:
            states = _fold(timed, scores, values, edges)
        except TooSlow as exc:
            return too_slow_result(name, exc, done, len(cases), "one update is a max, a few exps and a "
                                   "small matrix-vector product.")
        except _NotDone:
            return CheckResult(None, f"{TODO} not done yet: {name} returned None (the stub). Write your code "
                                     f"in place of `return None`, then run this cell again.")
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [""])[0][:160]
            return CheckResult(False, f'{FAIL} {name} fails case "{case}" ({done} of {len(cases)} cases passed '
                                      f"before it): it raised {type(exc).__name__}"
                               + (f": {first}" if first else "") + ".\n  Hint: it is called as "
                               "update((m, l, o), scores, values) with scores of shape (B,) and values (B, dv).",
                               case)
        m, ell, o = states[-1]
        want_m, want_l, want_o = _reference(scores, values)
        ok = (m == want_m and math.isclose(ell, want_l, rel_tol=_RTOL)
              and np.allclose(o, want_o, rtol=_RTOL, atol=_RTOL * float(np.abs(want_o).max() + 1e-300)))
        nan_inside = any(math.isnan(s[0]) or math.isnan(s[1]) or bool(np.isnan(s[2]).any()) for s in states)
        if not ok or nan_inside:
            with np.errstate(all="ignore"):
                got_out = o / ell if ell else o
            return CheckResult(False, "\n".join([
                f'{FAIL} {name} fails case "{case}" ({done} of {len(cases)} cases passed before it):',
                f"    blocks   = {[(a, b) for a, b in zip(edges[:-1], edges[1:])]}",
                f"    expected = m {want_m:.6g}, l {want_l:.6g}, output o/l {np.round(want_o / want_l, 6).tolist()}",
                f"    got      = m {m:.6g}, l {ell:.6g}, output o/l {np.round(got_out, 6).tolist()}",
                f"  Hint: {_hint(scores, states, edges, masked)}"]), case)
    extra = ("fully hidden blocks while the state is empty, padding and causal masks in reverse order"
             if masked else "rising and falling maxima, scores around 1000, random cuts")
    return CheckResult(True, f"{OK} {name} gives the one-shot softmax output in all {len(cases)} cases ({extra}).")


def check_tile_update(fn: Callable[..., Any] | None) -> CheckResult:
    """Check ``fn((m, l, o), scores, values) -> (m', l', o')``: one key block of tiled attention.

    Each case is one query row cut into key blocks; the blocks are folded into the empty
    state (-inf, 0, 0) with ``fn`` and the final (m, l, o) is compared with the whole
    row: m exactly, l and o / l to 1e-9.  Cases: every block raising the max, the max
    first, scores around 1000, random rows and cuts.  Prints a verdict (with a hint on the
    likely mistake) and returns a :class:`CheckResult`; never raises.

    Used in: notebooks/08_attention.ipynb
    """
    return guarded("check_tile_update", lambda: _verdict("check_tile_update", fn, masked=False))


def check_masked_tile_update(fn: Callable[..., Any] | None) -> CheckResult:
    """Check the same update on masked rows: blocks of -inf scores, some met while the state is
    still empty (a causal mask walked from the last block to the first, a padding mask).

    Every intermediate state must be free of NaN and the final one must match the whole
    row.  Prints a verdict and returns a :class:`CheckResult`; never raises.

    Used in: notebooks/08_attention.ipynb
    """
    return guarded("check_masked_tile_update", lambda: _verdict("check_masked_tile_update", fn, masked=True))


# -- the tile size for a cache -----------------------------------------------------------

def _tile_cases() -> list[ArgCase]:
    cases = [ArgCase(f"{size // 1024} KiB cache, d = {d}", (size, d))
             for size, d in ((32 << 10, 64), (48 << 10, 64), (256 << 10, 64), (1 << 20, 64), (2 << 20, 128),
                             (1 << 20, 128), (4 << 10, 64))]
    here = cache_size(2)
    if here:
        cases.append(ArgCase(f"this machine's L2 cache ({here // 1024} KiB), d = 64", (here, 64)))
    return cases


def _tile_diagnose(case: ArgCase, got: Any) -> str | None:
    cache, d = case.args
    want = largest_tile(cache, d)
    try:
        b = int(got)
        if b != got:
            return f"return an integer block size, got {got!r}."
    except (TypeError, ValueError):
        return f"return an integer block size, got {got!r}."
    if b == want:
        return None
    if b > 0 and b & (b - 1):
        return f"return a power of two (got {b}); expected {want}."
    used = tile_working_set(b, b, d) if 1 <= b <= 4096 else None
    if used is not None and used > cache:
        return (f"b = {b} needs {used} bytes, more than the {cache}-byte cache; expected {want}. "
                "Count Q, K, V and O blocks (b d each: 4 b d) and the score tile and its exponentials "
                "(b^2 each: 2 b^2), times 4 bytes.")
    single = 4 * (4 * 2 * b * d + 2 * (2 * b) ** 2)
    return (f"expected {want}: the largest power of two b with 4 (4 b d + 2 b^2) <= {cache}"
            + (" (the next one up still fits)" if single <= cache else "") + ".")


def check_tile_size(fn: Callable[..., Any] | None) -> CheckResult:
    """Check ``fn(cache_bytes, d) -> b``: the largest power of two b whose float32 tile step
    (query, key, value and output blocks of b rows, the b x b scores and their
    exponentials: ``softviz.attention.tile_working_set(b, b, d)``) fits in the cache.

    Cases: caches from 4 KiB to 2 MiB, d = 64 and 128, and this machine's own L2 as the
    operating system reports it.  Prints a verdict and returns a :class:`CheckResult`;
    never raises.

    Used in: notebooks/08_attention.ipynb
    """
    here = cache_size(2)
    summary = "powers of two whose working set fits, down to a 4 KiB cache"
    if here:
        summary += (f"; for this machine's L2 of {here // 1024} KiB and d = 64: b = {largest_tile(here, 64)}, "
                    f"a working set of {tile_working_set(largest_tile(here, 64), largest_tile(here, 64), 64) // 1024} KiB")
    return run_arg_cases("check_tile_size", _tile_cases(), fn, _tile_diagnose, summary)
