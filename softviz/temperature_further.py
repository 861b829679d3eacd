"""Temperature in the wild: the going-further part of lesson 02.

Each is just enough for a few numbers and a plot: ``moe_gate`` (dense-to-sparse
gating of a mixture of experts), ``sac_tune_alpha`` (the entropy temperature
alpha_SAC of Soft Actor-Critic), ``soft_targets``, ``distillation_loss`` and
``distillation_gradient`` (knowledge distillation).  Built on softviz.temperature,
which also exposes these names.

Papers:
  G. Hinton, O. Vinyals, J. Dean, "Distilling the Knowledge in a Neural Network",
  2015, arXiv:1503.02531.
  T. Haarnoja et al., "Soft Actor-Critic Algorithms and Applications", 2018,
  arXiv:1812.05905.
  H. Nguyen, P. Akbarian, N. Ho, "Is Temperature Sample Efficient for Softmax
  Gaussian Mixture of Experts?", ICML 2024, arXiv:2401.13875.

Used in: notebooks/02_temperature_further.ipynb
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from . import _validate as V
from .core import logsumexp
from .temperature import _entropy_at, _logits, _need_a_finite_entry, _shift, _temperature, _tempered

__all__ = ["MAX_STEPS", "moe_gate", "sac_tune_alpha", "soft_targets", "distillation_loss", "distillation_gradient"]

#: Most optimisation steps ``sac_tune_alpha`` runs (each costs one softmax and one entropy).
MAX_STEPS = 10_000


# --------------------------------------------------------------------------
# Temperature in the wild
# --------------------------------------------------------------------------

def moe_gate(x: ArrayLike, weights: ArrayLike, biases: ArrayLike, T: float,
             activation: Callable[[np.ndarray], ArrayLike] | None = None) -> np.ndarray:
    """Gate of a mixture of experts with a temperature: softmax((w_k x + b_k) / T) over experts k.

    ``x`` holds m scalar inputs, ``weights``/``biases`` one number per expert;
    returns (m, K) gate probabilities (rows sum to 1). Large T: dense (every
    expert shares every input); small T: sparse (one expert per input), which
    is how dense-to-sparse gating anneals T during training. ``activation``
    (e.g. ``numpy.tanh``) is applied to w_k x + b_k before the temperature:
    the "activation dense-to-sparse gate" of Nguyen, Akbarian & Ho.

    Without an activation the gate only sees (w, b) / T: (c w, c b, c T) gives
    the same gate for every c > 0, the simplest face of the interaction
    between temperature and gating parameters that Nguyen, Akbarian & Ho
    ("Is Temperature Sample Efficient for Softmax Gaussian Mixture of
    Experts?", ICML 2024, arXiv:2401.13875) show slows parameter estimation
    (as slow as 1 / log n).

    Used in: notebooks/02_temperature_further.ipynb
    """
    T = _temperature(T)
    x = V.real_array("x", x).reshape(-1)
    w = V.real_array("weights", weights, ndim=(0, 1)).reshape(-1)
    b = V.real_array("biases", biases, ndim=(0, 1)).reshape(-1)
    activation = V.function("activation", activation)
    if w.size == 0:
        raise ValueError("weights must hold one number per expert, got none")
    if w.shape != b.shape:
        raise ValueError(f"weights and biases need one number per expert, got {w.size} and {b.size}")
    if x.size * w.size > V.MAX_ELEMENTS:
        raise ValueError(f"x ({x.size}) x weights ({w.size}) gate values exceed the limit "
                         f"{V.MAX_ELEMENTS}")
    with np.errstate(over="ignore", invalid="ignore"):
        scores = x.reshape(-1, 1) * w + b
    if not np.isfinite(scores).all():
        raise ValueError("x, weights and biases give an infinite gate score w x + b; use smaller values")
    if activation is not None:
        scores = V.real_array("activation(w x + b)", activation(scores), finite="neginf")
        if scores.shape != (x.size, w.size):
            raise ValueError(f"activation must keep the shape {(x.size, w.size)} of w x + b, "
                             f"got {scores.shape}")
        _need_a_finite_entry(scores, -1, "activation(w x + b)")
    return _tempered(scores, T, -1)


def sac_tune_alpha(q: ArrayLike, target_entropy: float, *, alpha0: float = 1.0, lr: float = 0.5,
                   steps: int = 50) -> dict[str, np.ndarray]:
    """Soft Actor-Critic's temperature tuning on one state with discrete actions.

    The soft-optimal policy for action values ``q`` is pi = softmax(q / alpha);
    alpha is tuned by gradient descent on J(alpha) = alpha (H(pi) - H_target)
    in log alpha (pi held fixed in the gradient, as in SAC):
    log alpha <- log alpha - lr (H(pi) - H_target). Too random (H above target)
    lowers alpha, too greedy raises it; the fixed point is
    ``temperature_for_entropy(q, target_entropy)``. Exact entropies, no sampling.
    ``lr`` is in (0, 100], ``steps`` in [0, MAX_STEPS]; alpha is kept within
    [1e-300, 1e300] so that a large step cannot overflow it.

    Returns a dict of arrays of length steps + 1: ``"alpha"`` and ``"entropy"``.
    T. Haarnoja et al., "Soft Actor-Critic Algorithms and Applications", 2018,
    arXiv:1812.05905.

    Used in: notebooks/02_temperature_further.ipynb
    """
    q = _logits(q, "q", one_d=True)
    _need_a_finite_entry(q, -1, "q")
    alpha = _temperature(alpha0, "alpha0")
    lr = V.real_scalar("lr", lr, lo=0.0, hi=100.0, lo_open=True)
    steps = V.integer("steps", steps, lo=0, hi=MAX_STEPS,
                      hi_reason="each step computes a softmax and an entropy")
    target = V.real_scalar("target_entropy", target_entropy)
    high = math.log(q.size)
    if not 0 <= target <= high:
        raise ValueError(f"target_entropy must lie in [0, ln n = {high:.6g}] for the n = {q.size} "
                         f"action values of q, got {target_entropy!r}")
    log_alpha = math.log(alpha)
    bound = math.log(1e300)
    alphas, entropies = [], []
    for _ in range(steps + 1):
        alpha = math.exp(log_alpha)
        h = _entropy_at(q, alpha)
        alphas.append(alpha)
        entropies.append(h)
        log_alpha = min(max(log_alpha - lr * (h - target), -bound), bound)
    return {"alpha": np.array(alphas), "entropy": np.array(entropies)}


def soft_targets(teacher_logits: ArrayLike, T: float) -> np.ndarray:
    """Hinton et al.'s soft targets softmax(z_teacher / T): T > 1 reveals the "dark knowledge".

    The small probabilities a teacher gives to wrong classes (how much a "2"
    looks like a "3" or a "7") are invisible at T = 1 and carry information
    at T = 2..20. G. Hinton, O. Vinyals, J. Dean, "Distilling the Knowledge in
    a Neural Network", 2015, arXiv:1503.02531.

    Used in: notebooks/02_temperature_further.ipynb
    """
    T = _temperature(T)
    z = _logits(teacher_logits, "teacher_logits")
    _need_a_finite_entry(z, -1, "teacher_logits")
    return _tempered(z, T, -1)


def _distillation_args(student_logits: ArrayLike, teacher_logits: ArrayLike,
                       T: float) -> tuple[float, np.ndarray, np.ndarray]:
    T = _temperature(T)
    zs = _logits(student_logits, "student_logits", one_d=True)
    zt = _logits(teacher_logits, "teacher_logits", one_d=True)
    if zs.shape != zt.shape:
        raise ValueError(f"student_logits and teacher_logits need the same number of classes, "
                         f"got {zs.size} and {zt.size}")
    _need_a_finite_entry(zs, -1, "student_logits")
    _need_a_finite_entry(zt, -1, "teacher_logits")
    return T, zs, zt


def distillation_loss(student_logits: ArrayLike, teacher_logits: ArrayLike, T: float) -> float:
    """T^2 * cross-entropy(soft_targets(teacher, T), softmax(student / T)), in nats.

    The T^2 keeps the gradient's size comparable across temperatures (the
    soft-target gradient scales as 1 / T^2), as Hinton et al. recommend.
    +inf when the student gives probability 0 (a -inf logit) to a class the
    teacher does not.

    Used in: notebooks/02_temperature_further.ipynb
    """
    T, zs, zt = _distillation_args(student_logits, teacher_logits, T)
    q = _tempered(zt, T, -1)
    shifted, _ = _shift(zs, -1)
    # T^2 * CE = -T * sum q * (T log p), with T log p = (z - max z) - T logsumexp((z - max z) / T):
    # finite even where T^2 underflows and log p overflows (T -> 0+), so never 0 * inf
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        t_log_p = shifted - T * logsumexp(shifted / T)
        terms = np.where(q > 0, q * t_log_p, 0.0)
        return float(-T * np.sum(terms))


def distillation_gradient(student_logits: ArrayLike, teacher_logits: ArrayLike, T: float) -> np.ndarray:
    """Gradient of ``distillation_loss`` with respect to the student logits: T (p - q).

    p = softmax(z_s / T), q = softmax(z_t / T). For large T and zero-mean
    logits it tends to (z_s - z_t) / n: distillation becomes matching the
    logits (Hinton et al., section 2.1).

    Used in: notebooks/02_temperature_further.ipynb
    """
    T, zs, zt = _distillation_args(student_logits, teacher_logits, T)
    with np.errstate(over="ignore"):  # T (p - q) past 1.8e308 is inf, as it should be
        return T * (_tempered(zs, T, -1) - _tempered(zt, T, -1))
