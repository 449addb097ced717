"""Scenario files: a world, disruption and policy events and run settings, in YAML.

A scenario file is a YAML mapping validated by strict, frozen pydantic models (unknown
keys and wrong types are errors, never ignored). Its JSON schema, for editors, is
:func:`json_schema` (written to ``scenarios/paxsim.schema.json``)::

    # yaml-language-server: $schema=./paxsim.schema.json
    name: ndpr_ban
    description: China bans NdPr oxide exports to the allied bloc.
    start: 2025-01-01          # ISO date of day 0
    horizon_days: 1095
    seed: 1
    replications: 20
    settings:                  # optional engine settings (sim.engine.Settings)
      review_days: 7
      qualification_days:
        ndpr_oxide: {dist: triangular, low: 90, mode: 120, high: 240}
    world:                     # optional; by default the bundled example world
      base: example
      facilities:              # per table: rows inline or a CSV path, replace or extend
        mode: extend
        rows:
          - {facility: jp_refiner, type: refiner, country: JPN,
             commodity: ndpr_oxide, capacity_per_year: 2000, source: assumption}
    events:
      - kind: export_control
        id: ndpr_ban
        issuer: CHN
        commodities: [ndpr_oxide]
        destinations: {blocs: [allied]}
        start: 2025-04-04      # or an offset from day 0: +93d
        duration_days: {dist: triangular, low: 180, mode: 365, high: 730}

``extends: base.yaml`` (relative to the file) loads a base scenario first, recursively:
mappings merge key by key, anything else (lists included) is replaced, and only the
merged result is validated.

Scenario files may come from anyone, so loading is bounded (see the ``MAX_*``
constants): file size, YAML nodes with aliases expanded, nesting depth and ``extends``
depth are checked before any Python object is built, base files and table CSVs must
lie in the folder of the file the user named, the ``name`` must be usable as a folder
name, and seed, replications and horizon have upper bounds.

Events mirror :mod:`sim.events` (``kind`` is one of ``export_control``,
``export_control_change``, ``facility_outage``, ``stockpile_release``). Their numeric
parameters are numbers or distributions (``{dist: fixed | uniform | triangular | normal
| lognormal | bernoulli, ...}``, see :class:`sim.distributions.Distribution`).
:meth:`Scenario.sample` draws them once per replication, in the order of
:data:`DRAW_ORDER`; an export control's ``review_days`` and the settings'
``qualification_days`` are handed to the engine as distributions and drawn there.

Every problem with a file raises :class:`sim.errors.InputError` with a one-line message
``file: yaml.path: problem; fix: ...``, e.g.
``ban.yaml: events[0].capacity_factor: 1.5 is out of range; fix: give a value in [0, 1]``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import os
import re
import sys
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import numpy as np
import pandas as pd
import yaml
from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    PrivateAttr,
    Strict,
    Tag,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import ErrorDetails

from sim.distributions import Distribution
from sim.engine import Settings, simulate
from sim.errors import InputError
from sim.events import (
    CapacityInvestment,
    DemandChange,
    Destinations,
    Event,
    ExportControl,
    ExportControlChange,
    FacilityOutage,
    GeneralLicence,
    MembershipChange,
    Selector,
    SourcingPolicy,
    StockpileRelease,
    to_day,
)
from sim.examples import example_world
from sim.network import Network
from sim.tables import TABLES, read_table
from sim.world import World, load_world

#: The reference world's tables, next to the package in a source checkout.
REFERENCE_DATA = Path(__file__).resolve().parent.parent / "data"

__all__ = [
    "BOUNDS",
    "DRAW_ORDER",
    "BernoulliDist",
    "ControlChangesSpec",
    "DestinationsSpec",
    "DistSpec",
    "EventSpec",
    "ExportControlChangeSpec",
    "ExportControlSpec",
    "CapacityInvestmentSpec",
    "DemandChangeSpec",
    "FacilityOutageSpec",
    "MembershipChangeSpec",
    "FixedDist",
    "GeneralLicenceSpec",
    "LognormalDist",
    "NormalDist",
    "Param",
    "Scenario",
    "SelectorSpec",
    "SettingsSpec",
    "SourcingPolicySpec",
    "StockpileReleaseSpec",
    "TableSpec",
    "TriangularDist",
    "UniformDist",
    "WorldSpec",
    "json_schema",
    "json_schema_text",
    "load_scenario",
    "write_json_schema",
]

#: An offset from the run start in days, e.g. ``+90d`` (the syntax of :func:`sim.events.to_day`).
OFFSET = re.compile(r"^\+\d+(?:\.\d+)?d$")

EVENT_KINDS = (
    "export_control",
    "export_control_change",
    "facility_outage",
    "stockpile_release",
    "membership_change",
    "demand_change",
    "capacity_investment",
    "sourcing_policy",
)
DIST_KINDS = ("fixed", "uniform", "triangular", "normal", "lognormal", "bernoulli")

#: Parameters drawn once per replication by :meth:`Scenario.sample`, per event kind, in
#: draw order (for ``export_control_change`` these are keys of its ``changes``). Events are
#: visited in file order; a parameter given as a plain number consumes no random numbers.
DRAW_ORDER: dict[str, tuple[str, ...]] = {
    "export_control": (
        "duration_days",
        "front_running_share",
        "approval_probability",
        "approved_share",
        "reapply_days",
        "quota_share",
    ),
    "export_control_change": (
        "front_running_share",
        "approval_probability",
        "approved_share",
        "reapply_days",
        "quota_share",
    ),
    "facility_outage": ("capacity_factor", "duration_days"),
    "stockpile_release": ("rate_per_day", "threshold_share"),
    "membership_change": (),
    "demand_change": ("factor",),
    "sourcing_policy": (),
    "capacity_investment": (
        "capacity_per_year",
        "build_days",
        "completion_probability",
        "ramp_up_days",
    ),
}

#: Allowed range of every numeric parameter (for a distribution: of every possible draw).
BOUNDS: dict[str, tuple[float, float]] = {
    "duration_days": (0.0, math.inf),
    "front_running_share": (0.0, math.inf),
    "review_days": (0.0, math.inf),
    "approval_probability": (0.0, 1.0),
    "approved_share": (0.0, 1.0),
    "reapply_days": (0.0, math.inf),
    "quota_share": (0.0, 1.0),
    "capacity_factor": (0.0, 1.0),
    "rate_per_day": (0.0, math.inf),
    "threshold_share": (0.0, 1.0),
    "qualification_days": (0.0, math.inf),
    "factor": (0.0, math.inf),
    "capacity_per_year": (0.0, math.inf),
    "build_days": (0.0, math.inf),
    "completion_probability": (0.0, 1.0),
    "ramp_up_days": (0.0, math.inf),
}

_DATE_FIX = "give YYYY-MM-DD or an offset from the run start like +90d"

# ----------------------------------------------------------------------------- limits
# Scenario files may come from anyone. These limits are checked while a file is read,
# before anything expensive is built from it; every one is stated in its error message.

#: Largest scenario YAML file, in bytes (checked before the file is parsed).
MAX_YAML_BYTES = 1_000_000
#: Most YAML nodes (keys, values and items) in one file, counted with every alias
#: expanded, as the file is composed: this stops "billion laughs" files early.
MAX_YAML_NODES = 20_000
#: Deepest nesting of mappings and lists in one file (aliases expanded).
MAX_YAML_DEPTH = 50
#: Most base files in an ``extends`` chain (steps from the file the user named to its last base).
MAX_EXTENDS_DEPTH = 10
#: Largest world table CSV a scenario may name, in bytes.
MAX_TABLE_BYTES = 10_000_000
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
    raise ValueError(f"{_show(value)} is not a date; fix: give an ISO date YYYY-MM-DD")


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
    raise ValueError(f"{_show(value)} is not a date; fix: {_DATE_FIX}")


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
        raise ValueError(f"{_show(value)} starts with '.'; fix: {_NAME_FIX}")
    if not NAME_PATTERN.fullmatch(value):
        bad = next(c for c in value if not NAME_PATTERN.fullmatch(f"a{c}"))
        raise ValueError(f"{_show(value)} holds the character {bad!r}; fix: {_NAME_FIX}")
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
StrictBool = Annotated[bool, Strict()]
Name = Annotated[str, Strict(), Field(min_length=1)]
ScenarioName = Annotated[
    str,
    Strict(),
    AfterValidator(_scenario_name),
    Field(json_schema_extra={"pattern": f"^{NAME_PATTERN.pattern}$", "maxLength": MAX_NAME_LENGTH}),
]
Names = tuple[Name, ...]
Cell = Union[  # noqa: UP007 - pydantic's smart union picks the exact type first
    StrictBool,
    StrictInt,
    Number,
    Annotated[str, Strict()],
    Annotated[dt.date, Strict()],
    None,
]


class _Strict(BaseModel):
    """Base of every scenario model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# ----------------------------------------------------------------------------- distributions


class FixedDist(_Strict):
    """A fixed value written as a distribution; drawing it consumes no random numbers."""

    dist: Literal["fixed"]
    value: Number = Field(description="The value.")

    def to_distribution(self) -> Distribution:
        """Return the engine's :class:`~sim.distributions.Distribution`."""
        return Distribution("fixed", value=self.value)

    def support(self) -> tuple[float, float]:
        """Return the smallest and largest possible draw."""
        return self.value, self.value


