"""Facility outages in a run: capacity factors of the selected facilities, in force."""

from __future__ import annotations

import numpy as np

from sim.errors import InputError
from sim.events import FacilityOutage, to_day


class Outages:
    """Outages in force, keyed by event index: ``(facility mask, capacity factor)``.

    Parameters
    ----------
    host : engine run
        Provides ``net``, ``world``, ``env``, ``log``, ``targeted``, ``at``,
        ``request`` and ``advance``.
    """

    def __init__(self, host) -> None:  # type: ignore[no-untyped-def]
        self.host = host
        self.active: dict[int, tuple[np.ndarray, float]] = {}

    def add(self, ev: FacilityOutage, index: int, where: str) -> float:
        """Validate an outage and schedule its start and end; return the start day."""
        host = self.host
        mask = ev.select.mask(host.world.facilities, host.world.bloc_of())
        if ev.select.is_empty() or not mask.any():
            raise InputError(
                where,
                "select",
                "selects no facility",
                "check facility ids, types, countries and blocs",
            )
        if not 0 <= ev.capacity_factor <= 1:
            raise InputError(
                where,
                "capacity_factor",
                f"{ev.capacity_factor} is out of range",
                "give a share in [0, 1]",
            )
        if ev.duration_days < 0:
            raise InputError(where, "duration_days", "is negative", "give a duration >= 0 days")
        day = to_day(ev.start, host.net.start, where, "start")
        entry = (mask, float(ev.capacity_factor))
        host.at(day, lambda: self._set(index, entry, True))
        host.at(day + ev.duration_days, lambda: self._set(index, entry, False))
        return day

    def _set(self, index: int, entry: tuple[np.ndarray, float], begin: bool) -> None:
        host = self.host
        host.advance()
        if begin:
            self.active[index] = entry
            host.targeted |= entry[0]
        else:
            self.active.pop(index, None)
        what = "outage_start" if begin else "outage_end"
        host.log.append((host.env.now, what, str(int(entry[0].sum()))))
        host.request(replan=True)

    def factor(self, n: int) -> np.ndarray:
        """Share of capacity each facility keeps under the outages in force."""
        factor = np.ones(n)
        for mask, f in self.active.values():
            factor[mask] *= f
        return factor
