"""softviz.exercises.kde (lesson 05): participation ratio and condensation bandwidth.

Each check must pass a right solution and give a failing verdict with the hint for
the slip it claims to recognise (stub, non-callable and raising functions:
tests/test_exercises.py).
"""
import math

import numpy as np

import softviz
from softviz.exercises import (
    check_condensation_bandwidth,
    check_participation_ratio,
)

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
