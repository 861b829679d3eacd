"""Softmax inside attention: the 1/sqrt(d) scale, precision, and the tiled online softmax.

Scaled dot-product attention (Vaswani et al., "Attention Is All You Need", 2017,
arXiv:1706.03762) is a softmax over the scores s_ij = q_i . k_j / sqrt(d), one row per
query, followed by a weighted sum of the value rows:

    O = softmax(Q K^T / sqrt(d)) V.

Written out, that forms the N x M score matrix S, the probability matrix P and then
O ("three matrices": ``naive_attention`` in numpy, ``attention`` with softviz's own
one-shot softmax).  FlashAttention (Dao, Fu, Ermon, Rudra, Re, 2022, arXiv:2205.14135;
FlashAttention-2, Dao, 2023, arXiv:2307.08691) never stores S or P: it walks over blocks
of keys, keeps for every query row the running max m and running sum l of the online
softmax (Milakov & Gimelshein, "Online normalizer calculation for softmax", 2018,
arXiv:1805.02867) and an unnormalised output, and rescales that output by
exp(m_old - m_new) whenever a new block raises the max.

``tiled_attention`` does exactly that on the CPU, and the softmax part of it runs
through the C core's row-plan state API (softviz._native: one state per query row,
``accumulate_rows`` folds a tile of scores into the running max and sum, ``finish_rows``
forms exp(s - m) for the tile, ``finalize_rows`` gives the log-sum-exp that
FlashAttention stores for the backward pass).  numpy does the two matrix products per
tile (its BLAS) and the rescale of the partial output; no softmax is re-implemented in
Python.  ``tiled_trace`` records every step of the same code for lesson 08's panel.

Used in: notebooks/08_attention.ipynb (and softviz.panels.AttentionPanel,
softviz.panels.AttentionScalePanel, softviz.bench.attention).
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import _native, _validate
from .core import logsumexp, softmax
from .numerics import round_bfloat16
from .temperature import entropy

__all__ = [
    "random_qkv",
    "attention_scores",
    "naive_attention",
    "attention",
    "tiled_attention",
    "error_bound",
    "AttentionResult",
    "TileStep",
    "TiledTrace",
    "tiled_trace",
    "attention_traffic",
    "tile_working_set",
    "largest_tile",
    "cache_size",
    "scale_sweep",
    "running_sum_in",
    "precision_study",
]

#: Largest score matrix the one-shot functions build (N * M entries, 1 GiB of float32):
#: the N = 16,384 benchmark fits, a typo like N = 10**6 is refused before allocating.
MAX_SCORES = 1 << 28
#: Largest block edge: a tile is meant to fit in a cache.
MAX_BLOCK = 4096
#: Longest key sequence ``tiled_trace`` records step by step (it keeps every partial state).
TRACE_MAX_KEYS = 1024

_PRECISIONS = ("float16", "bfloat16", "float32")


# --------------------------------------------------------------------------- arguments

def _matrix(name: str, value: object) -> np.ndarray:
    arr = _validate.numeric_array(name, value)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (one row per token), got shape {arr.shape}")
    return arr


def _work_dtype(*arrays: np.ndarray) -> np.dtype:
    # float32 (and float16, computed in float32 as softviz.softmax does) stays float32;
    # everything else (float64, integers, bools) runs in float64
    if all(a.dtype.kind == "f" and a.dtype.itemsize <= 4 for a in arrays):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _inputs(q: object, k: object, v: object, mask: object, causal: object,
            scale: object) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, bool, float, np.dtype]:
    qa, ka, va = _matrix("q", q), _matrix("k", k), _matrix("v", v)
    if qa.shape[1] != ka.shape[1]:
        raise ValueError(f"q and k must have the same number of columns d, got q {qa.shape} and k {ka.shape}")
    if va.shape[0] != ka.shape[0]:
        raise ValueError(f"v must have one row per key (k has {ka.shape[0]}), got v {va.shape}")
    if qa.shape[1] == 0:
        raise ValueError("q and k must have at least one column (d >= 1)")
    if ka.shape[0] == 0:
        raise ValueError("k must have at least one row: the softmax over no keys is undefined")
    causal = _validate.boolean("causal", causal)
    d = qa.shape[1]
    s = 1.0 / math.sqrt(d) if scale is None else _validate.positive_real("scale", scale)
    keep = None
    if mask is not None:
        try:
            m_arr = np.asarray(mask)
        except Exception:
            raise TypeError("mask must be None or a boolean array of shape (queries, keys)") from None
        if m_arr.dtype != np.bool_:
            raise TypeError(f"mask must be a boolean array (True: the query attends to the key), "
                            f"got dtype {m_arr.dtype}")
        if m_arr.shape != (qa.shape[0], ka.shape[0]):
            raise ValueError(f"mask must have shape (queries, keys) = {(qa.shape[0], ka.shape[0])}, "
                             f"got {m_arr.shape}")
        keep = m_arr
    if causal:
        tri = np.tri(qa.shape[0], ka.shape[0], dtype=bool)   # key j visible to query i iff j <= i
        keep = tri if keep is None else keep & tri
    if keep is not None and qa.shape[0]:
        empty = np.flatnonzero(~keep.any(axis=1))
        if empty.size:
            rows = ", ".join(str(int(i)) for i in empty[:8]) + (" ..." if empty.size > 8 else "")
            raise ValueError(f"mask (with causal={causal}) hides every key from query row(s) {rows}: "
                             "the softmax over no keys is 0/0; give each query at least one key")
    dt = _work_dtype(qa, ka, va)
    return (np.ascontiguousarray(qa, dtype=dt), np.ascontiguousarray(ka, dtype=dt),
            np.ascontiguousarray(va, dtype=dt), keep, causal, s, dt)


def _out_dtype(q: np.ndarray, k: np.ndarray, v: np.ndarray, dt: np.dtype) -> np.dtype:
    raw = [np.asarray(a).dtype for a in (q, k, v)]
    return np.dtype(np.float16) if all(r == np.float16 for r in raw) else dt


def _check_size(n: int, m: int, what: str = "the score matrix") -> None:
    if n * m > MAX_SCORES:
        raise ValueError(f"q and k ask for {what} of {n} x {m} = {n * m:.3g} entries; the limit is "
                         f"{MAX_SCORES} (use tiled_attention, which never stores it)")


def _block(name: str, value: object) -> int:
    return _validate.integer(name, value, lo=1, hi=MAX_BLOCK, hi_reason="a tile is meant to fit in a cache")


# --------------------------------------------------------------------------- data

def random_qkv(n: int = 64, m: int | None = None, d: int = 64, dv: int | None = None, *,
               rng: Any = 0, dtype: str = "float32") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random queries (n, d), keys (m, d) and values (m, dv): independent standard normals.

    Entries with mean 0 and variance 1, the setting of Vaswani et al.'s footnote on the
    1/sqrt(d) scale (then q . k has mean 0 and variance d).  Seeded by ``rng``.

    Used in: notebooks/08_attention.ipynb, softviz.bench.attention.
    """
    n = _validate.integer("n", n, lo=1, hi=1 << 20)
    m = n if m is None else _validate.integer("m", m, lo=1, hi=1 << 20)
    d = _validate.integer("d", d, lo=1, hi=1 << 14)
    dv = d if dv is None else _validate.integer("dv", dv, lo=1, hi=1 << 14)
    dt = _validate.choice("dtype", dtype, ("float32", "float64"))
    if (n + 2 * m) * max(d, dv) > _validate.MAX_ELEMENTS:
        raise ValueError(f"n, m, d = {n}, {m}, {d} ask for more than {_validate.MAX_ELEMENTS} elements")
    gen = _validate.rng(rng)
    q = gen.standard_normal((n, d)).astype(dt)
    k = gen.standard_normal((m, d)).astype(dt)
    v = gen.standard_normal((m, dv)).astype(dt)
    return q, k, v


