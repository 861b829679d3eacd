"""Softmax in training: cross-entropy, its gradient, and softmax collapse happening live.

A tiny but real training run in numpy: modular addition (a + b mod p) learned
by a one-hidden-layer ReLU network, full batch, every operation in the chosen
dtype (float32 really runs in float32). Without regularisation the network fits
its training set and then keeps scaling its logits up ("naïve loss
minimisation"); in float32 the correct class's probability then rounds to
exactly 1, the sample's loss is exactly 0 and the gradient of its correct
logit is exactly 0: softmax collapse. StableMax (s(x) = x + 1 for x >= 0,
1 / (1 - x) for x < 0) avoids the collapse; ⊥Grad (the gradient with its
component along the weights removed) and weight decay stop the logit scaling
and let the network generalise.

From Prieto, Barsbey, Mediano and Birdal, "Grokking at the Edge of Numerical
Stability" (2025, arXiv:2501.04697); the task is the one of Power, Burda,
Edwards, Babuschkin and Misra, "Grokking: Generalization Beyond Overfitting on
Small Algorithmic Datasets" (2022, arXiv:2201.02177).

The defaults (p = 31, half of the 961 pairs for training, 128 hidden units,
Adam with learning rate 0.05 and beta2 = 0.99, 3000 full-batch steps) are
chosen so each run takes seconds and tells the story: softmax in float32
collapses (more than half of the training samples after about 1900 steps) and
never generalises; StableMax never collapses.

Used in: notebooks/07_training.ipynb
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import _validate
from ._validate import RngLike, positive_real

__all__ = [
    "ACTIVATIONS",
    "DTYPES",
    "OPTIMIZERS",
    "MAX_P",
    "MAX_STEPS",
    "MAX_HIDDEN",
    "MAX_LR",
    "MAX_WORK",
    "TrainingRun",
    "cross_entropy",
    "cross_entropy_grad",
    "per_sample_losses",
    "per_sample_grad",
    "modular_addition",
    "train",
    "train_run",
    "collapse_step",
    "cached_run",
]

ACTIVATIONS = ("softmax", "stablemax")
DTYPES = ("float32", "float64")
#: "adam": Adam; "perp_adam": ⊥Grad, i.e. Adam fed with the gradient whose component
#: along each weight matrix is removed (and its norm restored), as in Prieto et al.
OPTIMIZERS = ("adam", "perp_adam")

#: Largest modulus p: the one-hot inputs hold p**3 numbers (the lesson uses 31,
#: Power et al. 97).
MAX_P = 257
#: Most training steps of one run (the lesson's runs take 3000; ``MAX_WORK`` bounds the
#: larger networks further).
MAX_STEPS = 100_000
#: Most hidden units (the lesson's network has 128).
MAX_HIDDEN = 4096
#: Largest Adam learning rate: Adam moves each weight by about lr per step, so up to 1 the
#: weights, and the logits, stay far inside float32 over MAX_STEPS steps (no inf, no NaN).
MAX_LR = 1.0
#: Largest steps * training pairs * hidden * p of a run (its multiply-adds, up to a small
#: factor): the lesson's default run is about 5.7e9 and takes seconds; this takes minutes.
MAX_WORK = 1e11

_HISTORY_KEYS = ("step", "train_loss", "train_accuracy", "test_accuracy",
                 "collapsed_fraction", "logit_norm")


# --------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------

def _choice(name: str, value: object, options: Sequence[str]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {options}, got {type(value).__name__}")
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def _dtype_name(value: DTypeLike) -> str:
    if isinstance(value, str):
        return _choice("dtype", value, DTYPES)
    try:
        name = np.dtype(value).name if value is not None else None
    except TypeError:
        name = None
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {value!r}")
    return name


def _integer(name: str, value: object, minimum: int, maximum: int | None = None, reason: str = "") -> int:
    return _validate.integer(name, value, lo=minimum, hi=maximum, hi_reason=reason)


def _modulus(p: object) -> int:
    return _integer("p", p, 2, MAX_P, "the one-hot inputs hold p**3 numbers")


def _nonnegative_real(name: str, value: object) -> float:
    return _validate.real_scalar(name, value, lo=0.0)


def _rng(rng: object) -> np.random.Generator:
    return _validate.rng(rng)


def _logits_and_labels(logits: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    z = _validate.numeric_array("logits", logits)
    if z.dtype.kind != "f" or z.dtype.itemsize < 4:
        z = z.astype(np.float64) if z.dtype.kind != "f" else z.astype(np.float32)
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] < 2:
        raise ValueError(f"logits must be a 2-D array (samples, classes) with at least one sample "
                         f"and two classes, got shape {z.shape}")
    if not np.isfinite(z).all():
        raise ValueError("logits must be finite")
    y = _validate.numeric_array("labels", labels)
    if y.dtype.kind not in "iu":
        raise TypeError(f"labels must be integers, got an array of dtype {y.dtype}")
    if y.shape != (z.shape[0],):
        raise ValueError(f"labels must have shape ({z.shape[0]},) to match logits, got {y.shape}")
    if (y < 0).any() or (y >= z.shape[1]).any():
        raise ValueError(f"labels must lie in [0, {z.shape[1] - 1}]")
    return z, y.astype(np.intp)


# --------------------------------------------------------------------------
# losses and gradients, computed in the logits' dtype
# --------------------------------------------------------------------------

def _stablemax_s(z: np.ndarray) -> np.ndarray:
    one = z.dtype.type(1)
    neg = np.minimum(z, z.dtype.type(0))
    return np.where(z >= 0, z + one, one / (one - neg))


def _losses(z: np.ndarray, y: np.ndarray, activation: str) -> np.ndarray:
    rows = np.arange(z.shape[0])
    if activation == "softmax":
        # the max-shifted log-softmax every framework uses: once the correct
        # class leads by more than ~ p ln 2, 1 + sum(exp(...)) rounds to 1
        t = z - z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(t).sum(axis=1))
        return lse - t[rows, y]
    s = _stablemax_s(z)
    return np.log(s.sum(axis=1)) - np.log(s[rows, y])


def _sample_grads(z: np.ndarray, y: np.ndarray, activation: str) -> np.ndarray:
    rows = np.arange(z.shape[0])
    if activation == "softmax":
        t = z - z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(t).sum(axis=1, keepdims=True))
        g = np.exp(t - lse)       # p; exactly 1 at the correct class once collapsed
        g[rows, y] -= z.dtype.type(1)
        return g
    one = z.dtype.type(1)
    s = _stablemax_s(z)
    neg = np.minimum(z, z.dtype.type(0))
    ds = np.where(z >= 0, one, one / ((one - neg) * (one - neg)))   # s'(z)
    g = ds / s.sum(axis=1, keepdims=True)
    g[rows, y] -= ds[rows, y] / s[rows, y]
    return g


def per_sample_losses(logits: ArrayLike, labels: ArrayLike, *, activation: str = "softmax") -> np.ndarray:
    """The cross-entropy of each sample, -log(activation(z)_y), computed in the logits' dtype.

    A softmax loss that is exactly 0 marks a collapsed sample. Integer logits
    count as float64, float16 as float32.

    Used in: notebooks/07_training.ipynb
    """
    _choice("activation", activation, ACTIVATIONS)
    z, y = _logits_and_labels(logits, labels)
    with np.errstate(under="ignore"):
        return _losses(z, y, activation)


def cross_entropy(logits: ArrayLike, labels: ArrayLike, *, activation: str = "softmax") -> float:
    """Mean cross-entropy of ``logits`` (n, k) against integer ``labels`` (n,), in the logits' dtype.

    ``activation`` is "softmax" (the usual max-shifted log-softmax) or
    "stablemax" (Prieto et al. 2025, arXiv:2501.04697). Returned as a Python
    float holding the value computed in the logits' dtype.

    Used in: notebooks/07_training.ipynb
    """
    losses = per_sample_losses(logits, labels, activation=activation)
    return float(losses.mean(dtype=losses.dtype))


def per_sample_grad(logits: ArrayLike, labels: ArrayLike, *, activation: str = "softmax") -> np.ndarray:
    """d(loss_i)/d(z_i) for every sample i: softmax(z_i) - onehot(y_i) for softmax; same shape and dtype.

    For a collapsed sample the correct-class entry is exactly 0, the others
    are of order e^-margin. Used by the TrainingPanel's gradient view.

    Used in: notebooks/07_training.ipynb
    """
    _choice("activation", activation, ACTIVATIONS)
    z, y = _logits_and_labels(logits, labels)
    with np.errstate(under="ignore"):
        return _sample_grads(z, y, activation)


def cross_entropy_grad(logits: ArrayLike, labels: ArrayLike, *, activation: str = "softmax") -> np.ndarray:
    """d(mean cross-entropy)/d(logits): (softmax(z) - onehot(y)) / n for softmax, in the logits' dtype.

    Same shape as ``logits``. StableMax: s'(z_j) / sum s - [j = y] s'(z_y) / s(z_y),
    over n.

    Used in: notebooks/07_training.ipynb
    """
    g = per_sample_grad(logits, labels, activation=activation)
    return g / g.dtype.type(g.shape[0])


# --------------------------------------------------------------------------
# the task
# --------------------------------------------------------------------------

def modular_addition(p: int, *, train_fraction: float = 0.4, rng: RngLike = None
                     ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """All pairs (a, b), 0 <= a, b < p, labelled (a + b) mod p, randomly split in two.

    Returns ``((train_pairs, train_labels), (test_pairs, test_labels))``;
    pairs are int64 arrays of shape (n, 2), labels int64 of shape (n,).
    ``train_fraction`` of the p**2 pairs (rounded) go to training; both parts
    are non-empty. ``p`` should be a prime, as in Power et al. (2022,
    arXiv:2201.02177), but any integer >= 2 is accepted.

    Used in: notebooks/07_training.ipynb
    """
    p = _modulus(p)
    frac = positive_real("train_fraction", train_fraction)
    if frac >= 1:
        raise ValueError(f"train_fraction must lie strictly between 0 and 1, got {frac!r}")
    gen = _rng(rng)
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    pairs = np.stack([a.ravel(), b.ravel()], axis=1).astype(np.int64)
    labels = (pairs[:, 0] + pairs[:, 1]) % p
    n_train = min(max(int(round(frac * p * p)), 1), p * p - 1)
    order = gen.permutation(p * p)
    tr, te = np.sort(order[:n_train]), np.sort(order[n_train:])
    return (pairs[tr], labels[tr]), (pairs[te], labels[te])


# --------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, eq=False)
class TrainingRun:
    """One training run: its ``history`` (what ``train`` returns) and what the panel scrubs through.

    ``logits[r]`` holds the training logits (n_train, p) at step
    ``history["step"][r]``, in the run's dtype; ``labels`` the training labels;
    ``config`` the arguments of the run. Arrays are read-only (runs are cached).

    Used in: notebooks/07_training.ipynb (TrainingPanel)
    """

    history: dict[str, np.ndarray]
    logits: np.ndarray
    labels: np.ndarray
    config: dict[str, Any]

    def _record(self, index: int) -> np.ndarray:
        n = self.logits.shape[0]
        return self.logits[_validate.integer("index", index, lo=-n, hi=n - 1)]

    def grads_at(self, index: int) -> np.ndarray:
        """Per-sample gradients d(loss_i)/d(z_i) at record ``index``, in the run's dtype."""
        return per_sample_grad(self._record(index), self.labels,
                               activation=self.config["activation"])

    def losses_at(self, index: int) -> np.ndarray:
        """Per-sample losses at record ``index``, in the run's dtype."""
        return per_sample_losses(self._record(index), self.labels,
                                 activation=self.config["activation"])


