"""sympy derivations for lesson 05: the regimes of a Gaussian KDE in high dimension.

A random-energy-model (REM) reading of the KDE. Data y_i and the query x are
N(0, I_d), n = e^{alpha d}. Given x (|x|^2 ~ d), the scaled squared distances
u_i = |x - y_i|^2 / d are n independent "energies", and

    rho_hat(x) = (2 pi h^2)^{-d/2} (1/n) Z,   Z = sum_i exp(-d u_i / (2 h^2)),

a partition function at inverse temperature beta = 1 / (2 h^2). Everything
follows from the large-deviation rate I(u) of one u_i:

* ``kde_rate_function``: I(u) = (s^2 - s - ln s) / 2 with u = s + s^2;
* ``kde_s_min_equation``: the nearest point sits at u_min, I(u_min) = alpha;
* ``kde_h_g``: Z condenses on the nearest points below h_G = sqrt(s_min/(1 - s_min)),
  and the stable index is mu = (h / h_G)^2;
* ``kde_h_clt``: the second moment of Z stays self-averaging above h_CLT = sqrt(2) h_G;
* ``kde_kl_pieces``: KL(p || rho_hat) / d on both sides of h_G, continuity, and
  its minimum at h_opt = sqrt(u_min).

These are our own derivation for Gaussian data (the lesson checks them by
simulation); the regimes themselves are those of G. Biroli and M. Mezard,
"Kernel Density Estimators in Large Dimensions" (2024, arXiv:2408.05807).
Each function verifies its steps with sympy before returning them as
``(description, sympy expression or Eq)`` pairs for the notebook.

Used in: notebooks/05_kde_regimes.ipynb and notebooks/05_kde_regimes_further.ipynb
"""
from __future__ import annotations

import sympy as sp

__all__ = [
    "kde_rate_function",
    "kde_s_min_equation",
    "kde_h_g",
    "kde_h_clt",
    "kde_kl_pieces",
]


def _symbols() -> tuple[sp.Symbol, ...]:
    s, h, u, alpha = sp.symbols("s h u alpha", positive=True)
    t = sp.Symbol("t", real=True)
    return s, t, h, u, alpha


def _verify(what: str, lhs: sp.Expr, rhs: sp.Expr) -> None:
    diff = lhs - rhs
    # Put every log argument over one denominator first, so that expand_log can
    # split log(1 + s/(1 - s)) into -log(1 - s) (all symbols are positive).
    diff = diff.replace(sp.log, lambda arg: sp.log(sp.factor(sp.together(arg))))
    if sp.simplify(sp.expand_log(sp.expand(diff), force=True)) != 0:
        raise AssertionError(f"derivation step failed: {what}")


def _rate_of_s(s: sp.Expr) -> sp.Expr:
    """I as a function of the parameter s: (s^2 - s - ln s) / 2."""
    return (s ** 2 - s - sp.log(s)) / 2


def kde_rate_function() -> list[tuple[str, sp.Eq]]:
    """Steps from the cumulant generating function to I(u) = (s^2 - s - ln s)/2, u = s + s^2.

    One coordinate contributes (y_j - x_j)^2 with y_j ~ N(0, 1) and x_j^2 ~ 1 on
    average: a non-central chi-square with one degree of freedom and
    non-centrality 1, whose log-moment generating function is Lambda(t) below.
    Cramer's theorem gives I(u) = sup_t [t u - Lambda(t)]; the substitution
    s = 1 / (1 - 2t) makes everything rational. Also I(2) = 0 (typical distance)
    and I'(u) = (s - 1) / (2 s). Used in: notebooks/05_kde_regimes_further.ipynb
    """
    s, t, _, u, _ = _symbols()
    lam = -sp.log(1 - 2 * t) / 2 + t / (1 - 2 * t)
    t_of_s = (1 - 1 / s) / 2
    dlam = sp.diff(lam, t)
    u_of_s = s + s ** 2
    _verify("Lambda'(t(s)) = s + s^2", dlam.subs(t, t_of_s), u_of_s)
    rate = t_of_s * u_of_s - lam.subs(t, t_of_s)
    _verify("I = t u - Lambda = (s^2 - s - ln s)/2", rate, _rate_of_s(s))
    slope = sp.diff(_rate_of_s(s), s) / sp.diff(u_of_s, s)
    _verify("dI/du = (s - 1)/(2 s)", slope, (s - 1) / (2 * s))
    if _rate_of_s(sp.Integer(1)) != 0 or u_of_s.subs(s, 1) != 2:
        raise AssertionError("derivation step failed: typical u = 2 at s = 1")
    Lam, I = sp.Function("Lambda"), sp.Function("I")  # noqa: E741 -- I is the rate function's name in the paper
    return [
        ("log-moment generating function of one coordinate, (y_j - x_j)^2",
         sp.Eq(Lam(t), lam)),
        ("stationarity Lambda'(t) = u; with s = 1/(1 - 2t)",
         sp.Eq(u, u_of_s)),
        ("rate I(u) = t u - Lambda(t) at that t",
         sp.Eq(I(u), _rate_of_s(s))),
        ("its slope, dI/du", sp.Eq(sp.Derivative(I(u), u), (s - 1) / (2 * s))),
        ("typical distance: s = 1, u = 2, I = 0", sp.Eq(I(2), 0)),
    ]