def attention_scores(q: ArrayLike, k: ArrayLike, *, scale: float | None = None, mask: ArrayLike | None = None,
                     causal: bool = False) -> np.ndarray:
    """The score matrix S = q k^T * scale (scale defaults to 1/sqrt(d)), -inf where masked.

    ``mask`` is boolean, True where query i attends to key j (as in PyTorch's
    scaled_dot_product_attention); ``causal=True`` hides every key j > i.

    Used in: notebooks/08_attention.ipynb.
    """
    # a float32 stand-in for v, so that it does not decide the precision of the scores
    rows = np.shape(k)[0] if isinstance(k, np.ndarray) and k.ndim == 2 else len(_matrix("k", k))
    qa, ka, _, keep, _, s, dt = _inputs(q, k, np.zeros((rows, 1), np.float32), mask, causal, scale)
    _check_size(qa.shape[0], ka.shape[0])
    with np.errstate(over="ignore", invalid="ignore"):
        S = (qa @ ka.T) * dt.type(s)
    if keep is not None:
        S[~keep] = -np.inf
    return S


# --------------------------------------------------------------------------- one shot

def naive_attention(q: ArrayLike, k: ArrayLike, v: ArrayLike, *, scale: float | None = None,
                    mask: ArrayLike | None = None, causal: bool = False) -> np.ndarray:
    """The textbook numpy version: S = q k^T * scale, P = softmax(S) (max-shifted), O = P v.

    Three full matrices (S, the shifted exponentials, P) of queries x keys entries: the
    version the benchmark compares ``tiled_attention`` with.  Pure numpy (np.exp), so
    its memory is numpy's own.

    Used in: notebooks/08_attention.ipynb, softviz.bench.attention.
    """
    qa, ka, va, keep, _, s, dt = _inputs(q, k, v, mask, causal, scale)
    _check_size(qa.shape[0], ka.shape[0])
    with np.errstate(over="ignore", invalid="ignore"):
        S = (qa @ ka.T) * dt.type(s)
        if keep is not None:
            S[~keep] = -np.inf
        E = np.exp(S - S.max(axis=1, keepdims=True))
        P = E / E.sum(axis=1, keepdims=True)
        out = P @ va
    return out.astype(_out_dtype(np.asarray(q), np.asarray(k), np.asarray(v), dt), copy=False)