_CACHE: collections.OrderedDict[tuple[tuple[str, Any], ...], TrainingRun] = collections.OrderedDict()
_CACHE_SIZE = 8


def run_config(p: int, activation: str, dtype: DTypeLike, weight_decay: float, steps: int, seed: int,
               optimizer: str, lr: float, hidden: int, train_fraction: float, record_every: int) -> dict[str, Any]:
    """The validated configuration of a run (what ``train`` and the TrainingPanel key their
    runs on); raises TypeError/ValueError naming the bad parameter.  Used by
    softviz.panels.training (notebooks/07_training.ipynb)."""
    cfg = {
        "p": _modulus(p),
        "activation": _choice("activation", activation, ACTIVATIONS),
        "dtype": _dtype_name(dtype),
        "weight_decay": _nonnegative_real("weight_decay", weight_decay),
        "steps": _integer("steps", steps, 1, MAX_STEPS, "the step loop alone takes tens of "
                                                        "seconds at this limit"),
        "seed": _integer("seed", seed, 0),
        "optimizer": _choice("optimizer", optimizer, OPTIMIZERS),
        "lr": _validate.real_scalar("lr", lr, lo=0.0, hi=MAX_LR, lo_open=True),
        "hidden": _integer("hidden", hidden, 1, MAX_HIDDEN),
        "train_fraction": positive_real("train_fraction", train_fraction),
        "record_every": _integer("record_every", record_every, 1),
    }
    _check_run_size(cfg)
    return cfg


