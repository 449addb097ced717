"""Export controls in a run: which links each control covers, and its state.

:class:`ControlState` holds one control's spec in force, whether it is suspended,
its licence applications and the pre-control flow its quota refers to.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from sim.distributions import Distribution
from sim.errors import InputError
from sim.events import ExportControl, to_day
from sim.network import Network


class ControlState:
    """Mutable state of one export control during a run.

    It holds the spec in force, whether the control is suspended, licence applications
    per buyer and the pre-control flow for quotas. The engine asks it which links it
    covers (:meth:`covered`) and whether it is in force (:meth:`active`); the spec is
    validated against the network here.
    """

    def __init__(self, spec: ExportControl, net: Network, start: dt.date, where: str) -> None:
        self.where = where
        self.suspended = False
        self.applications: dict[int, list[float]] = {}  # buyer -> [decision day, share or -1]
        self.pre_volume: np.ndarray | None = None  # covered flow per commodity at start
        self._covered_key: object = None
        self._covered = np.zeros(0, dtype=bool)
        self.net = net
        self.set_spec(spec, start)

    def set_spec(self, spec: ExportControl, start: dt.date) -> None:
        """Validate ``spec`` against the network and put it in force."""
        net, where = self.net, self.where
        self.spec = spec
        self.start = to_day(spec.start, start, where, "start")
        self.end = np.inf if spec.end is None else to_day(spec.end, start, where, "end")
        self.announced = (
            self.start
            if spec.announced is None
            else to_day(spec.announced, start, where, "announced")
        )
        self.review = Distribution.of(spec.review_days)
        self.general = [
            (to_day(g.date, start, where, f"general_licences[{i}].date"), g.buyers)
            for i, g in enumerate(spec.general_licences)
        ]
        net.require_country(where, "issuer", spec.issuer)
        for c in spec.commodities:
            net.require_commodity(where, "commodities", c)
        for c in (*spec.destinations.countries, *spec.destinations.except_countries):
            net.require_country(where, "destinations", c)
        for name, lo, hi in (
            ("approval_probability", 0, 1),
            ("approved_share", 0, 1),
            ("front_running_share", 0, np.inf),
            ("reapply_days", 0, np.inf),
        ):
            v = getattr(spec, name)
            if not lo <= v <= hi:
                raise InputError(
                    where, name, f"{v} is out of range", f"give a value in [{lo}, {hi}]"
                )
        if spec.quota_share is not None and not 0 <= spec.quota_share <= 1:
            raise InputError(
                where,
                "quota_share",
                f"{spec.quota_share} is out of range",
                "give a share in [0, 1]",
            )
        if spec.regime not in ("ban", "license"):
            raise InputError(
                where, "regime", f"unknown regime '{spec.regime}'", "use 'ban' or 'license'"
            )
        if self.end < self.start:
            raise InputError(where, "end", "is before start", "give an end after the start")
        self.commodity_ids = np.array(
            [net.commodities.index(c) for c in spec.commodities], dtype=np.int64
        )
        self.issuer = net.countries.index(spec.issuer)

    def covered(self, net: Network, country_bloc: list[str]) -> np.ndarray:
        """Links the control covers under the current bloc membership."""
        key = (self.spec, tuple(country_bloc))
        if self._covered_key != key:
            self._covered = self._compute_covered(net, country_bloc)
            self._covered_key = key
        return self._covered

    def _compute_covered(self, net: Network, country_bloc: list[str]) -> np.ndarray:
        dest = self.spec.destinations
        country_ok = np.array(
            [
                ci != self.issuer and dest.covers(c, country_bloc[ci])
                for ci, c in enumerate(net.countries)
            ]
        )
        return (
            (net.fac_country[net.link_sup] == self.issuer)
            & np.isin(net.link_com, self.commodity_ids)
            & country_ok[net.fac_country[net.link_buyer]]
        )

    def active(self, now: float) -> bool:
        """Whether the control is in force on day ``now``."""
        return not self.suspended and self.start <= now < self.end
