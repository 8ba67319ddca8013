"""The registry of curve families: ``Family``, ``FAMILIES`` by id, the sets (Domhan's, LCDB's,
PENGUIN's), aliases, and the lookups ``get_family`` / ``resolve_families``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ...errors import ParameterError
from . import domhan, lcdb, penguin
from .common import INF
from .penguin import PENGUIN_LOWER, PENGUIN_UPPER


@dataclass(frozen=True)
class Family:
    """One learning-curve family: y = f(x; params), x > 0 (nnlife: half-epoch steps)."""

    id: str  # short id, ends in the parameter count ("pow3")
    formula: str  # the formula, in the parameter names below
    param_names: tuple[str, ...]  # in the order of every parameter vector
    lower: tuple[float, ...]  # lower bound of each parameter (-inf: none)
    upper: tuple[float, ...]  # upper bound of each parameter (inf: none)
    source: str  # where the formula comes from
    f: Callable = field(repr=False, compare=False)  # (x (n,), P (B,p)) -> (B, n)
    jac: Callable = field(repr=False, compare=False)  # (x (n,), P (B,p)) -> (B, n, p)
    starts: Callable = field(repr=False, compare=False)  # (x, Y (B,n), W (B,n)) -> (S, B, p)

    @property
    def n_params(self) -> int:
        return len(self.param_names)

    def __call__(self, x, *params) -> np.ndarray:
        """Evaluate one curve: values at ``x`` (any shape) for one parameter vector."""
        x = np.asarray(x, dtype=float)
        if len(params) != self.n_params:
            raise ParameterError(
                f"family {self.id!r} takes {self.n_params} parameters {self.param_names}, got {len(params)}"
            )
        with np.errstate(all="ignore"):
            return self.f(x.ravel(), np.asarray(params, dtype=float)[None, :])[0].reshape(x.shape)


def _fam(module, id, formula, names, lower, upper, source):
    """A ``Family`` whose function, Jacobian and starting values are ``id``, ``_<id>_jac`` and
    ``_<id>_starts`` in ``module`` (the module of its source)."""
    f, jac, starts = (getattr(module, name) for name in (id, f"_{id}_jac", f"_{id}_starts"))
    return Family(
        id, formula, tuple(names), tuple(map(float, lower)), tuple(map(float, upper)), source, f, jac, starts
    )


_DOMHAN = "Domhan, Springenberg & Hutter 2015 (IJCAI), Table 1"
_LCDB = "Mohr & van Rijn 2022, LCDB 1.0 (ECML PKDD); LCDB curve models"
_N = -INF

FAMILIES: dict[str, Family] = {
    fam.id: fam
    for fam in (
        _fam(domhan, "vap3", "exp(a + b/x + c ln x)", "abc", (_N,) * 3, (INF,) * 3, _DOMHAN),
        _fam(domhan, "pow3", "c - a x^-alpha", ("c", "a", "alpha"), (_N, _N, 0), (INF,) * 3, _DOMHAN),
        _fam(domhan, "loglog_linear2", "ln(a ln x + b)", "ab", (_N,) * 2, (INF,) * 2, _DOMHAN),
        _fam(
            domhan,
            "hill3",
            "ymax x^eta / (kappa^eta + x^eta)",
            ("ymax", "eta", "kappa"),
            (_N, 0, 1e-12),
            (INF,) * 3,
            _DOMHAN,
        ),
        _fam(
            domhan,
            "logpower3",
            "a / (1 + (x / e^b)^c)",
            "abc",
            (_N,) * 3,
            (INF,) * 3,
            _DOMHAN + " (log power); LCDB's logpower3",
        ),
        _fam(
            domhan,
            "pow4",
            "c - (a x + b)^-alpha",
            ("c", "a", "b", "alpha"),
            (_N, 0, _N, 0),
            (INF,) * 4,
            _DOMHAN,
        ),
        _fam(
            domhan,
            "mmf4",
            "alpha - (alpha - beta) / (1 + (kappa x)^delta)",
            ("alpha", "beta", "kappa", "delta"),
            (_N, _N, 1e-12, 0),
            (INF,) * 4,
            _DOMHAN,
        ),
        _fam(
            domhan,
            "exp4",
            "c - exp(-a x^alpha + b)",
            ("c", "a", "b", "alpha"),
            (_N, 0, _N, 0),
            (INF,) * 4,
            _DOMHAN + "; LCDB's exp4",
        ),
        _fam(
            domhan,
            "janoschek4",
            "alpha - (alpha - beta) exp(-kappa x^delta)",
            ("alpha", "beta", "kappa", "delta"),
            (_N, _N, 0, 0),
            (INF,) * 4,
            _DOMHAN,
        ),
        _fam(
            domhan,
            "weibull4",
            "alpha - (alpha - beta) exp(-(kappa x)^delta)",
            ("alpha", "beta", "kappa", "delta"),
            (_N, _N, 1e-12, 0),
            (INF,) * 4,
            _DOMHAN,
        ),
        _fam(
            domhan,
            "ilog2",
            "c - a / ln(x + 1)",
            ("c", "a"),
            (_N,) * 2,
            (INF,) * 2,
            _DOMHAN + " (c - a/ln x, x shifted by one); LCDB's ilog2",
        ),
        _fam(lcdb, "pow2", "-a x^-b", "ab", (_N,) * 2, (INF,) * 2, _LCDB),
        _fam(lcdb, "log2", "-a ln x + b", "ab", (_N,) * 2, (INF,) * 2, _LCDB),
        _fam(lcdb, "exp2", "a exp(-b x)", "ab", (_N,) * 2, (INF,) * 2, _LCDB),
        _fam(lcdb, "lin2", "a x + b", "ab", (_N,) * 2, (INF,) * 2, _LCDB),
        _fam(lcdb, "exp3", "a exp(-b x) + c", "abc", (_N,) * 3, (INF,) * 3, _LCDB),
        _fam(
            lcdb,
            "expp3",
            "c - exp((x - b)^a)",
            "abc",
            (_N,) * 3,
            (INF,) * 3,
            _LCDB,
        ),
        _fam(lcdb, "expd3", "c - (c - a) exp(-b x)", "abc", (_N,) * 3, (INF,) * 3, _LCDB),
        _fam(lcdb, "wbl4", "c - b exp(-a x^d)", "abcd", (0, _N, _N, 0), (INF,) * 4, _LCDB),
        _fam(
            penguin,
            "penguin3",
            "a - b^(c - x)",
            "abc",
            PENGUIN_LOWER,
            PENGUIN_UPPER,
            "Rorabaugh et al., PENGUIN (CurveFit.py: expAccFn, fitAcc)",
        ),
    )
}

# The 11 families of Domhan et al. 2015, in their Table 1 order.
DOMHAN = (
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
)
# The families LCDB fits (its pow3, pow4 and mmf4 in Domhan's parametrisation).
LCDB = (
    "pow2",
    "log2",
    "exp2",
    "lin2",
    "ilog2",
    "pow3",
    "exp3",
    "vap3",
    "expp3",
    "expd3",
    "logpower3",
    "mmf4",
    "wbl4",
    "exp4",
    "pow4",
)
PENGUIN = "penguin3"

# Other names people use for the same families (Domhan's and LCDB's spellings).
ALIASES = {
    "vapor_pressure": "vap3",
    "vap": "vap3",
    "loglog_linear": "loglog_linear2",
    "hill_3": "hill3",
    "log_power": "logpower3",
    "mmf": "mmf4",
    "janoschek": "janoschek4",
    "weibull": "weibull4",
    "ilog_2": "ilog2",
    "pow_3": "pow3",
    "pow_4": "pow4",
    "exp_4": "exp4",
    "penguin": "penguin3",
}


def get_family(name) -> Family:
    """The ``Family`` for an id or alias (a ``Family`` passes through).

    Raises ParameterError listing the known ids when ``name`` is unknown.
    """
    if isinstance(name, Family):
        return name
    key = ALIASES.get(str(name).lower(), str(name).lower())
    if key not in FAMILIES:
        raise ParameterError(f"unknown curve family {name!r}: use one of {', '.join(FAMILIES)}")
    return FAMILIES[key]


def resolve_families(families) -> tuple[Family, ...]:
    """Families from None (Domhan's 11), "all", "domhan", "lcdb", one id, or a list of ids."""
    if families is None or (isinstance(families, str) and families.lower() == "domhan"):
        return tuple(FAMILIES[f] for f in DOMHAN)
    if isinstance(families, (str, Family)):
        if isinstance(families, str) and families.lower() == "all":
            return tuple(FAMILIES.values())
        if isinstance(families, str) and families.lower() == "lcdb":
            return tuple(FAMILIES[f] for f in LCDB)
        return (get_family(families),)
    out = tuple(get_family(f) for f in families)
    if not out:
        raise ParameterError("families is empty: give None (Domhan's 11), 'all' or a list of ids")
    return out