def _check_run_size(cfg: dict[str, Any]) -> None:
    """Refuse, before any work, a run that would blow up or take far too long."""
    p, steps, hidden, frac = cfg["p"], cfg["steps"], cfg["hidden"], cfg["train_fraction"]
    if frac >= 1:
        raise ValueError(f"train_fraction must lie strictly between 0 and 1, got {frac!r}")
    if cfg["lr"] * cfg["weight_decay"] > 1:
        # decoupled decay multiplies the weights by 1 - lr * weight_decay each step: past 1
        # it flips their sign and they grow without bound
        raise ValueError(f"weight_decay must be <= 1 / lr = {1 / cfg['lr']:g} "
                         f"(lr * weight_decay > 1 makes the weights diverge), "
                         f"got {_validate.short(cfg['weight_decay'], 40)}")
    n = min(max(round(frac * p * p), 1), p * p - 1)   # as modular_addition splits
    work = steps * n * hidden * p
    if work > MAX_WORK:
        raise ValueError(f"this run is too large: steps * training pairs * hidden * p = "
                         f"{steps} * {n} * {hidden} * {p} = {work:.3g} exceeds {MAX_WORK:g} "
                         f"(minutes of work); lower steps, hidden, p or train_fraction")
    if n * hidden > _validate.MAX_ELEMENTS:
        raise ValueError(f"hidden = {hidden} with {n} training pairs (p = {p}) needs "
                         f"{n * hidden:.3g} activations; the limit is {_validate.MAX_ELEMENTS}")
    records = steps // cfg["record_every"] + 2
    if records * n * p > _validate.MAX_ELEMENTS:
        raise ValueError(f"record_every = {cfg['record_every']} keeps {records} snapshots of "
                         f"{n} x {p} logits, more than {_validate.MAX_ELEMENTS} numbers; "
                         f"raise record_every or lower steps")