class UniformDist(_Strict):
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


class TriangularDist(_Strict):
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


class NormalDist(_Strict):
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


class LognormalDist(_Strict):
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


class BernoulliDist(_Strict):
    """1 with probability ``p``, else 0."""

    dist: Literal["bernoulli"]
    p: Number = Field(ge=0, le=1, description="Probability of drawing 1.")

    def to_distribution(self) -> Distribution:
        """Return the engine's :class:`~sim.distributions.Distribution`."""
        return Distribution("bernoulli", p=self.p)

    def support(self) -> tuple[float, float]:
        """Return the smallest and largest possible draw."""
        return 0.0 if self.p < 1 else 1.0, 1.0 if self.p > 0 else 0.0


_DistModel = FixedDist | UniformDist | TriangularDist | NormalDist | LognormalDist | BernoulliDist
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
ParamValue = float | _DistModel


# ----------------------------------------------------------------------------- events


class SelectorSpec(_Strict):
    """Facilities matching every field given (within a field, any value matches)."""

    facilities: Names = Field(default=(), description="Facility ids.")
    types: Names = Field(default=(), description="Facility types (stages), e.g. refiner.")
    countries: Names = Field(default=(), description="ISO3 codes of host countries.")
    blocs: Names = Field(default=(), description="Blocs of host countries.")

    def to_selector(self) -> Selector:
        """Return the engine's :class:`~sim.events.Selector`."""
        return Selector(self.facilities, self.types, self.countries, self.blocs)


class DestinationsSpec(_Strict):
    """Importing countries covered: all, or named countries and blocs, minus exceptions."""

    all: StrictBool = Field(default=False, description="Every country other than the issuer.")
    countries: Names = Field(default=(), description="Destination countries (ISO3).")
    blocs: Names = Field(default=(), description="Destination blocs.")
    except_countries: Names = Field(
        default=(), description="Countries exempted even if they match."
    )

    def to_destinations(self) -> Destinations:
        """Return the engine's :class:`~sim.events.Destinations`."""
        return Destinations(self.all, self.countries, self.blocs, self.except_countries)


class GeneralLicenceSpec(_Strict):
    """A general licence: the selected buyers import freely from ``date`` on."""

    buyers: SelectorSpec = Field(description="Buyer facilities covered.")
    date: EventDate = Field(description="First day the licence is in force.")

    def to_licence(self) -> GeneralLicence:
        """Return the engine's :class:`~sim.events.GeneralLicence`."""
        return GeneralLicence(self.buyers.to_selector(), self.date)


def _default(cls: type, name: str) -> Any:
    """Return the default of a field of an event dataclass (one source for the defaults)."""
    return cls.__dataclass_fields__[name].default  # type: ignore[attr-defined]


class ExportControlSpec(_Strict):
    """An export control (:class:`sim.events.ExportControl`).

    Give at most one of ``end`` and ``duration_days``; neither means open-ended.
    """

    kind: Literal["export_control"]
    id: Name = Field(description="Name that export_control_change events refer to.")
    issuer: Name = Field(description="ISO3 code of the exporting country.")
    commodities: Names = Field(min_length=1, description="Commodities covered.")
    destinations: DestinationsSpec = Field(description="Importers covered.")
    start: EventDate = Field(description="First day in force.")
    end: EventDate | None = Field(
        default=None, description="First day no longer in force (may lie past the horizon)."
    )
    duration_days: Param | None = Field(
        default=None, description="Days in force (instead of end); drawn once per replication."
    )
    announced: EventDate | None = Field(
        default=None, description="Announcement date; buyers front-run between it and start."
    )
    front_running_share: Param = Field(
        default=_default(ExportControl, "front_running_share"),
        description="Extra stock covered buyers target before start (0.5 = 50 % more cover).",
    )
    regime: Literal["ban", "license"] = Field(
        default=_default(ExportControl, "regime"),
        description="ban stops every covered flow; license stops it until a licence is decided.",
    )
    review_days: Param = Field(
        default=_default(ExportControl, "review_days"),
        description="Licence review time; a distribution is drawn per application by the engine.",
    )
    approval_probability: Param = Field(
        default=_default(ExportControl, "approval_probability"),
        description="Probability that a licence application is approved (0-1).",
    )
    approved_share: Param = Field(
        default=_default(ExportControl, "approved_share"),
        description="Share of the requested volume an approved licence allows (0-1).",
    )
    reapply_days: Param = Field(
        default=_default(ExportControl, "reapply_days"),
        description="Days after a refusal before the buyer applies again.",
    )
    quota_share: Param | None = Field(
        default=_default(ExportControl, "quota_share"),
        description="Cap on the covered flow, as a share of the flow just before start (0-1).",
    )
    general_licences: tuple[GeneralLicenceSpec, ...] = Field(
        default=(), description="Buyers exempted from named dates."
    )


class ControlChangesSpec(_Strict):
    """New values for the fields of an export control (those given replace the old ones)."""

    commodities: Names | None = Field(
        default=None, min_length=1, description="Commodities covered."
    )
    destinations: DestinationsSpec | None = Field(default=None, description="Importers covered.")
    start: EventDate | None = Field(default=None, description="First day in force.")
    end: EventDate | None = Field(
        default=None, description="First day no longer in force; null: open."
    )
    announced: EventDate | None = Field(default=None, description="Announcement date.")
    front_running_share: Param | None = Field(default=None, description="Extra target cover share.")
    regime: Literal["ban", "license"] | None = Field(default=None, description="ban or license.")
    review_days: Param | None = Field(default=None, description="Licence review time in days.")
    approval_probability: Param | None = Field(default=None, description="Approval probability.")
    approved_share: Param | None = Field(default=None, description="Approved share of the volume.")
    reapply_days: Param | None = Field(default=None, description="Days before reapplying.")
    quota_share: Param | None = Field(
        default=None, description="Quota share; null removes the quota."
    )
    general_licences: tuple[GeneralLicenceSpec, ...] | None = Field(
        default=None, description="General licences (replace the old list)."
    )


#: Fields of :class:`ControlChangesSpec` that may be given as ``null``.
_NULLABLE_CHANGES = ("end", "announced", "quota_share")


class ExportControlChangeSpec(_Strict):
    """Suspend, resume, tighten or ease an earlier export control."""

    kind: Literal["export_control_change"]
    control: Name = Field(description="id of an export_control earlier in the events.")
    date: EventDate = Field(description="When the change takes effect.")
    action: Literal["suspend", "resume", "tighten", "ease"] = Field(
        description="suspend/resume take no changes; tighten/ease need changes."
    )
    changes: ControlChangesSpec = Field(
        default_factory=lambda: ControlChangesSpec(), description="New control parameters."
    )


class FacilityOutageSpec(_Strict):
    """Cut the capacity of the selected facilities for a while."""

    kind: Literal["facility_outage"]
    select: SelectorSpec = Field(description="Facilities affected.")
    capacity_factor: Param = Field(description="Share of capacity that remains (0 = full stop).")
    start: EventDate = Field(description="First day of the outage.")
    duration_days: Param = Field(description="Length of the outage in days.")


class StockpileReleaseSpec(_Strict):
    """Release a strategic stockpile when the holder's supply shortfall passes a threshold."""

    kind: Literal["stockpile_release"]
    holder: Name = Field(description="Country (ISO3) or bloc named in the stockpiles table.")
    commodity: Name = Field(description="Commodity released.")
    rate_per_day: Param = Field(description="Release rate while triggered, in units per day.")
    threshold_share: Param = Field(
        default=_default(StockpileRelease, "threshold_share"),
        description="Shortfall share (0-1) that triggers the release.",
    )
    share_with_bloc: StrictBool = Field(
        default=_default(StockpileRelease, "share_with_bloc"),
        description="Release to the holder's whole bloc, not only the holder.",
    )
    start: EventDate = Field(default="+0d", description="First day releases may happen.")


class MembershipChangeSpec(_Strict):
    """A country joins a bloc (or leaves for another) on a date: coalition expansion."""

    kind: Literal["membership_change"]
    country: Name = Field(description="ISO3 code of the country.")
    bloc: Name = Field(description="Its bloc from the date on (e.g. allied).")
    date: EventDate = Field(description="When the change takes effect.")


class DemandChangeSpec(_Strict):
    """Scale final demand from a date on (rows selected by commodity, country, facility)."""

    kind: Literal["demand_change"]
    factor: Param = Field(description="Multiplier of the selected demand (1.2 = +20 %).")
    date: EventDate = Field(description="When the change takes effect.")
    commodities: tuple[Name, ...] = Field(default=(), description="Commodities (all if empty).")
    countries: tuple[Name, ...] = Field(default=(), description="Countries (all if empty).")
    facilities: tuple[Name, ...] = Field(default=(), description="Facilities (all if empty).")


