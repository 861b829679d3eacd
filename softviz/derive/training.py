"""sympy derivations for lesson 07: the softmax Jacobian and the cross-entropy gradient.

* ``softmax_jacobian(n)``: d softmax(z)_i / d z_j = p_i ([i = j] - p_j), i.e.
  diag(p) - p p^T, checked entry by entry for n logits;
* ``cross_entropy_gradient(n)``: d/dz_j of -log softmax(z)_y = p_j - [j = y], i.e. p - onehot(y).

The gradient is what lesson 07 watches die: for a correctly classified sample
p_y -> 1 as its margin grows, so p_y - 1 -> 0, and in float32 it becomes
exactly 0 once the margin passes about 24 ln 2 (Prieto, Barsbey, Mediano and
Birdal, "Grokking at the Edge of Numerical Stability", 2025, arXiv:2501.04697).

Used in: notebooks/07_training.ipynb
"""
from __future__ import annotations

import sympy as sp

from .overflow import Derivation

__all__ = ["softmax_jacobian", "cross_entropy_gradient"]


def _check_n(n: object) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if not 2 <= n <= 8:
        raise ValueError(f"n must lie in [2, 8] (a matrix of n x n symbols), got {n}")


def _softmax(n: int) -> tuple[tuple[sp.Symbol, ...], list[sp.Expr]]:
    z = sp.symbols(f"z1:{n + 1}", real=True)
    total = sum(sp.exp(zi) for zi in z)
    return z, [sp.exp(zi) / total for zi in z]


def softmax_jacobian(n: int = 3) -> Derivation:
    """The softmax Jacobian for ``n`` logits: sympy's derivative equals diag(p) - p p^T.

    ``chain``: the matrix of derivatives d p_i / d z_j as sympy computes it,
    then diag(p) - p p^T written with symbols p_1..p_n; ``facts``: the
    difference after substituting p = softmax(z) simplifies to 0, and each row
    of the Jacobian sums to 0 (shifting every logit changes nothing).

    Used in: notebooks/07_training.ipynb
    """
    _check_n(n)
    z, p = _softmax(n)
    jac = sp.Matrix(n, n, lambda i, j: sp.diff(p[i], z[j]))
    ps = sp.symbols(f"p1:{n + 1}", positive=True)
    pv = sp.Matrix(ps)
    formula = sp.diag(*ps) - pv * pv.T
    residual = sp.simplify(jac - formula.subs(dict(zip(ps, p))))
    row_sums = sp.simplify(jac * sp.ones(n, 1))
    return Derivation(f"Softmax Jacobian (n = {n})", (
        (sp.Matrix(n, n, lambda i, j: sp.Derivative(sp.Symbol(f"p{i + 1}"), z[j])),
         "$\\partial p_i / \\partial z_j$ with $p = \\operatorname{softmax}(z)$"),
        (formula, "$p_i([i = j] - p_j)$: $\\operatorname{diag}(p) - p p^T$"),
    ), (
        (sp.Eq(residual, sp.zeros(n, n), evaluate=False), "sympy's derivative minus the formula"),
        (sp.Eq(row_sums, sp.zeros(n, 1), evaluate=False), "each row sums to 0: a common shift of $z$ changes nothing"),
    ))


def cross_entropy_gradient(n: int = 3, label: int = 0) -> Derivation:
    """d/dz of the cross-entropy -log softmax(z)_y for ``n`` logits and class y = ``label``: p - onehot(y).

    ``chain``: the loss, then its gradient as sympy computes it, then
    p - e_y; ``facts``: the difference simplifies to 0, and the gradient's
    entries sum to 0.

    Used in: notebooks/07_training.ipynb
    """
    _check_n(n)
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < n:
        raise ValueError(f"label must be an int in [0, {n - 1}], got {label!r}")
    z, p = _softmax(n)
    loss = -sp.log(p[label])
    grad = sp.Matrix([sp.diff(loss, zj) for zj in z])
    onehot = sp.Matrix([1 if j == label else 0 for j in range(n)])
    ps = sp.Matrix(sp.symbols(f"p1:{n + 1}", positive=True))
    residual = sp.simplify(grad - (sp.Matrix(p) - onehot))
    return Derivation(f"Cross-entropy gradient (n = {n}, correct class y = {label + 1})", (
        (sp.Symbol("L"), "$L = -\\log p_y$"),
        (sp.expand_log(sp.simplify(loss), force=True), "$-\\log$ of a ratio"),
        (ps - onehot, "$\\partial L / \\partial z_j = p_j - [j = y]$"),
    ), (
        (sp.Eq(residual, sp.zeros(n, 1), evaluate=False), "sympy's gradient minus $p - e_y$"),
        (sp.Eq(sp.simplify(sum(grad)), 0, evaluate=False), "the entries sum to 0"),
    ))
