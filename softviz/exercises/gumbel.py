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

Used in: notebooks/03_gumbel.ipynb
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import scipy.stats

from .. import core
from .. import gumbel as gm
from ._check import _FAIL, _OK, _TODO, CheckResult, _fmt, _name, _not_callable, guarded

__all__ = ["check_gumbel_max"]

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
    missing = _not_callable("check_gumbel_max", fn)
    if missing is not None:
        return missing
    name = _name(fn)
    for number, case in enumerate(_CASES):
        z = case.z
        try:
            with np.errstate(all="ignore"):
                got = fn(z.copy(), _N_DRAWS, np.random.default_rng(seed))
        except NotImplementedError:
            return CheckResult(None, f"{_TODO} not done yet: {name} raises NotImplementedError. "
                                     f"Replace the stub with your code, then run this cell again.")
        except Exception as exc:  # a student bug: report it, never re-raise
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            return CheckResult(False, f'{_FAIL} {name} fails case "{case.name}":\n'
                                      f"  Hint: it raised {type(exc).__name__}"
                                      + (f": {first}" if first else "")
                                      + f". The check calls {name}(logits, size, rng) with a 1-D "
                                        f"float array, size={_N_DRAWS} and a numpy Generator."
                                      + case.note,
                               case.name)
        if got is None:
            return CheckResult(None, f"{_TODO} not done yet: {name} returned None (the stub). "
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
            return CheckResult(False, f'{_FAIL} {name} fails case "{case.name}":\n  Hint: {hint}',
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
        text = (f'{_FAIL} {name} fails case "{case.name}":\n'
                f"    softmax(logits)    = {_fmt(probs)}\n"
                f"    your frequencies   = {_fmt(fit.counts / _N_DRAWS)}  ({_N_DRAWS:,} draws)\n"
                f"    chi-square p-value = {fit.pvalue:.2g} (below {_ALPHA:g}: not a softmax sampler)\n"
                f"  Hint: {hint}")
        return CheckResult(False, text, case.name)
    return CheckResult(True, f"{_OK} {name} passes the chi-square test (p >= {_ALPHA:g}, "
                             f"{_N_DRAWS:,} draws each) on all {len(_CASES)} cases: "
                             f"[1, 2, 3], a masked class, large logits; and it is reproducible.")


def check_gumbel_max(fn, *, seed=_SEED) -> CheckResult:
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