class SourcingPolicySpec(_Strict):
    """Change how a bloc's producers allocate their output (friend-shoring)."""

    kind: Literal["sourcing_policy"]
    bloc: Name = Field(description="Bloc whose producers follow the rule.")
    rule: Literal["pro_rata", "bloc_first", "offtake"] = Field(
        description="bloc_first: serve buyers of the same bloc first; offtake: the suppliers "
        "serve the buyers first (a long-term contract); pro_rata: the default."
    )
    date: EventDate = Field(description="When the rule takes effect.")
    commodities: tuple[Name, ...] = Field(default=(), description="Commodities (all if empty).")
    suppliers: SelectorSpec | None = Field(default=None, description="Offtake: the suppliers.")
    buyers: SelectorSpec | None = Field(default=None, description="Offtake: the buyers.")


class CapacityInvestmentSpec(_Strict):
    """New capacity: a new facility or an expansion, built after an uncertain delay.

    It comes on line at ``announced + build_days`` if it is completed at all (drawn
    with ``completion_probability``), then ramps up over ``ramp_up_days``.
    """

    kind: Literal["capacity_investment"]
    facility: Name = Field(description="Id of the new facility (or expansion).")
    expands: Name | None = Field(
        default=None, description="Existing facility whose type, country and output it copies."
    )
    type: Name | None = Field(default=None, description="Facility type of a new facility.")
    country: Name | None = Field(default=None, description="ISO3 country of a new facility.")
    commodity: Name | None = Field(default=None, description="Output of a new facility.")
    capacity_per_year: Param = Field(description="Nameplate capacity, output units per year.")
    announced: EventDate = Field(description="When the project is announced.")
    build_days: Param = Field(description="Days from announcement to first output.")
    completion_probability: Param = Field(
        default=1.0, description="Probability that the project is built at all (0-1)."
    )
    ramp_up_days: Param = Field(default=0.0, description="Days to ramp to nameplate.")


EventSpec = Annotated[
    Union[  # noqa: UP007
        ExportControlSpec,
        ExportControlChangeSpec,
        FacilityOutageSpec,
        StockpileReleaseSpec,
        MembershipChangeSpec,
        DemandChangeSpec,
        CapacityInvestmentSpec,
        SourcingPolicySpec,
    ],
    Field(discriminator="kind"),
]

# ----------------------------------------------------------------------------- settings, world

_ENGINE = Settings()


class SettingsSpec(_Strict):
    """Engine settings (:class:`sim.engine.Settings`)."""

    review_days: Number = Field(
        default=_ENGINE.review_days, gt=0, description="Days between ordering reviews."
    )
    stock_adjust_days: Number = Field(
        default=_ENGINE.stock_adjust_days, gt=0, description="Days to close an inventory gap."
    )
    ramp_step_days: Number = Field(
        default=_ENGINE.ramp_step_days, gt=0, description="Step of the substitution ramp, in days."
    )
    qualification_days: dict[str, Param] = Field(
        default_factory=dict,
        description="Per commodity: supplier qualification lead time in days, overriding the "
        "commodities table; a distribution is drawn per buyer by the engine.",
    )
    substitution_ramp_days: dict[str, Annotated[Number, Field(ge=0)]] = Field(
        default_factory=dict,
        description="Per commodity: substitution ramp length in days, overriding the table.",
    )


class TableSpec(_Strict):
    """One world table: rows given inline or a CSV path, replacing or extending the base."""

    mode: Literal["replace", "extend"] = Field(
        description="replace the base world's table, or extend it (append rows)."
    )
    rows: tuple[dict[str, Cell], ...] | None = Field(
        default=None, description="Rows as mappings from column to value (see the data dictionary)."
    )
    path: Name | None = Field(default=None, description="CSV file, relative to the scenario file.")


class WorldSpec(_Strict):
    """The world: a base world and per-table changes."""

    base: Literal["example", "reference"] | None = Field(
        default="example",
        description="Base world: example (the bundled 8-facility example world), reference "
        "(the reference world in data/), or null for none (then every required table "
        "must be given).",
    )
    countries: TableSpec | None = None
    commodities: TableSpec | None = None
    facilities: TableSpec | None = None
    recipes: TableSpec | None = None
    lanes: TableSpec | None = None
    sourcing: TableSpec | None = None
    inventory: TableSpec | None = None
    stockpiles: TableSpec | None = None
    demand: TableSpec | None = None

    def table(self, name: str) -> TableSpec | None:
        """Return the entry of table ``name`` (``None`` if not given)."""
        spec: TableSpec | None = getattr(self, name)
        return spec


# ----------------------------------------------------------------------------- scenario


@dataclass(frozen=True)
class _Doc:
    """One scenario file of an ``extends`` chain: its name in messages and its data."""

    label: str
    data: dict[str, Any]
    file: Path | None = None


@dataclass(frozen=True)
class _Origin:
    """Where the rows of an assembled world table come from, for error messages."""

    table: str
    n_base: int
    base: str | None
    spec: TableSpec | None

    def __call__(self, row: int) -> str:
        """YAML path naming 0-based ``row`` of the assembled table."""
        if self.spec is None or row < self.n_base:
            return f"world.base ({self.base} {self.table} row {row + 1})"
        i = row - self.n_base
        if self.spec.rows is not None:
            return f"world.{self.table}.rows[{i}]"
        return f"world.{self.table}.path ({self.spec.path} row {i + 1})"


