"""Self-check for the Gumbel-max exercise (lesson 03): a statistical test of the student's sampler.

The student writes ``my_gumbel_max(logits, size, rng)`` returning ``size``
class indices drawn as argmax(logits + G), G = -log(-log U). The check draws
10^5 samples per case from a generator seeded with a fixed seed, counts them
and runs a chi-square goodness-of-fit test against softmax(logits)
(``softviz.gumbel.chisquare_gof``, i.e. ``scipy.stats.chisquare``). A case
fails when p < 1e-3: a right sampler fails by bad luck once in a thousand
cases (rerun with another ``seed`` if you are sure), a biased one fails
essentially always at this sample size.

A failing sampler is compared (chi-square test of homogeneity,
``scipy.stats.chi2_contingency``) with samplers that make the usual mistakes:
exponential noise (-log U instead of -log(-log U)), the sign of G, argmin
instead of argmax, uniform or Gaussian noise; the hint names the one it
matches.

Two more checks of the lesson live here:

* ``check_relaxed_sample``: ``fn(logits, g, tau)`` returns the Gumbel-softmax
  sample softmax((logits + g) / tau) for given noise g, finite for tiny tau
  (Jang, Gu, Poole 2017, arXiv:1611.01144; Maddison, Mnih, Teh 2017,
  arXiv:1611.00712);
* ``check_gumbel_top_k``: ``fn(logits, k, rng)`` returns k distinct indices, the
  Gumbel-top-k draw without replacement; a chi-square test against the exact
  Plackett-Luce probabilities of every ordered k-tuple (Kool, van Hoof,
  Welling 2019, arXiv:1903.06059).

Used in: notebooks/03_gumbel.ipynb
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import scipy.stats

from .. import core
from .. import gumbel as gm
from .checking import FAIL, OK, TODO, CheckResult, fmt, fn_name, guarded, not_callable

__all__ = ["check_gumbel_max", "check_relaxed_sample", "check_gumbel_top_k"]

_N_DRAWS = 100_000
_ALPHA = 1e-3
_SEED = 20170101  # fixed: the verdict is the same on every run and machine


class _Case(NamedTuple):
    name: str
    z: np.ndarray
    note: str = ""  # added to the hint when the sampler raises on this case


_CASES = (
    _Case("three logits [1, 2, 3]", np.array([1.0, 2.0, 3.0])),
    _Case("a masked class [0.5, -inf, 0, 1.5]", np.array([0.5, -np.inf, 0.0, 1.5])),
    # No exp anywhere in Gumbel-max: huge logits are fine, a naive softmax is not.
    _Case("large logits [1000, 1002, 1001]", np.array([1000.0, 1002.0, 1001.0]),
          " exp(1000) overflows, but Gumbel-max needs no exp and no softmax: add the noise "
          "to the logits themselves."),
)


class _Mistake(NamedTuple):
    sampler: Callable  # (z, size, rng) -> indices
    hint: str


def _noise_mistake(noise, pick=np.argmax):
    def sampler(z, size, rng):
        with np.errstate(all="ignore"):
            return pick(z + noise(rng, (size, z.size)), axis=-1)
    return sampler


_MISTAKES = (
    _Mistake(_noise_mistake(lambda rng, shape: rng.standard_exponential(shape)),
             "the counts match logits + exponential noise. -log(U) is Exponential(1), not "
             "Gumbel: the Gumbel needs two logs, G = -log(-log(U))."),
    _Mistake(_noise_mistake(lambda rng, shape: -gm.sample_gumbel(shape, rng)),
             "the counts match logits - G (a sign slip): G = -log(-log(U)), with the minus "
             "sign in front; log(-log(U)) is the mirror image of a Gumbel."),
    _Mistake(_noise_mistake(lambda rng, shape: gm.sample_gumbel(shape, rng), np.argmin),
             "the counts match argmin(logits + G): take the argmax, the largest perturbed logit wins."),
    _Mistake(_noise_mistake(lambda rng, shape: rng.random(shape)),
             "the counts match logits + uniform noise U: transform U into a Gumbel first, "
             "G = -log(-log(U))."),
    _Mistake(_noise_mistake(lambda rng, shape: rng.standard_normal(shape)),
             "the counts match logits + Gaussian noise: only Gumbel noise makes argmax "
             "follow softmax(logits) exactly."),
)


def _mistake_hint(counts, z, seed):
    """The hint of the known mistake whose counts are consistent with ``counts``, or None."""
    best, best_p = None, _ALPHA
    for i, mistake in enumerate(_MISTAKES):
        theirs = np.bincount(mistake.sampler(z, _N_DRAWS, np.random.default_rng(seed + 1 + i)),
                             minlength=z.size)
        table = np.array([counts, theirs])
        table = table[:, table.sum(axis=0) > 0]
        if table.shape[1] < 2:  # both always draw the same single class
            p = 1.0 if np.array_equal(counts > 0, theirs > 0) else 0.0
        else:
            p = float(scipy.stats.chi2_contingency(table).pvalue)
        if p > best_p:
            best, best_p = mistake.hint, p
    return best


def _as_indices(got, z):
    """(indices, None) if ``got`` is a valid vector of draws, else (None, hint)."""
    arr = np.asarray(got)
    if arr.shape != (_N_DRAWS,):
        hint = (f"expected {_N_DRAWS} indices (shape ({_N_DRAWS},), one per draw), got shape "
                f"{arr.shape}.")
        if arr.shape == (_N_DRAWS, z.size):
            hint += " Take the argmax over the classes: np.argmax(..., axis=-1)."
        return None, hint
    if arr.dtype.kind == "f" and np.isfinite(arr).all() and (arr == np.round(arr)).all():
        arr = arr.astype(np.intp)
    if arr.dtype.kind not in "iu":
        return None, (f"expected integer class indices (np.argmax returns them), got dtype "
                      f"{arr.dtype}.")
    if arr.min() < 0 or arr.max() >= z.size:
        return None, (f"indices must be between 0 and {z.size - 1}, got values from {arr.min()} "
                      f"to {arr.max()}.")
    return arr, None


def _verdict(fn, seed) -> CheckResult:
    missing = not_callable("check_gumbel_max", fn)
    if missing is not None:
        return missing
    name = fn_name(fn)
    for number, case in enumerate(_CASES):
        z = case.z
        try:
            with np.errstate(all="ignore"):
                got = fn(z.copy(), _N_DRAWS, np.random.default_rng(seed))
        except NotImplementedError:
            return CheckResult(None, f"{TODO} not done yet: {name} raises NotImplementedError. "
                                     f"Replace the stub with your code, then run this cell again.")
        except Exception as exc:  # a student bug: report it, never re-raise
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            return CheckResult(False, f'{FAIL} {name} fails case "{case.name}":\n'
                                      f"  Hint: it raised {type(exc).__name__}"
                                      + (f": {first}" if first else "")
                                      + f". The check calls {name}(logits, size, rng) with a 1-D "
                                        f"float array, size={_N_DRAWS} and a numpy Generator."
                                      + case.note,
                               case.name)
        if got is None:
            return CheckResult(None, f"{TODO} not done yet: {name} returned None (the stub). "
                                     f"Write your code in place of `return None`, then run this "
                                     f"cell again.")
        draws, hint = _as_indices(got, z)
        if hint is None and number == 0:
            with np.errstate(all="ignore"):
                again = fn(z.copy(), _N_DRAWS, np.random.default_rng(seed))
            if not np.array_equal(np.asarray(again), np.asarray(got)):
                hint = ("two calls with generators made from the same seed gave different draws: "
                        "take every random number from the rng argument (rng.random(...)), not "
                        "from np.random.* or a new default_rng(), so results are reproducible.")
        if hint is not None:
            return CheckResult(False, f'{FAIL} {name} fails case "{case.name}":\n  Hint: {hint}',
                               case.name)
        probs = core.softmax(z)
        fit = gm.chisquare_gof(draws, probs)
        if fit.pvalue >= _ALPHA:
            continue
        if np.count_nonzero(fit.counts) == 1:
            hint = ("every draw gave the same class: is the noise fresh for each draw and each "
                    f"class (G needs shape (size, {z.size})), and is it Gumbel noise? (Uniform "
                    f"noise in [0, 1) never overcomes a logit gap of 1.)")
        else:
            hint = _mistake_hint(fit.counts, z, seed)
        if hint is None:
            impossible = np.flatnonzero((probs == 0) & (fit.counts > 0))
            if impossible.size:
                hint = (f"class {impossible[0]} has logit -inf and must never be drawn: "
                        f"-inf + G is -inf, so keep -inf as it is.")
            else:
                hint = ("the frequencies do not follow softmax(logits). Draw U = rng.random((size, "
                        "n)), set G = -log(-log(U)), return np.argmax(logits + G, axis=-1).")
        text = (f'{FAIL} {name} fails case "{case.name}":\n'
                f"    softmax(logits)    = {fmt(probs)}\n"
                f"    your frequencies   = {fmt(fit.counts / _N_DRAWS)}  ({_N_DRAWS:,} draws)\n"
                f"    chi-square p-value = {fit.pvalue:.2g} (below {_ALPHA:g}: not a softmax sampler)\n"
                f"  Hint: {hint}")
        return CheckResult(False, text, case.name)
    return CheckResult(True, f"{OK} {name} passes the chi-square test (p >= {_ALPHA:g}, "
                             f"{_N_DRAWS:,} draws each) on all {len(_CASES)} cases: "
                             f"[1, 2, 3], a masked class, large logits; and it is reproducible.")


def check_gumbel_max(fn: Callable[..., Any] | None, *, seed: int = _SEED) -> CheckResult:
    """Check a Gumbel-max sampler ``fn(logits, size, rng) -> size class indices``.

    For each case (logits [1, 2, 3]; a -inf class; logits around 1000), draws
    10^5 samples with ``numpy.random.default_rng(seed)`` and runs a chi-square
    goodness-of-fit test against softmax(logits) at level 1e-3; also checks the
    sampler is reproducible with its ``rng``. A biased sampler gets a hint
    naming its likely mistake (exponential noise, sign of G, argmin, uniform or
    Gaussian noise). Prints a verdict and returns a :class:`CheckResult`;
    never raises.

    Used in: notebooks/03_gumbel.ipynb
    """
    return guarded("check_gumbel_max", lambda: _verdict(fn, int(seed)))


# --------------------------------------------------------------------------
# check_relaxed_sample: y = softmax((logits + g) / tau), stable for small tau
# --------------------------------------------------------------------------

def _relaxed_cases():
    gen = np.random.default_rng(20170102)  # fixed: every student gets the same noise
    z3 = np.array([1.0, 2.0, 3.0])
    g3 = gen.gumbel(size=3)
    batch_z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [5.0, -1.0, 2.0], [1.0, 1.0, 1.0]])
    return (
        ("logits [1, 2, 3], tau = 1", z3, g3, 1.0),
        ("logits [1, 2, 3], tau = 0.3", z3, g3, 0.3),
        ("a masked class [0.5, -inf, 0, 1.5], tau = 0.5", np.array([0.5, -np.inf, 0.0, 1.5]),
         gen.gumbel(size=4), 0.5),
        ("a batch of 4 rows (softmax along the last axis), tau = 2", batch_z,
         gen.gumbel(size=(4, 3)), 2.0),
        ("logits [1, 2, 3], tau = 0.002 (exp would overflow)", z3, g3, 0.002),
    )


_RELAXED = _relaxed_cases()


def _softmax_last(a):
    with np.errstate(invalid="ignore"):
        return core.softmax(np.asarray(a, dtype=np.float64), axis=-1)


def _relaxed_hint(z, g, tau, got):
    guesses = (
        (_softmax_last(z + g), "this is softmax(logits + g): divide the perturbed logits by tau."),
        (_softmax_last((z + g) * tau), "this multiplies by tau; the relaxed sample divides: "
                                       "softmax((logits + g) / tau)."),
        (_softmax_last(z / tau), "this is softmax(logits / tau): add the noise g first."),
        (_softmax_last(z + g / tau), "only g was divided by tau: divide the whole sum, "
                                     "(logits + g) / tau."),
    )
    for want, hint in guesses:
        if got.shape == want.shape and np.allclose(got, want, rtol=1e-7, atol=1e-12):
            return hint
    return None


def _raised(name, case, exc, how_called):
    """The verdict when the student's function raised: a stub's NotImplementedError means "not
    done yet"; anything else fails the case with the first line of the message."""
    if isinstance(exc, NotImplementedError):
        return CheckResult(None, f"{TODO} not done yet: {name} raises NotImplementedError. "
                                 f"Replace the stub with your code, then run this cell again.")
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return CheckResult(False, f'{FAIL} {name} fails case "{case}":\n  Hint: it raised '
                              f"{type(exc).__name__}" + (f": {first}" if first else "")
                              + f". The check calls {how_called}.", case)