def attention(q: ArrayLike, k: ArrayLike, v: ArrayLike, *, scale: float | None = None,
              mask: ArrayLike | None = None, causal: bool = False,
              return_lse: bool = False) -> Any:
    """One-shot attention with softviz's C softmax: O = softviz.softmax(S) v.

    The reference ``tiled_attention`` is checked against: the same scores, the whole
    row's softmax at once (algorithm "online", the plan the tiles use).  With
    ``return_lse=True`` it returns ``(O, lse)``, lse_i = log sum_j exp(s_ij) (what
    FlashAttention keeps for the backward pass).  Rows whose scores hold NaN or +inf
    follow ``softviz.softmax`` (scipy's semantics: NaN).

    Used in: notebooks/08_attention.ipynb.
    """
    return_lse = _validate.boolean("return_lse", return_lse)
    qa, ka, va, keep, _, s, dt = _inputs(q, k, v, mask, causal, scale)
    _check_size(qa.shape[0], ka.shape[0])
    with np.errstate(over="ignore", invalid="ignore"):
        S = (qa @ ka.T) * dt.type(s)
        if keep is not None:
            S[~keep] = -np.inf
        P = softmax(S, axis=1, algorithm="online")
        out = (P @ va).astype(_out_dtype(np.asarray(q), np.asarray(k), np.asarray(v), dt), copy=False)
    if return_lse:
        return out, np.asarray(logsumexp(S.astype(np.float64), axis=1, algorithm="online"))
    return out


# --------------------------------------------------------------------------- tiled

@dataclasses.dataclass(frozen=True, eq=False)
class AttentionResult:
    """What ``tiled_attention(..., return_stats=True)`` returns.

    ``out`` (queries, dv); ``lse`` (queries,) the log-sum-exp of every score row
    (float64); ``max`` (queries,) every row's largest score; ``special`` the rows that
    took the C core's special-value path (NaN or +inf among their scores);
    ``rescales`` how many times a row's partial output was rescaled because a new
    block raised its max (summed over rows).

    Used in: notebooks/08_attention.ipynb.
    """

    out: np.ndarray
    lse: np.ndarray
    max: np.ndarray
    special: np.ndarray
    rescales: int


@dataclasses.dataclass(frozen=True, eq=False)
class _Tile:
    """The state of one query block right after one key block (internal to the generator)."""

    j0: int
    j1: int
    m_old: np.ndarray
    m_new: np.ndarray
    l_new: np.ndarray
    alpha: np.ndarray
    acc: np.ndarray
    p: np.ndarray


def _empty_max(m: np.ndarray, dt: np.dtype) -> np.ndarray:
    """Rows whose running max is still the online plan's start value (nothing but -inf seen).

    The C core starts the online max at the lowest finite float (-DBL_MAX; after a tile of
    -inf only, float32's lowest), never at -inf, so that merging two empty states never forms
    -inf - (-inf) = NaN.  Those rows must not be used as a shift either."""
    return m <= -float(np.finfo(dt).max)


def _query_block(qb: np.ndarray, ka: np.ndarray, va: np.ndarray, keep: np.ndarray | None, i0: int,
                 s: float, dt: np.dtype, bk: int,
                 on_tile: Callable[[_Tile], None] | None = None) -> tuple[Any, np.ndarray, np.ndarray]:
    """Walk the key blocks for the query rows qb (rows i0.. of q); call ``on_tile`` after each
    block; return (states, acc, special).  Every softmax step goes through the C row plan."""
    rows, m_keys = qb.shape[0], ka.shape[0]
    states = _native.new_states(rows, "online", "softmax")
    acc = np.zeros((rows, va.shape[1]), dtype=dt)
    width = min(bk, m_keys)
    S = np.empty((rows, width), dtype=dt)
    P = np.empty_like(S)
    with np.errstate(over="ignore", invalid="ignore"):
        for j0 in range(0, m_keys, bk):
            j1 = min(j0 + bk, m_keys)
            w = j1 - j0
            tile = S if w == width else np.empty((rows, w), dtype=dt)
            np.matmul(qb, ka[j0:j1].T, out=tile)
            tile *= dt.type(s)
            if keep is not None:
                hidden = ~keep[i0:i0 + rows, j0:j1]
                if hidden.all():
                    continue          # a block hidden from every row of this query block: skip it
                tile[hidden] = -np.inf
            m_old = states.view["max"].copy()
            _native.accumulate_rows(states, 0, tile)              # C: running max and sum
            m_new = states.view["max"]
            # the shift for exp(s - m): the running max, except in rows that have seen only -inf
            states.view["shift"] = np.where(_empty_max(m_new, dt), 0.0, m_new)
            states.view["scale"] = 1.0
            p = P if w == width else np.empty_like(tile)
            _native.finish_rows(states, tile, p)                  # C: p = exp(s - m_new)
            # Milakov & Gimelshein's rescale, applied to the partial output: both maxima are
            # finite (never -inf, see _empty_max), so exp(m_old - m_new) is a number in [0, 1]
            alpha = np.exp(m_old - m_new)
            acc *= alpha[:, None].astype(dt)
            acc += p @ va[j0:j1]
            if on_tile is not None:
                on_tile(_Tile(j0, j1, m_old, m_new.copy(), states.view["sum"].copy(), alpha, acc, p))
    # finalize: lse = m + log(l), scale = 1 / l.  For the softmax op the online plan does not read
    # the row, so a column of the last tile stands in for it (the C API wants one row per state).
    special = _native.finalize_rows(states, np.ascontiguousarray(S[:, :1]))
    return states, acc, special