class Scenario(_Strict):
    """A validated scenario: run settings, world, events.

    Build one with :func:`load_scenario` (or :meth:`from_dict`), which also runs
    :meth:`check`. ``settings`` and ``world`` in the file are the fields
    ``settings_spec`` and ``world_spec``; the methods :meth:`settings` and
    :meth:`world` turn them into engine objects.
    """

    extends: Name | None = Field(
        default=None,
        description="Base scenario file, relative to this file: mappings merge, lists and "
        "values are replaced.",
    )
    name: ScenarioName = Field(
        description="Short name of the scenario, also the name of its result folder: "
        f"1 to {MAX_NAME_LENGTH} letters, digits, '_', '-' or '.', not starting with '.'.",
    )
    description: Annotated[str, Strict()] = Field(
        default="", description="What the scenario represents."
    )
    start: IsoDate = Field(description="Calendar date of day 0 of every run.")
    horizon_days: StrictInt = Field(
        gt=0, le=MAX_HORIZON_DAYS, description="Length of a run in days (at most 100 years)."
    )
    seed: StrictInt = Field(
        ge=0, lt=MAX_SEED, description="Seed of the random numbers of every replication."
    )
    replications: StrictInt = Field(
        default=1, ge=1, le=MAX_REPLICATIONS, description="Number of replications."
    )
    settings_spec: SettingsSpec = Field(
        default_factory=lambda: SettingsSpec(), alias="settings", description="Engine settings."
    )
    world_spec: WorldSpec = Field(
        default_factory=lambda: WorldSpec(), alias="world", description="World tables."
    )
    events: tuple[EventSpec, ...] = Field(default=(), description="Disruptions and policies.")

    _chain: tuple[_Doc, ...] = PrivateAttr(default=())
    _base_dir: Path | None = PrivateAttr(default=None)
    _world: World | None = PrivateAttr(default=None)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        source: str = "scenario",
        base_dir: str | Path | None = None,
    ) -> Scenario:
        """Validate scenario data already parsed from YAML (or built in Python).

        Parameters
        ----------
        data : mapping
            The scenario, as :func:`yaml.safe_load` would return it.
        source : str
            Name of the data in error messages.
        base_dir : str or Path, optional
            Folder that ``extends`` and table paths are relative to, and must resolve
            inside (default: the working directory).

        Returns
        -------
        Scenario
            The validated and checked scenario.

        Raises
        ------
        InputError
            On any problem, naming ``source`` (or the base file) and the YAML path.
        """
        folder = Path(base_dir) if base_dir is not None else Path()
        chain = _expand(_Doc(source, dict(data)), folder, folder, ())
        return cls._from_chain(chain, folder)

    @classmethod
    def _from_chain(cls, chain: Sequence[_Doc], base_dir: Path) -> Scenario:
        merged: dict[str, Any] = {}
        for doc in reversed(chain):
            merged = _merge(merged, {k: v for k, v in doc.data.items() if k != "extends"})
        if "extends" in chain[0].data:
            merged = {"extends": chain[0].data["extends"], **merged}
        try:
            scenario = cls.model_validate(merged)
        except ValidationError as exc:
            raise _convert(exc, merged, chain) from None
        scenario._chain = tuple(chain)
        scenario._base_dir = base_dir
        scenario.check()
        return scenario

    @property
    def source(self) -> str:
        """Name of the scenario's file (the first of its ``extends`` chain)."""
        return self._chain[0].label if self._chain else "scenario"

    @property
    def files(self) -> tuple[Path, ...]:
        """Every input file: the scenario files of the ``extends`` chain, then table CSVs."""
        yamls = [doc.file for doc in self._chain if doc.file is not None]
        tables = [
            ((self._base_dir or Path()) / str(entry.path)).resolve()
            for name in TABLES
            if (entry := self.world_spec.table(name)) is not None and entry.path is not None
        ]
        return (*yamls, *tables)

    # ------------------------------------------------------------------ errors
    def _owner(self, path: Sequence[str | int]) -> str:
        return _owner(self._chain, path) if self._chain else "scenario"

    def _error(self, path: Sequence[str | int], problem: str, fix: str) -> InputError:
        return InputError(self._owner(path), _fmt(path), _line(problem), _line(fix))

    # ------------------------------------------------------------------ checks
    def check(self) -> None:
        """Check everything pydantic cannot: ranges, dates, references to the world.

        In order: dates within ``[start, start + horizon_days]`` (an ``end`` may lie
        beyond), parameter ranges (:data:`BOUNDS`, over the whole support of a
        distribution), event consistency (``end`` or ``duration_days``, known control
        ids, changes), the world (built and validated), the countries, blocs,
        commodities, facilities and stockpiles events name, and finally the engine's
        own checks on a one-day run with every distribution at its mean (this catches,
        e.g., a control that selects no trade flow).

        Raises
        ------
        InputError
            On the first problem, naming the file and the YAML path.
        """
        self._check_run()
        self._check_events()
        for commodity, value in self.settings_spec.qualification_days.items():
            self._check_param(("settings", "qualification_days", commodity), value)
        world = self.world()
        self._check_references(world)
        self._check_engine(world)

    def _check_run(self) -> None:
        """Check that the run ends on a date Python can represent (by 9999-12-31)."""
        if (dt.date.max - self.start).days < self.horizon_days:
            raise self._error(
                ("horizon_days",),
                f"a run of {self.horizon_days} days from {self.start} would end after "
                f"{dt.date.max}, the last date paxsim can represent",
                f"give at most {(dt.date.max - self.start).days} days, or an earlier start",
            )

    def _day(self, value: dt.date | str, path: Sequence[str | int], *, upper: bool = True) -> float:
        """Day of ``value`` after start, checked to lie in the run."""
        day = to_day(value, self.start, _fmt(path), "")
        if day < 0 or (upper and day > self.horizon_days):
            end = self.start + dt.timedelta(days=self.horizon_days)
            raise self._error(
                path,
                f"{_show_date(value)} is outside the run ({self.start} to {end})",
                f"give a date from {self.start} to {end}, or an offset +0d to "
                f"+{self.horizon_days}d",
            )
        return day

    def _check_param(self, path: tuple[str | int, ...], value: ParamValue | None) -> None:
        if value is None:
            return
        name = str(path[-1]) if path[-2] != "qualification_days" else "qualification_days"
        lo, hi = BOUNDS[name]
        if isinstance(value, float):
            if not lo <= value <= hi:
                wanted = f">= {lo:g}" if hi == math.inf else f"in [{lo:g}, {hi:g}]"
                raise self._error(path, f"{value:g} is out of range", f"give a value {wanted}")
            return
        a, b = value.support()
        if a < lo or b > hi:
            raise self._error(
                path,
                f"{value.dist} draws can fall outside [{lo:g}, {hi:g}] (from {a:g} to {b:g})",
                f"keep every draw in [{lo:g}, {hi:g}]"
                + (", e.g. with a uniform or triangular distribution" if b == math.inf else ""),
            )

    def _check_events(self) -> None:
        controls: dict[str, ExportControlSpec] = {}
        for i, ev in enumerate(self.events):
            p: tuple[str | int, ...] = ("events", i)
            for name in DRAW_ORDER[ev.kind]:
                if name in type(ev).model_fields:
                    self._check_param((*p, name), getattr(ev, name))
            if isinstance(ev, ExportControlSpec):
                if ev.id in controls:
                    raise self._error(
                        (*p, "id"),
                        f"duplicate control id {_show(ev.id)}",
                        "give each export_control its own id",
                    )
                controls[ev.id] = ev
                self._check_param((*p, "review_days"), ev.review_days)
                start = self._day(ev.start, (*p, "start"))
                if ev.end is not None and ev.duration_days is not None:
                    raise self._error(
                        (*p, "duration_days"),
                        "both end and duration_days are given",
                        "give one of them",
                    )
                if ev.end is not None and self._day(ev.end, (*p, "end"), upper=False) < start:
                    raise self._error((*p, "end"), "is before start", "give an end after start")
                if ev.announced is not None and self._day(ev.announced, (*p, "announced")) > start:
                    raise self._error(
                        (*p, "announced"), "is after start", "announce on or before start"
                    )
                for g, lic in enumerate(ev.general_licences):
                    self._day(lic.date, (*p, "general_licences", g, "date"))
            elif isinstance(ev, ExportControlChangeSpec):
                self._check_change(ev, p, controls)
            elif isinstance(ev, MembershipChangeSpec | DemandChangeSpec | SourcingPolicySpec):
                self._day(ev.date, (*p, "date"))
            elif isinstance(ev, CapacityInvestmentSpec):
                self._day(ev.announced, (*p, "announced"))
            else:
                self._day(ev.start, (*p, "start"))

    def _check_change(
        self,
        ev: ExportControlChangeSpec,
        p: tuple[str | int, ...],
        controls: Mapping[str, ExportControlSpec],
    ) -> None:
        if ev.control not in controls:
            raise self._error(
                (*p, "control"),
                f"no export_control with id {_show(ev.control)} earlier in events",
                f"use one of {list(controls)}" if controls else "declare the export_control first",
            )
        day = self._day(ev.date, (*p, "date"))
        # A control can be changed once it is known: from its announcement on (between
        # announcement and start, e.g. to postpone or soften it), or from its start if it
        # is not announced. Before that there is nothing to change.
        ctl = controls[ev.control]
        known, when = (ctl.announced, "is announced") if ctl.announced else (ctl.start, "starts")
        known_day = to_day(known, self.start, _fmt(p), "")
        if day < known_day:
            first = self.start + dt.timedelta(days=math.ceil(known_day))
            raise self._error(
                (*p, "date"),
                f"{_show_date(ev.date)} is before control {_show(ev.control)} {when} "
                f"({_show_date(known)})",
                f"date the change on or after {first}: a control can be changed from its "
                "announcement on, or from its start if it has no announced date",
            )
        given = ev.changes.model_fields_set
        if ev.action in ("suspend", "resume") and given:
            raise self._error(
                (*p, "changes"),
                f"'{ev.action}' takes no changes",
                "remove them or use tighten/ease",
            )
        if ev.action in ("tighten", "ease") and not given:
            raise self._error(
                (*p, "changes"), f"'{ev.action}' needs changes", "give the new parameters"
            )
        c = ev.changes
        q = (*p, "changes")
        for name in ControlChangesSpec.model_fields:
            if name in given and getattr(c, name) is None and name not in _NULLABLE_CHANGES:
                raise self._error((*q, name), "cannot be null", "give a value or leave it out")
        for name in (*DRAW_ORDER["export_control_change"], "review_days"):
            self._check_param((*q, name), getattr(c, name))
        for name in ("start", "announced"):
            if getattr(c, name) is not None:
                self._day(getattr(c, name), (*q, name))
        if c.end is not None:
            self._day(c.end, (*q, "end"), upper=False)
        for g, lic in enumerate(c.general_licences or ()):
            self._day(lic.date, (*q, "general_licences", g, "date"))

    def _check_references(self, world: World) -> None:
        """Check the names events and settings use against the world."""
        countries = set(world["countries"]["country"])
        blocs = set(world["countries"]["bloc"])
        commodities = set(world["commodities"]["commodity"])
        known = {
            "facilities": (set(world.facilities["facility"]), "facility"),
            "types": (set(world.facilities["type"]), "facility type"),
            "countries": (countries, "country"),
            "blocs": (blocs, "bloc"),
            "commodities": (commodities, "commodity"),
            "except_countries": (countries, "country"),
        }

        def names(path: tuple[str | int, ...], field: str, values: Sequence[str]) -> None:
            pool, what = known[field]
            for j, v in enumerate(values):
                if v not in pool:
                    raise self._error(
                        (*path, field, j), f"unknown {what} {_show(v)}", _choices(pool, v)
                    )

        def selector(path: tuple[str | int, ...], sel: SelectorSpec) -> None:
            for field in ("facilities", "types", "countries", "blocs"):
                names(path, field, getattr(sel, field))
            if sel.to_selector().is_empty():
                raise self._error(
                    path,
                    "selects nothing (no field given)",
                    "give facilities, types, countries or blocs",
                )
            if not sel.to_selector().mask(world.facilities, world.bloc_of()).any():
                raise self._error(
                    path,
                    "selects no facility (no facility matches every field given)",
                    "check facility ids, types, countries and blocs",
                )

        def control(
            path: tuple[str | int, ...], spec: ExportControlSpec | ControlChangesSpec
        ) -> None:
            names(path, "commodities", spec.commodities or ())
            if spec.destinations is not None:
                d = spec.destinations
                dp = (*path, "destinations")
                for field in ("countries", "blocs", "except_countries"):
                    names(dp, field, getattr(d, field))
                if not (d.all or d.countries or d.blocs):
                    raise self._error(
                        dp, "selects no destination", "give all: true, countries or blocs"
                    )
            for g, lic in enumerate(spec.general_licences or ()):
                selector((*path, "general_licences", g, "buyers"), lic.buyers)

        for commodity in self.settings_spec.qualification_days:
            if commodity not in commodities:
                raise self._error(
                    ("settings", "qualification_days", commodity),
                    f"unknown commodity {_show(commodity)}",
                    _choices(commodities, commodity),
                )
        for commodity in self.settings_spec.substitution_ramp_days:
            if commodity not in commodities:
                raise self._error(
                    ("settings", "substitution_ramp_days", commodity),
                    f"unknown commodity {_show(commodity)}",
                    _choices(commodities, commodity),
                )
        stockpiles = world["stockpiles"]
        for i, ev in enumerate(self.events):
            p: tuple[str | int, ...] = ("events", i)
            if isinstance(ev, ExportControlSpec):
                if ev.issuer not in countries:
                    raise self._error(
                        (*p, "issuer"),
                        f"unknown country {_show(ev.issuer)}",
                        _choices(countries, ev.issuer),
                    )
                control(p, ev)
            elif isinstance(ev, ExportControlChangeSpec):
                control((*p, "changes"), ev.changes)
            elif isinstance(ev, FacilityOutageSpec):
                selector((*p, "select"), ev.select)
            elif isinstance(ev, StockpileReleaseSpec):
                if ev.holder not in countries | blocs:
                    raise self._error(
                        (*p, "holder"),
                        f"unknown country or bloc {_show(ev.holder)}",
                        _choices(countries | blocs, ev.holder),
                    )
                if ev.commodity not in commodities:
                    raise self._error(
                        (*p, "commodity"),
                        f"unknown commodity {_show(ev.commodity)}",
                        _choices(commodities, ev.commodity),
                    )
                held = (stockpiles["holder"] == ev.holder) & (
                    stockpiles["commodity"] == ev.commodity
                )
                if not held.any():
                    raise self._error(
                        (*p, "holder"),
                        f"{_show(ev.holder)} holds no stockpile of {_show(ev.commodity)}",
                        "add a row to world.stockpiles or name another holder",
                    )

    def _check_engine(self, world: World) -> None:
        """Let the engine check the events on a one-day run, at the distributions' means."""
        events = self._events(lambda _path, d: d.to_distribution().mean_value())
        try:
            simulate(
                world,
                events,
                start=self.start,
                horizon_days=1,
                rng=np.random.default_rng(0),
                settings=self.settings(),
            )
        except InputError as err:
            m = re.match(r"^events\[(\d+)\]", err.where)
            if not m:
                raise InputError(self.source, err.field, err.problem, err.fix) from None
            i = int(m.group(1))
            field = err.field
            head = re.split(r"[.\[]", field, maxsplit=1)[0]
            if (
                isinstance(self.events[i], ExportControlChangeSpec)
                and head in ControlChangesSpec.model_fields
            ):
                field = f"changes.{field}"
            raise InputError(
                self._owner(("events", i)), f"events[{i}].{field}", err.problem, err.fix
            ) from None

    # ------------------------------------------------------------------ world
    def world(self) -> World:
        """Return the scenario's world: the base world with the tables given, validated.

        Returns
        -------
        World
            Validated tables (built once, then cached).

        Raises
        ------
        InputError
            On a bad table or cross-table inconsistency, naming the YAML path of the
            offending row (``world.facilities.rows[2].capacity_per_year``).
        """
        if self._world is None:
            self._world = self._build_world()
        return self._world

    def _build_world(self) -> World:
        spec = self.world_spec
        tables: dict[str, pd.DataFrame] = {}
        origins: dict[str, _Origin] = {}
        if spec.base is not None:
            base_world = example_world() if spec.base == "example" else load_world(REFERENCE_DATA)
            for name, frame in base_world.tables.items():
                tables[name] = frame
                origins[name] = _Origin(name, len(frame), spec.base, None)
        for name in TABLES:
            entry = spec.table(name)
            if entry is None:
                continue
            if (entry.rows is None) == (entry.path is None):
                raise self._error(
                    ("world", name), "give exactly one of rows and path", "remove one of them"
                )
            new_origin = _Origin(name, 0, spec.base, entry)
            new = self._read_entry(name, entry, new_origin)
            base = tables.get(name)
            if entry.mode == "extend" and base is not None and len(base):
                self._check_new_keys(name, base, new, new_origin)
                tables[name] = pd.concat([base, new], ignore_index=True)
                origins[name] = _Origin(name, len(base), spec.base, entry)
            else:
                tables[name] = new
                origins[name] = new_origin
        try:
            world = World.from_tables(**tables)
            Network(world, self.start)
        except InputError as err:
            raise self._world_error(err, origins) from None
        return world

    def _read_entry(self, name: str, entry: TableSpec, origin: _Origin) -> pd.DataFrame:
        where = TABLES[name].filename
        if entry.rows is not None:
            data: pd.DataFrame | Path = _rows_frame(name, entry.rows)
        else:
            data = self._table_file(name, str(entry.path))
        try:
            return read_table(name, data, where=where)
        except InputError as err:
            raise self._world_error(err, {name: origin}) from None

    def _table_file(self, name: str, given: str) -> Path:
        """Return the CSV file of a table path, checked before it is read.

        It must lie in the scenario's folder (or below) and be a regular, non-empty file
        of at most :data:`MAX_TABLE_BYTES` bytes.
        """
        root = self._base_dir or Path()
        file = root / given
        where = ("world", name, "path")
        if not _inside(root, file):
            raise self._error(
                where,
                f"{_show(given)} is outside the folder of the scenario file",
                "keep table files in the folder of the scenario you load, or below it "
                "(symbolic links are followed)",
            )
        if not file.is_file():
            raise self._error(
                where,
                f"file {_show(given)} not found",
                "give the path of a CSV file, relative to the scenario file",
            )
        size = file.stat().st_size
        columns = ", ".join(c.name for c in TABLES[name].columns)
        if size == 0:
            raise self._error(
                where,
                f"file {_show(given)} is empty",
                f"give a header row with the columns {columns} (a header alone is a "
                "table without rows)",
            )
        if size > MAX_TABLE_BYTES:
            raise self._error(
                where,
                f"file {_show(given)} is {size} bytes, more than the {MAX_TABLE_BYTES} "
                "bytes (10 MB) a world table may have",
                "give a smaller table",
            )
        return file

    def _check_new_keys(
        self, name: str, base: pd.DataFrame, new: pd.DataFrame, origin: _Origin
    ) -> None:
        key = list(TABLES[name].key)
        old = set(base[key].astype(str).itertuples(index=False, name=None))
        for i, row in enumerate(new[key].astype(str).itertuples(index=False, name=None)):
            if row in old:
                text = ", ".join(f"{k}={v}" for k, v in zip(key, row, strict=True))
                raise InputError(
                    self._owner(("world", name)),
                    origin(i),
                    f"duplicate key ({text}): the base table has this row",
                    "change the key, or use mode: replace",
                )

    def _world_error(self, err: InputError, origins: Mapping[str, _Origin]) -> InputError:
        """Re-address an error of a world table to the YAML path of the offending row."""
        m = re.fullmatch(r"(\w+)\.csv", err.where)
        table = m.group(1) if m and m.group(1) in TABLES else None
        if table is None:
            name = err.field if err.where == "world" else err.where
            return InputError(self._owner(("world",)), f"world.{name}", err.problem, err.fix)
        owner = self._owner(("world", table))
        origin = origins.get(table)
        entry = self.world_spec.table(table)
        if err.field == "-" and entry is not None and entry.path is not None:  # the whole file
            return InputError(
                owner,
                f"world.{table}.path",
                f"file {_show(entry.path)}: {err.problem}",
                err.fix,
            )
        rm = re.fullmatch(r"(?:(?P<col>\w+) \()?row (?P<row>\d+)\)?", err.field)
        if rm and origin is not None:
            prefix = origin(int(rm.group("row")) - 1)
            col = rm.group("col")
            return InputError(owner, f"{prefix}.{col}" if col else prefix, err.problem, err.fix)
        if re.fullmatch(r"\w+", err.field):  # a column name
            if entry is not None and entry.rows is not None:
                hit = [i for i, r in enumerate(entry.rows) if err.field in r]
                field = f"world.{table}.rows[{hit[0] if hit else 0}].{err.field}"
            elif entry is not None:
                field = f"world.{table}.path ({entry.path}).{err.field}"
            else:
                field = f"world.{table}.{err.field}"
            return InputError(owner, field, err.problem, err.fix)
        return InputError(owner, f"world.{table}", f"{err.field}: {err.problem}", err.fix)

    # ------------------------------------------------------------------ engine objects
    def settings(self) -> Settings:
        """Return the engine settings.

        Returns
        -------
        Settings
            ``qualification_days`` given as distributions stay
            :class:`~sim.distributions.Distribution` (the engine draws them per buyer).
        """
        s = self.settings_spec
        return Settings(
            review_days=s.review_days,
            stock_adjust_days=s.stock_adjust_days,
            ramp_step_days=s.ramp_step_days,
            qualification_days={c: _engine_value(v) for c, v in s.qualification_days.items()},
            substitution_ramp_days=dict(s.substitution_ramp_days),
        )

    def sample(self, rng: np.random.Generator) -> tuple[list[Event], dict[str, float]]:
        """Draw every event parameter given as a distribution, once, and build the events.

        Events are visited in file order and, within an event, the parameters in the
        order of :data:`DRAW_ORDER`; each distribution is drawn with one call of
        :meth:`sim.distributions.Distribution.draw`. Plain numbers (and ``dist: fixed``)
        consume no random numbers. An export control's ``review_days`` is not drawn
        here: it goes to the engine, which draws it per licence application.
        ``duration_days`` of an export control becomes its ``end`` (start plus the draw).

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of the draws (advanced by them).

        Returns
        -------
        events : list of Event
            Engine events (:mod:`sim.events`), in file order.
        values : dict of str to float
            Each drawn value keyed by its YAML path, e.g. ``events[0].duration_days`` or
            ``events[2].changes.approval_probability``, in draw order.
        """
        values: dict[str, float] = {}

        def draw(path: str, dist: _DistModel) -> float:
            values[path] = dist.to_distribution().draw(rng)
            return values[path]

        return self._events(draw), values

    def _events(self, draw: Callable[[str, _DistModel], float]) -> list[Event]:
        """Build the engine events, resolving distributions with ``draw(path, dist)``."""
        out: list[Event] = []
        for i, ev in enumerate(self.events):
            p = f"events[{i}]"
            if isinstance(ev, ExportControlChangeSpec):
                out.append(self._change(ev, p, draw))
                continue
            v = {
                name: _number(getattr(ev, name), f"{p}.{name}", draw)
                for name in DRAW_ORDER[ev.kind]
                if getattr(ev, name) is not None
            }
            if isinstance(ev, ExportControlSpec):
                end: dt.date | str | float | None = ev.end
                if "duration_days" in v:
                    end = to_day(ev.start, self.start, p, "start") + v["duration_days"]
                out.append(
                    ExportControl(
                        id=ev.id,
                        issuer=ev.issuer,
                        commodities=ev.commodities,
                        destinations=ev.destinations.to_destinations(),
                        start=ev.start,
                        end=end,
                        announced=ev.announced,
                        front_running_share=v["front_running_share"],
                        regime=ev.regime,
                        review_days=_engine_value(ev.review_days),
                        approval_probability=v["approval_probability"],
                        approved_share=v["approved_share"],
                        reapply_days=v["reapply_days"],
                        quota_share=v.get("quota_share"),
                        general_licences=tuple(g.to_licence() for g in ev.general_licences),
                    )
                )
            elif isinstance(ev, FacilityOutageSpec):
                out.append(
                    FacilityOutage(
                        select=ev.select.to_selector(),
                        capacity_factor=v["capacity_factor"],
                        start=ev.start,
                        duration_days=v["duration_days"],
                    )
                )
            elif isinstance(ev, MembershipChangeSpec):
                out.append(MembershipChange(country=ev.country, bloc=ev.bloc, date=ev.date))
            elif isinstance(ev, SourcingPolicySpec):
                out.append(
                    SourcingPolicy(
                        bloc=ev.bloc,
                        rule=ev.rule,
                        date=ev.date,
                        commodities=ev.commodities,
                        suppliers=ev.suppliers.to_selector() if ev.suppliers else Selector(),
                        buyers=ev.buyers.to_selector() if ev.buyers else Selector(),
                    )
                )
            elif isinstance(ev, CapacityInvestmentSpec):
                chance = v["completion_probability"]
                completed = chance >= 1.0 or (
                    draw(f"{p}.completed", BernoulliDist(dist="bernoulli", p=chance)) >= 0.5
                )
                day = to_day(ev.announced, self.start, p, "announced") + v["build_days"]
                out.append(
                    CapacityInvestment(
                        facility=ev.facility,
                        capacity_per_year=v["capacity_per_year"],
                        available_from=day,
                        ramp_up_days=v["ramp_up_days"],
                        completed=completed,
                        expands=ev.expands or "",
                        type=ev.type or "",
                        country=ev.country or "",
                        commodity=ev.commodity or "",
                    )
                )
            elif isinstance(ev, DemandChangeSpec):
                out.append(
                    DemandChange(
                        factor=v["factor"],
                        date=ev.date,
                        commodities=ev.commodities,
                        countries=ev.countries,
                        facilities=ev.facilities,
                    )
                )
            else:
                out.append(
                    StockpileRelease(
                        holder=ev.holder,
                        commodity=ev.commodity,
                        rate_per_day=v["rate_per_day"],
                        threshold_share=v["threshold_share"],
                        share_with_bloc=ev.share_with_bloc,
                        start=ev.start,
                    )
                )
        return out

    @staticmethod
    def _change(
        ev: ExportControlChangeSpec, p: str, draw: Callable[[str, _DistModel], float]
    ) -> ExportControlChange:
        c = ev.changes
        changes: dict[str, object] = {}
        for name in ControlChangesSpec.model_fields:
            if name not in c.model_fields_set:
                continue
            value = getattr(c, name)
            if value is None:
                changes[name] = None
            elif name in DRAW_ORDER["export_control_change"]:
                changes[name] = _number(value, f"{p}.changes.{name}", draw)
            elif name == "review_days":
                changes[name] = _engine_value(value)
            elif name == "destinations":
                changes[name] = value.to_destinations()
            elif name == "general_licences":
                changes[name] = tuple(g.to_licence() for g in value)
            else:
                changes[name] = value
        return ExportControlChange(
            control=ev.control, date=ev.date, action=ev.action, changes=changes
        )