def _relaxed_verdict(fn):
    missing = not_callable("check_relaxed_sample", fn)
    if missing is not None:
        return missing
    name = fn_name(fn)
    for case, z, g, tau in _RELAXED:
        try:
            with np.errstate(all="ignore"):
                got = fn(z.copy(), g.copy(), tau)
        except Exception as exc:
            return _raised(name, case, exc, f"{name}(logits, g, tau) with float arrays of the same "
                                            f"shape and a float tau")
        if got is None:
            return CheckResult(None, f"{TODO} not done yet: {name} returned None (the stub). "
                                     f"Write your code in place of `return None`, then run this "
                                     f"cell again.")
        want = _softmax_last((z + g) / tau)
        arr = np.asarray(got, dtype=np.float64) if np.asarray(got).dtype.kind in "biuf" else None
        if arr is None or arr.shape != want.shape:
            shape = None if arr is None else arr.shape
            hint = (f"expected an array of shape {want.shape} (one probability per class), got "
                    f"{type(got).__name__}" + ("" if shape is None else f" of shape {shape}") + ".")
        elif np.allclose(arr, want, rtol=1e-9, atol=1e-14):
            continue
        elif not np.isfinite(arr).all():
            hint = ("got NaN or inf: exp((logits + g) / tau) overflows when tau is small (here "
                    f"the largest exponent is {np.max((z + g) / tau):.0f}, and exp overflows past "
                    "709). Subtract the largest perturbed logit first: softmax(a) = "
                    "softmax(a - max(a)), the trick of lesson 01 (or call softviz.softmax).")
        else:
            hint = _relaxed_hint(z, g, tau, arr)
            if hint is None and arr.ndim == 2 and np.allclose(arr.sum(axis=0), 1.0):
                hint = "the columns sum to 1: normalise along the last axis (axis=-1)."
            if hint is None:
                hint = ("the result is not softmax((logits + g) / tau): exponentiate the perturbed, "
                        "divided logits and normalise along the last axis.")
        return CheckResult(False, f'{FAIL} {name} fails case "{case}":\n'
                                  f"    expected {fmt(want)}\n    got      {fmt(got)}\n"
                                  f"  Hint: {hint}", case)
    return CheckResult(True, f"{OK} {name} gives softmax((logits + g) / tau) on all "
                             f"{len(_RELAXED)} cases (tau from 2 down to 0.002, a masked class, "
                             f"a batch).")