def cached_run(config: dict[str, Any]) -> TrainingRun | None:
    """The cached ``TrainingRun`` of a checked config, or None (TrainingPanel asks before training).

    ``config`` is a dict of a run's arguments (as ``TrainingRun.config``).

    Used in: softviz.panels.TrainingPanel (notebooks/07_training.ipynb)
    """
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict of a run's arguments, got {type(config).__name__}")
    try:
        key = tuple(sorted(config.items()))
        hash(key)
    except TypeError:
        raise TypeError("config must map argument names (strings) to hashable values, "
                        f"got {_validate.short(config, 40)}") from None
    run = _CACHE.get(key)
    if run is not None:
        _CACHE.move_to_end(key)
    return run


def train_run(p: int = 31, *, activation: str = "softmax", dtype: DTypeLike = "float32",
              weight_decay: float = 0.0, steps: int = 3000, seed: int = 0,
              optimizer: str = "adam", lr: float = 0.05, hidden: int = 128,
              train_fraction: float = 0.5, record_every: int = 25,
              progress: Callable[[int, int], None] | None = None) -> TrainingRun:
    """Train the modular-addition network and keep what the lesson shows: see ``train``.

    Returns a ``TrainingRun``. Runs are cached by their arguments (the last
    eight), so the notebook's comparison and the panel share them.
    ``progress(step, steps)``, if given, is called every ``record_every``
    steps and at the end.

    Used in: notebooks/07_training.ipynb
    """
    config = run_config(p, activation, dtype, weight_decay, steps, seed, optimizer, lr, hidden,
                     train_fraction, record_every)
    _validate.function("progress", progress)
    run = cached_run(config)
    if run is None:
        # exp of very negative logits underflows to 0: expected. One BLAS thread: these
        # matrices are small, and on a shared 2-core machine BLAS threads waiting for each
        # other made a run ten times slower.
        with np.errstate(under="ignore"), _one_blas_thread():
            run = _train(config, progress)
        _CACHE[tuple(sorted(config.items()))] = run
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    elif progress is not None:
        progress(config["steps"], config["steps"])
    return run


