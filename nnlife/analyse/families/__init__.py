"""Learning-curve families: a registry of parametric functions with short ids.

Every family is a ``Family`` (a frozen dataclass) holding its id, formula, parameter names,
parameter bounds, source, the function itself, its analytic Jacobian and a starting-value
strategy. The functions are vectorised over many curves at once: ``x`` is one shared 1-D grid
(shape ``(n,)``), ``P`` holds one parameter vector per curve (shape ``(B, p)``) and the result has
shape ``(B, n)``; ``Family.__call__(x, *params)`` evaluates one curve.

The x axis: every formula is defined for ``x > 0``. nnlife fits curves against the half-epoch step
``x = 2 * epoch`` (1, 2, ..., 80 for 40 epochs), PENGUIN's convention (see ``nnlife.fitting``).

Families (id: formula [source]); ids end in the parameter count:

Domhan, Springenberg & Hutter 2015, "Speeding up automatic hyperparameter optimization of deep
neural networks by extrapolation of learning curves", IJCAI, Table 1 (their 11 families):
    vap3            exp(a + b/x + c ln x)                        vapor pressure
    pow3            c - a x^-alpha
    loglog_linear2  ln(a ln x + b)
    hill3           ymax x^eta / (kappa^eta + x^eta)
    logpower3       a / (1 + (x / e^b)^c)                        Domhan's "log power"
    pow4            c - (a x + b)^-alpha
    mmf4            alpha - (alpha - beta) / (1 + (kappa x)^delta)   Morgan-Mercer-Flodin
    exp4            c - exp(-a x^alpha + b)
    janoschek4      alpha - (alpha - beta) exp(-kappa x^delta)
    weibull4        alpha - (alpha - beta) exp(-(kappa x)^delta)
    ilog2           c - a / ln(x + 1)     (Domhan: c - a / ln x; shifted by one so that x = 1 is
                                           finite, the index shift LCDB's code notes for ilog2)
Mohr & van Rijn 2022, "LCDB 1.0: An extensive learning curves database for classification
tasks" (ECML PKDD), and the LCDB code's curve models, the further families:
    pow2            -a x^-b
    log2            -a ln x + b
    exp2            a exp(-b x)
    lin2            a x + b
    exp3            a exp(-b x) + c
    expp3           c - exp((x - b)^a)
    expd3           c - (c - a) exp(-b x)
    wbl4            c - b exp(-a x^d)
    (LCDB's logpower3 is Domhan's log power; LCDB's pow3, pow4 and mmf4 are Domhan's families in
    another parametrisation: nnlife registers each function class once, in Domhan's.)
Rorabaugh et al., PENGUIN (the published dataset's prediction engine):
    penguin3        a - b^(c - x),  bounds (0.5, 1, 0) to (200, inf, inf)

wbl4, janoschek4 and weibull4 are one function class in three parametrisations; they are kept
because the sources define them so and their parameters mean different things.

Starting values: most families are linear in some parameters once the others are fixed, so the
strategy grids the nonlinear ones over ranges set by the x grid and solves the linear ones by
(weighted) least squares for every curve at once; ``vap3``, ``loglog_linear2`` and ``pow4`` solve
a linearised problem (in log, exp and power space). ``starts(x, Y, W)`` returns candidates of shape
``(S, B, p)``; the fitting code scores them and starts its optimiser from the best few.

Modules: ``domhan``, ``lcdb`` and ``penguin`` hold each source's functions, Jacobians and
starting values; ``registry`` the ``Family`` records, the sets and the lookups; ``common`` what
the starting values share. A new family: its three functions in the module of its source, one
``_fam`` entry in ``registry.FAMILIES``.
"""

from .domhan import (
    exp4,
    hill3,
    ilog2,
    janoschek4,
    loglog_linear2,
    logpower3,
    mmf4,
    pow3,
    pow4,
    vap3,
    weibull4,
)
from .lcdb import exp2, exp3, expd3, expp3, lin2, log2, pow2, wbl4
from .penguin import PENGUIN_LOWER, PENGUIN_P0, PENGUIN_UPPER, penguin3
from .registry import ALIASES, DOMHAN, FAMILIES, LCDB, PENGUIN, Family, get_family, resolve_families

__all__ = [
    "ALIASES",
    "DOMHAN",
    "FAMILIES",
    "Family",
    "LCDB",
    "PENGUIN",
    "PENGUIN_LOWER",
    "PENGUIN_P0",
    "PENGUIN_UPPER",
    "get_family",
    "resolve_families",
    "vap3",
    "pow3",
    "loglog_linear2",
    "hill3",
    "logpower3",
    "pow4",
    "mmf4",
    "exp4",
    "janoschek4",
    "weibull4",
    "ilog2",
    "pow2",
    "log2",
    "exp2",
    "lin2",
    "exp3",
    "expp3",
    "expd3",
    "wbl4",
    "penguin3",
]
