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

Events are the engine's events of :mod:`sim.events` in their file form
(:mod:`sim.scenario_events`: the same fields, plus ``kind``). Their numeric
parameters are numbers or distributions (``{dist: fixed | uniform | triangular | normal
| lognormal | bernoulli, ...}``, see :class:`sim.distributions.Distribution`).
:meth:`Scenario.sample` draws them once per replication, in the order of
:data:`DRAW_ORDER`; an export control's ``review_days`` and the settings'
``qualification_days`` are handed to the engine as distributions and drawn there.

Every problem with a file raises :class:`sim.errors.InputError` with a one-line message
``file: yaml.path: problem; fix: ...``, e.g.
``ban.yaml: events[0].capacity_factor: 1.5 is out of range; fix: give a value in [0, 1]``.

The parts live in modules of their own, imported in this order (none imports a later
one): :mod:`sim.scenario_text` (wording of messages), :mod:`sim.scenario_yaml` (reading
files safely, ``extends``), :mod:`sim.scenario_types` (dates, names, numbers,
distributions, limits), :mod:`sim.scenario_events` (events and drawing),
:mod:`sim.scenario_errors` (validation errors as one-line messages),
:mod:`sim.scenario_world` (world tables and settings), and this module (the scenario,
its checks, loading and the JSON schema), which re-exports their public names.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import Field, PrivateAttr, Strict, ValidationError

from sim.engine import Settings, simulate
from sim.errors import InputError
from sim.events import Event, Name, Schedule, Selector, to_day
from sim.scenario_errors import convert
from sim.scenario_events import (
    BOUNDS,
    DRAW_ORDER,
    EVENT_KINDS,
    NULLABLE_CHANGES,
    CapacityInvestmentSpec,
    ControlChangesSpec,
    DemandChangeSpec,
    EventSpec,
    ExportControlChangeSpec,
    ExportControlSpec,
    FacilityOutageSpec,
    GeneralLicenceSpec,
    MembershipChangeSpec,
    SourcingPolicySpec,
    StockpileReleaseSpec,
    engine_events,
)
from sim.scenario_text import Doc, choices, one_line, owner, show, show_date, yaml_path
from sim.scenario_types import (
    DIST_KINDS,
    MAX_HORIZON_DAYS,
    MAX_NAME_LENGTH,
    MAX_REPLICATIONS,
    MAX_SEED,
    NAME_PATTERN,
    OFFSET,
    BernoulliDist,
    DistModel,
    DistSpec,
    FixedDist,
    IsoDate,
    LognormalDist,
    NormalDist,
    Param,
    ParamValue,
    ScenarioName,
    StrictInt,
    StrictModel,
    TriangularDist,
    UniformDist,
)
from sim.scenario_world import (
    MAX_TABLE_BYTES,
    REFERENCE_DATA,
    SettingsSpec,
    TableSpec,
    WorldSpec,
    build_world,
    engine_settings,
)
from sim.scenario_yaml import (
    MAX_EXTENDS_DEPTH,
    MAX_YAML_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    expand,
    merge,
    read_chain,
)
from sim.standing import StandingControl, standing_controls
from sim.tables import TABLES
from sim.world import World

