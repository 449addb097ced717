"""Disruption and policy events: what a scenario does to the world, as plain data.

Events are frozen dataclasses. Dates are :class:`datetime.date`, ISO strings
(``"2025-04-04"``), offsets from the run start (``"+90d"``) or day offsets as numbers.
The engine (:mod:`sim.engine`) turns them into SimPy events; this module only says
what each one means and which facilities or trade flows it selects.

Disruptions (removed from the paired baseline run): :class:`ExportControl`,
:class:`ExportControlChange`, :class:`FacilityOutage`. Policies (kept in the
baseline): :class:`StockpileRelease`, :class:`MembershipChange`, :class:`DemandChange`,
:class:`CapacityInvestment`, :class:`SourcingPolicy`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, fields, replace
from typing import Literal

import numpy as np
import pandas as pd

from sim.distributions import Distribution
from sim.errors import InputError

DateLike = dt.date | str | int | float

_OFFSET = re.compile(r"^\+(\d+(?:\.\d+)?)d$")


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


@dataclass(frozen=True)
class Selector:
    """Selects facilities: a facility matches if it matches every field that is given.

    Parameters
    ----------
    facilities, types, countries, blocs : tuple of str
        Facility ids, facility types, ISO3 country codes, bloc names. Within a field
        any value matches; across fields all given fields must match.
    """

    facilities: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    blocs: tuple[str, ...] = ()

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


@dataclass(frozen=True)
class Destinations:
    """Where a control applies: all countries, or named countries and blocs, minus exceptions.

    Parameters
    ----------
    all : bool
        Every country other than the issuer.
    countries, blocs : tuple of str
        Destination countries (ISO3) and blocs.
    except_countries : tuple of str
        Countries exempted even if they match.
    """

    all: bool = False
    countries: tuple[str, ...] = ()
    blocs: tuple[str, ...] = ()
    except_countries: tuple[str, ...] = ()

    def covers(self, country: str, bloc: str) -> bool:
        """Whether a destination country (currently in ``bloc``) is covered."""
        if country in self.except_countries:
            return False
        return self.all or country in self.countries or bloc in self.blocs


@dataclass(frozen=True)
class GeneralLicence:
    """A general licence: named buyers may import freely from a date on.

    Parameters
    ----------
    buyers : Selector
        The buyer facilities covered.
    date : date-like
        First day the licence is in force.
    """

    buyers: Selector
    date: DateLike


@dataclass(frozen=True)
class ExportControl:
    """An export control: the issuer restricts exports of commodities to destinations.

    Parameters
    ----------
    id : str
        Name other events refer to (e.g. in :class:`ExportControlChange`).
    issuer : str
        ISO3 code of the exporting country.
    commodities : tuple of str
        Commodities covered.
    destinations : Destinations
        Importers covered.
    start : date-like
        First day in force.
    end : date-like, optional
        First day no longer in force; ``None`` for open-ended.
    announced : date-like, optional
        Announcement date; between it and ``start`` covered buyers front-run.
    front_running_share : float
        Extra stock buyers target before ``start``, as a share of their target cover
        (0.5 = 50 % more days of cover).
    regime : {"ban", "license"}
        ``ban`` stops every covered flow. ``license`` stops each covered buyer's flows
        until its application is decided (one application per buyer facility).
    review_days : float or Distribution
        Licence review time, drawn per application.
    approval_probability : float
        Probability that an application is approved (share 0-1).
    approved_share : float
        Share of the requested volume an approved licence allows (0-1).
    reapply_days : float
        Days after a refusal before the buyer applies again.
    quota_share : float, optional
        Cap on the total covered flow, as a share of the covered flow just before
        ``start``.
    general_licences : tuple of GeneralLicence
        Buyers exempted from named dates.
    """

    id: str
    issuer: str
    commodities: tuple[str, ...]
    destinations: Destinations
    start: DateLike
    end: DateLike | None = None
    announced: DateLike | None = None
    front_running_share: float = 0.0
    regime: Literal["ban", "license"] = "ban"
    review_days: float | Distribution = 45.0
    approval_probability: float = 1.0
    approved_share: float = 1.0
    reapply_days: float = 30.0
    quota_share: float | None = None
    general_licences: tuple[GeneralLicence, ...] = ()


ChangeAction = Literal["suspend", "resume", "tighten", "ease"]


@dataclass(frozen=True)
class ExportControlChange:
    """Suspend, resume, tighten or ease an export control already declared.

    Parameters
    ----------
    control : str
        ``id`` of the :class:`ExportControl` changed.
    date : date-like
        When the change takes effect.
    action : {"suspend", "resume", "tighten", "ease"}
        ``suspend`` lifts the control until ``resume``; ``tighten`` and ``ease``
        replace the parameters given in ``changes``.
    changes : dict
        New values for any of the control's fields other than ``id`` and ``issuer``
        (e.g. ``{"regime": "ban"}``, ``{"approval_probability": 0.9}``).
    """

    control: str
    date: DateLike
    action: ChangeAction
    changes: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class FacilityOutage:
    """Cut the capacity of the selected facilities for a while.

    Parameters
    ----------
    select : Selector
        Facilities affected.
    capacity_factor : float
        Share of capacity that remains (0 = full stop).
    start : date-like
        First day of the outage.
    duration_days : float
        Length of the outage in days.
    """

    select: Selector
    capacity_factor: float
    start: DateLike
    duration_days: float


@dataclass(frozen=True)
class StockpileRelease:
    """Release a strategic stockpile when the holder's supply shortfall passes a threshold.

    The shortfall is ``1 - arrivals / need`` of the commodity over the recipient
    facilities, where need is the lesser of planned use and orders (a buyer ordering
    less than it uses because it holds surplus stock is not short); it is checked
    whenever flows change. Releases go to the recipients pro rata to their deficit
    until the stockpile is empty or the shortfall falls back below the threshold.

    Parameters
    ----------
    holder : str
        Country (ISO3) or bloc named in the ``stockpiles`` table.
    commodity : str
        Commodity released.
    rate_per_day : float
        Release rate while triggered, in commodity units per day.
    threshold_share : float
        Shortfall share (0-1) that triggers the release.
    share_with_bloc : bool
        Release to facilities in every country of the holder's bloc, not only the holder.
    start : date-like
        First day releases may happen.
    """

    holder: str
    commodity: str
    rate_per_day: float
    threshold_share: float = 0.1
    share_with_bloc: bool = False
    start: DateLike = 0


@dataclass(frozen=True)
class MembershipChange:
    """A country joins a bloc (or leaves for another) on a date: coalition expansion.

    From ``date`` on, export controls whose destinations name blocs cover the country
    by its new bloc, and bloc-shared stockpiles include it. Metrics still group
    facilities by the bloc their country had at the start of the run.

    Parameters
    ----------
    country : str
        ISO3 code of the country.
    bloc : str
        The bloc it belongs to from ``date`` (e.g. ``allied``).
    date : date-like
        When the change takes effect.
    """

    country: str
    bloc: str
    date: DateLike


@dataclass(frozen=True)
class DemandChange:
    """Scale final demand from a date on (e.g. an AI build-out or a slowdown).

    Demand rows are selected by commodity, by country (the row's country, or the
    country of the facility it names) and by facility; a field left empty selects all.
    The factor multiplies the rows' demand (as declared, with growth and noise) from
    ``date`` on; several changes multiply.

    Parameters
    ----------
    factor : float
        Multiplier (>= 0; 1.2 = +20 %).
    date : date-like
        When the change takes effect.
    commodities, countries, facilities : tuple of str
        Which demand rows change.
    """

    factor: float
    date: DateLike
    commodities: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    facilities: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourcingPolicy:
    """Change how a bloc's producers allocate their output, from a date on.

    ``bloc_first`` (friend-shoring): producers in ``bloc`` serve buyers in the same bloc
    first, pro rata to their orders, and only then the others. ``offtake`` (a long-term
    offtake contract): the ``suppliers`` serve the ``buyers`` first. ``pro_rata``
    restores the default for the bloc's producers. Priority buyers still get only what
    they order (their orders follow the sourcing weights); final demand at a producer is
    always served pro rata with its customers' orders.

    Parameters
    ----------
    bloc : str
        The bloc whose producers follow the rule (for ``offtake``, the bloc that
        signs the contract; informative only).
    rule : {"pro_rata", "bloc_first", "offtake"}
        The allocation rule.
    date : date-like
        When the rule takes effect.
    commodities : tuple of str
        Commodities the rule applies to (all if empty).
    suppliers, buyers : Selector
        For ``offtake``: the contracted suppliers and buyers.
    """

    bloc: str
    rule: Literal["pro_rata", "bloc_first", "offtake"]
    date: DateLike
    commodities: tuple[str, ...] = ()
    suppliers: Selector = field(default_factory=Selector)
    buyers: Selector = field(default_factory=Selector)


@dataclass(frozen=True)
class CapacityInvestment:
    """New capacity: a new facility, or an expansion of an existing one.

    The facility is added to the world before the run, available from
    ``available_from`` (announcement plus build time; a scenario draws the build time)
    and ramping up over ``ramp_up_days``. A project that is not ``completed`` is
    added with zero capacity, so that it is still reported.

    Parameters
    ----------
    facility : str
        Id of the new facility (or of the expansion).
    capacity_per_year : float
        Nameplate capacity in output units per year.
    available_from : date-like
        First day of production.
    ramp_up_days : float
        Days to ramp linearly to nameplate.
    completed : bool
        Whether the project is built at all.
    expands : str
        An existing facility whose type, country, output and recipe the new capacity
        copies; or empty, and then ``type``, ``country`` and ``commodity`` are given.
    type, country, commodity : str
        Facility type, ISO3 country and output commodity of a new facility.
    """

    facility: str
    capacity_per_year: float
    available_from: DateLike
    ramp_up_days: float = 0.0
    completed: bool = True
    expands: str = ""
    type: str = ""
    country: str = ""
    commodity: str = ""


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
    """Name an event for error messages: ``events[2] (export_control 'ree_2025')``."""
    kind = KIND_OF[type(event)]
    name = getattr(event, "id", None) or getattr(event, "control", None) or ""
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


def with_changes(spec: ExportControl, changes: dict[str, object]) -> ExportControl:
    """Return ``spec`` with the fields named in ``changes`` replaced."""
    return replace(spec, **changes)  # type: ignore[arg-type]


def field_names(kind: type) -> tuple[str, ...]:
    """Names of the parameters of an event class, in declaration order."""
    return tuple(f.name for f in fields(kind))