def _one_blas_thread() -> AbstractContextManager[object]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: only the speed depends on it
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def train(p: int = 31, *, activation: str = "softmax", dtype: DTypeLike = "float32",
          weight_decay: float = 0.0, steps: int = 3000, seed: int = 0, **options: Any) -> dict[str, np.ndarray]:
    """Train a one-hidden-layer ReLU network on a + b mod p, full batch, in ``dtype``; return its curves.

    The input is one-hot(a) next to one-hot(b) (2p numbers), then ``hidden``
    ReLU units, then p logits (no biases). Every array and every operation is
    in ``dtype`` ("float32" or "float64"): weights, Adam's moments, logits,
    loss and gradients. ``activation`` is "softmax" or "stablemax";
    ``weight_decay`` is decoupled (AdamW: w <- w - lr * weight_decay * w).

    Options (keywords): ``optimizer`` ("adam" or "perp_adam", i.e. ⊥Grad:
    each weight matrix's gradient loses its component along the matrix and
    is rescaled to its old norm before Adam sees it), ``lr`` (0.05; Adam's
    beta1 = 0.9, beta2 = 0.99, eps = 1e-8), ``hidden`` (128),
    ``train_fraction`` (0.5), ``record_every`` (25), ``progress`` (a callback
    ``progress(step, steps)``).

    Returns a dict of equal-length 1-D float64 arrays, one entry every
    ``record_every`` steps (and the last step): "step", "train_loss" (mean,
    as computed in dtype), "train_accuracy", "test_accuracy",
    "collapsed_fraction" (training samples whose loss is exactly 0 in dtype:
    softmax collapse) and "logit_norm" (mean Euclidean norm of a training
    sample's logit vector). Seeded: the same arguments give the same numbers.

    Sizes are checked before any work: p <= ``MAX_P``, steps <= ``MAX_STEPS``,
    hidden <= ``MAX_HIDDEN``, steps * training pairs * hidden * p <= ``MAX_WORK``;
    lr <= ``MAX_LR`` and lr * weight_decay <= 1 keep the weights finite, so a
    run never ends in inf or NaN.

    With the defaults, softmax in float32 passes half collapsed after about
    1900 steps and its test accuracy stays near 0; StableMax never collapses
    (Prieto et al. 2025, arXiv:2501.04697).

    Used in: notebooks/07_training.ipynb
    """
    run = train_run(p, activation=activation, dtype=dtype, weight_decay=weight_decay,
                    steps=steps, seed=seed, **options)
    return {k: v.copy() for k, v in run.history.items()}