def _special_row(qa: np.ndarray, ka: np.ndarray, va: np.ndarray, keep: np.ndarray | None, i: int,
                 s: float, dt: np.dtype) -> tuple[np.ndarray, float]:
    """One query row with NaN or +inf among its scores: the C core's special path on the whole
    row (O(M) memory, once), as softviz.softmax does."""
    with np.errstate(over="ignore", invalid="ignore"):
        row = (qa[i] @ ka.T) * dt.type(s)
        if keep is not None:
            row[~keep[i]] = -np.inf
        p = softmax(row, algorithm="online")
        return p @ va, float(logsumexp(row.astype(np.float64), algorithm="online"))


def tiled_attention(q: ArrayLike, k: ArrayLike, v: ArrayLike, *, block_q: int = 128, block_k: int = 256,
                    scale: float | None = None, mask: ArrayLike | None = None, causal: bool = False,
                    return_stats: bool = False) -> Any:
    """Attention block by block with the online softmax, never storing the score matrix.

    For each block of ``block_q`` query rows, walks the keys in blocks of ``block_k``:
    the scores tile S = q_blk k_blk^T * scale (numpy matmul), the C core folds it into
    every row's running max m and running sum l (``sv_accumulate_rows``), forms
    P = exp(S - m) (``sv_finish_rows`` with shift m), and numpy updates the partial
    output acc <- exp(m_old - m) acc + P v_blk.  At the end the C core finalizes each
    row (lse = m + log l, scale 1/l) and O = acc / l (FlashAttention-2's order: one
    division at the end).  Memory: O(block_q * block_k + N d), never N x M.

    Causal blocks entirely above the diagonal are skipped (FlashAttention does the same).
    A row whose scores hold NaN or +inf takes the C core's special path on its whole row,
    like ``softviz.softmax``.  ``return_stats=True`` returns an ``AttentionResult`` (the
    output, the log-sum-exp, the row maxima, the special rows, the number of rescales).

    Dao et al. 2022 (arXiv:2205.14135) and Dao 2023 (arXiv:2307.08691) describe the GPU
    algorithm; the online rule is Milakov & Gimelshein 2018 (arXiv:1805.02867).

    Used in: notebooks/08_attention.ipynb, softviz.bench.attention.
    """
    bq, bk = _block("block_q", block_q), _block("block_k", block_k)
    return_stats = _validate.boolean("return_stats", return_stats)
    qa, ka, va, keep, causal, s, dt = _inputs(q, k, v, mask, causal, scale)
    if not _native.AVAILABLE:
        raise RuntimeError(f"tiled_attention needs the compiled C core ({_native.LOAD_ERROR})")
    n = qa.shape[0]
    out = np.empty((n, va.shape[1]), dtype=dt)
    lse = np.full(n, -np.inf)
    mx = np.full(n, -np.inf)
    special_rows = np.zeros(n, dtype=bool)
    rescales = 0
    for i0 in range(0, n, bq):
        i1 = min(i0 + bq, n)
        # causal (key j visible to query i iff j <= i): keys past the block's last query are
        # hidden from all its rows, so their blocks are never touched
        m_eff = min(i1, ka.shape[0]) if causal else ka.shape[0]
        counted = [0]

        def count(tile: _Tile, counted: list[int] = counted) -> None:
            counted[0] += int(np.count_nonzero((tile.m_new > tile.m_old) & ~_empty_max(tile.m_old, dt)))

        states, acc, special = _query_block(qa[i0:i1], ka[:m_eff], va[:m_eff], keep, i0, s, dt, bk,
                                            count if return_stats else None)
        rescales += counted[0]
        view = states.view
        with np.errstate(over="ignore", invalid="ignore"):
            out[i0:i1] = acc * view["scale"][:, None].astype(dt)
        lse[i0:i1] = view["lse"]
        mx[i0:i1] = view["max"]
        for r in np.flatnonzero(special):
            o_row, lse_row = _special_row(qa, ka, va, keep, i0 + int(r), s, dt)
            out[i0 + r] = o_row
            lse[i0 + r] = lse_row
            special_rows[i0 + r] = True
    result = out.astype(_out_dtype(np.asarray(q), np.asarray(k), np.asarray(v), dt), copy=False)
    if return_stats:
        return AttentionResult(out=result, lse=lse, max=mx, special=special_rows, rescales=rescales)
    return result