def check_relaxed_sample(fn: Callable[..., Any] | None) -> CheckResult:
    """Check a Gumbel-softmax sample ``fn(logits, g, tau) -> softmax((logits + g) / tau)``.

    The noise g is given, so the answer is exact; cases include a -inf logit,
    a 2-D batch (softmax along the last axis) and tau = 0.002, where a naive
    exp overflows. A wrong answer gets a hint naming the likely slip (no
    division by tau, a product instead, no noise, overflow). Prints a verdict
    and returns a :class:`CheckResult`; never raises.

    Used in: notebooks/03_gumbel.ipynb
    """
    return guarded("check_relaxed_sample", lambda: _relaxed_verdict(fn))


# --------------------------------------------------------------------------
# check_gumbel_top_k: k distinct indices, Plackett-Luce distributed
# --------------------------------------------------------------------------

_TOP_K_DRAWS = 20_000
_TOP_K_CASES = (
    ("four logits [1, 2, 3, 0], k = 2", np.array([1.0, 2.0, 3.0, 0.0]), 2),
    ("a masked class [0.5, -inf, 0, 1.5], k = 3", np.array([0.5, -np.inf, 0.0, 1.5]), 3),
    ("large logits [1000, 1002, 1001, 999], k = 2", np.array([1000.0, 1002.0, 1001.0, 999.0]), 2),
)


