"""Events in scenario files: the models of :mod:`sim.events` in their file form, and drawing.

Each event kind is declared once, in :mod:`sim.events`, as a generic base of fields
(``FacilityOutageFields``). The engine event pins that base to engine types; the file
form here pins it to the scenario's types (:data:`~sim.scenario_types.Param` for
numbers, :data:`~sim.scenario_types.EventDate` for dates) and adds the ``kind`` key that
tells kinds apart. So names, defaults and descriptions (which end up in the JSON
schema) are the engine's, and a field added to an engine event appears in scenario
files too.

Two kinds are written differently in a file than the engine takes them, and
:func:`engine_event` derives the engine fields from the file fields (the one place
that does):

- ``export_control``: ``duration_days`` (drawn) instead of ``end``; ``end`` is then
  ``start + duration_days``.
- ``capacity_investment``: ``announced``, ``build_days`` (drawn) and
  ``completion_probability`` instead of ``available_from`` and ``completed``;
  ``available_from`` is ``announced + build_days`` and ``completed`` a Bernoulli draw
  (one random number, after the event's other draws, unless the probability is 1).

``export_control_change`` keeps the new values in ``changes``, a mapping whose fields
are those of ``export_control`` (except ``id`` and ``issuer``), all optional; it is
generated from :class:`ExportControlSpec`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, create_model

from sim.distributions import Distribution
from sim.events import (
    KIND_OF,
    CapacityInvestmentFields,
    DemandChangeFields,
    Event,
    ExportControlChangeFields,
    ExportControlFields,
    FacilityOutageFields,
    GeneralLicence,
    GeneralLicenceFields,
    MembershipChangeFields,
    Schedule,
    SourcingPolicyFields,
    StockpileReleaseFields,
    to_day,
)
from sim.scenario_types import (
    BernoulliDist,
    DistModel,
    EventDate,
    Param,
    ParamValue,
    ScheduledParam,
    StrictModel,
)

#: Event kinds, as in scenario files (``kind:``), in the order of :data:`sim.events.KIND_OF`.
EVENT_KINDS: tuple[str, ...] = tuple(KIND_OF.values())

#: Parameters drawn once per replication by :meth:`sim.scenario.Scenario.sample`, per event
#: kind, in draw order (for ``export_control_change`` these are keys of its ``changes``).
#: Events are visited in file order; a parameter given as a plain number consumes no random
#: numbers.
DRAW_ORDER: dict[str, tuple[str, ...]] = {
    "export_control": (
        "duration_days",
        "front_running_share",
        "approval_probability",
        "approved_share",
        "reapply_days",
        "quota_share",
        "covered_share",
        "application_interval_days",
        "licence_valid_days",
        "quota_t",
        "hold_release_share",
    ),
    "export_control_change": (
        "front_running_share",
        "approval_probability",
        "approved_share",
        "reapply_days",
        "quota_share",
        "covered_share",
        "application_interval_days",
        "licence_valid_days",
        "quota_t",
        "hold_release_share",
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
    "review_working_days": (0.0, math.inf),
    "covered_share": (0.0, 1.0),
    "application_interval_days": (0.0, math.inf),
    "licence_valid_days": (0.0, math.inf),
    "quota_t": (0.0, math.inf),
    "hold_release_share": (0.0, 1.0),
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

# ----------------------------------------------------------------------------- file forms


class GeneralLicenceSpec(GeneralLicenceFields[EventDate]):
    """A general licence: the selected buyers import freely from ``date`` on."""


class ExportControlSpec(ExportControlFields[Param, Param, EventDate, GeneralLicenceSpec]):
    """An export control (:class:`sim.events.ExportControl`).

    Give at most one of ``end`` and ``duration_days``; neither means open-ended.
    """

    kind: Literal["export_control"]
    # Numbers, distributions or schedules, told apart by their keys (for clear errors).
    approval_probability: ScheduledParam = Field(
        default=ExportControlFields.model_fields["approval_probability"].default,
        description=ExportControlFields.model_fields["approval_probability"].description,
    )
    approved_share: ScheduledParam = Field(
        default=ExportControlFields.model_fields["approved_share"].default,
        description=ExportControlFields.model_fields["approved_share"].description,
    )
    duration_days: Param | None = Field(
        default=None, description="Days in force (instead of end); drawn once per replication."
    )


#: Fields of an export control that a change cannot give.
_NOT_CHANGED = ("kind", "id", "issuer", "duration_days")


def _optional_fields(model: type[BaseModel]) -> dict[str, Any]:
    """Every field of ``model`` but :data:`_NOT_CHANGED`, optional (default ``None``)."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in _NOT_CHANGED:
            continue
        typ = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        out[name] = (Union[typ, None], Field(default=None, description=info.description))  # noqa: UP007 - built at run time
    return out