def error_bound(q: ArrayLike, k: ArrayLike, v: ArrayLike, *, scale: float | None = None,
                mask: ArrayLike | None = None, causal: bool = False) -> dict[str, np.ndarray]:
    """How far ``tiled_attention`` may be from ``attention`` (the one-shot softmax), per query row.

    Two roundings differ between them.  The softmax's: exp(s - m) has a relative error that
    grows with |s - m| (lesson 06), and the sums are added in another order, so
    ``out`` = 4 eps (1 + range_i) max|v|, range_i the spread of row i's finite scores.  And the
    scores': the tiles' matrix products may add the d terms of q . k in another order than the
    whole matrix's, an error up to about d eps sum_c |q_ic k_jc| scale = d eps c_i, which moves
    the weights by as much again: 2 d eps c_i max|v| is added to ``out``, and ``lse`` =
    8 eps (1 + |lse_i|) + 2 d eps c_i.  eps is the working precision's machine epsilon.
    A bound the tests check on random shapes, blocks and masks, not a proof.

    Used in: notebooks/08_attention.ipynb, tests/test_attention.py.
    """
    qa, ka, va, keep, _, s, dt = _inputs(q, k, v, mask, causal, scale)
    _check_size(qa.shape[0], ka.shape[0])
    eps = float(np.finfo(dt).eps)
    d = qa.shape[1]
    with np.errstate(over="ignore", invalid="ignore"):
        S = (qa.astype(np.float64) @ ka.T.astype(np.float64)) * s
        size = np.abs(qa).astype(np.float64) @ np.abs(ka).T.astype(np.float64) * s
        if keep is not None:
            S[~keep] = np.nan
            size[~keep] = 0.0
        spread = np.nanmax(S, axis=1) - np.nanmin(S, axis=1)
        m = np.nanmax(S, axis=1)
        lse = m + np.log(np.nansum(np.exp(S - m[:, None]), axis=1))
    vmax = float(np.abs(va).max()) if va.size else 0.0
    scores = 2 * d * eps * size.max(axis=1)
    return {"out": (4 * eps * (1 + spread) + scores) * vmax, "lse": 8 * eps * (1 + np.abs(lse)) + scores}


# --------------------------------------------------------------------------- the step-through

@dataclasses.dataclass(frozen=True, eq=False)
class TileStep:
    """One step of ``tiled_trace``: the query block's state after ``keys_done`` keys.

    ``block`` (0 before the first key block, then 1, 2, ...), ``keys`` the key range of
    the block just folded in (``(0, 0)`` at the start); per query row: ``max`` (running
    max m, -inf before any key), ``sum`` (running sum l of exp(s - m)), ``rescale``
    (exp(m_old - m_new): 1 when the max did not move), ``max_moved`` (bool per row),
    ``partial`` (acc / l: the output if the keys so far were all the keys; NaN before the
    first), ``bytes_tiled`` and ``bytes_naive`` moved so far (``attention_traffic``'s
    accounting) and ``scores_stored`` (entries of S the tiled version holds at once).

    Used in: notebooks/08_attention.ipynb (softviz.panels.AttentionPanel).
    """

    block: int
    keys: tuple[int, int]
    max: np.ndarray
    sum: np.ndarray
    rescale: np.ndarray
    max_moved: np.ndarray
    partial: np.ndarray
    bytes_tiled: int
    bytes_naive: int
    scores_stored: int


@dataclasses.dataclass(frozen=True, eq=False)
class TiledTrace:
    """Every key block of ``tiled_attention`` for one query block (see ``tiled_trace``).

    ``steps[0]`` is the state before any key; ``scores`` the full score matrix of the
    block (for drawing only: the tiled code never holds it); ``reference`` the one-shot
    output ``attention`` gives; ``out`` the tiled output after the last block.

    Used in: notebooks/08_attention.ipynb (softviz.panels.AttentionPanel).
    """

    block_k: int
    scores: np.ndarray
    reference: np.ndarray
    out: np.ndarray
    steps: tuple[TileStep, ...]

    def __len__(self) -> int:
        return len(self.steps)