def _top_k_draws(fn, z, k, seed):
    """(tuples as an (N, k) int array, None) or (None, hint)."""
    gen = np.random.default_rng(seed)
    rows = []
    for _ in range(_TOP_K_DRAWS):
        got = fn(z.copy(), k, gen)
        if got is None:
            return None, None
        arr = np.asarray(got)
        if arr.shape != (k,):
            return None, (f"return k = {k} indices (shape ({k},)), got shape {arr.shape}."
                          + (" Take the first k of the order, not all of it." if arr.ndim == 1
                             and arr.size == z.size else ""))
        if arr.dtype.kind == "f" and np.isfinite(arr).all() and (arr == np.round(arr)).all():
            arr = arr.astype(np.intp)
        if arr.dtype.kind not in "iu" or arr.min() < 0 or arr.max() >= z.size:
            return None, f"expected class indices in [0, {z.size}), got {fmt(arr)}."
        if np.unique(arr).size != k:
            return None, (f"a draw repeats a class ({arr.tolist()}): sampling without "
                          f"replacement gives k distinct classes. Take the k largest of ONE "
                          f"perturbed vector logits + G, not k separate Gumbel-max draws.")
        rows.append(arr)
    return np.array(rows), None


def _top_k_verdict(fn, seed):
    missing = not_callable("check_gumbel_top_k", fn)
    if missing is not None:
        return missing
    name = fn_name(fn)
    for case, z, k in _TOP_K_CASES:
        try:
            with np.errstate(all="ignore"):
                draws, hint = _top_k_draws(fn, z, k, seed)
        except Exception as exc:
            return _raised(name, case, exc, f"{name}(logits, k, rng) with a 1-D float array, an int k "
                                            f"and a numpy Generator")
        if draws is None and hint is None:
            return CheckResult(None, f"{TODO} not done yet: {name} returned None (the stub). "
                                     f"Write your code in place of `return None`, then run this "
                                     f"cell again.")
        if hint is not None:
            return CheckResult(False, f'{FAIL} {name} fails case "{case}":\n  Hint: {hint}', case)
        allowed = [i for i in range(z.size) if np.isfinite(z[i])]
        orders = list(itertools.permutations(allowed, k))
        index = {o: j for j, o in enumerate(orders)}
        bad = [tuple(r) for r in draws.tolist() if tuple(r) not in index]
        if bad:
            return CheckResult(False, f'{FAIL} {name} fails case "{case}":\n  Hint: it drew '
                                      f"{list(bad[0])}, which holds a class with logit -inf; such "
                                      f"a class can never be drawn (-inf + G is -inf).", case)
        exact = np.array([gm.plackett_luce_probability(o, z) for o in orders])
        exact /= exact.sum()  # rounding only: the tuples cover every outcome
        fit = gm.chisquare_gof(np.array([index[tuple(r)] for r in draws.tolist()]), exact)
        if fit.pvalue >= _ALPHA:
            continue
        first_fit = gm.chisquare_gof(draws[:, 0], core.softmax(z))
        if len({tuple(r) for r in draws.tolist()}) == 1:
            hint = ("every draw gave the same tuple: add fresh Gumbel noise to the logits on "
                    "every call (rng.gumbel or -log(-log(rng.random(n)))), then take the k largest.")
        elif np.all(np.diff(draws, axis=1) > 0):
            hint = ("every tuple is in increasing index order: return the classes in the order "
                    "drawn, the largest perturbed logit first (np.argsort(-(logits + G))[:k]), "
                    "not sorted by index.")
        elif gm.chisquare_gof(np.array([index.get(tuple(r[::-1]), 0) for r in draws.tolist()]),
                              exact).pvalue >= _ALPHA:
            hint = ("the tuples come out reversed, smallest of the k first: np.argsort sorts "
                    "ascending; take np.argsort(-(logits + G))[:k], the largest first.")
        elif first_fit.pvalue < _ALPHA:
            hint = ("even the first class does not follow softmax(logits): is the noise Gumbel, "
                    "G = -log(-log(U)), with one fresh value per class?")
        else:
            hint = ("the first class follows softmax(logits) but the later ones do not: the "
                    "runner-up must be the second largest of the SAME perturbed logits.")
        text = (f'{FAIL} {name} fails case "{case}":\n'
                f"    chi-square p-value over the {len(orders)} ordered {k}-tuples = "
                f"{fit.pvalue:.2g} (below {_ALPHA:g}: not a draw without replacement)\n"
                f"  Hint: {hint}")
        return CheckResult(False, text, case)
    return CheckResult(True, f"{OK} {name} draws k distinct classes with the exact "
                             f"without-replacement probabilities (chi-square p >= {_ALPHA:g} over "
                             f"every ordered tuple, {_TOP_K_DRAWS:,} draws) on all "
                             f"{len(_TOP_K_CASES)} cases.")


def check_gumbel_top_k(fn: Callable[..., Any] | None, *, seed: int = _SEED) -> CheckResult:
    """Check a Gumbel-top-k sampler ``fn(logits, k, rng) -> k distinct class indices``.

    For each case (logits [1, 2, 3, 0] with k = 2; a -inf class with k = 3;
    logits around 1000) calls ``fn`` 20,000 times with one
    ``numpy.random.default_rng(seed)`` and runs a chi-square test of the
    ordered k-tuples against their Plackett-Luce probabilities at level 1e-3
    (Kool, van Hoof, Welling 2019, arXiv:1903.06059). Hints name the usual
    slips: repeated classes, no noise, ascending order, sorted indices.
    Prints a verdict and returns a :class:`CheckResult`; never raises.

    Used in: notebooks/03_gumbel.ipynb
    """
    return guarded("check_gumbel_top_k", lambda: _top_k_verdict(fn, int(seed)))
