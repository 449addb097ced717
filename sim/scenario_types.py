"""Value types of scenario files: dates, names, numbers, distributions, run limits.

The scalar types are strict (``"5"`` is not a number, ``1`` is not a date, ``"yes"`` is
not a flag) and their validators word problems as ``problem; fix: ...`` for
:mod:`sim.scenario_errors`. A numeric event parameter (:data:`Param`) is a number or a
distribution mapping ``{dist: fixed | uniform | triangular | normal | lognormal |
bernoulli, ...}``; each distribution model knows the engine's
:class:`~sim.distributions.Distribution` it stands for and the range of its draws.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Strict,
    Tag,
    WithJsonSchema,
    model_validator,
)

from sim.distributions import Distribution
from sim.events import Schedule, StrictBool
from sim.scenario_text import show

#: An offset from the run start in days, e.g. ``+90d`` (the syntax of :func:`sim.events.to_day`).
OFFSET = re.compile(r"^\+\d+(?:\.\d+)?d$")
DIST_KINDS = ("fixed", "uniform", "triangular", "normal", "lognormal", "bernoulli")

_DATE_FIX = "give YYYY-MM-DD or an offset from the run start like +90d"

# ----------------------------------------------------------------------------- limits
# Checked when a scenario is validated; every one is stated in its error message.

#: Most replications a scenario may ask for.
MAX_REPLICATIONS = 100_000
#: Longest run, in days (100 years).
MAX_HORIZON_DAYS = 36_500
#: Seeds must be below this, here and in ``sim.ensemble`` (which imports it): result files
#: store the seed as a 64-bit integer.
MAX_SEED = 2**63
#: Longest scenario name (it is the name of the result folder).
MAX_NAME_LENGTH = 100
#: A scenario name: letters, digits, ``_``, ``-`` and ``.``, not starting with a dot.
NAME_PATTERN = re.compile(rf"[A-Za-z0-9_-][A-Za-z0-9_.-]{{0,{MAX_NAME_LENGTH - 1}}}")
_NAME_FIX = (
    f"use 1 to {MAX_NAME_LENGTH} letters, digits, '_', '-' or '.', not starting with '.' "
    "(the name is the folder the results are written to)"
)


# ----------------------------------------------------------------------------- scalar types


def _iso_date(value: object) -> dt.date:
    """Validate a calendar date: a YAML date or an ISO ``YYYY-MM-DD`` string."""
    if isinstance(value, dt.datetime):
        raise ValueError(f"'{value}' has a time of day; fix: give a date as YYYY-MM-DD")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{show(value)} is not a date; fix: give an ISO date YYYY-MM-DD")


def _event_date(value: object) -> dt.date | str:
    """Validate an event date: a calendar date or an offset ``+Nd`` from the run start."""
    if isinstance(value, str) and OFFSET.match(value.strip()):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(
            f"{value} is not a date; fix: write +{value}d for {value} days after start"
        )
    try:
        return _iso_date(value)
    except ValueError:
        pass
    raise ValueError(f"{show(value)} is not a date; fix: {_DATE_FIX}")


def _scenario_name(value: str) -> str:
    """Validate a scenario name: it becomes a folder name under ``--out``."""
    if not value.strip():
        raise ValueError(f"the name is empty or blank; fix: {_NAME_FIX}")
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(
            f"the name is {len(value)} characters long, more than {MAX_NAME_LENGTH}; "
            f"fix: {_NAME_FIX}"
        )
    if value.startswith("."):
        raise ValueError(f"{show(value)} starts with '.'; fix: {_NAME_FIX}")
    if not NAME_PATTERN.fullmatch(value):
        bad = next(c for c in value if not NAME_PATTERN.fullmatch(f"a{c}"))
        raise ValueError(f"{show(value)} holds the character {bad!r}; fix: {_NAME_FIX}")
    return value


IsoDate = Annotated[
    dt.date,
    PlainValidator(_iso_date),
    WithJsonSchema({"type": "string", "format": "date", "description": "ISO date YYYY-MM-DD."}),
]
EventDate = Annotated[
    dt.date | str,
    PlainValidator(_event_date),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date"},
                {"type": "string", "pattern": OFFSET.pattern},
            ],
            "description": "ISO date YYYY-MM-DD, or days after the run start like +90d.",
        }
    ),
]
Number = Annotated[float, Strict(), AllowInfNan(False)]
StrictInt = Annotated[int, Strict()]
ScenarioName = Annotated[
    str,
    Strict(),
    AfterValidator(_scenario_name),
    Field(json_schema_extra={"pattern": f"^{NAME_PATTERN.pattern}$", "maxLength": MAX_NAME_LENGTH}),
]
Cell = Union[  # noqa: UP007 - pydantic's smart union picks the exact type first
    StrictBool,
    StrictInt,
    Number,
    Annotated[str, Strict()],
    Annotated[dt.date, Strict()],
    None,
]


class StrictModel(BaseModel):
    """Base of every scenario model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# ----------------------------------------------------------------------------- distributions


class FixedDist(StrictModel):
    """A fixed value written as a distribution; drawing it consumes no random numbers."""

    dist: Literal["fixed"]
    value: Number = Field(description="The value.")

    def to_distribution(self) -> Distribution:
        """Return the engine's :class:`~sim.distributions.Distribution`."""
        return Distribution("fixed", value=self.value)

    def support(self) -> tuple[float, float]:
        """Return the smallest and largest possible draw."""
        return self.value, self.value