def tiled_trace(q: ArrayLike, k: ArrayLike, v: ArrayLike, *, block_k: int = 8, scale: float | None = None,
                mask: ArrayLike | None = None, causal: bool = False) -> TiledTrace:
    """Run ``tiled_attention``'s inner loop for the query rows q (one query block), recording
    the state after every key block: running max, running sum, the rescale factor and the
    partial output, and the bytes each approach has moved so far.

    The very code ``tiled_attention`` runs (the C core's state API), so the last step's
    output is ``tiled_attention(q, k, v, block_q=len(q), block_k=block_k)``.  At most
    ``TRACE_MAX_KEYS`` keys.

    Used in: notebooks/08_attention.ipynb (softviz.panels.AttentionPanel).
    """
    bk = _block("block_k", block_k)
    qa, ka, va, keep, causal, s, dt = _inputs(q, k, v, mask, causal, scale)
    if ka.shape[0] > TRACE_MAX_KEYS:
        raise ValueError(f"tiled_trace records at most {TRACE_MAX_KEYS} keys (k has {ka.shape[0]})")
    if qa.shape[0] > TRACE_MAX_KEYS:
        raise ValueError(f"tiled_trace takes one query block of at most {TRACE_MAX_KEYS} rows "
                         f"(q has {qa.shape[0]})")
    if not _native.AVAILABLE:
        raise RuntimeError(f"tiled_trace needs the compiled C core ({_native.LOAD_ERROR})")
    n, d, dv = qa.shape[0], qa.shape[1], va.shape[1]
    item = dt.itemsize
    with np.errstate(over="ignore", invalid="ignore"):
        S = (qa @ ka.T) * dt.type(s)
    if keep is not None:
        S[~keep] = -np.inf
    reference = np.asarray(attention(qa, ka, va, scale=s, mask=keep))
    nan_row = np.full((n, dv), np.nan)
    steps = [TileStep(0, (0, 0), np.full(n, -np.inf), np.zeros(n), np.ones(n), np.zeros(n, bool), nan_row,
                      n * d * item, n * d * item, 0)]
    # naive: S written, read twice and P written by the softmax, P read: the N x M matrices go
    # through memory 5 times (attention_traffic); per key block, its share
    naive_per_key = (n * 5 + d + dv) * item

    def record(it: _Tile) -> None:
        w = it.j1 - it.j0
        empty_new = _empty_max(it.m_new, dt)
        with np.errstate(divide="ignore", invalid="ignore"):
            partial = np.where(empty_new[:, None], np.nan, it.acc / it.l_new[:, None])
        prev = steps[-1]
        steps.append(TileStep(
            block=len(steps), keys=(it.j0, it.j1),
            max=np.where(empty_new, -np.inf, it.m_new),
            sum=it.l_new.copy(),
            rescale=np.where(_empty_max(it.m_old, dt), 1.0, it.alpha),
            max_moved=(it.m_new > it.m_old) & ~_empty_max(it.m_old, dt),
            partial=partial.astype(np.float64),
            bytes_tiled=prev.bytes_tiled + w * (d + dv) * item,
            bytes_naive=prev.bytes_naive + w * naive_per_key,
            scores_stored=n * w))

    states, acc, special = _query_block(qa, ka, va, keep, 0, s, dt, bk, record)
    with np.errstate(over="ignore", invalid="ignore"):
        out = acc * states.view["scale"][:, None].astype(dt)
    for r in np.flatnonzero(special):
        out[r] = _special_row(qa, ka, va, keep, int(r), s, dt)[0]
    # both write O at the end, the tiled version also the lse
    last = steps[-1]
    steps[-1] = dataclasses.replace(last, bytes_tiled=last.bytes_tiled + (n * dv + n) * item,
                                    bytes_naive=last.bytes_naive + n * dv * item)
    return TiledTrace(block_k=bk, scores=S, reference=reference, out=out, steps=tuple(steps))


# --------------------------------------------------------------------------- memory

