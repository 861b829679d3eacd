"""softviz.exercises.gumbel (lesson 03): relaxed samples and Gumbel-top-k.

Each check must pass a right solution and give a failing verdict with the hint for
the slip it claims to recognise (stub, non-callable and raising functions:
tests/test_exercises.py).
"""

import numpy as np
import pytest

import softviz
from softviz.exercises import (
    check_gumbel_top_k,
    check_relaxed_sample,
)

# -- lesson 03 ---------------------------------------------------------------------------

def test_relaxed_sample_right_and_its_slips():
    assert check_relaxed_sample(lambda z, g, t: softviz.softmax((z + g) / t))

    def naive(z, g, t):
        e = np.exp((z + g) / t)
        return e / e.sum(axis=-1, keepdims=True)

    r = check_relaxed_sample(naive)
    assert r.passed is False and "tau = 0.002" in r.case and "overflows" in r.message
    r = check_relaxed_sample(lambda z, g, t: softviz.softmax(z + g))
    assert r.passed is False and "divide the perturbed logits by tau" in r.message
    r = check_relaxed_sample(lambda z, g, t: softviz.softmax(z / t))
    assert r.passed is False and "add the noise g" in r.message
    r = check_relaxed_sample(lambda z, g, t: softviz.softmax((z + g) / t, axis=0))
    assert r.passed is False and "batch" in r.case


def _top_k(z, k, rng):
    return np.argsort(-(z + rng.gumbel(size=z.size)))[:k]


def test_gumbel_top_k_right_solutions_pass():
    assert check_gumbel_top_k(_top_k)
    # the library's own sampler and sequential draws without replacement are exact too
    assert check_gumbel_top_k(lambda z, k, rng: softviz.gumbel.gumbel_top_k(z, k, rng=rng))


@pytest.mark.parametrize("fn, words", [
    (lambda z, k, rng: np.array([np.argmax(z + rng.gumbel(size=z.size)) for _ in range(k)]),
     "repeats a class"),
    (lambda z, k, rng: np.argsort(-z)[:k], "same tuple"),
    (lambda z, k, rng: np.argsort(z + rng.gumbel(size=z.size))[-k:], "reversed"),
    (lambda z, k, rng: np.sort(_top_k(z, k, rng)), "increasing index order"),
    (lambda z, k, rng: np.argsort(-(z + rng.standard_exponential(z.size)))[:k],
     "does not follow softmax"),
    (lambda z, k, rng: np.argsort(-(z + rng.gumbel(size=z.size)))[:k + 1], "shape"),
])
def test_gumbel_top_k_slips_get_their_hint(fn, words):
    r = check_gumbel_top_k(fn)
    assert r.passed is False and words in r.message, r.message


def test_gumbel_top_k_masked_class_must_never_be_drawn():
    def unmasked(z, k, rng):
        return _top_k(np.where(np.isfinite(z), z, 0.0), k, rng)

    r = check_gumbel_top_k(unmasked)
    assert r.passed is False and "masked" in r.case and "-inf" in r.message


# -- lesson 04 ---------------------------------------------------------------------------