def _number(value: ParamValue, path: str, draw: Callable[[str, _DistModel], float]) -> float:
    """Return a plain number as is, and draw a distribution with ``draw``."""
    return value if isinstance(value, float) else draw(path, value)


def _engine_value(value: ParamValue) -> float | Distribution:
    """Return a plain number as is, and a distribution as the engine's Distribution."""
    return value if isinstance(value, float) else value.to_distribution()


def _rows_frame(name: str, rows: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    """Inline rows as a table of strings, as if read from a CSV file."""
    if not rows:
        return pd.DataFrame({c.name: pd.Series([], dtype=object) for c in TABLES[name].columns})
    return pd.DataFrame([{k: _cell_text(v) for k, v in row.items()} for row in rows], dtype=object)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


# ----------------------------------------------------------------------------- loading


def load_scenario(path: str | Path) -> Scenario:
    """Load, merge (``extends``), validate and check a scenario file.

    The file is parsed with PyYAML's safe loader (no Python object tags), reading
    ``1e6`` and ``5e-1`` as numbers as YAML 1.2 does, and accepting merge keys
    (``<<: *anchor``); duplicate keys and tags other than the standard YAML ones are
    rejected. Files from anyone can be loaded: each file is at most
    :data:`MAX_YAML_BYTES` bytes, :data:`MAX_YAML_NODES` nodes with aliases expanded
    and :data:`MAX_YAML_DEPTH` levels deep, an ``extends`` chain has at most
    :data:`MAX_EXTENDS_DEPTH` base files, and every base file and table path must
    resolve (symbolic links followed) inside the folder of ``path``. Messages do not
    quote other files.

    Parameters
    ----------
    path : str or Path
        The YAML file.

    Returns
    -------
    Scenario
        The validated scenario; its world is built and checked.

    Raises
    ------
    InputError
        On any problem (YAML syntax, unknown key, wrong type, bad or out-of-range date,
        unknown country, commodity or facility, an event that selects nothing, a bad
        table, a missing or cyclic ``extends``), with a one-line message naming the
        file, the YAML path and a fix.
    """
    path = Path(path)
    doc = _Doc(str(path), _read_yaml(path, str(path)), path.resolve())
    chain = _expand(doc, path.parent, path.parent, (path.resolve(),))
    return Scenario._from_chain(chain, path.parent)


def _expand(
    doc: _Doc, folder: Path, top: Path, stack: tuple[Path, ...], labels: tuple[str, ...] = ()
) -> list[_Doc]:
    """Return the ``extends`` chain starting at ``doc`` (in ``folder``), child first."""
    doc = _Doc(doc.label, _rebase_paths(doc.data, folder, top), doc.file)
    target = doc.data.get("extends")
    if target is None:
        return [doc]
    if not isinstance(target, str) or not target.strip():
        raise InputError(
            doc.label,
            "extends",
            f"{_show(target)} is not a file path",
            "give the path of the base scenario, relative to this file",
        )
    file = folder / target
    if not _inside(top, file):
        raise InputError(
            doc.label,
            "extends",
            f"{_show(target)} is outside the folder of the scenario file",
            "keep base scenarios in the folder of the scenario you load, or below it "
            "(symbolic links are followed)",
        )
    label = os.path.normpath(str(Path(doc.label).parent / target))
    labels = (*labels, doc.label)
    if file.resolve() in stack:
        cycle = " -> ".join(_show_text(x, 60) for x in (*labels, label))
        raise InputError(
            doc.label, "extends", f"extends cycle ({cycle})", "remove the extends that loops back"
        )
    if len(labels) > MAX_EXTENDS_DEPTH:
        raise InputError(
            doc.label,
            "extends",
            f"the extends chain has more than {MAX_EXTENDS_DEPTH} base files (counted from "
            f"{_show_text(labels[0], 60)})",
            "merge some of the base scenarios into one",
        )
    if not file.is_file():
        raise InputError(
            doc.label,
            "extends",
            f"file {_show(target)} not found",
            f"give the path of the base scenario relative to {Path(doc.label).name}",
        )
    base = _Doc(label, _read_yaml(file, label), file.resolve())
    return [doc, *_expand(base, file.parent, top, (*stack, file.resolve()), labels)]


def _inside(root: Path, path: Path) -> bool:
    """Whether ``path`` resolves (symbolic links followed) to ``root`` or below it."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symbolic link loop
        return False


def _rebase_paths(data: dict[str, Any], folder: Path, top: Path) -> dict[str, Any]:
    """Make the table paths of a base file relative to the top file's folder."""
    world = data.get("world")
    if folder.resolve() == top.resolve() or not isinstance(world, dict):
        return data
    world = dict(world)
    for name, entry in world.items():
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            if not Path(entry["path"]).is_absolute():
                rel = os.path.relpath(folder.resolve() / entry["path"], top.resolve())
                world[name] = {**entry, "path": rel}
    return {**data, "world": world}


def _merge(base: Any, over: Any) -> Any:
    """Deep-merge ``over`` into ``base``: mappings merge key by key, the rest is replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = _merge(base[key], value) if key in base else value
        return out
    return over


_STANDARD_TAGS = {
    f"tag:yaml.org,2002:{t}"
    for t in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
}
_MERGE_TAG = "tag:yaml.org,2002:merge"
#: Longest whole number read (Python refuses to convert 4300 digits and more; every
#: integer field of a scenario is far below 2**63, 19 digits).
_MAX_INT_CHARS = 40

#: Floats that YAML 1.2 reads as numbers but PyYAML's YAML 1.1 rules read as strings:
#: an exponent without a sign or without a decimal point (``1e6``, ``5e-1``, ``2.5E3``),
#: and a signed number with only a fractional part (``-.5``, ``.5e3``).
_FLOAT_12 = re.compile(
    r"^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+"
    r"|[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?)$"
)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 floats, checking the limits while it composes.

    Composing counts every node, with each alias counted as the nodes it stands for,
    and tracks the nesting depth (an alias adds the depth of its target), so that a
    file over :data:`MAX_YAML_NODES` or :data:`MAX_YAML_DEPTH` is refused before it is
    fully read, and long before Python objects are built from it. An alias to a node
    that is still being composed (a recursive structure) is refused too.
    """

    def __init__(self, text: str, label: str) -> None:
        super().__init__(text)
        self.label = label
        self._path: list[str | int] = []
        self._depth = 0
        self._deepest = 0
        self._count = 0
        #: Expanded node count and height of each finished anchored node.
        self._anchored: dict[int, tuple[int, int]] = {}

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        """Compose one node (PyYAML's method), counting it and checking the limits."""
        if isinstance(index, yaml.ScalarNode):
            self._path.append(str(index.value))
        elif isinstance(index, int):
            self._path.append(index)
        elif index is not None:
            self._path.append("?")
        try:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                target = self.anchors.get(event.anchor)
                if target is not None:  # otherwise PyYAML reports the undefined alias
                    size_height = self._anchored.get(id(target))
                    if size_height is None:
                        raise self._refuse(
                            event,
                            "the alias refers to a node that contains it (a recursive structure)",
                            "remove the alias, or point it at a mapping or list that is "
                            "complete before it",
                        )
                    self._grow(size_height[0], event)
                    self._reach(self._depth + size_height[1], event)
                node: yaml.Node = super().compose_node(parent, index)
                return node
            event = self.peek_event()
            self._depth += 1
            self._reach(self._depth, event)
            self._grow(1, event)
            count, deepest = self._count, self._deepest
            self._deepest = self._depth
            node = super().compose_node(parent, index)
            if event.anchor is not None:
                self._anchored[id(node)] = (
                    self._count - count + 1,
                    self._deepest - self._depth + 1,
                )
            self._deepest = max(deepest, self._deepest)
            self._depth -= 1
            return node
        finally:
            if index is not None:
                self._path.pop()

    def _grow(self, nodes: int, event: yaml.Event) -> None:
        self._count += nodes
        if self._count > MAX_YAML_NODES:
            raise self._refuse(
                event,
                f"the file holds more than {MAX_YAML_NODES} YAML nodes (keys, values and "
                "list items, each alias counted as what it stands for)",
                "give large world tables as CSV files (world.<table>.path) and do not nest aliases",
            )

    def _reach(self, depth: int, event: yaml.Event) -> None:
        if depth > MAX_YAML_DEPTH:
            raise self._refuse(
                event,
                f"mappings and lists are nested more than {MAX_YAML_DEPTH} levels deep",
                "flatten the data: a scenario needs about 10 levels",
                field=_fmt(self._path[:1]),
            )

    def _refuse(self, event: yaml.Event, problem: str, fix: str, field: str = "") -> InputError:
        line = event.start_mark.line + 1 if event.start_mark is not None else 0
        return InputError(self.label, field or _fmt(self._path), f"{problem} (line {line})", fix)


_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+.0123456789"))


def _read_yaml(path: Path, label: str) -> dict[str, Any]:
    """Parse one scenario file with :class:`_Loader`, after checking its size and node tree.

    The size is checked before the file is read, the node count and depth while it is
    composed, tags, duplicate keys and dates on the composed nodes, and only then are
    Python objects constructed.
    """
    try:
        if not path.is_file():
            problem = "is not a regular file" if path.exists() else "file not found"
            raise InputError(label, "-", problem, "check the path")
        if path.stat().st_size > MAX_YAML_BYTES:
            raise _too_big(label, path.stat().st_size)
        with path.open("rb") as stream:
            raw = stream.read(MAX_YAML_BYTES + 1)
    except OSError as exc:
        raise InputError(
            label, "-", f"cannot read the file ({exc.strerror or type(exc).__name__})", "check it"
        ) from None
    if len(raw) > MAX_YAML_BYTES:
        raise _too_big(label, len(raw))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            label,
            "-",
            f"the file is not UTF-8 text (byte {exc.start + 1} cannot be decoded)",
            "give a UTF-8 text file",
        ) from None
    loader = _Loader(text, label)
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise _yaml_error(label, exc) from None
        if root is not None:
            _check_nodes(root, label, (), set())
        try:
            data = loader.construct_document(root) if root is not None else None
        except (yaml.YAMLError, ValueError, TypeError) as exc:
            raise _yaml_error(label, exc) from None
    finally:
        loader.dispose()
    if data is None:
        raise InputError(
            label, "-", "the file is empty", "give name, start, horizon_days, seed and events"
        )
    if not isinstance(data, dict):
        raise InputError(
            label,
            "-",
            f"the file holds a {type(data).__name__}, not a mapping",
            "write the scenario as 'key: value' lines (name, start, horizon_days, ...)",
        )
    return data