def attention_traffic(n: int, m: int | None = None, d: int = 64, *, dv: int | None = None, block_q: int = 128,
                      block_k: int = 256, dtype: str = "float32") -> dict[str, int]:
    """Bytes moved through main memory by the naive and the tiled forward pass.

    Naive (three matrices): read Q and K, write S (n m), the softmax reads S twice and
    writes P (two-pass/online accounting of lesson 06), read P and V, write O:
    n d + m d + 5 n m + m dv + n dv elements.  Tiled (FlashAttention's accounting): read Q
    once, K and V once per query block, write O and the lse; the scores stay in a
    block_q x block_k tile: n d + ceil(n / block_q) m (d + dv) + n dv + n.
    Returns ``naive``, ``tiled`` (bytes), ``naive_scores`` (bytes of S alone),
    ``tile_scores`` (bytes of one score tile) and ``ratio`` = naive // tiled.

    Used in: notebooks/08_attention.ipynb (and AttentionPanel).
    """
    n = _validate.integer("n", n, lo=1, hi=1 << 40)
    m = n if m is None else _validate.integer("m", m, lo=1, hi=1 << 40)
    d = _validate.integer("d", d, lo=1, hi=1 << 20)
    dv = d if dv is None else _validate.integer("dv", dv, lo=1, hi=1 << 20)
    bq, bk = _block("block_q", block_q), _block("block_k", block_k)
    item = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8}[
        _validate.choice("dtype", dtype, ("float16", "bfloat16", "float32", "float64"))]
    naive = (n * d + m * d + 5 * n * m + m * dv + n * dv) * item
    tiled = (n * d + -(-n // bq) * m * (d + dv) + n * dv + n) * item
    return {"naive": naive, "tiled": tiled, "naive_scores": n * m * item,
            "tile_scores": min(bq, n) * min(bk, m) * item, "ratio": naive // tiled}


def tile_working_set(block_q: int, block_k: int, d: int = 64, *, dv: int | None = None,
                     dtype: str = "float32") -> int:
    """Bytes one tile step touches: the query block (block_q d), the key and value blocks
    (block_k (d + dv)), the score tile and its exponentials (2 block_q block_k) and the
    partial output (block_q dv); the per-row states (72 bytes each) are left out.

    Used in: notebooks/08_attention.ipynb, softviz.exercises.attention.
    """
    bq, bk = _block("block_q", block_q), _block("block_k", block_k)
    d = _validate.integer("d", d, lo=1, hi=1 << 20)
    dv = d if dv is None else _validate.integer("dv", dv, lo=1, hi=1 << 20)
    item = {"float32": 4, "float64": 8}[_validate.choice("dtype", dtype, ("float32", "float64"))]
    return (bq * d + bk * (d + dv) + 2 * bq * bk + bq * dv) * item


def largest_tile(cache_bytes: int, d: int = 64, *, dtype: str = "float32") -> int:
    """The largest power of two b with ``tile_working_set(b, b, d)`` <= cache_bytes (1 if none).

    Used in: notebooks/08_attention.ipynb (the reference answer of exercise 3).
    """
    cache_bytes = _validate.integer("cache_bytes", cache_bytes, lo=1, hi=1 << 50)
    d = _validate.integer("d", d, lo=1, hi=1 << 20)
    dtype = _validate.choice("dtype", dtype, ("float32", "float64"))
    b = 1
    while 2 * b <= MAX_BLOCK and tile_working_set(2 * b, 2 * b, d, dtype=dtype) <= cache_bytes:
        b *= 2
    return b


def cache_size(level: int = 2) -> int | None:
    """This machine's data cache of ``level`` (1, 2 or 3) in bytes, per core, as the operating
    system reports it (Linux sysfs, sysconf or sysctl, read by ``softviz.bench.machine``);
    None where it does not say.

    Used in: notebooks/08_attention.ipynb (exercise 3).
    """
    level = _validate.integer("level", level, lo=1, hi=3)
    from .bench.machine import cache_sizes  # imported here: softviz.bench pulls in matplotlib

    return cache_sizes().get(f"L{level}")


# --------------------------------------------------------------------------- the scale

def scale_sweep(dims: ArrayLike = (4, 8, 16, 32, 64, 128, 256, 512, 1024), *, n_keys: int = 64,
                n_queries: int = 64, rng: Any = 0) -> dict[str, np.ndarray]:
    """What the 1/sqrt(d) scale does, over the key dimension d, for random unit-variance q, k.

    For every d: ``score_std`` (the standard deviation of q . k, about sqrt(d)), and with
    the scale 1/sqrt(d) (``*_scaled``) and without it (``*_unscaled``): the mean attention
    entropy in nats (ln n_keys is uniform, 0 one-hot), the mean largest weight, and the
    mean Frobenius norm of the softmax Jacobian diag(p) - p p^T, the factor every gradient
    through the softmax is multiplied by (it vanishes as the softmax saturates);
    ``weights_scaled``/``weights_unscaled`` hold the first query's attention weights
    (one row per d).  The vectors for a smaller d are the first d coordinates of the
    larger ones, so moving d changes the same vectors.

    Used in: notebooks/08_attention.ipynb (and AttentionScalePanel).
    """
    d_arr = _validate.real_array("dims", dims, ndim=1, nonempty=True)
    if np.any(d_arr != np.round(d_arr)) or np.any(d_arr < 1) or np.any(d_arr > 4096):
        raise ValueError("dims must hold whole numbers between 1 and 4096")
    n_keys = _validate.integer("n_keys", n_keys, lo=2, hi=4096)
    n_queries = _validate.integer("n_queries", n_queries, lo=1, hi=4096)
    if n_keys * n_queries * int(d_arr.max()) > 1 << 26:
        raise ValueError("n_keys * n_queries * max(dims) must be at most 2**26")
    gen = _validate.rng(rng)
    dmax = int(d_arr.max())
    Q = gen.standard_normal((n_queries, dmax))
    K = gen.standard_normal((n_keys, dmax))
    out: dict[str, list[float]] = {key: [] for key in (
        "score_std", "entropy_scaled", "entropy_unscaled", "top_scaled", "top_unscaled",
        "jacobian_scaled", "jacobian_unscaled")}
    weights: dict[str, list[np.ndarray]] = {"scaled": [], "unscaled": []}
    for d in d_arr.astype(int):
        raw = Q[:, :d] @ K[:, :d].T
        out["score_std"].append(float(raw.std()))
        for tag, factor in (("scaled", 1.0 / math.sqrt(d)), ("unscaled", 1.0)):
            p = softmax(raw * factor, axis=1)
            weights[tag].append(p[0])
            out[f"entropy_{tag}"].append(float(np.mean(entropy(p, axis=1))))
            out[f"top_{tag}"].append(float(p.max(axis=1).mean()))
            # ||diag(p) - p p^T||_F^2 = sum p^2 - 2 sum p^3 + (sum p^2)^2
            s2, s3 = (p ** 2).sum(axis=1), (p ** 3).sum(axis=1)
            out[f"jacobian_{tag}"].append(float(np.mean(np.sqrt(np.maximum(s2 - 2 * s3 + s2 ** 2, 0.0)))))
    return {"dims": d_arr.astype(int), **{key: np.array(val) for key, val in out.items()},
            "weights_scaled": np.array(weights["scaled"]), "weights_unscaled": np.array(weights["unscaled"])}


# --------------------------------------------------------------------------- precision

def _round(x: np.ndarray, fmt: str) -> np.ndarray:
    if fmt == "float16":
        with np.errstate(over="ignore"):
            return x.astype(np.float16).astype(np.float64)
    if fmt == "bfloat16":
        return round_bfloat16(x).astype(np.float64)
    return x.astype(np.float32).astype(np.float64)


def running_sum_in(values: ArrayLike, dtype: str = "float16") -> np.ndarray:
    """The running sum of ``values``, rounded to ``dtype`` after every addition (float16,
    bfloat16 or float32): how a softmax denominator accumulated in that format grows.

    In float16 a sum of ones stops at 2048 (2048 + 1 rounds back to 2048), in bfloat16 at 256.

    Used in: notebooks/08_attention.ipynb.
    """
    fmt = _validate.choice("dtype", dtype, _PRECISIONS)
    vals = _validate.real_array("values", values, ndim=1, max_size=1 << 20)
    if fmt == "float16":
        return np.cumsum(vals.astype(np.float16), dtype=np.float16).astype(np.float64)
    if fmt == "float32":
        return np.cumsum(vals.astype(np.float32), dtype=np.float32).astype(np.float64)
    out = np.empty(vals.size)
    total = np.zeros(1)
    terms = _round(vals, fmt)
    for i, t in enumerate(terms):   # bfloat16 has no numpy type: round after every addition
        total = _round(total + t, fmt)
        out[i] = total[0]
    return out


def precision_study(n_keys: int = 16384, d: int = 128, *, spread: float = 1.0, gap: float = 0.01,
                    rng: Any = 0) -> dict[str, Any]:
    """Attention's softmax in float16, bfloat16 and float32, for one query over ``n_keys`` keys.

    Queries and keys are unit-variance vectors times ``spread`` (large activations), so
    the scaled scores s = q . k / sqrt(d) have a standard deviation of spread^2; the top key
    is moved just below the top of its bfloat16 rounding interval and the runner-up
    to ``gap`` below it (a near tie, common in practice, that bfloat16 cannot resolve when
    ``gap`` is under 0.95 of its spacing there: 1/64 for scores between 2 and 4).  Per
    format (``formats[name]``): ``exp_overflow``: keys whose exp(q . k), without the scale
    and without the max shift, is past the format's largest number; ``score_overflow``: unscaled scores q . k that are inf when stored
    in it; ``winner_kept``: the top key stays strictly on top once the scores are rounded to
    the format; ``tied_at_top``: keys sharing the rounded top score; ``running_sum`` and
    ``sum_low``: the softmax denominator sum exp(s - max) accumulated in the format, against
    ``sum_exact``; ``max_error``: the largest probability error with the statistics (max,
    sum) kept in the format, and ``max_error_mixed`` with the scores rounded to it but the
    statistics in float32, as mixed-precision attention kernels do.

    Used in: notebooks/08_attention.ipynb (and softviz.figures.attention.plot_precision).
    """
    n_keys = _validate.integer("n_keys", n_keys, lo=2, hi=1 << 16)
    d = _validate.integer("d", d, lo=1, hi=4096)
    # below 1e-3 the scores are all about 0: nothing to see, and their rounding intervals degenerate
    spread = _validate.real_scalar("spread", spread, lo=1e-3, hi=100.0)
    gap = _validate.real_scalar("gap", gap, lo=0.0, hi=10.0)
    gen = _validate.rng(rng)
    q = spread * gen.standard_normal(d)
    K = spread * gen.standard_normal((n_keys, d))
    scaled = K @ q / math.sqrt(d)
    order = np.argsort(scaled)[::-1]
    top, second = int(order[0]), int(order[1])
    # place the winner just below the top of its bfloat16 rounding interval and the
    # runner-up `gap` below it (along q, so only their scores change): a near tie that
    # bfloat16 cannot resolve when gap is under 0.95 of its spacing there
    # (the grid point at or above the top score: both keys move up, none overtakes them)
    spacing = 2.0 ** (math.floor(math.log2(abs(float(scaled[top])))) - 7) if scaled[top] else 2.0 ** -133
    centre = math.ceil(float(scaled[top]) / spacing) * spacing
    unit = math.sqrt(d) * q / float(q @ q)
    K[top] += (centre + 0.45 * spacing - scaled[top]) * unit
    K[second] += (centre + 0.45 * spacing - gap - scaled[second]) * unit
    raw = K @ q
    scaled = raw / math.sqrt(d)
    p_exact = np.asarray(softmax(scaled))
    shifted = scaled - scaled.max()
    exact_sum = float(np.exp(shifted).sum())
    rows: dict[str, dict[str, Any]] = {}
    limit = {"float16": 65504.0, "bfloat16": 3.3895313892515355e38, "float32": float(np.finfo(np.float32).max)}
    for fmt in _PRECISIONS:
        s_low = _round(scaled, fmt)
        best = s_low.max()
        tied = int(np.count_nonzero(s_low == best))
        e_low = _round(np.exp(_round(s_low - best, fmt)), fmt)
        sums = running_sum_in(e_low, fmt)
        p_low = e_low / sums[-1]
        e_mixed = np.exp((s_low - best).astype(np.float32))   # statistics in float32
        p_mixed = e_mixed / e_mixed.sum(dtype=np.float32)
        with np.errstate(over="ignore"):
            unshifted = np.exp(_round(raw, fmt))
        rows[fmt] = {
            "exp_overflow": int(np.count_nonzero(unshifted > limit[fmt])),
            "score_overflow": int(np.count_nonzero(np.abs(raw) > limit[fmt])),
            "winner_kept": bool(tied == 1 and s_low[top] == best),
            "tied_at_top": tied,
            "sum_low": float(sums[-1]),
            "running_sum": sums,
            "max_error": float(np.max(np.abs(p_low - p_exact))),
            "max_error_mixed": float(np.max(np.abs(p_mixed.astype(np.float64) - p_exact))),
        }
    return {"n_keys": n_keys, "d": d, "spread": spread, "gap": gap, "scores": scaled,
            "raw_max": float(np.abs(raw).max()), "sum_exact": exact_sum,
            "running_sum_exact": np.cumsum(np.exp(shifted)), "formats": rows}
