"""Random parameters: a fixed number or a named distribution, drawn with a given generator.

Every draw takes a :class:`numpy.random.Generator`; nothing here holds state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from sim.errors import InputError

DistKind = Literal["fixed", "uniform", "triangular", "normal", "lognormal", "bernoulli"]


@dataclass(frozen=True)
class Distribution:
    """A scalar parameter that is fixed or drawn from a distribution.

    Parameters
    ----------
    dist : str
        One of ``fixed``, ``uniform`` (``low``, ``high``), ``triangular``
        (``low``, ``mode``, ``high``), ``normal`` (``mean``, ``sd``; truncated
        at 0 by redrawing), ``lognormal`` (``mean``, ``sd`` of the variable
        itself, not of its logarithm) or ``bernoulli`` (``p``; draws 0 or 1).
    value, low, mode, high, mean, sd, p : float
        The parameters the kind uses; the others stay ``None``.
    """

    dist: DistKind = "fixed"
    value: float | None = None
    low: float | None = None
    mode: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = None
    p: float | None = None

    def __post_init__(self) -> None:
        needed = {
            "fixed": ("value",),
            "uniform": ("low", "high"),
            "triangular": ("low", "mode", "high"),
            "normal": ("mean", "sd"),
            "lognormal": ("mean", "sd"),
            "bernoulli": ("p",),
        }[self.dist]
        for name in needed:
            v = getattr(self, name)
            if v is None or not math.isfinite(v):
                raise InputError(
                    "distribution", name, f"{self.dist} needs a finite '{name}'", f"give {needed}"
                )
        if self.dist in ("uniform", "triangular") and not (
            self.low <= (self.mode if self.mode is not None else self.low) <= self.high  # type: ignore[operator]
        ):
            raise InputError(
                "distribution", "low/mode/high", "must satisfy low <= mode <= high", "reorder them"
            )
        if self.dist in ("normal", "lognormal") and self.sd < 0:  # type: ignore[operator]
            raise InputError("distribution", "sd", "is negative", "give sd >= 0")
        if self.dist == "lognormal" and self.mean <= 0:  # type: ignore[operator]
            raise InputError("distribution", "mean", "lognormal mean must be > 0", "give mean > 0")
        if self.dist == "bernoulli" and not 0 <= self.p <= 1:  # type: ignore[operator]
            raise InputError("distribution", "p", "must lie in [0, 1]", "give a probability")

    @classmethod
    def of(cls, x: float | Distribution) -> Distribution:
        """Return ``x`` as a distribution (a plain number becomes ``fixed``)."""
        return x if isinstance(x, Distribution) else cls("fixed", value=float(x))

    @property
    def is_fixed(self) -> bool:
        """Whether a draw always returns the same number (no randomness consumed)."""
        return self.dist == "fixed"

    def mean_value(self) -> float:
        """Return the expected value of the distribution (before truncation for ``normal``)."""
        if self.dist == "fixed":
            return float(self.value)  # type: ignore[arg-type]
        if self.dist == "uniform":
            return (self.low + self.high) / 2  # type: ignore[operator]
        if self.dist == "triangular":
            return (self.low + self.mode + self.high) / 3  # type: ignore[operator]
        if self.dist in ("normal", "lognormal"):
            return float(self.mean)  # type: ignore[arg-type]
        return float(self.p)  # type: ignore[arg-type]

    def draw(self, rng: np.random.Generator) -> float:
        """Draw one value; ``fixed`` consumes no random numbers."""
        if self.dist == "fixed":
            return float(self.value)  # type: ignore[arg-type]
        if self.dist == "uniform":
            return float(rng.uniform(self.low, self.high))  # type: ignore[arg-type]
        if self.dist == "triangular":
            if self.low == self.high:
                return float(self.low)  # type: ignore[arg-type]
            return float(rng.triangular(self.low, self.mode, self.high))  # type: ignore[arg-type]
        if self.dist == "normal":
            if self.sd == 0:
                return max(0.0, float(self.mean))  # type: ignore[arg-type]
            for _ in range(1000):
                x = float(rng.normal(self.mean, self.sd))  # type: ignore[arg-type]
                if x >= 0:
                    return x
            return 0.0
        if self.dist == "lognormal":
            m, s = float(self.mean), float(self.sd)  # type: ignore[arg-type]
            sigma2 = math.log1p((s / m) ** 2)
            return float(rng.lognormal(math.log(m) - sigma2 / 2, math.sqrt(sigma2)))
        return float(rng.random() < self.p)  # type: ignore[operator]
