"""Disruption and policy events: what a scenario does to the world, as plain data.

Events are frozen, validated pydantic models, built with keyword arguments
(``FacilityOutage(select=Selector(types=("refiner",)), capacity_factor=0.5,
start="+30d", duration_days=60)``); they compare by value and are hashable (an
:class:`ExportControlChange` holds a dict and is not). Dates are :class:`datetime.date`,
ISO strings (``"2025-04-04"``), offsets from the run start (``"+90d"``) or day offsets as
numbers. The engine (:mod:`sim.engine`) turns them into SimPy events; this module only
says what each one means and which facilities or trade flows it selects.

Disruptions (removed from the paired baseline run): :class:`ExportControl`,
:class:`ExportControlChange`, :class:`FacilityOutage`. Policies (kept in the
baseline): :class:`StockpileRelease`, :class:`MembershipChange`, :class:`DemandChange`,
:class:`CapacityInvestment`, :class:`SourcingPolicy`.

One definition per event kind
-----------------------------
The fields of each kind (name, type, default, description) are declared once, here, in
a generic base class such as :class:`FacilityOutageFields`. Its type parameters stand
for what differs between the two forms of an event:

``NumT``
    a number: ``float`` in an engine event; in a scenario file a number or a
    distribution, drawn once per replication;
``DrawnT``
    a number the engine draws itself (an export control's ``review_days``, drawn per
    licence application): ``float`` or :class:`~sim.distributions.Distribution` here;
``DateT``
    a date: :data:`DateLike` here; in a scenario file a date or an offset ``+Nd``;
``LicenceT``, ``ChangesT``
    the parts built from those: general licences, and the new values of a control
    change (a dict here, a validated mapping in a file).

The engine events are the bases pinned to engine types (``class
FacilityOutage(FacilityOutageFields[float, DateLike])``); :mod:`sim.scenario_events`
pins the same bases to the scenario's types and adds the ``kind`` key. Names,
flags, choices and the selector parts (:class:`Selector`, :class:`Destinations`) are
the same in both forms and validated as strictly in both. A kind whose file form
differs from its drawn form adds the file-only fields there (an export control's
``duration_days``; an investment's ``announced``, ``build_days`` and
``completion_probability``), and :mod:`sim.scenario_events` derives the engine fields
from them in one place. Ranges (a share in [0, 1], a date in the run) are checked by
the scenario for files and by the engine for every event, with messages naming the
event.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from collections.abc import Mapping
from typing import Annotated, Any, Generic, Literal, TypeVar

import numpy as np
import pandas as pd
from pydantic import (
    AllowInfNan,
    BaseModel,
    ConfigDict,
    Field,
    InstanceOf,
    PlainValidator,
    Strict,
    ValidationError,
)

from sim.distributions import Distribution
from sim.errors import InputError

_OFFSET = re.compile(r"^\+(\d+(?:\.\d+)?)d$")


def _date_like(value: object) -> object:
    """Accept a date-like value as it is (:func:`to_day` reads it, naming the event)."""
    if isinstance(value, dt.date | str | int | float):
        return value
    raise ValueError(
        f"{value!r} is not a date: give a date, 'YYYY-MM-DD', an offset like '+90d' or a "
        "number of days"
    )


#: A date in an engine event: a date, an ISO date string, an offset ``"+90d"`` from the
#: run start or a number of days after it.
DateLike = Annotated[dt.date | str | int | float, PlainValidator(_date_like)]
#: A name (an id, a country or commodity code): a non-empty string.
Name = Annotated[str, Strict(), Field(min_length=1)]
Names = tuple[Name, ...]
StrictBool = Annotated[bool, Strict()]
#: A number the engine draws itself: a fixed number or a Distribution.
EngineDrawn = float | InstanceOf[Distribution]

NumT = TypeVar("NumT")
DrawnT = TypeVar("DrawnT")
DateT = TypeVar("DateT")
LicenceT = TypeVar("LicenceT")
ChangesT = TypeVar("ChangesT")


def _shared(value: object) -> Any:
    """Return the default of a field typed by a type parameter (valid in both forms).

    Typed ``Any`` so that type checkers accept it for the parameter.
    """
    return value


def to_day(value: DateLike, start: dt.date, where: str, field_name: str) -> float:
    """Convert a date-like value to days after ``start`` (the run's day 0).

    Parameters
    ----------
    value : date, str or number
        A date, an ISO date string, an offset ``"+90d"`` or a number of days.
    start : date
        The run's start date.
    where, field_name : str
        Used in the error message.
    """
    if isinstance(value, bool):
        raise InputError(where, field_name, f"{value!r} is not a date", "give YYYY-MM-DD or +Nd")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return float((value - start).days)
    text = str(value).strip()
    m = _OFFSET.match(text)
    if m:
        return float(m.group(1))
    try:
        return float((dt.date.fromisoformat(text) - start).days)
    except ValueError:
        raise InputError(
            where, field_name, f"'{value}' is not a date", "give YYYY-MM-DD or an offset like +90d"
        ) from None


class EventModel(BaseModel):
    """Base of every event and event part: unknown fields are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Built(EventModel):
    """Mixin of the engine events: building one with a wrong value raises InputError.

    The error names the class and the field. (Only the engine forms: pydantic calls a
    custom ``__init__`` when it validates a nested model too, and scenario files are
    validated with YAML paths by :mod:`sim.scenario`. :class:`Selector` and
    :class:`Destinations`, shared by both forms, raise pydantic's ValidationError.)
    """

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _input_error(type(self), exc) from None


def _input_error(cls: type[BaseModel], exc: ValidationError) -> InputError:
    """Return the first problem of a failed construction as a one-line InputError."""
    errors = exc.errors()
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    field = ".".join(str(p) for p in err["loc"]) or "-"
    msg, value = err["msg"], err.get("input")
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    if err["type"] == "extra_forbidden":
        return InputError(
            cls.__name__, field, "unknown field", f"use one of {', '.join(cls.model_fields)}"
        )
    if err["type"] == "missing":
        return InputError(cls.__name__, field, "is missing", f"give {field}")
    if msg.startswith("Input should be "):
        wanted = msg.removeprefix("Input should be ")
        return InputError(cls.__name__, field, f"{shown} is not {wanted}", f"give {wanted}")
    return InputError(cls.__name__, field, f"{shown}: {msg}", "correct the value")


# ----------------------------------------------------------------------------- parts


class Selector(EventModel):
    """Facilities matching every field that is given (within a field, any value matches)."""

    facilities: Names = Field(default=(), description="Facility ids.")
    types: Names = Field(default=(), description="Facility types (stages), e.g. refiner.")
    countries: Names = Field(default=(), description="ISO3 codes of host countries.")
    blocs: Names = Field(default=(), description="Blocs of host countries.")

    def is_empty(self) -> bool:
        """Whether no field is given."""
        return not (self.facilities or self.types or self.countries or self.blocs)

    def mask(self, facilities: pd.DataFrame, bloc_of_country: dict[str, str]) -> np.ndarray:
        """Return a boolean array over the rows of ``facilities``."""
        m = np.ones(len(facilities), dtype=bool)
        if self.facilities:
            m &= facilities["facility"].isin(self.facilities).to_numpy()
        if self.types:
            m &= facilities["type"].isin(self.types).to_numpy()
        if self.countries:
            m &= facilities["country"].isin(self.countries).to_numpy()
        if self.blocs:
            blocs = facilities["country"].map(bloc_of_country)
            m &= blocs.isin(self.blocs).to_numpy()
        return m


class Destinations(EventModel):
    """Importing countries covered: all, or named countries and blocs, minus exceptions."""

    all: StrictBool = Field(default=False, description="Every country other than the issuer.")
    countries: Names = Field(default=(), description="Destination countries (ISO3).")
    blocs: Names = Field(default=(), description="Destination blocs.")
    except_countries: Names = Field(
        default=(), description="Countries exempted even if they match."
    )

    def covers(self, country: str, bloc: str) -> bool:
        """Whether a destination country (currently in ``bloc``) is covered."""
        if country in self.except_countries:
            return False
        return self.all or country in self.countries or bloc in self.blocs


class GeneralLicenceFields(EventModel, Generic[DateT]):
    """Fields of a general licence (:class:`GeneralLicence`)."""

    buyers: Selector = Field(description="Buyer facilities covered.")
    date: DateT = Field(description="First day the licence is in force.")


class GeneralLicence(GeneralLicenceFields[DateLike], _Built):
    """A general licence: the selected buyers import freely from ``date`` on."""


class SchedulePoint(EventModel):
    """One dated value of a :class:`Schedule`."""

    date: DateLike = Field(description="Date of the value (YYYY-MM-DD, +Nd or a day number).")
    value: Annotated[float, AllowInfNan(False)] = Field(description="Value from this date.")


class Schedule(EventModel):
    """A parameter that changes over time: dated points, as steps or linear between them.

    Before the first point the first value holds, after the last point the last one.
    ``step``: the value of the latest point on or before the day; ``linear``: straight
    lines between the points. In a scenario file::

        approval_probability:
          interpolate: linear
          points: [{date: 2025-05-01, value: 0.1}, {date: 2025-06-30, value: 0.6}]
    """

    points: tuple[SchedulePoint, ...] = Field(min_length=1, description="Dated values.")
    interpolate: Literal["step", "linear"] = Field(
        default="step", description="step (hold each value) or linear (between points)."
    )

    def days(self, start: dt.date, where: str, field_name: str) -> tuple[np.ndarray, np.ndarray]:
        """Return the points as (days after ``start``, values), checked to ascend."""
        days = np.array(
            [
                to_day(p.date, start, where, f"{field_name}.points[{i}].date")
                for i, p in enumerate(self.points)
            ]
        )
        if (np.diff(days) <= 0).any():
            i = int(np.flatnonzero(np.diff(days) <= 0)[0]) + 1
            raise InputError(
                where,
                f"{field_name}.points[{i}].date",
                "is not after the point before it",
                "give the points in ascending date order, one per date",
            )
        return days, np.array([p.value for p in self.points])


def value_at(days: np.ndarray, values: np.ndarray, interpolate: str, day: float) -> float:
    """Value of a schedule given as ``(days, values)`` on ``day`` (see :class:`Schedule`)."""
    if interpolate == "linear":
        return float(np.interp(day, days, values))
    i = int(np.searchsorted(days, day, side="right")) - 1
    return float(values[max(i, 0)])


class QuotaBatch(EventModel):
    """One dated allocation of a volume quota (:class:`ExportControl` ``quota_batches``)."""

    date: DateLike = Field(description="Date of the allocation (YYYY-MM-DD, +Nd or a day).")
    quantity: Annotated[float, AllowInfNan(False)] = Field(
        description="Quantity allocated, in the covered commodities' unit (e.g. t)."
    )


class DestinationGroup(EventModel):
    """Licensing parameters of one group of destinations inside a control.

    A covered buyer takes the parameters of the first group whose ``destinations``
    cover its country; a field left out keeps the control's own value. Groups refine the
    terms (e.g. slower reviews for US buyers); they do not widen coverage.
    """

    destinations: Destinations = Field(description="Destinations of this group.")
    regime: Literal["ban", "license", "hold"] | None = Field(
        default=None, description="See control."
    )
    review_days: Annotated[float, AllowInfNan(False)] | None = Field(
        default=None, description="Review time in calendar days (a number)."
    )
    review_working_days: Annotated[float, AllowInfNan(False)] | None = Field(
        default=None, description="Review time in working days, Monday-Friday (a number)."
    )
    approval_probability: Annotated[float, AllowInfNan(False)] | Schedule | None = Field(
        default=None, description="Approval probability (0-1), or a schedule of it."
    )
    approved_share: Annotated[float, AllowInfNan(False)] | Schedule | None = Field(
        default=None, description="Share of a licensed flow allowed (0-1), or a schedule."
    )
    covered_share: Annotated[float, AllowInfNan(False)] | None = Field(
        default=None, description="Share of each covered flow the control covers (0-1)."
    )


#: Fields of a destination group that override the control's own.
GROUP_FIELDS = (
    "regime",
    "review_days",
    "review_working_days",
    "approval_probability",
    "approved_share",
    "covered_share",
)


# ----------------------------------------------------------------------------- disruptions


class ExportControlFields(EventModel, Generic[NumT, DrawnT, DateT, LicenceT]):
    """Fields of an export control (:class:`ExportControl`)."""

    id: Name = Field(description="Name that export_control_change events refer to.")
    issuer: Name = Field(description="ISO3 code of the exporting country.")
    commodities: Names = Field(min_length=1, description="Commodities covered.")
    destinations: Destinations = Field(description="Importers covered.")
    start: DateT = Field(description="First day in force.")
    end: DateT | None = Field(
        default=None,
        description="First day no longer in force (may lie past the horizon); null: open-ended.",
    )
    announced: DateT | None = Field(
        default=None,
        description="Announcement date; covered buyers front-run between it and start.",
    )
    front_running_share: NumT | dict[Name, NumT] = Field(
        default=_shared(0.0),
        description="Extra stock covered buyers target before start, as a share of their "
        "target cover (0.5 = 50 % more days of cover); a mapping gives it per commodity "
        "({gallium: 0.5, germanium: 0.2}; commodities left out: 0).",
    )
    regime: Literal["ban", "license", "hold"] = Field(
        default="ban",
        description="ban stops every covered flow; license lets each covered buyer's flow "
        "through as its licence applications are approved (see application_interval_days); "
        "hold (a customs slowdown) keeps covered shipments at the border until released "
        "(see hold_release_share).",
    )
    hold_release_share: NumT = Field(
        default=_shared(0.0),
        description="Under hold: share of the held cargo released per day while the hold is "
        "in force (0-1); whatever is still held is released when the hold ends.",
    )
    covered_share: NumT = Field(
        default=_shared(1.0),
        description="Share of each covered flow the control applies to (0-1); the rest "
        "passes untouched (0.4: 60 % of each flow is outside the rules).",
    )
    review_days: DrawnT = Field(
        default=_shared(45.0),
        description="Licence review time in calendar days; a distribution is drawn per "
        "application by the engine.",
    )
    review_working_days: DrawnT | None = Field(
        default=None,
        description="Licence review time in working days (Monday-Friday), rounded to whole "
        "days; replaces review_days when given. Drawn per application.",
    )
    approval_probability: NumT | Schedule = Field(
        default=_shared(1.0),
        description="Probability that a licence application is approved (0-1), or a schedule "
        "of it; an application takes the value in force on its decision date.",
    )
    approved_share: NumT | Schedule = Field(
        default=_shared(1.0),
        description="Share of the buyer's covered flow an approved licence allows (0-1), or "
        "a schedule of it (the value on the decision date).",
    )
    application_interval_days: NumT | None = Field(
        default=None,
        description="Days between a buyer's applications: each is for its orders of one "
        "interval and licenses its flow for that many days from the decision; null: one "
        "application for the whole flow, valid for licence_valid_days.",
    )
    licence_valid_days: NumT | None = Field(
        default=None,
        description="Days a licence holds from its decision; then the buyer applies again "
        "(flows wait for the new decision). null: for good. With application_interval_days, "
        "a licence holds for the lesser of the two.",
    )
    reapply_days: NumT = Field(
        default=_shared(30.0),
        description="Days after a refusal before the buyer applies again (single "
        "applications; a stream of applications goes on at its interval).",
    )
    quota_share: NumT | None = Field(
        default=None,
        description="Cap on the total covered flow, as a share of the covered flow just before "
        "start (0-1); null: no quota.",
    )
    quota_t: NumT | None = Field(
        default=None,
        description="Volume quota per calendar year, in the covered commodities' unit (t): "
        "shipments to the covered destinations consume it; when it is used up the covered "
        "flows stop until the next allocation (1 January); null: none.",
    )
    quota_batches: tuple[QuotaBatch, ...] = Field(
        default=(),
        description="Dated allocations of a volume quota (instead of quota_t): each adds its "
        "quantity on its date; what is left lapses on 1 January.",
    )
    groups: tuple[DestinationGroup, ...] = Field(
        default=(),
        description="Destination groups with their own licensing terms (first match wins).",
    )
    general_licences: tuple[LicenceT, ...] = Field(
        default=(), description="Buyers exempted from named dates."
    )


class ExportControl(ExportControlFields[float, EngineDrawn, DateLike, GeneralLicence], _Built):
    """An export control: the issuer restricts exports of commodities to destinations.

    Under ``regime="ban"`` every covered flow stops from ``start`` to ``end``. Under
    ``regime="license"`` each covered buyer facility applies for licences (see
    :mod:`sim.licences`): once for its whole flow, or every ``application_interval_days``
    for the orders of one interval. A flow waits until its application is decided after
    its review (``review_days`` or ``review_working_days``); an approved licence allows
    ``approved_share`` of the buyer's covered flow until it expires. ``covered_share``
    leaves part of each covered flow outside the rules, ``groups`` give destination
    groups their own terms, and ``quota_share`` caps the total covered flow on top.
    Buyers front-run between ``announced`` and ``start``.
    """


ChangeAction = Literal["suspend", "resume", "tighten", "ease"]


class ExportControlChangeFields(EventModel, Generic[DateT, ChangesT]):
    """Fields of a change of an export control (:class:`ExportControlChange`)."""

    control: Name = Field(description="id of an export_control earlier in the events.")
    date: DateT = Field(description="When the change takes effect.")
    action: ChangeAction = Field(
        description="suspend lifts the control until resume; tighten and ease replace the "
        "parameters given in changes (suspend and resume take none)."
    )
    changes: ChangesT = Field(
        default_factory=dict,
        validate_default=True,
        description="New values of the control's fields other than id and issuer, e.g. "
        "{regime: ban} or {approval_probability: 0.9}.",
    )


class ExportControlChange(ExportControlChangeFields[DateLike, dict[str, Any]], _Built):
    """Suspend, resume, tighten or ease an export control declared earlier.

    ``changes`` maps field names of :class:`ExportControl` to their new values, e.g.
    ``{"regime": "ban"}``.
    """


class FacilityOutageFields(EventModel, Generic[NumT, DateT]):
    """Fields of a facility outage (:class:`FacilityOutage`)."""

    select: Selector = Field(description="Facilities affected.")
    capacity_factor: NumT = Field(description="Share of capacity that remains (0 = full stop).")
    start: DateT = Field(description="First day of the outage.")
    duration_days: NumT = Field(description="Length of the outage in days.")


class FacilityOutage(FacilityOutageFields[float, DateLike], _Built):
    """Cut the capacity of the selected facilities for a while."""


# ----------------------------------------------------------------------------- policies


class StockpileReleaseFields(EventModel, Generic[NumT, DateT]):
    """Fields of a stockpile release (:class:`StockpileRelease`)."""

    holder: Name = Field(description="Country (ISO3) or bloc named in the stockpiles table.")
    commodity: Name = Field(description="Commodity released.")
    rate_per_day: NumT = Field(
        description="Release rate while triggered, in commodity units per day."
    )
    threshold_share: NumT = Field(
        default=_shared(0.1), description="Shortfall share (0-1) that triggers the release."
    )
    share_with_bloc: StrictBool = Field(
        default=False,
        description="Release to facilities in every country of the holder's bloc, not only "
        "the holder's.",
    )
    start: DateT = Field(default=_shared("+0d"), description="First day releases may happen.")


class StockpileRelease(StockpileReleaseFields[float, DateLike], _Built):
    """Release a strategic stockpile when the holder's supply shortfall passes a threshold.

    The shortfall is ``1 - arrivals / need`` of the commodity over the recipient
    facilities, where need is the lesser of planned use and orders (a buyer ordering
    less than it uses because it holds surplus stock is not short); it is checked
    whenever flows change. Releases go to the recipients pro rata to their deficit
    until the stockpile is empty or the shortfall falls back below the threshold.
    """


class MembershipChangeFields(EventModel, Generic[DateT]):
    """Fields of a membership change (:class:`MembershipChange`)."""

    country: Name = Field(description="ISO3 code of the country.")
    bloc: Name = Field(description="The bloc it belongs to from date on (e.g. allied).")
    date: DateT = Field(description="When the change takes effect.")


class MembershipChange(MembershipChangeFields[DateLike], _Built):
    """A country joins a bloc (or leaves for another) on a date: coalition expansion.

    From ``date`` on, export controls whose destinations name blocs cover the country
    by its new bloc, and bloc-shared stockpiles include it. Metrics still group
    facilities by the bloc their country had at the start of the run.
    """


class DemandChangeFields(EventModel, Generic[NumT, DateT]):
    """Fields of a demand change (:class:`DemandChange`)."""

    factor: NumT = Field(description="Multiplier of the selected demand (>= 0; 1.2 = +20 %).")
    date: DateT = Field(description="When the change takes effect.")
    commodities: Names = Field(default=(), description="Commodities (all if empty).")
    countries: Names = Field(default=(), description="Countries (all if empty).")
    facilities: Names = Field(default=(), description="Facilities (all if empty).")


class DemandChange(DemandChangeFields[float, DateLike], _Built):
    """Scale final demand from a date on (e.g. an AI build-out or a slowdown).

    Demand rows are selected by commodity, by country (the row's country, or the
    country of the facility it names) and by facility; a field left empty selects all.
    The factor multiplies the rows' demand (as declared, with growth and noise) from
    ``date`` on; several changes multiply.
    """


class SourcingPolicyFields(EventModel, Generic[DateT]):
    """Fields of a sourcing policy (:class:`SourcingPolicy`)."""

    bloc: Name = Field(
        description="Bloc whose producers follow the rule (for offtake, the bloc that signs "
        "the contract; informative only)."
    )
    rule: Literal["pro_rata", "bloc_first", "offtake"] = Field(
        description="bloc_first: serve buyers of the same bloc first; offtake: the suppliers "
        "serve the buyers first (a long-term contract); pro_rata: the default."
    )
    date: DateT = Field(description="When the rule takes effect.")
    commodities: Names = Field(default=(), description="Commodities (all if empty).")
    suppliers: Selector = Field(default=Selector(), description="Offtake: the suppliers.")
    buyers: Selector = Field(default=Selector(), description="Offtake: the buyers.")


class SourcingPolicy(SourcingPolicyFields[DateLike], _Built):
    """Change how a bloc's producers allocate their output, from a date on.

    ``bloc_first`` (friend-shoring): producers in ``bloc`` serve buyers in the same bloc
    first, pro rata to their orders, and only then the others. ``offtake`` (a long-term
    offtake contract): the ``suppliers`` serve the ``buyers`` first. ``pro_rata``
    restores the default for the bloc's producers. Priority buyers still get only what
    they order (their orders follow the sourcing weights); final demand at a producer is
    always served pro rata with its customers' orders.
    """


class CapacityInvestmentFields(EventModel, Generic[NumT]):
    """Fields of a capacity investment (:class:`CapacityInvestment`) in both forms."""

    facility: Name = Field(description="Id of the new facility (or of the expansion).")
    capacity_per_year: NumT = Field(description="Nameplate capacity, output units per year.")
    ramp_up_days: NumT = Field(
        default=_shared(0.0), description="Days to ramp linearly to nameplate."
    )
    expands: Annotated[str, Strict()] = Field(
        default="",
        description="Existing facility whose type, country, output and recipe the new "
        "capacity copies; if not given, type, country and commodity are.",
    )
    type: Annotated[str, Strict()] = Field(default="", description="Type of a new facility.")
    country: Annotated[str, Strict()] = Field(
        default="", description="ISO3 country of a new facility."
    )
    commodity: Annotated[str, Strict()] = Field(
        default="", description="Output commodity of a new facility."
    )


class CapacityInvestment(CapacityInvestmentFields[float], _Built):
    """New capacity: a new facility, or an expansion of an existing one.

    The facility is added to the world before the run, available from
    ``available_from`` (in a scenario file: announcement plus a drawn build time) and
    ramping up over ``ramp_up_days``. A project that is not ``completed`` is added with
    zero capacity, so that it is still reported.
    """

    available_from: DateLike = Field(description="First day of production.")
    completed: bool = Field(default=True, description="Whether the project is built at all.")


Event = (
    ExportControl
    | ExportControlChange
    | FacilityOutage
    | StockpileRelease
    | MembershipChange
    | DemandChange
    | CapacityInvestment
    | SourcingPolicy
)
DISRUPTIONS: tuple[type, ...] = (ExportControl, ExportControlChange, FacilityOutage)
E = TypeVar("E", bound=BaseModel)


def is_disruption(event: Event) -> bool:
    """Whether ``event`` is a disruption (dropped from the paired baseline run)."""
    return isinstance(event, DISRUPTIONS)


#: Kind names of the event classes, as in scenario files.
KIND_OF: dict[type, str] = {
    ExportControl: "export_control",
    ExportControlChange: "export_control_change",
    FacilityOutage: "facility_outage",
    StockpileRelease: "stockpile_release",
    MembershipChange: "membership_change",
    DemandChange: "demand_change",
    CapacityInvestment: "capacity_investment",
    SourcingPolicy: "sourcing_policy",
}


def describe(event: Event, index: int) -> str:
    """Name an event for error messages: ``events[2] (export_control 'ree_2025')``.

    A standing control of the world (a negative ``index``) is named by its table row.
    """
    name = getattr(event, "id", None) or getattr(event, "control", None) or ""
    if index < 0:
        return f"controls.csv (control {name!r})"
    kind = next(k for t, k in KIND_OF.items() if isinstance(event, t))
    return f"events[{index}] ({kind}{f' {name!r}' if name else ''})"


def timeline(
    events: list[Event] | tuple[Event, ...], start: dt.date
) -> list[tuple[str, str, str, float]]:
    """Return the dated moments of events: ``(event, kind, marker, day)`` in day order.

    ``event`` names the event (a control's ``id``, the control a change applies to, an
    outage's first selected facility, type, country or bloc, a joining country, a new
    facility); ``kind`` is its kind as in scenario files; ``marker`` says what happens
    that day: ``announced``, ``start``, ``end`` and ``general licence`` for an export
    control, the action (``suspend``, ``resume``, ``tighten``, ``ease``) for a change,
    ``start`` and ``end`` for an outage, ``joins <bloc>`` for a membership change,
    ``on line`` for a completed investment, and ``start`` for demand changes, sourcing
    policies and stockpile releases (a release only acts once its threshold is passed).
    ``day`` counts from ``start`` (day 0) and may be fractional or beyond the horizon.
    """
    out: list[tuple[str, str, str, float]] = []
    for idx, ev in enumerate(events):
        where = describe(ev, idx)
        kind = KIND_OF[type(ev)]

        def day(value: DateLike, name: str, w: str = where) -> float:
            return to_day(value, start, w, name)

        if isinstance(ev, ExportControl):
            if ev.announced is not None:
                out.append((ev.id, kind, "announced", day(ev.announced, "announced")))
            out.append((ev.id, kind, "start", day(ev.start, "start")))
            if ev.end is not None:
                out.append((ev.id, kind, "end", day(ev.end, "end")))
            for g in ev.general_licences:
                out.append((ev.id, kind, "general licence", day(g.date, "general_licences")))
        elif isinstance(ev, ExportControlChange):
            out.append((ev.control, kind, ev.action, day(ev.date, "date")))
        elif isinstance(ev, FacilityOutage):
            sel = ev.select
            name = next(iter((*sel.facilities, *sel.types, *sel.countries, *sel.blocs)), "")
            begin = day(ev.start, "start")
            out.append((name, kind, "start", begin))
            out.append((name, kind, "end", begin + float(ev.duration_days)))
        elif isinstance(ev, MembershipChange):
            out.append((ev.country, kind, f"joins {ev.bloc}", day(ev.date, "date")))
        elif isinstance(ev, CapacityInvestment):
            if ev.completed:
                out.append((ev.facility, kind, "on line", day(ev.available_from, "available_from")))
        elif isinstance(ev, StockpileRelease):
            out.append((ev.holder, kind, "start", day(ev.start, "start")))
        elif isinstance(ev, SourcingPolicy):
            out.append((ev.bloc, kind, ev.rule, day(ev.date, "date")))
        elif isinstance(ev, DemandChange):
            out.append(("demand", kind, f"x{ev.factor:g}", day(ev.date, "date")))
    return sorted(out, key=lambda row: (row[3], row[1], row[0], row[2]))


def with_changes(event: E, changes: Mapping[str, object]) -> E:
    """Return ``event`` with the fields named in ``changes`` replaced, validated again."""
    return type(event)(**{**dict(event), **changes})


def field_names(kind: type[BaseModel]) -> tuple[str, ...]:
    """Names of the fields of an event class, in declaration order."""
    return tuple(kind.model_fields)


def _document(cls: type[BaseModel]) -> None:
    """Append a numpydoc ``Parameters`` section to the docstring, from the field descriptions.

    Only for classes the scenario does not share (the docstring of a shared part is its
    description in the JSON schema).
    """
    lines = ["", "Parameters", "----------"]
    for name, info in cls.model_fields.items():
        default = info.get_default(call_default_factory=True)
        lines += [name, f"    {info.description}"]
        if not info.is_required():
            lines[-1] += f" Default: ``{default!r}``."
    cls.__doc__ = inspect.cleandoc(cls.__doc__ or "") + "\n" + "\n".join(lines) + "\n"


for _cls in (
    GeneralLicence,
    ExportControl,
    ExportControlChange,
    FacilityOutage,
    StockpileRelease,
    MembershipChange,
    DemandChange,
    SourcingPolicy,
    CapacityInvestment,
):
    _document(_cls)