def kde_s_min_equation() -> list[tuple[str, sp.Eq]]:
    """The nearest of n = e^{alpha d} points: e^{d (alpha - I(u))} points sit near u, so
    the smallest u has I(u_min) = alpha, i.e. s_min^2 - s_min - ln s_min = 2 alpha.

    Used in: notebooks/05_kde_regimes_further.ipynb
    """
    s, _, _, u, alpha = _symbols()
    s_min, u_min = sp.symbols("s_min u_min", positive=True)
    N = sp.Function("N")
    d = sp.Symbol("d", positive=True)
    I = sp.Function("I")  # noqa: E741 -- the rate function, named as in the paper
    return [
        ("number of data points at distance u (out of n = e^{alpha d})",
         sp.Eq(N(u), sp.exp(d * (alpha - I(u))))),
        ("the nearest one: I(u_min) = alpha, i.e.",
         sp.Eq(sp.expand(2 * _rate_of_s(s_min)), 2 * alpha)),
        ("and", sp.Eq(u_min, s_min + s_min ** 2)),
    ]


def kde_h_g() -> list[tuple[str, sp.Eq]]:
    """Steps to h_G = sqrt(s_min / (1 - s_min)) and mu = (h / h_G)^2.

    (1/d) ln Z = max over u >= u_min of [alpha - I(u) - u / (2 h^2)]; the
    saddle I'(u) = -1/(2 h^2) is s* = h^2 / (1 + h^2). When s* < s_min the
    maximum sticks to the edge u_min: the nearest points dominate (condensation).
    Near the edge, point counts grow like e^{d |I'(u_min)| du} and weights fall
    like e^{-d du / (2 h^2)}: power-law weights with tail index
    mu = 2 h^2 |I'(u_min)| = (h / h_G)^2. Used in: notebooks/05_kde_regimes_further.ipynb
    """
    s, _, h, _, _ = _symbols()
    s_min = sp.Symbol("s_min", positive=True)
    beta = 1 / (2 * h ** 2)
    s_star = sp.solve(sp.Eq((s - 1) / (2 * s), -beta), s)
    if len(s_star) != 1:
        raise AssertionError("derivation step failed: one saddle")
    s_star = s_star[0]
    _verify("saddle s* = h^2/(1 + h^2)", s_star, h ** 2 / (1 + h ** 2))
    h_g_sq = sp.solve(sp.Eq(h ** 2 / (1 + h ** 2), s_min), h ** 2)
    if len(h_g_sq) != 1:
        raise AssertionError("derivation step failed: one h_G")
    _verify("h_G^2 = s_min/(1 - s_min)", h_g_sq[0], s_min / (1 - s_min))
    mu = 2 * h ** 2 * (1 - s_min) / (2 * s_min)
    _verify("mu = (h/h_G)^2", mu, h ** 2 / h_g_sq[0])
    h_G, mu_sym, s_st = sp.symbols("h_G mu s^*", positive=True)
    return [
        ("saddle point of alpha - I(u) - u/(2 h^2): I'(u) = -1/(2 h^2)", sp.Eq(s_st, s_star)),
        ("it leaves the allowed range (s* < s_min) below", sp.Eq(h_G, sp.sqrt(s_min / (1 - s_min)))),
        ("tail index of the weights near the nearest points", sp.Eq(mu_sym, (h / h_G) ** 2)),
    ]


