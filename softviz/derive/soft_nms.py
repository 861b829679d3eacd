"""Sympy forms of the Soft-NMS decay functions and the facts the lesson reads off them.

Soft-NMS (N. Bodla, B. Singh, R. Chellappa, L. S. Davis, "Soft-NMS --
Improving Object Detection With One Line of Code", ICCV 2017,
arXiv:1704.04503) multiplies the score of a box b by f(IoU(M, b)) after the
box M is selected. The three f of the lesson, as functions of u = IoU in
[0, 1], with the strict comparison of ``softviz.soft_nms`` (the paper's equations
write u >= N_t; its code, and softviz, u > N_t):

* hard NMS:  f(u) = 1 for u <= N_t, 0 for u > N_t
* linear:    f(u) = 1 for u <= N_t, 1 - u for u > N_t
* Gaussian:  f(u) = exp(-u**2 / sigma)

Used in: notebooks/04_soft_nms.ipynb
"""
from __future__ import annotations

import sympy as sp

__all__ = [
    "nms_symbols",
    "nms_decay_functions",
    "nms_decay_jumps",
    "nms_gaussian_half_decay",
    "nms_gaussian_inflection",
    "nms_gaussian_small_sigma",
]


def nms_symbols() -> tuple[sp.Symbol, sp.Symbol, sp.Symbol]:
    """``(u, N_t, sigma)``: the IoU and the two parameters, as positive real symbols.

    Used in: notebooks/04_soft_nms.ipynb
    """
    u = sp.Symbol("u", nonnegative=True, real=True)  # u = IoU(M, b)
    nt = sp.Symbol("N_t", positive=True, real=True)
    sigma = sp.Symbol("sigma", positive=True, real=True)
    return u, nt, sigma


def nms_decay_functions() -> dict[str, sp.Expr]:
    """``{"hard", "linear", "gaussian"}`` -> the decay factor f(u) as a sympy expression.

    Piecewise for hard and linear (strict u > N_t), ``exp(-u**2/sigma)`` for Gaussian.

    Used in: notebooks/04_soft_nms.ipynb
    """
    u, nt, sigma = nms_symbols()
    return {
        "hard": sp.Piecewise((sp.Integer(1), u <= nt), (sp.Integer(0), True)),
        "linear": sp.Piecewise((sp.Integer(1), u <= nt), (1 - u, True)),
        "gaussian": sp.exp(-u**2 / sigma),
    }


def nms_decay_jumps() -> dict[str, sp.Expr]:
    """How far each f drops at u = N_t (limit from the right minus the value at N_t).

    hard drops by 1 (the box is gone), linear by N_t (from 1 to 1 - N_t),
    Gaussian by 0 (it is continuous: no threshold at all). A small change of
    IoU near N_t thus flips a hard or linear decision, never a Gaussian one.

    Used in: notebooks/04_soft_nms.ipynb
    """
    u, nt, _ = nms_symbols()
    h = sp.Symbol("h", positive=True)  # u = N_t + h: sympy settles N_t >= N_t + h as False
    return {name: sp.simplify(f.subs(u, nt) - sp.limit(f.subs(u, nt + h), h, 0, "+"))
            for name, f in nms_decay_functions().items()}


def nms_gaussian_half_decay() -> sp.Expr:
    """The IoU at which the Gaussian decay halves a score: solves exp(-u**2/sigma) = 1/2.

    u = sqrt(sigma * ln 2): 0.589 for the paper's sigma = 0.5. Returns the
    sympy expression in sigma.

    Used in: notebooks/04_soft_nms.ipynb
    """
    u, _, sigma = nms_symbols()
    (root,) = sp.solve(sp.Eq(nms_decay_functions()["gaussian"], sp.Rational(1, 2)), u)
    return sp.simplify(root)


def nms_gaussian_inflection() -> sp.Expr:
    """The IoU where the Gaussian decay falls fastest: f''(u) = 0 at u = sqrt(sigma / 2).

    Below it the decay is gentle (f'(0) = 0: a barely overlapping box loses
    almost nothing), above it the decay flattens out again. Returns the sympy
    expression in sigma.

    Used in: notebooks/04_soft_nms.ipynb
    """
    u, _, sigma = nms_symbols()
    f = nms_decay_functions()["gaussian"]
    (root,) = sp.solve(sp.diff(f, u, 2), u)
    return sp.simplify(root)


def nms_gaussian_small_sigma() -> tuple[sp.Expr, sp.Expr]:
    """``(limit for u > 0, value at u = 0)`` of the Gaussian decay as sigma -> 0+.

    ``(0, 1)``: a vanishing sigma deletes every box that overlaps M at all and
    spares the rest, i.e. hard NMS with N_t = 0.

    Used in: notebooks/04_soft_nms.ipynb
    """
    u, _, sigma = nms_symbols()
    f = nms_decay_functions()["gaussian"]
    up = sp.Symbol("u", positive=True)  # u > 0 strictly
    return sp.limit(f.subs(u, up), sigma, 0, "+"), sp.limit(f.subs(u, 0), sigma, 0, "+")
