"""Tests of the self-checks added for lessons 03-05 (Gumbel, Soft-NMS, KDE regimes).

Each check must pass a right solution, call the stub "not done yet", and give a
failing verdict with the hint for the slip it claims to recognise -- and never raise.
"""
import math

import numpy as np
import pytest

import softviz
from softviz import exercises, nms
from softviz.exercises import (
    check_box_iou,
    check_condensation_bandwidth,
    check_gumbel_top_k,
    check_participation_ratio,
    check_relaxed_sample,
)


def _stub(*args):
    return None


def _raises(*args):
    raise RuntimeError("boom")


@pytest.mark.parametrize("check", [check_relaxed_sample, check_gumbel_top_k, check_box_iou,
                                   check_participation_ratio, check_condensation_bandwidth])
def test_stub_none_and_raising_functions_never_raise(check, capsys):
    assert check(_stub).passed is None
    assert check(None).passed is None
    assert check(42).passed is False
    bad = check(_raises)
    assert bad.passed is False and "RuntimeError: boom" in bad.message
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["check_relaxed_sample", "check_gumbel_top_k", "check_box_iou",
                                  "check_participation_ratio", "check_condensation_bandwidth"])
def test_new_checks_are_exported(name):
    assert name in exercises.__all__ and callable(getattr(exercises, name))


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

def _iou(a, b, *, clamp=True, subtract=True, plus=0.0):
    w = min(a[2], b[2]) - max(a[0], b[0]) + plus
    h = min(a[3], b[3]) - max(a[1], b[1]) + plus
    if clamp:
        w, h = max(w, 0.0), max(h, 0.0)
    union = (a[2] - a[0] + plus) * (a[3] - a[1] + plus) + (b[2] - b[0] + plus) * (b[3] - b[1] + plus)
    return w * h / (union - (w * h if subtract else 0.0))


def test_box_iou_right_and_library():
    assert check_box_iou(_iou)
    assert check_box_iou(lambda a, b: nms.box_iou(a[None], b[None])[0, 0])


@pytest.mark.parametrize("kwargs, words", [
    ({"clamp": False}, "clamp each at 0"),
    ({"subtract": False}, "counts the intersection twice"),
    ({"plus": 1.0}, "pixel-inclusive"),
])
def test_box_iou_slips_get_their_hint(kwargs, words):
    r = check_box_iou(lambda a, b: _iou(a, b, **kwargs))
    assert r.passed is False and words in r.message, r.message


def test_no_case_name_cites_a_file_outside_the_repository():
    from softviz.exercises import nms as nms_checks

    assert not any("DESIGN" in c.name for c in nms_checks._cases())


# -- lesson 05 ---------------------------------------------------------------------------

def _pr(x, data, h, factor=2.0):
    w = softviz.softmax(-((x - data) ** 2).sum(axis=1) / (factor * h * h))
    return 1.0 / np.sum(w * w)


def test_participation_ratio_right_and_slips():
    assert check_participation_ratio(_pr)
    assert check_participation_ratio(
        lambda x, d, h: softviz.kde.participation_ratio(softviz.kde.kernel_weights(x, d, h)))

    def naive(x, data, h):
        k = np.exp(-((x - data) ** 2).sum(axis=1) / (2 * h * h))
        w = k / k.sum()
        return 1.0 / np.sum(w * w)

    r = check_participation_ratio(naive)
    assert r.passed is False and "underflows" in r.message and "d = 200" in r.case
    r = check_participation_ratio(lambda x, d, h: 1.0 / _pr(x, d, h))
    assert r.passed is False and "its inverse" in r.message
    r = check_participation_ratio(lambda x, d, h: _pr(x, d, h, factor=1.0))
    assert r.passed is False and "the 2 is missing" in r.message


def _condensation(sq, hs, stat=np.median):
    best = math.nan
    for h in hs:
        if stat(softviz.softmax(-sq / (2 * h * h), axis=1).max(axis=1)) > 0.5:
            best = h
    return best


def test_condensation_bandwidth_right_and_slips():
    assert check_condensation_bandwidth(_condensation)

    def naive(sq, hs):
        best = math.nan
        for h in hs:
            k = np.exp(-sq / (2 * h * h))
            if np.median((k / k.sum(axis=1, keepdims=True)).max(axis=1)) > 0.5:
                best = h
        return best

    r = check_condensation_bandwidth(naive)
    assert r.passed is False and "away from the data" in r.case and "softmax" in r.message
    r = check_condensation_bandwidth(lambda sq, hs: _condensation(sq, hs, np.mean))
    assert r.passed is False and "median" in r.message

    def one_step_late(sq, hs):
        for h in hs:
            if np.median(softviz.softmax(-sq / (2 * h * h), axis=1).max(axis=1)) <= 0.5:
                return h
        return math.nan

    r = check_condensation_bandwidth(one_step_late)
    assert r.passed is False and "one grid step" in r.message


def test_condensation_bandwidth_is_near_h_g_in_a_simulation():
    # What the lesson shows: measured condensation sets in just below the theory's h_G.
    sim = softviz.kde.simulate(0.2, 40, n_test=150, rng=2)
    h = _condensation(sim.sq, np.round(np.geomspace(0.4, 2.0, 33), 4))
    assert 0.6 * softviz.kde.h_g(sim.alpha) < h <= softviz.kde.h_g(sim.alpha)