def _train(cfg: dict[str, Any], progress: Callable[[int, int], None] | None) -> TrainingRun:
    dt = np.dtype(cfg["dtype"])
    c = dt.type          # every constant becomes a scalar of the run's dtype: no silent float64
    p, hidden, steps, every = cfg["p"], cfg["hidden"], cfg["steps"], cfg["record_every"]
    rng = np.random.default_rng(cfg["seed"])
    (tr_pairs, tr_y), (te_pairs, te_y) = modular_addition(
        p, train_fraction=cfg["train_fraction"], rng=rng)
    n = tr_y.shape[0]

    def one_hot(pairs: np.ndarray) -> np.ndarray:
        x = np.zeros((pairs.shape[0], 2 * p), dtype=dt)
        rows = np.arange(pairs.shape[0])
        x[rows, pairs[:, 0]] = 1
        x[rows, p + pairs[:, 1]] = 1
        return x

    x_tr, x_te = one_hot(tr_pairs), one_hot(te_pairs)
    # each input row has two ones: scale 1/sqrt(2) keeps the hidden pre-activations ~ N(0, 1)
    w1 = (rng.standard_normal((2 * p, hidden)) / np.sqrt(2.0)).astype(dt)
    w2 = (rng.standard_normal((hidden, p)) / np.sqrt(hidden)).astype(dt)
    params = [w1, w2]
    m = [np.zeros_like(w) for w in params]
    v = [np.zeros_like(w) for w in params]
    b1, b2, eps = 0.9, 0.99, 1e-8
    lr, wd = c(cfg["lr"]), c(cfg["weight_decay"])
    perp = cfg["optimizer"] == "perp_adam"
    act = cfg["activation"]

    hist: dict[str, list[float]] = {k: [] for k in _HISTORY_KEYS}
    snaps = []
    for step in range(steps + 1):
        pre = x_tr @ w1
        h = np.maximum(pre, c(0))
        z = h @ w2
        if step % every == 0 or step == steps:
            losses = _losses(z, tr_y, act)
            z_te = np.maximum(x_te @ w1, c(0)) @ w2
            hist["step"].append(step)
            hist["train_loss"].append(float(losses.mean(dtype=dt)))
            hist["train_accuracy"].append(float((z.argmax(axis=1) == tr_y).mean()))
            hist["test_accuracy"].append(float((z_te.argmax(axis=1) == te_y).mean()))
            hist["collapsed_fraction"].append(float((losses == 0).mean()))
            hist["logit_norm"].append(float(np.sqrt((z * z).sum(axis=1)).mean(dtype=dt)))
            snaps.append(z.copy())
            if progress is not None:
                progress(step, steps)
        if step == steps:
            break
        g = _sample_grads(z, tr_y, act) / c(n)
        grad_w2 = h.T @ g
        gh = g @ w2.T
        gh[pre <= 0] = 0
        grad_w1 = x_tr.T @ gh
        t = step + 1
        bc1, bc2 = c(1 - b1 ** t), c(1 - b2 ** t)
        for k, (w, gw) in enumerate(zip(params, (grad_w1, grad_w2))):
            if perp:
                # ⊥Grad: drop the component along w (the direction that only scales the
                # logits up), then give the gradient back its norm
                norm = np.sqrt((gw * gw).sum())
                gw = gw - ((w * gw).sum() / ((w * w).sum() + c(1e-30))) * w
                gw = gw * (norm / (np.sqrt((gw * gw).sum()) + c(1e-30)))
            m[k] = c(b1) * m[k] + c(1 - b1) * gw
            v[k] = c(b2) * v[k] + c(1 - b2) * (gw * gw)
            update = (m[k] / bc1) / (np.sqrt(v[k] / bc2) + c(eps))
            w -= lr * (update + wd * w)
    history = {k: np.asarray(vals, dtype=np.int64 if k == "step" else np.float64)
               for k, vals in hist.items()}
    logits = np.stack(snaps)
    labels = tr_y.copy()
    for arr in (*history.values(), logits, labels):
        arr.flags.writeable = False
    return TrainingRun(history, logits, labels, dict(cfg))


def collapse_step(history: dict[str, np.ndarray], level: float = 0.5) -> int | None:
    """The first recorded step at which ``collapsed_fraction`` exceeds ``level``, or None.

    Used in: notebooks/07_training.ipynb
    """
    level = _nonnegative_real("level", level)
    try:
        frac, steps = np.asarray(history["collapsed_fraction"]), np.asarray(history["step"])
    except (KeyError, TypeError, IndexError):
        raise ValueError("history must be a dict returned by softviz.training.train") from None
    above = np.nonzero(frac > level)[0]
    return int(steps[above[0]]) if above.size else None