__all__ = [
    "BOUNDS",
    "DIST_KINDS",
    "DRAW_ORDER",
    "EVENT_KINDS",
    "MAX_EXTENDS_DEPTH",
    "MAX_HORIZON_DAYS",
    "MAX_NAME_LENGTH",
    "MAX_REPLICATIONS",
    "MAX_SEED",
    "MAX_TABLE_BYTES",
    "MAX_YAML_BYTES",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
    "NAME_PATTERN",
    "OFFSET",
    "REFERENCE_DATA",
    "BernoulliDist",
    "CapacityInvestmentSpec",
    "ControlChangesSpec",
    "DemandChangeSpec",
    "DistSpec",
    "EventSpec",
    "ExportControlChangeSpec",
    "ExportControlSpec",
    "FacilityOutageSpec",
    "FixedDist",
    "GeneralLicenceSpec",
    "LognormalDist",
    "MembershipChangeSpec",
    "NormalDist",
    "Param",
    "Scenario",
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

# ----------------------------------------------------------------------------- scenario


class Scenario(StrictModel):
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

    _chain: tuple[Doc, ...] = PrivateAttr(default=())
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
        chain = expand(Doc(source, dict(data)), folder, folder, ())
        return cls._from_chain(chain, folder)

    @classmethod
    def _from_chain(cls, chain: Sequence[Doc], base_dir: Path) -> Scenario:
        merged: dict[str, Any] = {}
        for doc in reversed(chain):
            merged = merge(merged, {k: v for k, v in doc.data.items() if k != "extends"})
        if "extends" in chain[0].data:
            merged = {"extends": chain[0].data["extends"], **merged}
        try:
            scenario = cls.model_validate(merged)
        except ValidationError as exc:
            raise convert(exc, merged, chain, cls) from None
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
        return owner(self._chain, path) if self._chain else "scenario"

    def _error(self, path: Sequence[str | int], problem: str, fix: str) -> InputError:
        return InputError(self._owner(path), yaml_path(path), one_line(problem), one_line(fix))

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
        world = self.world()
        self._check_events(standing_controls(world.tables, self.start))
        for commodity, value in self.settings_spec.qualification_days.items():
            self._check_param(("settings", "qualification_days", commodity), value)
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
        day = to_day(value, self.start, yaml_path(path), "")
        if day < 0 or (upper and day > self.horizon_days):
            end = self.start + dt.timedelta(days=self.horizon_days)
            raise self._error(
                path,
                f"{show_date(value)} is outside the run ({self.start} to {end})",
                f"give a date from {self.start} to {end}, or an offset +0d to "
                f"+{self.horizon_days}d",
            )
        return day

    def _check_param(
        self, path: tuple[str | int, ...], value: ParamValue | Schedule | Mapping | None
    ) -> None:
        if value is None:
            return
        if isinstance(value, Mapping):  # a share per commodity
            for key, v in value.items():
                self._check_param_as(path[-1], (*path, key), v)
            return
        if isinstance(value, Schedule):
            value.days(self.start, self._owner(path), yaml_path(path))  # dates ascend
            for i, point in enumerate(value.points):
                self._check_param_as(path[-1], (*path, "points", i, "value"), point.value)
            return
        name = str(path[-1]) if path[-2] != "qualification_days" else "qualification_days"
        self._check_param_as(name, path, value)

    def _check_param_as(
        self, name: str | int, path: tuple[str | int, ...], value: ParamValue
    ) -> None:
        lo, hi = BOUNDS[str(name)]
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

    def _check_events(self, standing: Sequence[StandingControl] = ()) -> None:
        # The world's standing controls come first: events may change them by id.
        controls: dict[str, ExportControlSpec | StandingControl] = {c.id: c for c in standing}
        standing_ids = set(controls)
        for i, ev in enumerate(self.events):
            p: tuple[str | int, ...] = ("events", i)
            for name in DRAW_ORDER[ev.kind]:
                if name in type(ev).model_fields:
                    self._check_param((*p, name), getattr(ev, name))
            if isinstance(ev, ExportControlSpec):
                if ev.id in controls:
                    raise self._error(
                        (*p, "id"),
                        f"duplicate control id {show(ev.id)}"
                        + (" (a standing control of the world)" if ev.id in standing_ids else ""),
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
        controls: Mapping[str, ExportControlSpec | StandingControl],
    ) -> None:
        if ev.control not in controls:
            raise self._error(
                (*p, "control"),
                f"no export_control with id {show(ev.control)} earlier in events",
                f"use one of {list(controls)}" if controls else "declare the export_control first",
            )
        day = self._day(ev.date, (*p, "date"))
        # A control can be changed once it is known: from its announcement on (between
        # announcement and start, e.g. to postpone or soften it), or from its start if it
        # is not announced. Before that there is nothing to change.
        ctl = controls[ev.control]
        known, when = (ctl.announced, "is announced") if ctl.announced else (ctl.start, "starts")
        known_day = to_day(known, self.start, yaml_path(p), "")
        if day < known_day:
            first = self.start + dt.timedelta(days=math.ceil(known_day))
            raise self._error(
                (*p, "date"),
                f"{show_date(ev.date)} is before control {show(ev.control)} {when} "
                f"({show_date(known if isinstance(known, dt.date | str) else f'+{known:g}d')})",
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
            if name in given and getattr(c, name) is None and name not in NULLABLE_CHANGES:
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
                        (*path, field, j), f"unknown {what} {show(v)}", choices(pool, v)
                    )

        def selector(path: tuple[str | int, ...], sel: Selector) -> None:
            for field in ("facilities", "types", "countries", "blocs"):
                names(path, field, getattr(sel, field))
            if sel.is_empty():
                raise self._error(
                    path,
                    "selects nothing (no field given)",
                    "give facilities, types, countries or blocs",
                )
            if not sel.mask(world.facilities, world.bloc_of()).any():
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
                    f"unknown commodity {show(commodity)}",
                    choices(commodities, commodity),
                )
        for commodity in self.settings_spec.substitution_ramp_days:
            if commodity not in commodities:
                raise self._error(
                    ("settings", "substitution_ramp_days", commodity),
                    f"unknown commodity {show(commodity)}",
                    choices(commodities, commodity),
                )
        stockpiles = world["stockpiles"]
        for i, ev in enumerate(self.events):
            p: tuple[str | int, ...] = ("events", i)
            if isinstance(ev, ExportControlSpec):
                if ev.issuer not in countries:
                    raise self._error(
                        (*p, "issuer"),
                        f"unknown country {show(ev.issuer)}",
                        choices(countries, ev.issuer),
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
                        f"unknown country or bloc {show(ev.holder)}",
                        choices(countries | blocs, ev.holder),
                    )
                if ev.commodity not in commodities:
                    raise self._error(
                        (*p, "commodity"),
                        f"unknown commodity {show(ev.commodity)}",
                        choices(commodities, ev.commodity),
                    )
                held = (stockpiles["holder"] == ev.holder) & (
                    stockpiles["commodity"] == ev.commodity
                )
                if not held.any():
                    raise self._error(
                        (*p, "holder"),
                        f"{show(ev.holder)} holds no stockpile of {show(ev.commodity)}",
                        "add a row to world.stockpiles or name another holder",
                    )

    def _check_engine(self, world: World) -> None:
        """Let the engine check the events on a one-day run, at the distributions' means."""
        events = engine_events(
            self.events, self.start, lambda _path, d: d.to_distribution().mean_value()
        )
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
            self._world = build_world(
                self.world_spec, self.start, self._base_dir or Path(), self._owner
            )
        return self._world

    # ------------------------------------------------------------------ engine objects
    def settings(self) -> Settings:
        """Return the engine settings.

        Returns
        -------
        Settings
            ``qualification_days`` given as distributions stay
            :class:`~sim.distributions.Distribution` (the engine draws them per buyer).
        """
        return engine_settings(self.settings_spec)

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

        def draw(path: str, dist: DistModel) -> float:
            values[path] = dist.to_distribution().draw(rng)
            return values[path]

        return engine_events(self.events, self.start, draw), values


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
    return Scenario._from_chain(read_chain(path), path.parent)


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