def _too_big(label: str, size: int) -> InputError:
    return InputError(
        label,
        "-",
        f"the file is {size} bytes, more than the {MAX_YAML_BYTES} bytes (1 MB) a scenario "
        "file may have",
        "give large world tables as CSV files (world.<table>.path)",
    )


def _yaml_error(label: str, exc: Exception) -> InputError:
    """Turn a YAML parse error into an InputError naming the line and column.

    The message never quotes the file: PyYAML's own text of a mark shows the offending
    line, so only its problem and context (short descriptions) are used.
    """
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "-"
    parts = [getattr(exc, "context", None), getattr(exc, "problem", None)]
    what = " ".join(str(x) for x in parts if x)
    if not what:
        what = str(exc) if not isinstance(exc, yaml.YAMLError) else type(exc).__name__
    # PyYAML quotes names from the file (an undefined alias, a duplicate anchor, a tag
    # handle): drop quoted text longer than one (escaped) character, keep the rest.
    what = re.sub(r"\s*(?:'[^']{5,}'|\"[^\"]{5,}\")", "", what)
    return InputError(
        label,
        where,
        f"invalid YAML ({_show_text(what)})",
        "fix the syntax: indentation, ':' after keys, closed brackets and quotes",
    )


def _check_nodes(node: yaml.Node, label: str, path: tuple[str | int, ...], seen: set[int]) -> None:
    """Reject non-standard tags, duplicate keys and invalid dates, naming their YAML path.

    A merge key (``<<: *base``) is allowed as a mapping key; the limits on size and
    depth were checked while composing (:class:`_Loader`).
    """
    if id(node) in seen:
        return
    seen.add(id(node))
    line = node.start_mark.line + 1
    if node.tag not in _STANDARD_TAGS:
        raise InputError(
            label,
            _fmt(path),
            f"YAML tag '{_show_text(node.tag)}' is not allowed (line {line})",
            "quote '<<' to use it as text"
            if node.tag == _MERGE_TAG
            else "remove the tag: scenario files hold plain data",
        )
    if isinstance(node, yaml.MappingNode):
        keys: set[object] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG and isinstance(key_node, yaml.ScalarNode):
                if "<<" in keys:
                    raise InputError(
                        label,
                        _fmt((*path, "<<")),
                        f"duplicate merge key (again on line {key_node.start_mark.line + 1})",
                        "merge several mappings with one key: <<: [*a, *b]",
                    )
                keys.add("<<")
                _check_nodes(value_node, label, (*path, "<<"), seen)
                continue
            _check_nodes(key_node, label, path, seen)
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else id(key_node)
            if key in keys:
                raise InputError(
                    label,
                    _fmt((*path, str(key))),
                    f"duplicate key (again on line {key_node.start_mark.line + 1})",
                    "keep one of them",
                )
            keys.add(key)
            _check_nodes(value_node, label, (*path, str(key)), seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_nodes(item, label, (*path, i), seen)
    elif node.tag.endswith(":int") and len(node.value) > _MAX_INT_CHARS:
        raise InputError(
            label,
            _fmt(path),
            f"a whole number of {len(node.value)} characters (line {line})",
            "give a number below 2**63 (at most 19 digits)",
        )
    elif node.tag.endswith(":timestamp") and len(node.value) == 10:
        try:
            dt.date.fromisoformat(node.value)
        except ValueError:
            raise InputError(
                label,
                _fmt(path),
                f"'{node.value}' is not a valid date (line {line})",
                "give a real calendar date YYYY-MM-DD",
            ) from None


# ----------------------------------------------------------------------------- error helpers

_TAGS = {"number", "distribution", *EVENT_KINDS, *DIST_KINDS}


def _fmt(path: Sequence[str | int]) -> str:
    """Format a YAML path: ``events[2].capacity_factor``."""
    out = ""
    for el in path:
        if isinstance(el, int):
            out += f"[{el}]"
        else:
            name = _show_text(str(el), 60)
            out += f".{name}" if out else name
    return out or "-"


def _line(text: str) -> str:
    return " ".join(text.split())


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _show_text(text: str, limit: int = 120) -> str:
    """Text for a message: on one line, printable, at most ``limit`` characters."""
    text = _line(text)
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show_date(value: dt.date | str) -> str:
    return value.isoformat() if isinstance(value, dt.date) else value


def _choices(pool: set[str], value: str) -> str:
    close = difflib.get_close_matches(value, sorted(pool), n=1)
    listed = sorted(pool)
    more = " ..." if len(listed) > 12 else ""
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"{hint}use one of {listed[:12]}{more}"


def _owner(chain: Sequence[_Doc], path: Sequence[str | int]) -> str:
    """Name the file of the chain that the value at ``path`` of the merged data comes from."""
    cands: list[tuple[str, Any]] = [(doc.label, doc.data) for doc in chain]
    for el in path:
        nxt: list[tuple[str, Any]] = []
        for label, node in cands:
            if isinstance(node, dict) and el in node:
                nxt.append((label, node[el]))
            elif isinstance(node, list) and isinstance(el, int) and 0 <= el < len(node):
                nxt.append((label, node[el]))
        if not nxt:
            break
        cands = nxt if isinstance(nxt[0][1], dict) else nxt[:1]
    return cands[0][0]


def _data_path(loc: Sequence[str | int], data: Any) -> list[str | int]:
    """Turn a pydantic ``loc`` into a YAML path, dropping union tags."""
    out: list[str | int] = []
    node = data
    for el in loc:
        if isinstance(node, dict) and el in node:
            out.append(el)
            node = node[el]
        elif isinstance(node, list) and isinstance(el, int) and 0 <= el < len(node):
            out.append(el)
            node = node[el]
        elif isinstance(el, str) and el in _TAGS:
            continue
        else:
            out.append(el)
            node = None
    return out


def _flatten(tp: Any) -> list[Any]:
    """Members of a (possibly annotated, optional) union type."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _flatten(get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        return [t for arg in get_args(tp) for t in _flatten(arg)]
    return [tp]


def _model_tag(model: type[BaseModel]) -> str | None:
    for field in ("kind", "dist"):
        info = model.model_fields.get(field)
        if info is not None:
            args = get_args(info.annotation)
            return str(args[0]) if args else None
    return None


def _allowed_keys(loc: Sequence[str | int]) -> list[str]:
    """Keys allowed in the mapping at ``loc[:-1]`` (for did-you-mean hints)."""
    current: list[Any] = [Scenario]
    for el in loc[:-1]:
        nxt: list[Any] = []
        for tp in (t for c in current for t in _flatten(c)):
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                fields = {f.alias or n: f for n, f in tp.model_fields.items()}
                if isinstance(el, str) and el in fields:
                    nxt.append(fields[el].annotation)
                elif el in ("number", "distribution") or (el in _TAGS and _model_tag(tp) == el):
                    nxt.append(tp)
            elif get_origin(tp) is tuple and isinstance(el, int):
                nxt.append(get_args(tp)[0])
            elif get_origin(tp) is dict and isinstance(el, str):
                nxt.append(get_args(tp)[1])
        current = nxt
    keys = {
        info.alias or name
        for tp in (t for c in current for t in _flatten(c))
        if isinstance(tp, type) and issubclass(tp, BaseModel)
        for name, info in tp.model_fields.items()
    }
    return sorted(keys)


#: Fixes for values out of the range of a top-level field, saying why the limit is there.
_RANGE_FIX: dict[tuple[str | int, ...], str] = {
    ("seed",): "give 0 <= seed < 2**63 (9223372036854775808): runs and result files "
    "store the seed as a 64-bit integer",
    ("replications",): f"give 1 to {MAX_REPLICATIONS} replications",
    ("horizon_days",): f"give 1 to {MAX_HORIZON_DAYS} days (100 years)",
}


def _explain(err: ErrorDetails, path: Sequence[str | int]) -> tuple[str, str]:
    """Problem and fix for one pydantic error."""
    kind, msg = err["type"], err["msg"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    value = err.get("input")
    last = _show_text(str(path[-1]), 60) if path else ""
    if kind == "missing":
        return "required key is missing", f"add '{last}'"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(err["loc"])
        close = difflib.get_close_matches(last, allowed, n=1)
        hint = f"did you mean '{close[0]}'? " if close else "remove it; "
        return f"unknown key '{last}'", f"{hint}allowed keys: {', '.join(allowed)}"
    if kind == "union_tag_invalid":
        disc = str(ctx.get("discriminator", "")).strip("'")
        return f"unknown {disc} '{ctx.get('tag')}'", f"use one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        disc = str(ctx.get("discriminator", "")).strip("'")
        kinds = EVENT_KINDS if disc == "kind" else DIST_KINDS
        return f"'{disc}' is missing", f"add {disc}: one of {', '.join(kinds)}"
    if kind == "literal_error":
        return f"{_show(value)} is not allowed", f"use {ctx.get('expected')}"
    if kind == "value_error":
        text = msg.removeprefix("Value error, ")
        problem, _, fix = text.partition("; fix: ")
        return problem, fix or "correct the value"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{_show(value)} is not a mapping", "give 'key: value' entries"
    if kind in ("tuple_type", "list_type"):
        return f"{_show(value)} is not a list", "give a list, e.g. [a, b] or '- item' lines"
    if kind.startswith(("greater_than", "less_than")) and tuple(path) in _RANGE_FIX:
        return f"{_show(value)} is out of range", _RANGE_FIX[tuple(path)]
    if kind.startswith(("greater_than", "less_than")):
        return f"{_show(value)} is out of range", "give a value " + msg.removeprefix(
            "Input should be "
        )
    if kind == "too_short":
        return msg, "give at least one value"
    if kind == "int_type" and isinstance(value, float) and value.is_integer():
        return (
            f"{_show(value)} is not a valid integer (YAML reads a number with a decimal "
            "point or an exponent as a float)",
            f"write it as a whole number, e.g. {int(value)}",
        )
    if kind == "bool_type":
        return f"{_show(value)} is not true or false", "give true or false, without quotes"
    if msg.startswith("Input should be "):
        rest = msg.removeprefix("Input should be ")
        unquote = " without quotes" if isinstance(value, str) and kind != "string_type" else ""
        return f"{_show(value)} is not {rest}", f"give {rest}{unquote}"
    return msg, "correct the value (see scenarios/paxsim.schema.json)"


def _convert(exc: ValidationError, data: dict[str, Any], chain: Sequence[_Doc]) -> InputError:
    """Convert the first error of a ValidationError (unknown keys first) to an InputError."""
    errors = exc.errors()
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    path = _data_path(err["loc"], data)
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        disc = str((err.get("ctx") or {}).get("discriminator", "")).strip("'")
        if disc and (not path or path[-1] != disc):
            path.append(disc)
    problem, fix = _explain(err, path)
    return InputError(_owner(chain, path), _fmt(path), _line(problem), _line(fix))


# ----------------------------------------------------------------------------- schema


def json_schema() -> dict[str, Any]:
    """Return the JSON schema of scenario files (draft 2020-12), for editors and validators.

    A file with ``extends`` need not repeat the required keys (its base gives them).

    Returns
    -------
    dict
        The schema of :class:`Scenario`, keys by YAML name.
    """
    schema = Scenario.model_json_schema()
    required = schema.pop("required", [])
    schema.update(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "paxsim scenario",
            "description": "A paxsim scenario file: run settings, world tables and events "
            "(see sim/scenario.py).",
            "if": {"not": {"required": ["extends"]}},
            "then": {"required": required},
        }
    )
    return schema


def json_schema_text() -> str:
    """Return :func:`json_schema` as pretty-printed JSON with sorted keys and a final newline."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def write_json_schema(path: str | Path) -> Path:
    """Write :func:`json_schema_text` to ``path`` and return the path."""
    path = Path(path)
    path.write_text(json_schema_text(), encoding="utf-8")
    return path


if __name__ == "__main__":  # pragma: no cover - regenerate: python -m sim.scenario
    target = sys.argv[1] if len(sys.argv) > 1 else "scenarios/paxsim.schema.json"
    print(write_json_schema(target))