class UniformDist(StrictModel):
    """Uniform between ``low`` and ``high``."""

    dist: Literal["uniform"]
    low: Number = Field(description="Lower bound.")
    high: Number = Field(description="Upper bound (>= low).")

    @model_validator(mode="after")
    def _ordered(self) -> UniformDist:
        if self.low > self.high:
            raise ValueError(f"low {self.low:g} is above high {self.high:g}; fix: give low <= high")
        return self

    def to_distribution(self) -> Distribution:
        """Return the engine's :class:`~sim.distributions.Distribution`."""
        return Distribution("uniform", low=self.low, high=self.high)

    def support(self) -> tuple[float, float]:
        """Return the smallest and largest possible draw."""
        return self.low, self.high


class TriangularDist(StrictModel):
    """Triangular with minimum ``low``, most likely value ``mode`` and maximum ``high``."""

    dist: Literal["triangular"]
    low: Number = Field(description="Minimum.")
    mode: Number = Field(description="Most likely value (low <= mode <= high).")
    high: Number = Field(description="Maximum.")

    @model_validator(mode="after")
    def _ordered(self) -> TriangularDist:
        if not self.low <= self.mode <= self.high:
            raise ValueError(
                f"low {self.low:g}, mode {self.mode:g}, high {self.high:g} are out of order; "
                "fix: give low <= mode <= high"
            )
        return self

    def to_distribution(self) -> Distribution:
        """Return the engine's :class:`~sim.distributions.Distribution`."""
        return Distribution("triangular", low=self.low, mode=self.mode, high=self.high)

    def support(self) -> tuple[float, float]:
        """Return the smallest and largest possible draw."""
        return self.low, self.high


class NormalDist(StrictModel):
    """Normal with ``mean`` and ``sd``, truncated at 0 by redrawing (draws are >= 0)."""

    dist: Literal["normal"]
    mean: Number = Field(description="Mean before truncation.")
    sd: Number = Field(ge=0, description="Standard deviation (>= 0).")

    def to_distribution(self) -> Distribution:
        """Return the engine's :class:`~sim.distributions.Distribution`."""
        return Distribution("normal", mean=self.mean, sd=self.sd)

    def support(self) -> tuple[float, float]:
        """Return the smallest and largest possible draw."""
        return (max(0.0, self.mean), max(0.0, self.mean)) if self.sd == 0 else (0.0, math.inf)


class LognormalDist(StrictModel):
    """Lognormal given by the ``mean`` and ``sd`` of the variable itself (not of its log)."""

    dist: Literal["lognormal"]
    mean: Number = Field(gt=0, description="Mean of the variable (> 0).")
    sd: Number = Field(ge=0, description="Standard deviation of the variable (>= 0).")

    def to_distribution(self) -> Distribution:
        """Return the engine's :class:`~sim.distributions.Distribution`."""
        return Distribution("lognormal", mean=self.mean, sd=self.sd)

    def support(self) -> tuple[float, float]:
        """Return the smallest and largest possible draw."""
        return (self.mean, self.mean) if self.sd == 0 else (0.0, math.inf)


class BernoulliDist(StrictModel):
    """1 with probability ``p``, else 0."""

    dist: Literal["bernoulli"]
    p: Number = Field(ge=0, le=1, description="Probability of drawing 1.")

    def to_distribution(self) -> Distribution:
        """Return the engine's :class:`~sim.distributions.Distribution`."""
        return Distribution("bernoulli", p=self.p)

    def support(self) -> tuple[float, float]:
        """Return the smallest and largest possible draw."""
        return 0.0 if self.p < 1 else 1.0, 1.0 if self.p > 0 else 0.0


DistModel = FixedDist | UniformDist | TriangularDist | NormalDist | LognormalDist | BernoulliDist
DistSpec = Annotated[
    Union[  # noqa: UP007 - a discriminated union needs the members spelled out
        FixedDist, UniformDist, TriangularDist, NormalDist, LognormalDist, BernoulliDist
    ],
    Field(discriminator="dist"),
]


def _param_tag(value: Any) -> str:
    """Tell numbers from distribution mappings (the tag of :data:`Param`)."""
    return "distribution" if isinstance(value, dict | BaseModel) else "number"


#: A numeric parameter: a number, or a distribution mapping ``{dist: ..., ...}``.
Param = Annotated[
    Union[  # noqa: UP007
        Annotated[Number, Tag("number")],
        Annotated[DistSpec, Tag("distribution")],
    ],
    Discriminator(_param_tag),
]
ParamValue = float | DistModel


def _scheduled_tag(value: Any) -> str:
    """Tell schedules (``{points: ...}``) from numbers and distributions."""
    if isinstance(value, Schedule) or (isinstance(value, dict) and "points" in value):
        return "schedule"
    return _param_tag(value)


#: A parameter that may also change over time: a number, a distribution or a
#: :class:`~sim.events.Schedule` ``{points: [{date, value}, ...], interpolate}``.
ScheduledParam = Annotated[
    Union[  # noqa: UP007
        Annotated[Number, Tag("number")],
        Annotated[DistSpec, Tag("distribution")],
        Annotated[Schedule, Tag("schedule")],
    ],
    Discriminator(_scheduled_tag),
]