if TYPE_CHECKING:

    class ControlChangesSpec(StrictModel):
        """New values of an export control's fields (generated at run time)."""

        def __getattr__(self, name: str) -> Any: ...

else:
    ControlChangesSpec = create_model(
        "ControlChangesSpec",
        __base__=StrictModel,
        __module__=__name__,
        __doc__="New values for the fields of an export control: those given replace the old "
        "ones (a list replaces the whole list); null removes an end, an announcement or a "
        "quota.",
        **_optional_fields(ExportControlSpec),
    )

#: Fields of :class:`ControlChangesSpec` that may be given as ``null`` (those an export
#: control may leave out with the default ``None``).
NULLABLE_CHANGES: tuple[str, ...] = tuple(
    name
    for name in ControlChangesSpec.model_fields
    if not ExportControlSpec.model_fields[name].is_required()
    and ExportControlSpec.model_fields[name].default is None
)


class ExportControlChangeSpec(ExportControlChangeFields[EventDate, ControlChangesSpec]):
    """Suspend, resume, tighten or ease an earlier export control."""

    kind: Literal["export_control_change"]


class FacilityOutageSpec(FacilityOutageFields[Param, EventDate]):
    """Cut the capacity of the selected facilities for a while."""

    kind: Literal["facility_outage"]


class StockpileReleaseSpec(StockpileReleaseFields[Param, EventDate]):
    """Release a strategic stockpile when the holder's supply shortfall passes a threshold."""

    kind: Literal["stockpile_release"]


class MembershipChangeSpec(MembershipChangeFields[EventDate]):
    """A country joins a bloc (or leaves for another) on a date: coalition expansion."""

    kind: Literal["membership_change"]


class DemandChangeSpec(DemandChangeFields[Param, EventDate]):
    """Scale final demand from a date on (rows selected by commodity, country, facility)."""

    kind: Literal["demand_change"]


class SourcingPolicySpec(SourcingPolicyFields[EventDate]):
    """Change how a bloc's producers allocate their output (friend-shoring)."""

    kind: Literal["sourcing_policy"]


class CapacityInvestmentSpec(CapacityInvestmentFields[Param]):
    """New capacity: a new facility or an expansion, built after an uncertain delay.

    It comes on line at ``announced + build_days`` if it is completed at all (drawn
    with ``completion_probability``), then ramps up over ``ramp_up_days``.
    """

    kind: Literal["capacity_investment"]
    announced: EventDate = Field(description="When the project is announced.")
    build_days: Param = Field(description="Days from announcement to first output.")
    completion_probability: Param = Field(
        default=1.0, description="Probability that the project is built at all (0-1)."
    )