def kde_h_clt() -> list[tuple[str, sp.Eq]]:
    """Steps to h_CLT = sqrt(2) h_G: the variance of Z is ruled by E[K^2], a partition
    function at twice the inverse temperature (h^2 -> h^2 / 2). Its saddle
    s** = h^2 / (2 + h^2) must stay above s_min for the CLT to hold.

    Used in: notebooks/05_kde_regimes_further.ipynb
    """
    s, _, h, _, _ = _symbols()
    s_min = sp.Symbol("s_min", positive=True)
    beta2 = 2 / (2 * h ** 2)
    s2 = sp.solve(sp.Eq((s - 1) / (2 * s), -beta2), s)[0]
    _verify("saddle at 2 beta: s** = h^2/(2 + h^2)", s2, h ** 2 / (2 + h ** 2))
    h_clt_sq = sp.solve(sp.Eq(s2, s_min), h ** 2)[0]
    _verify("h_CLT^2 = 2 s_min/(1 - s_min) = 2 h_G^2", h_clt_sq, 2 * s_min / (1 - s_min))
    h_C, s_st2 = sp.symbols("h_CLT s^{**}", positive=True)
    return [
        ("saddle of the second moment (inverse temperature 2 beta)", sp.Eq(s_st2, s2)),
        ("it stays above s_min while h exceeds",
         sp.Eq(h_C, sp.sqrt(2) * sp.sqrt(s_min / (1 - s_min)))),
    ]


def kde_kl_pieces() -> list[tuple[str, sp.Eq]]:
    """KL(p || rho_hat) / d on both sides of h_G, its continuity there, and h_opt = sqrt(u_min).

    KL/d = E[ln p(x)]/d - E[ln rho_hat(x)]/d with E[ln p]/d = -ln(2 pi)/2 - 1/2 and
    ln rho_hat / d = (1/d) ln Z - alpha - ln(2 pi h^2) / 2. Above h_G, (1/d) ln Z is
    the saddle value; below, it is the edge value -u_min / (2 h^2).
    Used in: notebooks/05_kde_regimes_further.ipynb
    """
    s, _, h, _, alpha = _symbols()
    s_min = sp.Symbol("s_min", positive=True)
    u_min = s_min + s_min ** 2
    beta = 1 / (2 * h ** 2)
    e_log_p = -sp.log(2 * sp.pi) / 2 - sp.Rational(1, 2)

    def kl_from(log_z: sp.Expr) -> sp.Expr:
        return e_log_p - (log_z - alpha - sp.log(2 * sp.pi * h ** 2) / 2)

    s_star = h ** 2 / (1 + h ** 2)
    log_z_saddle = alpha - _rate_of_s(s_star) - (s_star + s_star ** 2) * beta
    annealed = sp.log(1 + h ** 2) / 2 + 1 / (2 * (1 + h ** 2)) - sp.Rational(1, 2)
    _verify("KL above h_G", kl_from(log_z_saddle), annealed)
    condensed_of_alpha = sp.log(h ** 2) / 2 + alpha + u_min / (2 * h ** 2) - sp.Rational(1, 2)
    log_z_edge = alpha - alpha - u_min * beta  # I(u_min) = alpha
    _verify("KL below h_G", kl_from(log_z_edge), condensed_of_alpha)
    # continuity at h_G^2 = s_min/(1 - s_min), using alpha = I(u_min)
    at_hg = {h: sp.sqrt(s_min / (1 - s_min))}
    gap = (condensed_of_alpha - annealed).subs(at_hg).subs(alpha, _rate_of_s(s_min))
    _verify("continuous at h_G", gap, 0)
    h2 = sp.Symbol("h2", positive=True)
    stationary = sp.solve(sp.diff(condensed_of_alpha.subs(h, sp.sqrt(h2)), h2), h2)
    if len(stationary) != 1:
        raise AssertionError("derivation step failed: one stationary point")
    _verify("h_opt^2 = u_min", stationary[0], u_min)
    # h_opt < h_G: h_G^2 - u_min = s^3 / (1 - s) > 0 for 0 < s < 1
    _verify("h_G^2 - h_opt^2 = s^3/(1 - s)", s_min / (1 - s_min) - u_min, s_min ** 3 / (1 - s_min))
    KL, h_opt, u_m = sp.Symbol("KL/d"), sp.Symbol("h_opt", positive=True), sp.Symbol("u_min")
    return [
        ("above h_G (the annealed value; the data's fluctuations average out)", sp.Eq(KL, annealed)),
        ("below h_G (the nearest points carry rho_hat)",
         sp.Eq(KL, sp.log(h ** 2) / 2 + alpha + u_m / (2 * h ** 2) - sp.Rational(1, 2))),
        ("d(KL)/d(h^2) = 0 below h_G", sp.Eq(h_opt, sp.sqrt(u_m))),
        ("and h_opt < h_G since", sp.Eq(sp.Symbol("h_G") ** 2 - h_opt ** 2, s_min ** 3 / (1 - s_min))),
    ]