AnyEventSpec = (
    ExportControlSpec
    | ExportControlChangeSpec
    | FacilityOutageSpec
    | StockpileReleaseSpec
    | MembershipChangeSpec
    | DemandChangeSpec
    | CapacityInvestmentSpec
    | SourcingPolicySpec
)
#: An event of a scenario file, told apart by its ``kind``.
EventSpec = Annotated[
    Union[  # noqa: UP007 - a discriminated union needs the members spelled out
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

#: The engine event class of each kind.
ENGINE_OF: dict[str, type[Event]] = {kind: cls for cls, kind in KIND_OF.items()}

# ----------------------------------------------------------------------------- drawing

#: Resolves a distribution: ``draw(yaml_path, dist)`` returns a number.
Draw = Callable[[str, DistModel], float]


def engine_number(value: ParamValue) -> float | Distribution:
    """Return a plain number as is, and a distribution as the engine's Distribution."""
    return value if isinstance(value, float) else value.to_distribution()


def _number(value: ParamValue | Schedule | Mapping[str, ParamValue], path: str, draw: Draw) -> Any:
    """Return a plain number or a schedule as is, and draw a distribution with ``draw``.

    A mapping (a front-running share per commodity) is drawn value by value, in its order.
    """
    if isinstance(value, float | Schedule):
        return value
    if isinstance(value, Mapping):
        return {k: _number(v, f"{path}.{k}", draw) for k, v in value.items()}
    return draw(path, value)


def _engine_part(value: object) -> object:
    """Return a value as the engine takes it: distributions and licences in engine types."""
    if isinstance(value, DistModel):
        return value.to_distribution()
    if isinstance(value, GeneralLicenceSpec):
        return GeneralLicence(**dict(value))
    if isinstance(value, tuple):
        return tuple(_engine_part(v) for v in value)
    return value


def engine_events(specs: Sequence[AnyEventSpec], start: dt.date, draw: Draw) -> list[Event]:
    """Build the engine events of a scenario's events, in file order.

    Parameters
    ----------
    specs : sequence of event specs
        The scenario's events.
    start : date
        Day 0 of the run (for derived dates).
    draw : callable
        ``draw(yaml_path, dist)`` resolves each distribution of :data:`DRAW_ORDER`.
    """
    return [engine_event(ev, f"events[{i}]", start, draw) for i, ev in enumerate(specs)]


def engine_event(ev: AnyEventSpec, where: str, start: dt.date, draw: Draw) -> Event:
    """Build the engine event of one scenario event at YAML path ``where``.

    The parameters of :data:`DRAW_ORDER` are resolved with ``draw`` in that order; an
    export control's ``review_days`` stays a distribution (the engine draws it per
    application). File-only fields are turned into engine fields here.
    """
    own = type(ev).model_fields
    drawn = {
        name: _number(value, f"{where}.{name}", draw)
        for name in DRAW_ORDER[ev.kind]
        if name in own and (value := getattr(ev, name)) is not None
    }
    values: dict[str, Any] = {
        name: drawn[name] if name in drawn else _engine_part(getattr(ev, name))
        for name in own
        if name != "kind"
    }
    if isinstance(ev, ExportControlSpec):
        duration = values.pop("duration_days")
        if duration is not None:
            values["end"] = to_day(ev.start, start, where, "start") + duration
    elif isinstance(ev, ExportControlChangeSpec):
        values["changes"] = _changes(ev.changes, f"{where}.changes", draw)
    elif isinstance(ev, CapacityInvestmentSpec):
        chance = values.pop("completion_probability")
        values["completed"] = bool(
            chance >= 1.0
            or draw(f"{where}.completed", BernoulliDist(dist="bernoulli", p=chance)) >= 0.5
        )
        announced = to_day(values.pop("announced"), start, where, "announced")
        values["available_from"] = announced + values.pop("build_days")
    return ENGINE_OF[ev.kind](**values)


def _changes(changes: ControlChangesSpec, where: str, draw: Draw) -> dict[str, object]:
    """Return the new values of a control change, as the engine event takes them."""
    given = changes.model_fields_set
    drawn = {
        name: _number(value, f"{where}.{name}", draw)
        for name in DRAW_ORDER["export_control_change"]
        if name in given and (value := getattr(changes, name)) is not None
    }
    return {
        name: drawn[name] if name in drawn else _engine_part(getattr(changes, name))
        for name in type(changes).model_fields
        if name in given
    }
